//! The written graphs pass `onnx.checker.check_model(full_check=True)` (which also runs ONNX's
//! strict shape inference), run through the project's venv.

mod common;

use std::process::Command;

use telltale_onnx::fixture::random_weights;

#[test]
fn written_graphs_pass_the_onnx_checker() {
    let python = common::venv_python();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for layers in [1, 2] {
        let sub = dir.path().join(format!("layers{layers}"));
        let files = telltale_onnx::write_graphs(&sub, &random_weights(4, 8, layers, 3, true, 7))
            .expect("write graphs");
        paths.push(sub.join(&files.encoder));
        paths.push(sub.join(&files.latent_decoder));
        paths.push(sub.join(files.sequence_decoder.as_ref().unwrap()));
        paths.push(sub.join(files.head.as_ref().unwrap()));
    }
    let script = "import sys, onnx\n\
                  for p in sys.argv[1:]:\n    \
                  m = onnx.load(p)\n    \
                  onnx.checker.check_model(m, full_check=True)\n    \
                  assert m.producer_name == 'telltale', m.producer_name\n    \
                  print('ok', p, m.ir_version, m.opset_import[0].version)\n";
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "onnx checker failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        paths.len(),
        "{stdout}"
    );
}

#[test]
fn inconsistent_weights_are_refused_naming_the_tensor() {
    let mut weights = random_weights(4, 8, 2, 3, false, 1);
    weights.encoder.layers[1].w_hh.pop();
    let dir = tempfile::tempdir().unwrap();
    let err = telltale_onnx::write_graphs(dir.path(), &weights).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("encoder.layers[1].w_hh"), "{err}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing is written"
    );

    let mut weights = random_weights(4, 8, 1, 3, true, 1);
    weights.head.as_mut().unwrap().hidden.input = 8;
    weights.head.as_mut().unwrap().hidden.weight.truncate(8 * 8);
    let err = telltale_onnx::write_graphs(dir.path(), &weights).unwrap_err();
    assert!(err.to_string().contains("head.hidden.input"), "{err}");
}

//! Opening model directories that are wrong in some way gives errors that say what is wrong.

mod common;

use telltale_scorer::{ExecutionProvider, ModelGraphs, RuntimeOptions, Scorer, ScorerError};

fn open(dir: &std::path::Path) -> Result<Scorer, ScorerError> {
    common::init();
    Scorer::open(dir, &RuntimeOptions::default())
}

#[test]
fn another_format_version_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    let path = dir.path().join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["format_version"] = serde_json::json!(99);
    std::fs::write(&path, json.to_string()).unwrap();
    let err = open(dir.path()).unwrap_err();
    assert!(matches!(err, ScorerError::Manifest(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("99") && message.contains("manifest.json"),
        "{message}"
    );
}

#[test]
fn a_missing_graph_file_names_it() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, true, true);
    std::fs::remove_file(dir.path().join(telltale_onnx::HEAD_FILE)).unwrap();
    let err = open(dir.path()).unwrap_err();
    let ScorerError::Graph { path, message } = &err else {
        panic!("expected Graph, got {err:?}")
    };
    assert!(path.ends_with("head.onnx"), "{path}");
    assert!(message.contains("not found"), "{message}");
}

#[test]
fn a_corrupt_graph_file_is_a_graph_error() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    std::fs::write(
        dir.path().join(telltale_onnx::ENCODER_FILE),
        b"not a protobuf",
    )
    .unwrap();
    let err = open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, ScorerError::Graph { path, .. } if path.ends_with("encoder.onnx")),
        "{err:?}"
    );
}

#[test]
fn a_context_size_that_disagrees_with_the_manifest_is_incompatible() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    let mut manifest = common::manifest(1, false, true);
    manifest.shape.hidden = 6;
    manifest.latent_scale = vec![1.0; 6];
    common::init();
    let err = Scorer::with_manifest(dir.path(), manifest, &RuntimeOptions::default()).unwrap_err();
    let ScorerError::Incompatible { message, .. } = &err else {
        panic!("expected Incompatible, got {err:?}")
    };
    assert!(
        message.contains("encoder.onnx") && message.contains("shape.hidden"),
        "{message}"
    );
    assert!(message.contains('8') && message.contains('6'), "{message}");
}

#[test]
fn graphs_with_other_names_are_incompatible() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    // The latent decoder's file where the encoder is expected: inputs differ.
    let mut manifest = common::manifest(1, false, true);
    manifest.graphs.encoder = telltale_onnx::LATENT_DECODER_FILE.into();
    common::init();
    let err = Scorer::with_manifest(dir.path(), manifest, &RuntimeOptions::default()).unwrap_err();
    let ScorerError::Incompatible { message, .. } = &err else {
        panic!("expected Incompatible, got {err:?}")
    };
    assert!(
        message.contains("inputs are") && message.contains("lengths"),
        "{message}"
    );
}

#[test]
fn raw_graphs_check_their_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::manifest(1, false, true);
    common::write_model(dir.path(), 1, false, true);
    common::init();
    let mut graphs = ModelGraphs::open(dir.path(), &manifest, &RuntimeOptions::default()).unwrap();
    let x = ndarray::Array3::<f32>::zeros((2, 4, common::CHANNELS));
    let err = graphs.encode(x.view(), &[4, 5]).unwrap_err();
    assert!(err.to_string().contains("1..=4"), "{err}");
    assert!(graphs.encode(x.view(), &[4]).is_err());
    assert_eq!(
        graphs.encode(x.view(), &[4, 1]).unwrap().dim(),
        (2, common::HIDDEN)
    );
    assert!(
        graphs
            .head(ndarray::Array2::zeros((2, common::HIDDEN + 2)).view())
            .unwrap()
            .is_none()
    );
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_provider_error() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    common::init();
    let options = RuntimeOptions {
        provider: ExecutionProvider::Cuda,
        intra_threads: 1,
    };
    let err = Scorer::open(dir.path(), &options).unwrap_err();
    assert!(
        matches!(&err, ScorerError::Provider { provider, .. } if provider == "cuda"),
        "{err:?}"
    );
    assert!(err.to_string().contains("CUDA support"), "{err}");
}

#[test]
fn provider_names_parse() {
    assert_eq!(
        "CUDA".parse::<ExecutionProvider>(),
        Ok(ExecutionProvider::Cuda)
    );
    assert_eq!(
        "cpu".parse::<ExecutionProvider>(),
        Ok(ExecutionProvider::Cpu)
    );
    assert!(
        "tpu"
            .parse::<ExecutionProvider>()
            .unwrap_err()
            .contains("tpu")
    );
}

/// With the `cuda` feature: either CUDA registers (and gives the CPU's answers) or opening fails
/// with a `Provider` error; never a silent CPU fallback that claims to be CUDA.
#[cfg(feature = "cuda")]
#[test]
fn cuda_either_works_or_is_a_provider_error() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, true, true);
    common::init();
    let cuda = RuntimeOptions {
        provider: ExecutionProvider::Cuda,
        intra_threads: 0,
    };
    match Scorer::open(dir.path(), &cuda) {
        Ok(mut on_gpu) => {
            let mut on_cpu = Scorer::open(dir.path(), &RuntimeOptions::default()).unwrap();
            let window = common::window(&mut common::rng(8), 6, 0.0);
            let (gpu, cpu) = (
                on_gpu.score(std::slice::from_ref(&window)).unwrap(),
                on_cpu.score(&[window]).unwrap(),
            );
            assert!(
                (gpu[0].score - cpu[0].score).abs() < 1e-4,
                "{gpu:?} vs {cpu:?}"
            );
        }
        Err(err) => {
            eprintln!("{err}");
            assert!(
                matches!(&err, ScorerError::Provider { provider, .. } if provider == "cuda"),
                "{err:?}"
            );
        }
    }
}

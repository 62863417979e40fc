//! Loading ONNX Runtime from a bad path is a `Runtime` error naming the path, never a panic.
//! (Its own test binary: nothing here may load the real library first.)

use telltale_scorer::{ScorerError, init_runtime};

#[test]
fn a_missing_library_names_the_path() {
    let path = std::path::PathBuf::from("/nonexistent/telltale/libonnxruntime.so");
    let err = init_runtime(Some(path)).unwrap_err();
    assert!(matches!(err, ScorerError::Runtime(_)), "{err:?}");
    eprintln!("{err}");
    assert!(
        err.to_string()
            .contains("/nonexistent/telltale/libonnxruntime.so"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_library_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libonnxruntime.so");
    std::fs::write(&path, b"this is not a shared library").unwrap();
    let err = init_runtime(Some(path.clone())).unwrap_err();
    assert!(matches!(err, ScorerError::Runtime(_)), "{err:?}");
    eprintln!("{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

//! Helpers shared by the integration tests: where the project's venv and ONNX Runtime live.

#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python with `onnx` installed; panics with instructions when it is missing.
pub fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh (it installs the venv with onnx and onnxruntime)",
        python.display()
    );
    python
}

/// The ONNX Runtime library: `ORT_DYLIB_PATH`, else the wheel in the repo's `.venv`.
pub fn ort_dylib() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(path);
    }
    let path = repo_root()
        .join(".venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1");
    assert!(
        path.exists(),
        "ORT_DYLIB_PATH is unset and {} is missing: run scripts/test.sh (it installs onnxruntime)",
        path.display()
    );
    path
}

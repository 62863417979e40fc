//! Loading the ONNX Runtime shared library and choosing an execution provider.
//!
//! STUB: signatures are the contract; bodies are being implemented.

use std::path::PathBuf;

use crate::ScorerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionProvider {
    #[default]
    Cpu,
    /// CUDA; opening fails with `ScorerError::Provider` when it cannot be registered (never a silent
    /// CPU fallback).
    Cuda,
}

impl std::str::FromStr for ExecutionProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!("unknown execution provider `{other}` (expected cpu or cuda)")),
        }
    }
}

impl std::fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    pub provider: ExecutionProvider,
    /// Intra-op threads per session (0 = ONNX Runtime's default).
    pub intra_threads: usize,
}

/// Load the ONNX Runtime library once per process: `dylib` if given, else `ORT_DYLIB_PATH`, else
/// the `onnxruntime` wheel in the project's `.venv`. A missing or wrong library is an error that
/// names the path tried, never a panic. Calling it again is a no-op.
pub fn init_runtime(dylib: Option<PathBuf>) -> Result<PathBuf, ScorerError> {
    let _ = dylib;
    todo!("scorer: init_runtime")
}

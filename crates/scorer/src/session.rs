//! Creating one ONNX Runtime session with the chosen execution provider and thread count.

use std::path::Path;

use ort::environment::Environment;
use ort::session::Session;

use crate::{ExecutionProvider, RuntimeOptions, ScorerError};

/// Open `path` as a session. A missing file or a graph ONNX Runtime rejects is
/// `ScorerError::Graph`; an execution provider that cannot be registered is
/// `ScorerError::Provider` (never a silent fallback to the CPU).
pub(crate) fn open_session(
    env: &Environment,
    path: &Path,
    options: &RuntimeOptions,
) -> Result<Session, ScorerError> {
    let graph_error = |message: String| ScorerError::Graph {
        path: path.display().to_string(),
        message,
    };
    if !path.is_file() {
        return Err(graph_error("file not found".into()));
    }
    let mut builder = Session::builder(env).map_err(|e| graph_error(e.to_string()))?;
    if options.intra_threads > 0 {
        builder = builder
            .with_intra_threads(options.intra_threads)
            .map_err(|e| {
                graph_error(format!("cannot set {} threads: {e}", options.intra_threads))
            })?;
    }
    builder = with_provider(builder, options.provider)?;
    builder
        .commit_from_file(path)
        .map_err(|e| graph_error(e.to_string()))
}

#[cfg(feature = "cuda")]
fn with_provider(
    builder: ort::session::builder::SessionBuilder,
    provider: ExecutionProvider,
) -> Result<ort::session::builder::SessionBuilder, ScorerError> {
    match provider {
        ExecutionProvider::Cpu => Ok(builder),
        ExecutionProvider::Cuda => builder
            .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
            .map_err(|e| ScorerError::Provider {
                provider: provider.to_string(),
                message: e.to_string(),
            }),
    }
}

#[cfg(not(feature = "cuda"))]
fn with_provider(
    builder: ort::session::builder::SessionBuilder,
    provider: ExecutionProvider,
) -> Result<ort::session::builder::SessionBuilder, ScorerError> {
    match provider {
        ExecutionProvider::Cpu => Ok(builder),
        ExecutionProvider::Cuda => Err(ScorerError::Provider {
            provider: provider.to_string(),
            message: "this build lacks CUDA support (rebuild with the `cuda` cargo feature)".into(),
        }),
    }
}

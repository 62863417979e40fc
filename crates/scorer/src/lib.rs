//! Open a Telltale model directory with ONNX Runtime and turn windows into scores (DESIGN §3).
//!
//! The trainer's export check, `telltale-trainer evaluate` and the server all call this crate, so
//! an evaluation report always describes what the server answers.
//!
//! ## Graph contract (what the trainer exports, what this crate runs)
//! - `encoder.onnx`: `x` f32 `[batch, time, C]`, `lengths` i32 `[batch]` → `context` f32
//!   `[batch, H]` (top LSTM layer's hidden state at each window's last valid step).
//! - `latent_decoder.onnx`: `context` `[batch, H]` → `reconstruction` `[batch, H]`.
//! - `sequence_decoder.onnx`: `context` `[batch, H]`, `x` `[batch, time, C]` (used for its time
//!   axis), `lengths` `[batch]` → `reconstruction` `[batch, time, C]` in the original time order
//!   (values at steps ≥ length are unspecified). Absent in the `latent_joint` ablation's model
//!   directory (`manifest.graphs.sequence_decoder == None`): then `sequence_error` is 0 and
//!   `feature_errors`/`step_errors` are empty.
//! - `head.onnx` (optional): `features` `[batch, H + 2]` (context, log-z latent error, log-z
//!   sequence error) → `probability` `[batch]`.
//!
//! Load the library with [`init_runtime`] (or let the first [`ModelGraphs::open`] find it), open
//! a model directory with [`Scorer::open`], turn events into windows with [`Scorer::prepare`] and
//! score batches of them with [`Scorer::score`].

mod contract;
pub mod model;
pub mod runtime;
pub mod score;
mod session;

pub use model::ModelGraphs;
pub use runtime::{ExecutionProvider, RuntimeOptions, init_runtime};
pub use score::{Scorer, WindowScores};

/// Anything that can go wrong opening a model or scoring with it. Messages are for operators: they
/// name the file or the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ScorerError {
    /// The ONNX Runtime library is missing or cannot be loaded.
    #[error("ONNX Runtime could not be loaded: {0}")]
    Runtime(String),
    /// The requested execution provider cannot be used.
    #[error("execution provider {provider} is not available: {message}")]
    Provider { provider: String, message: String },
    /// `manifest.json` is missing, unreadable, of another format version or inconsistent.
    #[error(transparent)]
    Manifest(#[from] telltale_core::manifest::ManifestError),
    /// A graph file is missing or ONNX Runtime rejects it.
    #[error("{path}: cannot load ONNX graph: {message}")]
    Graph { path: String, message: String },
    /// The graphs do not match the graph contract or the manifest.
    #[error("model directory {dir}: {message}")]
    Incompatible { dir: String, message: String },
    /// ONNX Runtime failed while running a graph.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The windows given to score are malformed.
    #[error("bad input: {0}")]
    Input(String),
}

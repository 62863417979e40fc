//! Binning irregular events into fixed time steps (DESIGN §1).
//!
//! STUB: signatures are the contract; bodies are being implemented.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::Event;

/// How a window is cut into steps. Stored in the model manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Window length in seconds (default 10 days).
    pub length_secs: i64,
    /// Step length in seconds (default 1 hour → 240 steps).
    pub step_secs: i64,
}

impl Default for WindowSpec {
    fn default() -> Self {
        Self { length_secs: 10 * 24 * 3600, step_secs: 3600 }
    }
}

impl WindowSpec {
    /// Maximum number of steps T = ceil(length / step).
    pub fn max_steps(&self) -> usize {
        todo!("core: WindowSpec::max_steps")
    }

    /// Channels per step for `n_features` features: the features, `log1p(count)`, `empty`.
    pub fn channels(n_features: usize) -> usize {
        n_features + 2
    }

    /// Reject zero/negative lengths or a step longer than the window.
    pub fn validate(&self) -> Result<(), WindowError> {
        todo!("core: WindowSpec::validate")
    }
}

/// A binned window: `len` steps × `channels` values, row-major (`data[t * channels + c]`).
/// Channel order: features in manifest order, then `log1p(count)`, then `empty` (1.0 / 0.0).
#[derive(Debug, Clone, PartialEq)]
pub struct BinnedWindow {
    pub len: usize,
    pub channels: usize,
    pub data: Vec<f32>,
    /// Start of the first step and end of the window.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Events that fell inside the window.
    pub events_used: usize,
}

impl BinnedWindow {
    pub fn step(&self, t: usize) -> &[f32] {
        &self.data[t * self.channels..(t + 1) * self.channels]
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
    #[error("the window has no events")]
    Empty,
    #[error("no events fall inside the window ending at {end}")]
    NoEventsInWindow { end: DateTime<Utc> },
    #[error("event {index} has {got} feature values, the model expects {expected}")]
    FeatureCount { index: usize, got: usize, expected: usize },
    #[error("event {index} has a non-finite value for feature {feature}")]
    NonFinite { index: usize, feature: usize },
    #[error("events must be sorted by timestamp with no duplicates (event {index})")]
    Unsorted { index: usize },
    #[error("invalid window spec: {0}")]
    Spec(String),
}

/// Bin events (sorted, unique timestamps) into the window that ends at `end` (default: the last
/// event's timestamp) and covers `spec.length_secs` back from it.
///
/// Step `i` of the full window covers `[end - length + i*step, end - length + (i+1)*step)`, the last
/// step also includes `end`. A sensor with less history gets a shorter sequence starting at the step
/// of its first event inside the window (never zero-padded). Per step: each feature's mean of its
/// events (carried forward from the previous step when the step is empty), `log1p(count)`, and the
/// empty flag. Events after `end` or before the window start are ignored.
pub fn bin_events(
    events: &[Event],
    n_features: usize,
    spec: &WindowSpec,
    end: Option<DateTime<Utc>>,
) -> Result<BinnedWindow, WindowError> {
    let _ = (events, n_features, spec, end);
    todo!("core: bin_events")
}

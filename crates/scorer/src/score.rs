//! Batch of windows → scores, attribution, calibration and the threshold decision.
//!
//! STUB: signatures are the contract; bodies are being implemented.

use std::path::Path;

use chrono::{DateTime, Utc};
use telltale_core::{BinnedWindow, Event, Manifest, WindowError};

use crate::{ModelGraphs, RuntimeOptions, ScorerError};

/// Everything the product reports about one window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowScores {
    /// Calibrated score in [0, 1]: percentile among normal validation windows.
    pub score: f32,
    pub is_anomaly: bool,
    pub latent_error: f32,
    pub sequence_error: f32,
    /// Head probability when the model has a head.
    pub alert_probability: Option<f32>,
    /// Per-feature reconstruction error, manifest feature order.
    pub feature_errors: Vec<f32>,
    /// Per-step reconstruction error over the window's valid steps.
    pub step_errors: Vec<f32>,
}

pub struct Scorer {
    manifest: Manifest,
    graphs: ModelGraphs,
}

impl Scorer {
    /// Load `dir/manifest.json` and its graphs.
    pub fn open(dir: &Path, options: &RuntimeOptions) -> Result<Self, ScorerError> {
        let _ = (dir, options);
        todo!("scorer: Scorer::open")
    }

    /// Use an in-memory manifest (the trainer calibrates before it writes the final manifest).
    pub fn with_manifest(dir: &Path, manifest: Manifest, options: &RuntimeOptions) -> Result<Self, ScorerError> {
        let _ = (dir, manifest, options);
        todo!()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn graphs(&mut self) -> &mut ModelGraphs {
        &mut self.graphs
    }

    /// Bin events with the manifest's window spec and normalise them.
    pub fn prepare(&self, events: &[Event], end: Option<DateTime<Utc>>) -> Result<BinnedWindow, WindowError> {
        let _ = (events, end);
        todo!()
    }

    /// Score prepared (binned and normalised) windows in one call per graph.
    pub fn score(&mut self, windows: &[BinnedWindow]) -> Result<Vec<WindowScores>, ScorerError> {
        let _ = windows;
        todo!()
    }
}

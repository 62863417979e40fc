//! The manifest of a model directory, first provisional (to open the graphs for the export check
//! and calibration), then final.

use chrono::Utc;
use telltale_core::manifest::{Graphs, ModelShape, Threshold, ThresholdMethod};
use telltale_core::scoring::{Calibration, LogStats, ScorerKind};
use telltale_core::{MANIFEST_FORMAT_VERSION, Manifest, Normalizer, WindowSpec};

/// What a manifest is made of before calibration.
#[derive(Debug, Clone)]
pub struct ManifestParts {
    pub feature_names: Vec<String>,
    pub window: WindowSpec,
    pub normalizer: Normalizer,
    pub shape: ModelShape,
    pub latent_scale: Vec<f32>,
    pub graphs: Graphs,
}

/// A manifest with placeholder calibration (log stats `{0, 1}`, quantiles `[0, 1]`, threshold 1)
/// whose default scorer is one the graphs support.
pub fn provisional(
    parts: &ManifestParts,
    latent_log: LogStats,
    sequence_log: LogStats,
) -> Manifest {
    let default_scorer = if parts.graphs.sequence_decoder.is_some() {
        ScorerKind::Combined
    } else {
        ScorerKind::Latent
    };
    Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        model_id: "provisional".into(),
        created_at: Utc::now(),
        feature_names: parts.feature_names.clone(),
        window: parts.window,
        normalizer: parts.normalizer.clone(),
        shape: parts.shape,
        latent_scale: parts.latent_scale.clone(),
        calibration: Calibration {
            default_scorer,
            latent_log,
            sequence_log,
            normal_quantiles: vec![0.0, 1.0],
            peak_coupling: true,
        },
        threshold: Threshold {
            score: 1.0,
            method: ThresholdMethod::TargetFar { far: 0.0 },
        },
        graphs: parts.graphs.clone(),
        hyper_parameters: serde_json::Value::Null,
        data_summary: serde_json::Value::Null,
        evaluation: serde_json::Value::Null,
    }
}

/// Placeholder log statistics.
pub const UNIT_LOG_STATS: LogStats = LogStats {
    mean: 0.0,
    std: 1.0,
};

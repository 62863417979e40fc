//! `GET /models/current`: what the loaded model is and what it expects.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

/// The window a model reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowDescription {
    /// Window length in seconds.
    pub length_secs: i64,
    /// Time step in seconds.
    pub step_secs: i64,
    /// Steps in a full window.
    pub max_steps: usize,
}

/// The loaded model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelDescription {
    /// Hash of the weights; stored with every score.
    pub id: String,
    /// Name of the model directory.
    pub version: String,
    pub created_at: DateTime<Utc>,
    /// Feature names, in the order array-valued `features` must use.
    pub feature_names: Vec<String>,
    pub window: WindowDescription,
    /// Raw score the calibrated `score` is based on (`latent`, `sequence`, `combined`, `head`,
    /// `peak` or `peak_no_decoder`).
    pub default_scorer: String,
    /// Decision threshold on `score`.
    pub threshold: f32,
    /// How the threshold was chosen.
    #[schema(value_type = Object)]
    pub threshold_method: serde_json::Value,
    /// Whether `alert_probability` is available (a supervised head was trained).
    pub has_head: bool,
    /// Whether per-feature and per-step errors are available (sequence decoder present).
    pub has_sequence_decoder: bool,
    /// Validation metrics recorded at training time.
    #[schema(value_type = Object)]
    pub evaluation: serde_json::Value,
}

/// Describe the loaded model.
#[utoipa::path(
    get,
    path = "/models/current",
    tag = "models",
    responses((status = 200, description = "The loaded model", body = ModelDescription))
)]
pub async fn current(State(state): State<AppState>) -> Json<ModelDescription> {
    let model = state.model();
    let manifest = &model.manifest;
    Json(ModelDescription {
        id: model.id.clone(),
        version: model.version.clone(),
        created_at: manifest.created_at,
        feature_names: manifest.feature_names.clone(),
        window: WindowDescription {
            length_secs: manifest.window.length_secs,
            step_secs: manifest.window.step_secs,
            max_steps: manifest.window.max_steps(),
        },
        default_scorer: serde_json::to_value(manifest.calibration.default_scorer)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        threshold: manifest.threshold.score,
        threshold_method: serde_json::to_value(&manifest.threshold.method).unwrap_or_default(),
        has_head: manifest.graphs.head.is_some(),
        has_sequence_decoder: manifest.graphs.sequence_decoder.is_some(),
        evaluation: manifest.evaluation.clone(),
    })
}

//! JSON bodies shared by several routes, declared once for serde and the OpenAPI document.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telltale_scorer::WindowScores;
use utoipa::ToSchema;

use crate::features::FeatureValues;
use crate::inference::Scored;
use crate::state::ModelInfo;

/// One sensor reading.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// ISO-8601 / RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]`; UTC unless an offset is given.
    #[schema(example = "2020-12-20 01:00:34.565")]
    pub timestamp: String,
    /// Feature values by name, or an array in the model's feature order (see `/models/current`).
    /// Every value must be a finite number.
    #[schema(value_type = Features)]
    pub features: FeatureValues,
}

/// Feature values of one event: by name, or in the model's feature order.
#[derive(Deserialize, ToSchema)]
#[schema(examples(json!({"feature_1": 0.23, "feature_2": 0.1})))]
#[allow(dead_code)] // only describes the accepted JSON for the OpenAPI document
#[serde(untagged)]
pub enum Features {
    ByName(BTreeMap<String, f64>),
    InOrder(Vec<f64>),
}

/// A window of events to score.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// Echoed back in the response; nothing is stored by `/score`.
    #[serde(default)]
    pub sensor_id: Option<String>,
    /// Events sorted by timestamp, no two with the same timestamp.
    pub events: Vec<EventIn>,
    /// End of the window (same formats as `timestamp`); default: the last event's timestamp.
    #[serde(default)]
    pub end: Option<String>,
}

/// Several windows scored in one request.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchScoreRequest {
    pub windows: Vec<ScoreRequest>,
}

/// Results of a batch, in request order.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct BatchScoreResponse {
    pub results: Vec<ScoreResponse>,
}

/// How much one feature's reconstruction error contributes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct FeatureAttribution {
    pub feature: String,
    /// Mean squared reconstruction error of the feature's channel (normalised units).
    pub error: f32,
    /// This feature's share of the summed feature errors, in [0, 1].
    pub share: f32,
}

/// Where the scored window lies.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct WindowOut {
    /// Start of the first time step.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Time steps the model read.
    pub steps: usize,
    /// Events that fell inside the window.
    pub events_used: usize,
}

/// Which model produced a score.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct ModelRef {
    /// Hash of the model's weights.
    pub id: String,
    /// Name of the model directory.
    pub version: String,
}

/// Scores of one window (DESIGN §2.5).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct ScoreResponse {
    pub sensor_id: Option<String>,
    /// Calibrated score in [0, 1]: percentile among normal validation windows.
    pub score: f32,
    /// The model's decision threshold on `score`.
    pub threshold: f32,
    pub is_anomaly: bool,
    /// Variance-scaled error of the latent decoder's reconstruction of the context vector.
    pub latent_error: f32,
    /// Mean squared error of the sequence decoder's reconstruction of the window.
    pub sequence_error: f32,
    /// Probability of an alert from the supervised head; null when the model has none.
    pub alert_probability: Option<f32>,
    /// Per-feature reconstruction error, largest first: which feature says so.
    pub feature_attribution: Vec<FeatureAttribution>,
    /// Reconstruction error per time step of the window: when in the window.
    pub step_errors: Vec<f32>,
    pub window: WindowOut,
    pub model: ModelRef,
}

impl ScoreResponse {
    /// Build the response for a scored window.
    pub fn new(sensor_id: Option<String>, scored: Scored, model: &ModelInfo) -> Self {
        let Scored { scores, window } = scored;
        let WindowScores {
            score,
            is_anomaly,
            latent_error,
            sequence_error,
            alert_probability,
            feature_errors,
            step_errors,
        } = scores;
        Self {
            sensor_id,
            score,
            threshold: model.manifest.threshold.score,
            is_anomaly,
            latent_error,
            sequence_error,
            alert_probability,
            feature_attribution: attribution(model.features(), &feature_errors),
            step_errors,
            window: WindowOut {
                start: window.start,
                end: window.end,
                steps: window.steps,
                events_used: window.events_used,
            },
            model: ModelRef {
                id: model.id.clone(),
                version: model.version.clone(),
            },
        }
    }
}

/// Pair feature names with their errors, largest error first, with each one's share.
pub fn attribution(names: &[String], errors: &[f32]) -> Vec<FeatureAttribution> {
    let total: f32 = errors.iter().filter(|e| e.is_finite()).sum();
    let mut out: Vec<FeatureAttribution> = names
        .iter()
        .zip(errors)
        .map(|(name, &error)| FeatureAttribution {
            feature: name.clone(),
            error,
            share: if total > 0.0 && error.is_finite() {
                error / total
            } else {
                0.0
            },
        })
        .collect();
    out.sort_by(|a, b| {
        b.error
            .total_cmp(&a.error)
            .then_with(|| a.feature.cmp(&b.feature))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribution_is_sorted_and_shares_sum_to_one() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let out = attribution(&names, &[1.0, 3.0, 0.0]);
        let order: Vec<&str> = out.iter().map(|a| a.feature.as_str()).collect();
        assert_eq!(order, ["b", "a", "c"]);
        assert_eq!(out[0].share, 0.75);
        assert!((out.iter().map(|a| a.share).sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn attribution_is_empty_without_feature_errors() {
        assert!(attribution(&["a".to_string()], &[]).is_empty());
    }
}

//! JSON bodies shared by several routes, declared once for serde and the OpenAPI document.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use telltale_scorer::WindowScores;
use utoipa::ToSchema;

use crate::features::FeatureValues;
use crate::inference::Scored;
use crate::state::ModelInfo;

/// Request bodies are JSON objects only. serde's derived structs also read a JSON array of the
/// field values in order; the API does not document that, and it turns a plain mistake (an array
/// of events sent to `/score`) into a confusing message about the first field. Each type derives
/// with `#[serde(remote = "Self")]` (inherent `serialize` / `deserialize`), and this macro adds the
/// trait impls: `Deserialize` accepts a map only and then runs the derived code.
macro_rules! object_only {
    ($ty:ident, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Object;
                impl<'de> Visitor<'de> for Object {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        $ty::deserialize(MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(Object)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, serializer)
            }
        }
    };
}

/// One sensor reading.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(examples(json!(
    {"timestamp": "2020-12-20 01:00:34.565", "features": {"feature_1": 0.23, "feature_2": 0.1}}
)))]
pub struct EventIn {
    /// ISO-8601 / RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]`; UTC unless an offset is given. Years
    /// 1970 to 2200.
    #[schema(
        example = "2020-12-20 01:00:34.565",
        pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)?( ?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?))?\s*$"
    )]
    pub timestamp: String,
    /// Feature values by name, or an array in the model's feature order (see `/models/current`).
    /// Every value must be a finite number.
    #[schema(value_type = Features)]
    pub features: FeatureValues,
}

object_only!(
    EventIn,
    "an event object: {\"timestamp\": …, \"features\": …}"
);

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
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(examples(json!({
    "sensor_id": "pump-7",
    "events": [
        {"timestamp": "2020-12-20 01:00:34.565", "features": {"feature_1": 0.23, "feature_2": 0.1}},
        {"timestamp": "2020-12-20 01:37:02.001", "features": {"feature_1": 0.25, "feature_2": 0.12}}
    ]
})))]
pub struct ScoreRequest {
    /// Echoed back in the response; nothing is stored by `/score`. Same rules as a stored
    /// sensor's id: 1 to 128 characters, not all blank, no control characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128)]
    pub sensor_id: Option<String>,
    /// Events sorted by timestamp, no two with the same timestamp; at least one, at most the
    /// server's `--max-events`.
    #[schema(min_items = 1)]
    pub events: Vec<EventIn>,
    /// End of the window (same formats as `timestamp`); default: the last event's timestamp.
    #[serde(default)]
    #[schema(
        pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)?( ?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?))?\s*$"
    )]
    pub end: Option<String>,
}

object_only!(
    ScoreRequest,
    "a window object: {\"events\": [...], \"sensor_id\"?: …, \"end\"?: …}"
);

/// Several windows scored in one request.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(examples(json!({
    "windows": [
        {"sensor_id": "pump-7", "events": [
            {"timestamp": "2020-12-20 01:00:34.565", "features": {"feature_1": 0.23, "feature_2": 0.1}}
        ]},
        {"sensor_id": "pump-8", "events": [
            {"timestamp": "2020-12-20 01:03:13.897", "features": [0.31, 0.08]}
        ]}
    ]
})))]
pub struct BatchScoreRequest {
    /// At least one window, at most the server's `--max-batch-windows`.
    #[schema(min_items = 1)]
    pub windows: Vec<ScoreRequest>,
}

object_only!(BatchScoreRequest, "a batch object: {\"windows\": [...]}");

/// Results of a batch, in request order.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct BatchScoreResponse {
    pub results: Vec<ScoreResponse>,
}

/// How much one feature contributes to the score.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct FeatureAttribution {
    pub feature: String,
    /// The feature's part of the model's default scorer, in normalised units. For `peak` and
    /// `peak_no_decoder`: the largest squared 24-step moving average over the feature's own
    /// channels (its mean, its within-step spread, its coupling residual to the other features);
    /// for the other scorers: the mean squared reconstruction error of its channels.
    pub error: f32,
    /// This feature's share of the summed feature errors, in [0, 1].
    pub share: f32,
}

/// The stretch of the window whose moving average gave a peak score: "when in the window".
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct PeakSpan {
    /// Start of the stretch's first time step.
    pub start: DateTime<Utc>,
    /// End of its last time step (at most the window's end).
    pub end: DateTime<Utc>,
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

impl From<&ModelInfo> for ModelRef {
    fn from(model: &ModelInfo) -> Self {
        Self {
            id: model.id.clone(),
            version: model.version.clone(),
        }
    }
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
    /// Each feature's part in the score, largest first: which feature says so.
    pub feature_attribution: Vec<FeatureAttribution>,
    /// Reconstruction error per time step of the window.
    pub step_errors: Vec<f32>,
    /// For models whose default scorer is `peak` or `peak_no_decoder`: the stretch (one day at the
    /// default 1 h step) that gave the score — when in the window. Null for the other scorers.
    pub peak: Option<PeakSpan>,
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
            peak_span,
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
            peak: peak_span.map(|(start, end)| PeakSpan { start, end }),
            window: WindowOut {
                start: window.start,
                end: window.end,
                steps: window.steps,
                events_used: window.events_used,
            },
            model: ModelRef::from(model),
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
    fn request_bodies_are_objects_only_and_round_trip() {
        let text = r#"{"sensor_id":"s","events":[{"timestamp":"2020-12-20 01:00:00","features":[1.0,2.0]}],"end":null}"#;
        let request: ScoreRequest = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&request).unwrap(), text);
        // serde's derive alone would read these arrays as the fields in order.
        let err = serde_json::from_str::<ScoreRequest>(r#"["s", [], null]"#).unwrap_err();
        assert!(
            err.to_string().contains("expected a window object"),
            "{err}"
        );
        let err = serde_json::from_str::<EventIn>(r#"["2020-12-20 01:00:00", [1.0]]"#).unwrap_err();
        assert!(
            err.to_string().contains("expected an event object"),
            "{err}"
        );
        let err = serde_json::from_str::<BatchScoreRequest>("[[]]").unwrap_err();
        assert!(err.to_string().contains("expected a batch object"), "{err}");
    }

    #[test]
    fn attribution_is_empty_without_feature_errors() {
        assert!(attribution(&["a".to_string()], &[]).is_empty());
    }
}

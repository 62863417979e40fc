//! `report.json`: the metrics of every scorer, and how each scorer's threshold was chosen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use telltale_core::metrics::{
    self, Confusion, average_precision, best_f1, precision_at_k, recall_at_far, roc_auc,
};

/// Scorer names as they appear in `report.json` and `scores.csv`.
pub const LATENT: &str = "latent";
pub const SEQUENCE: &str = "sequence";
pub const HEAD: &str = "head";
pub const COMBINED: &str = "combined";
pub const PEAK: &str = "peak";
/// The `peak` scan on the prepared input itself (a zero reconstruction): what `peak` finds without
/// the sequence decoder, so the report can say what the LSTM adds.
pub const PEAK_NO_DECODER: &str = "peak_no_decoder";
pub const LATENT_JOINT: &str = "latent_joint";
pub const BASELINE: &str = "baseline_summary";

/// The target false-alarm rate of the thresholds `evaluate` derives itself.
pub const TARGET_FAR: f64 = 0.01;

/// A decision threshold and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    pub value: f32,
    /// `"calibrated"` (the stored threshold on the [0, 1] score the server returns) or `"raw"`.
    pub scale: String,
    /// In words, for the report: which data chose it.
    pub source: String,
}

/// The metrics of one scorer on the evaluated windows. Undefined values (e.g. no positives) are
/// `null` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorerMetrics {
    /// Average precision (chance level = prevalence). The primary metric.
    pub auc_pr: f64,
    pub auc_roc: f64,
    pub recall_at_1pct_far: f64,
    /// Precision among the k highest scores, k = number of positives.
    pub precision_at_k: f64,
    /// F1 at `threshold` (never chosen with the evaluated labels).
    pub f1_at_threshold: f64,
    pub recall_at_threshold: f64,
    pub far_at_threshold: f64,
    pub threshold: ThresholdChoice,
    /// Best F1 over all thresholds, chosen WITH the evaluated labels: an oracle, not a result.
    pub oracle_best_f1: f64,
    pub oracle_best_f1_threshold: f32,
}

/// Compute one scorer's metrics. `raw` ranks the windows; `decision` is what the threshold is
/// compared with (the calibrated score for stored thresholds, else `raw` itself).
pub fn scorer_metrics(
    raw: &[f32],
    decision: &[f32],
    labels: &[bool],
    threshold: ThresholdChoice,
) -> ScorerMetrics {
    let at = Confusion::at_threshold(decision, labels, threshold.value);
    let (oracle_best_f1, oracle_best_f1_threshold) = best_f1(raw, labels);
    ScorerMetrics {
        auc_pr: average_precision(raw, labels),
        auc_roc: roc_auc(raw, labels),
        recall_at_1pct_far: recall_at_far(raw, labels, TARGET_FAR),
        precision_at_k: precision_at_k(raw, labels, None),
        f1_at_threshold: at.f1(),
        recall_at_threshold: at.recall(),
        far_at_threshold: at.far(),
        threshold,
        oracle_best_f1,
        oracle_best_f1_threshold,
    }
}

/// The raw value at which the calibrated score reaches `calibrated` (the inverse of the
/// quantile interpolation in `telltale_core::scoring::calibrate`), to draw a stored threshold on a
/// raw-score histogram.
pub fn raw_threshold(calibrated: f32, normal_quantiles: &[f32]) -> f32 {
    let n = normal_quantiles.len();
    if n == 0 {
        return f32::NAN;
    }
    let pos = f64::from(calibrated.clamp(0.0, 1.0)) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = (pos - lo as f64) as f32;
    normal_quantiles[lo] + frac * (normal_quantiles[hi] - normal_quantiles[lo])
}

/// The threshold at [`TARGET_FAR`] on normal windows the model did not train on (its validation
/// windows): the `1 − far` quantile of their scores.
pub fn threshold_at_far(normal_scores: &[f32], source: &str) -> ThresholdChoice {
    ThresholdChoice {
        value: metrics::quantile(normal_scores, 1.0 - TARGET_FAR),
        scale: "raw".into(),
        source: format!(
            "1 % false-alarm rate on {} normal {source}",
            normal_scores.len()
        ),
    }
}

/// What the model directory says about itself, for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInfo {
    pub dir: String,
    pub model_id: String,
    pub feature_names: Vec<String>,
    pub has_sequence_decoder: bool,
    pub has_head: bool,
    /// Stored threshold on the calibrated score and how the trainer chose it.
    pub stored_threshold: f32,
    pub threshold_method: serde_json::Value,
    /// Which head variant the trainer kept (`weighted` or `resample`), when it recorded one.
    #[serde(default)]
    pub head_variant: Option<String>,
}

/// The jointly trained ablation next to the two-stage model: how much the context still varies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollapseInfo {
    /// Mean per-dimension variance of the context over the evaluated windows.
    pub joint_context_variance: f64,
    pub two_stage_context_variance: f64,
    /// joint / two-stage.
    pub variance_ratio: f64,
}

/// Detection rate per injected anomaly kind (from `synth`'s ground truth), at the default
/// scorer's stored threshold. For the normal kind it is the false-alarm rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindStats {
    pub windows: usize,
    pub flagged: usize,
    pub flagged_rate: f64,
}

/// How often the feature with the largest reconstruction error is one the anomaly was injected
/// into, over anomalous windows whose affected feature is known.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributionStats {
    pub windows: usize,
    pub top_feature_accuracy: f64,
    /// What picking a feature at random would reach.
    pub chance: f64,
}

/// Whether the stretch behind a peak score overlaps the anomalous segment the ground truth gives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalisationStats {
    /// Anomalous windows with a known segment and a peak stretch.
    pub windows: usize,
    /// Share of them whose peak stretch overlaps the segment.
    pub peak_overlap_rate: f64,
    /// What a stretch of the same length placed at random in each window would reach (mean).
    pub chance: f64,
}

/// The whole `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub windows: usize,
    pub positives: usize,
    pub prevalence: f64,
    pub default_scorer: String,
    pub scorers: BTreeMap<String, ScorerMetrics>,
    pub model: ModelInfo,
    pub events: String,
    /// `"test split"` or `"all labelled windows"`.
    pub evaluated: String,
    /// Windows skipped because they had no label.
    pub unlabelled_skipped: usize,
    /// Which windows the summary baseline was fitted on, in words, and how many.
    pub baseline_fitted_on: String,
    pub baseline_fit_windows: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latent_joint: Option<CollapseInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_kind: Option<BTreeMap<String, KindStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<AttributionStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localisation: Option<LocalisationStats>,
    /// Caveats the reader must know (e.g. training windows included in the evaluation).
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_threshold_inverts_the_quantile_table() {
        let q = [0.0, 1.0, 2.0, 4.0, 8.0];
        assert_eq!(raw_threshold(0.0, &q), 0.0);
        assert_eq!(raw_threshold(1.0, &q), 8.0);
        assert!((raw_threshold(0.625, &q) - 3.0).abs() < 1e-6);
        assert!(raw_threshold(0.5, &[]).is_nan());
    }
}

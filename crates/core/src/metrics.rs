//! Evaluation metrics for imbalanced anomaly detection (DESIGN §6).
//!
//! Scores: higher = more anomalous. Labels: `true` = anomalous (positive). Metrics that are undefined
//! for the input (no positives, no negatives, empty input) return `f64::NAN`.
//!
//! STUB: signatures are the contract; bodies are being implemented.

/// Counts at one threshold (predict positive when `score >= threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    pub fn_: u64,
}

impl Confusion {
    pub fn at_threshold(scores: &[f32], labels: &[bool], threshold: f32) -> Self {
        let _ = (scores, labels, threshold);
        todo!("core: Confusion::at_threshold")
    }
    pub fn precision(&self) -> f64 {
        todo!()
    }
    pub fn recall(&self) -> f64 {
        todo!()
    }
    pub fn f1(&self) -> f64 {
        todo!()
    }
    /// False alarm rate: FP / (FP + TN).
    pub fn far(&self) -> f64 {
        todo!()
    }
    /// Missed alarm rate: FN / (FN + TP).
    pub fn mar(&self) -> f64 {
        todo!()
    }
}

/// Average precision as scikit-learn's `average_precision_score` defines it:
/// Σ (R_n − R_{n−1}) P_n over distinct thresholds (no interpolation).
pub fn average_precision(scores: &[f32], labels: &[bool]) -> f64 {
    let _ = (scores, labels);
    todo!("core: average_precision")
}

/// Area under the ROC curve (ties count one half), as scikit-learn's `roc_auc_score`.
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> f64 {
    let _ = (scores, labels);
    todo!("core: roc_auc")
}

/// Recall at the lowest threshold whose false alarm rate is ≤ `far` (e.g. 0.01).
pub fn recall_at_far(scores: &[f32], labels: &[bool], far: f64) -> f64 {
    let _ = (scores, labels, far);
    todo!("core: recall_at_far")
}

/// Precision among the `k` highest scores (k = number of positives when `None`).
pub fn precision_at_k(scores: &[f32], labels: &[bool], k: Option<usize>) -> f64 {
    let _ = (scores, labels, k);
    todo!("core: precision_at_k")
}

/// F1 when predicting positive for `score >= threshold`.
pub fn f1_at_threshold(scores: &[f32], labels: &[bool], threshold: f32) -> f64 {
    Confusion::at_threshold(scores, labels, threshold).f1()
}

/// Best F1 over all thresholds and the threshold that reaches it (an oracle when labels are test
/// labels: say so wherever it is reported).
pub fn best_f1(scores: &[f32], labels: &[bool]) -> (f64, f32) {
    let _ = (scores, labels);
    todo!("core: best_f1")
}

/// Precision-recall curve points `(recall, precision, threshold)`, thresholds descending.
pub fn pr_curve(scores: &[f32], labels: &[bool]) -> Vec<(f64, f64, f32)> {
    let _ = (scores, labels);
    todo!("core: pr_curve")
}

/// The value below which `q` (0..=1) of `values` lie (linear interpolation, like numpy's default).
pub fn quantile(values: &[f32], q: f64) -> f32 {
    let _ = (values, q);
    todo!("core: quantile")
}

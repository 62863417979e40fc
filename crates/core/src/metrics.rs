//! Evaluation metrics for imbalanced anomaly detection (DESIGN §6).
//!
//! Scores: higher = more anomalous. Labels: `true` = anomalous (positive). Metrics that are undefined
//! for the input (no positives, no negatives, empty input) return `f64::NAN`.
//! NaN scores rank below every other score. Score and label slices must have the same length
//! (the functions panic otherwise: that is a bug in the caller, not bad data).

/// Counts at one threshold (predict positive when `score >= threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Positives predicted positive.
    pub tp: u64,
    /// Negatives predicted positive (false alarms).
    pub fp: u64,
    /// Negatives predicted negative.
    pub tn: u64,
    /// Positives predicted negative (missed alarms).
    pub fn_: u64,
}

impl Confusion {
    /// Counts when predicting positive for `score >= threshold` (a NaN score is never positive).
    pub fn at_threshold(scores: &[f32], labels: &[bool], threshold: f32) -> Self {
        check_lengths(scores, labels);
        let mut counts = Self::default();
        for (&score, &label) in scores.iter().zip(labels) {
            match (score >= threshold, label) {
                (true, true) => counts.tp += 1,
                (true, false) => counts.fp += 1,
                (false, false) => counts.tn += 1,
                (false, true) => counts.fn_ += 1,
            }
        }
        counts
    }
    /// TP / (TP + FP); NaN when nothing is predicted positive.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// TP / (TP + FN); NaN when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// 2 TP / (2 TP + FP + FN): 0 when there are positives but none is found, NaN when there are
    /// no positives and nothing is predicted positive.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
    /// False alarm rate: FP / (FP + TN).
    pub fn far(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }
    /// Missed alarm rate: FN / (FN + TP).
    pub fn mar(&self) -> f64 {
        ratio(self.fn_, self.fn_ + self.tp)
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

fn check_lengths(scores: &[f32], labels: &[bool]) {
    assert_eq!(
        scores.len(),
        labels.len(),
        "metrics: {} scores but {} labels",
        scores.len(),
        labels.len()
    );
}

/// Cumulative counts when predicting positive for `score >= threshold`, one entry per distinct
/// score, thresholds descending.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cut {
    threshold: f32,
    tp: u64,
    fp: u64,
}

/// The cuts of `scores` and the totals of positives and negatives.
fn cuts(scores: &[f32], labels: &[bool]) -> (Vec<Cut>, u64, u64) {
    check_lengths(scores, labels);
    let key = |s: f32| if s.is_nan() { f32::NEG_INFINITY } else { s };
    let mut order: Vec<(f32, bool)> = scores
        .iter()
        .map(|&s| key(s))
        .zip(labels.iter().copied())
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<Cut> = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for (i, &(score, label)) in order.iter().enumerate() {
        if label {
            tp += 1;
        } else {
            fp += 1;
        }
        // -0.0 and 0.0 are one threshold, as `>=` treats them.
        let last_of_group = order.get(i + 1).is_none_or(|next| next.0 != score);
        if last_of_group {
            out.push(Cut {
                threshold: score,
                tp,
                fp,
            });
        }
    }
    (out, tp, fp)
}

/// Average precision as scikit-learn's `average_precision_score` defines it:
/// Σ (R_n − R_{n−1}) P_n over distinct thresholds (no interpolation). NaN without positives.
pub fn average_precision(scores: &[f32], labels: &[bool]) -> f64 {
    let (cuts, positives, _) = cuts(scores, labels);
    if positives == 0 {
        return f64::NAN;
    }
    let mut ap = 0.0;
    let mut previous_tp = 0;
    for cut in cuts {
        let precision = cut.tp as f64 / (cut.tp + cut.fp) as f64;
        ap += (cut.tp - previous_tp) as f64 / positives as f64 * precision;
        previous_tp = cut.tp;
    }
    ap
}

/// Area under the ROC curve (ties count one half), as scikit-learn's `roc_auc_score`. NaN unless
/// both classes are present.
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> f64 {
    let (cuts, positives, negatives) = cuts(scores, labels);
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    // Trapezoids between consecutive ROC points, in counts.
    let mut area = 0.0;
    let (mut tp, mut fp) = (0u64, 0u64);
    for cut in cuts {
        area += (cut.fp - fp) as f64 * (cut.tp + tp) as f64 / 2.0;
        tp = cut.tp;
        fp = cut.fp;
    }
    area / (positives as f64 * negatives as f64)
}

/// Recall at the lowest threshold whose false alarm rate is ≤ `far` (e.g. 0.01). Thresholds are
/// the distinct scores, scanned from the highest down; 0 when even the highest one raises too many
/// false alarms. NaN unless both classes are present.
pub fn recall_at_far(scores: &[f32], labels: &[bool], far: f64) -> f64 {
    let (cuts, positives, negatives) = cuts(scores, labels);
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let mut recall = 0.0;
    for cut in cuts {
        if cut.fp as f64 / negatives as f64 > far {
            break;
        }
        recall = cut.tp as f64 / positives as f64;
    }
    recall
}

/// Precision among the `k` highest scores (k = number of positives when `None`).
///
/// When scores tie across the k-th place, the tied windows count with the share that random
/// tie-breaking would give them on average, so the result does not depend on input order. `k` is
/// capped at the number of scores; NaN when `k` is 0 (or `None` with no positives).
pub fn precision_at_k(scores: &[f32], labels: &[bool], k: Option<usize>) -> f64 {
    let (cuts, positives, _) = cuts(scores, labels);
    let k = k.unwrap_or(positives as usize).min(scores.len());
    if k == 0 {
        return f64::NAN;
    }
    let (mut tp, mut taken) = (0u64, 0u64);
    for cut in cuts {
        let group = cut.tp + cut.fp - taken;
        let group_tp = cut.tp - tp;
        let wanted = k as u64 - taken;
        if group >= wanted {
            let expected = tp as f64 + wanted as f64 * group_tp as f64 / group as f64;
            return expected / k as f64;
        }
        tp = cut.tp;
        taken += group;
    }
    unreachable!("k is capped at the number of scores")
}
/// F1 when predicting positive for `score >= threshold`.
pub fn f1_at_threshold(scores: &[f32], labels: &[bool], threshold: f32) -> f64 {
    Confusion::at_threshold(scores, labels, threshold).f1()
}

/// Best F1 over all thresholds and the threshold that reaches it (an oracle when labels are test
/// labels: say so wherever it is reported). On equal F1 the highest threshold wins. `(NaN, NaN)`
/// without positives.
pub fn best_f1(scores: &[f32], labels: &[bool]) -> (f64, f32) {
    let (cuts, positives, _) = cuts(scores, labels);
    if positives == 0 {
        return (f64::NAN, f32::NAN);
    }
    let mut best = (f64::NEG_INFINITY, f32::NAN);
    for cut in cuts {
        let f1 = 2.0 * cut.tp as f64 / (cut.tp + cut.fp + positives) as f64;
        if f1 > best.0 {
            best = (f1, cut.threshold);
        }
    }
    best
}

/// Precision-recall curve points `(recall, precision, threshold)`, thresholds descending: one
/// point per distinct score. Empty without positives.
pub fn pr_curve(scores: &[f32], labels: &[bool]) -> Vec<(f64, f64, f32)> {
    let (cuts, positives, _) = cuts(scores, labels);
    if positives == 0 {
        return Vec::new();
    }
    cuts.into_iter()
        .map(|c| {
            let recall = c.tp as f64 / positives as f64;
            (recall, c.tp as f64 / (c.tp + c.fp) as f64, c.threshold)
        })
        .collect()
}

/// The value below which `q` (0..=1) of `values` lie (linear interpolation, like numpy's default).
/// NaN for no values; `q` is clamped to 0..=1.
pub fn quantile(values: &[f32], q: f64) -> f32 {
    quantiles(values, &[q])[0]
}

/// [`quantile`] at several `qs`, sorting `values` once.
pub fn quantiles(values: &[f32], qs: &[f64]) -> Vec<f32> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    qs.iter().map(|&q| sorted_quantile(&sorted, q)).collect()
}

/// `n` quantiles at 0, 1/(n-1), …, 1: the calibration table of a scorer.
pub fn even_quantiles(values: &[f32], n: usize) -> Vec<f32> {
    let qs: Vec<f64> = match n {
        0 => Vec::new(),
        1 => vec![0.5],
        _ => (0..n).map(|i| i as f64 / (n - 1) as f64).collect(),
    };
    quantiles(values, &qs)
}

fn sorted_quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (f64::from(sorted[lo]), f64::from(sorted[hi]));
    (a + (h - lo as f64) * (b - a)) as f32
}

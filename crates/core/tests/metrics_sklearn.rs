//! Metrics against scikit-learn and numpy on one fixed example with ties.
//!
//! The constants below were printed by `scripts/sklearn_reference.py` (scikit-learn
//! 1.9.1, numpy 2.4.6); the example data is copied from that script and must stay in sync with it.

use telltale_core::metrics::{
    Confusion, average_precision, best_f1, f1_at_threshold, pr_curve, quantile, recall_at_far,
    roc_auc,
};

#[rustfmt::skip]
const NUMERATORS: [u8; 40] = [
    3, 7, 7, 12, 1, 0, 9, 15, 7, 4,
    11, 2, 5, 5, 13, 8, 6, 7, 3, 10,
    14, 9, 1, 6, 12, 5, 2, 16, 8, 4,
    9, 11, 0, 3, 13, 6, 10, 2, 12, 7,
];
#[rustfmt::skip]
const LABELS: [u8; 40] = [
    0, 1, 0, 1, 0, 0, 0, 1, 0, 0,
    1, 0, 0, 1, 0, 0, 0, 1, 0, 0,
    1, 1, 0, 0, 0, 0, 0, 1, 1, 0,
    0, 1, 0, 0, 1, 0, 0, 0, 1, 0,
];

// Printed by scripts/sklearn_reference.py.
const AVERAGE_PRECISION: f64 = 0.741802315331727;
const ROC_AUC: f64 = 0.8575498575498576;
const RECALL_AT_FAR_00: f64 = 0.23076923076923078;
const RECALL_AT_FAR_05: f64 = 0.3076923076923077;
const RECALL_AT_FAR_10: f64 = 0.6153846153846154;
const RECALL_AT_FAR_25: f64 = 0.6923076923076923;
const PRECISION_AT_9: f64 = 0.6;
const RECALL_AT_9: f64 = 0.6923076923076923;
const F1_AT_9: f64 = 0.6428571428571429;
const BEST_F1: f64 = 0.6956521739130435;
const BEST_F1_THRESHOLD: f64 = 0.6875;
const PR_POINTS: usize = 17;
const PR_FIRST_POINTS: [(f64, f64, f64); 3] = [
    (0.07692307692307693, 1.0, 1.0),
    (0.15384615384615385, 1.0, 0.9375),
    (0.23076923076923078, 1.0, 0.875),
];
const QUANTILES: [(f64, f64); 9] = [
    (0.0, 0.0),
    (0.01, 0.0),
    (0.03, 0.010624999999999996),
    (0.25, 0.234375),
    (0.37, 0.339375),
    (0.5, 0.4375),
    (0.9, 0.8125),
    (0.99, 0.975625),
    (1.0, 1.0),
];

fn example() -> (Vec<f32>, Vec<bool>) {
    let scores = NUMERATORS.iter().map(|&n| f32::from(n) / 16.0).collect();
    let labels = LABELS.iter().map(|&l| l == 1).collect();
    (scores, labels)
}

fn close(got: f64, expected: f64, what: &str) {
    assert!(
        (got - expected).abs() <= 1e-9,
        "{what}: got {got}, scikit-learn {expected}"
    );
}

#[test]
fn ranking_metrics_match_scikit_learn() {
    let (scores, labels) = example();
    close(
        average_precision(&scores, &labels),
        AVERAGE_PRECISION,
        "average precision",
    );
    close(roc_auc(&scores, &labels), ROC_AUC, "ROC AUC");
    close(
        recall_at_far(&scores, &labels, 0.0),
        RECALL_AT_FAR_00,
        "recall at FAR 0",
    );
    close(
        recall_at_far(&scores, &labels, 0.05),
        RECALL_AT_FAR_05,
        "recall at FAR 5 %",
    );
    close(
        recall_at_far(&scores, &labels, 0.10),
        RECALL_AT_FAR_10,
        "recall at FAR 10 %",
    );
    close(
        recall_at_far(&scores, &labels, 0.25),
        RECALL_AT_FAR_25,
        "recall at FAR 25 %",
    );
}

#[test]
fn threshold_metrics_match_scikit_learn() {
    let (scores, labels) = example();
    let at_9 = Confusion::at_threshold(&scores, &labels, 9.0 / 16.0);
    close(at_9.precision(), PRECISION_AT_9, "precision at 9/16");
    close(at_9.recall(), RECALL_AT_9, "recall at 9/16");
    close(at_9.f1(), F1_AT_9, "F1 at 9/16");
    close(
        f1_at_threshold(&scores, &labels, 9.0 / 16.0),
        F1_AT_9,
        "f1_at_threshold",
    );
    let (f1, threshold) = best_f1(&scores, &labels);
    close(f1, BEST_F1, "best F1");
    close(f64::from(threshold), BEST_F1_THRESHOLD, "best F1 threshold");
}

#[test]
fn pr_curve_matches_scikit_learn() {
    let (scores, labels) = example();
    let curve = pr_curve(&scores, &labels);
    assert_eq!(curve.len(), PR_POINTS);
    for (i, &(recall, precision, threshold)) in PR_FIRST_POINTS.iter().enumerate() {
        close(curve[i].0, recall, "recall");
        close(curve[i].1, precision, "precision");
        close(f64::from(curve[i].2), threshold, "threshold");
    }
    assert!(
        curve.windows(2).all(|w| w[0].2 > w[1].2),
        "thresholds descend"
    );
    assert_eq!(
        curve.last().unwrap().0,
        1.0,
        "the lowest threshold finds every positive"
    );
}

#[test]
fn quantiles_match_numpy_linear() {
    let (scores, _) = example();
    for (q, expected) in QUANTILES {
        assert_eq!(quantile(&scores, q), expected as f32, "quantile {q}");
    }
}

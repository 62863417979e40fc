//! Metrics on small cases worked out by hand, and their undefined cases.

use telltale_core::metrics::*;

const T: bool = true;
const F: bool = false;

fn close(got: f64, expected: f64) {
    assert!(
        (got - expected).abs() < 1e-12,
        "got {got}, expected {expected}"
    );
}

#[test]
fn the_scikit_learn_doc_example() {
    let scores = [0.1, 0.4, 0.35, 0.8];
    let labels = [F, F, T, T];
    // Thresholds 0.8 (P 1, R .5), 0.4 (P .5, R .5), 0.35 (P 2/3, R 1): .5·1 + .5·2/3.
    close(average_precision(&scores, &labels), 0.5 + 0.5 * 2.0 / 3.0);
    close(roc_auc(&scores, &labels), 0.75);
}

#[test]
fn ties_count_one_half_and_give_prevalence() {
    let scores = [0.5; 4];
    let labels = [T, F, T, F];
    close(roc_auc(&scores, &labels), 0.5);
    close(average_precision(&scores, &labels), 0.5);
    close(precision_at_k(&scores, &labels, Some(1)), 0.5);
    assert_eq!(pr_curve(&scores, &labels), vec![(1.0, 0.5, 0.5)]);
}

#[test]
fn perfect_and_reversed_rankings() {
    let labels = [F, F, T, T];
    close(roc_auc(&[0.1, 0.2, 0.3, 0.4], &labels), 1.0);
    close(average_precision(&[0.1, 0.2, 0.3, 0.4], &labels), 1.0);
    close(roc_auc(&[0.4, 0.3, 0.2, 0.1], &labels), 0.0);
    close(
        average_precision(&[0.4, 0.3, 0.2, 0.1], &labels),
        0.5 * 1.0 / 3.0 + 0.5 * 0.5,
    );
}

#[test]
fn undefined_metrics_are_nan() {
    let no_positives = [F, F];
    let scores = [0.1, 0.2];
    assert!(average_precision(&scores, &no_positives).is_nan());
    assert!(roc_auc(&scores, &no_positives).is_nan());
    assert!(roc_auc(&scores, &[T, T]).is_nan());
    assert!(recall_at_far(&scores, &no_positives, 0.1).is_nan());
    assert!(best_f1(&scores, &no_positives).0.is_nan());
    assert!(precision_at_k(&scores, &no_positives, None).is_nan());
    assert!(pr_curve(&scores, &no_positives).is_empty());
    assert!(average_precision(&[], &[]).is_nan());
    assert!(quantile(&[], 0.5).is_nan());
}

#[test]
fn confusion_counts_and_rates() {
    let scores = [0.9, 0.8, 0.5, 0.5, 0.2, 0.1];
    let labels = [T, F, T, F, T, F];
    let c = Confusion::at_threshold(&scores, &labels, 0.5);
    assert_eq!(
        c,
        Confusion {
            tp: 2,
            fp: 2,
            tn: 1,
            fn_: 1
        }
    );
    close(c.precision(), 0.5);
    close(c.recall(), 2.0 / 3.0);
    close(c.f1(), 4.0 / 7.0);
    close(c.far(), 2.0 / 3.0);
    close(c.mar(), 1.0 / 3.0);
    let none = Confusion::at_threshold(&scores, &labels, 2.0);
    assert!(none.precision().is_nan());
    close(none.f1(), 0.0);
    close(none.recall(), 0.0);
    assert_eq!(Confusion::at_threshold(&[f32::NAN], &[T], 0.0).fn_, 1);
}

#[test]
fn recall_at_far_takes_the_lowest_threshold_within_the_budget() {
    let scores = [0.9, 0.8, 0.7, 0.6, 0.5];
    let labels = [T, F, T, T, F];
    close(recall_at_far(&scores, &labels, 0.0), 1.0 / 3.0);
    close(recall_at_far(&scores, &labels, 0.5), 1.0);
    close(recall_at_far(&[0.9, 0.1], &[F, T], 0.0), 0.0);
}

#[test]
fn precision_at_k_shares_ties_and_ignores_input_order() {
    let scores = [0.9, 0.8, 0.8, 0.8, 0.1];
    let labels = [T, F, T, F, T];
    // Above the tie: one positive; the tie of three holds one positive.
    close(
        precision_at_k(&scores, &labels, Some(2)),
        (1.0 + 1.0 / 3.0) / 2.0,
    );
    close(
        precision_at_k(&scores, &labels, None),
        (1.0 + 2.0 / 3.0) / 3.0,
    );
    close(precision_at_k(&scores, &labels, Some(5)), 0.6);
    close(precision_at_k(&scores, &labels, Some(50)), 0.6);
    assert!(precision_at_k(&scores, &labels, Some(0)).is_nan());
    let scores_b = [0.8, 0.1, 0.8, 0.9, 0.8];
    let labels_b = [F, T, T, T, F];
    close(
        precision_at_k(&scores_b, &labels_b, Some(2)),
        (1.0 + 1.0 / 3.0) / 2.0,
    );
}

#[test]
fn best_f1_scans_every_threshold() {
    let scores = [0.9, 0.8, 0.7, 0.1];
    let labels = [T, F, T, F];
    // F1 at 0.9: 2/3, at 0.8: 1/2, at 0.7: 4/5, at 0.1: 2/3.
    let (f1, threshold) = best_f1(&scores, &labels);
    close(f1, 0.8);
    assert_eq!(threshold, 0.7);
    close(f1_at_threshold(&scores, &labels, threshold), f1);
    // F1 2/3 at 0.9 (tp 1, fp 0, fn 1) and at 0.6 (tp 2, fp 2): the higher threshold wins.
    let (f1, threshold) = best_f1(&[0.9, 0.8, 0.7, 0.6], &[T, F, F, T]);
    close(f1, 2.0 / 3.0);
    assert_eq!(threshold, 0.9);
}

#[test]
fn nan_scores_rank_lowest() {
    close(roc_auc(&[f32::NAN, 0.5], &[T, F]), 0.0);
    close(roc_auc(&[f32::NAN, 0.5], &[F, T]), 1.0);
}

#[test]
fn quantiles_interpolate_linearly() {
    let values = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(quantile(&values, 0.0), 1.0);
    assert_eq!(quantile(&values, 0.5), 2.5);
    assert_eq!(quantile(&values, 1.0), 4.0);
    assert_eq!(quantile(&values, 2.0), 4.0, "q is clamped");
    assert_eq!(quantile(&[7.0], 0.3), 7.0);
    assert_eq!(even_quantiles(&values, 4), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(even_quantiles(&values, 1), vec![2.5]);
    assert_eq!(quantiles(&values, &[0.25, 0.75]), vec![1.75, 3.25]);
}

#[test]
#[should_panic(expected = "2 scores but 1 labels")]
fn mismatched_lengths_panic() {
    roc_auc(&[0.1, 0.2], &[T]);
}

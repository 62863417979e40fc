//! Calibration (DESIGN §2.5) through the EXPORTED graphs: raw errors of validation windows from
//! ONNX Runtime, the log statistics, the default scorer, the normal quantiles behind the `score`
//! in [0, 1], and the threshold. The test split never reaches this file.

use ndarray::s;
use serde_json::json;
use telltale_core::BinnedWindow;
use telltale_core::manifest::{Threshold, ThresholdMethod};
use telltale_core::metrics::{average_precision, best_f1, even_quantiles, roc_auc};
use telltale_core::scoring::{self, Calibration, LogStats, ScorerKind};
use telltale_scorer::{ModelGraphs, Scorer};

use crate::evaluate::thresholds::kind_name;
use crate::export::parity::pack;

/// Number of normal quantiles stored in the manifest.
pub const QUANTILES: usize = 1001;
/// Windows per ONNX Runtime call.
const CHUNK: usize = 128;

/// Per-window outputs of the graphs, in input order.
#[derive(Debug, Clone, Default)]
pub struct RawOutputs {
    pub contexts: Vec<Vec<f32>>,
    pub latent: Vec<f32>,
    /// 0 for every window when the model has no sequence decoder.
    pub sequence: Vec<f32>,
}

/// Run encoder and decoders over `windows` and compute their raw errors with the core math.
pub fn onnx_outputs(
    graphs: &mut ModelGraphs,
    windows: &[&BinnedWindow],
    latent_scale: &[f32],
    n_features: usize,
) -> anyhow::Result<RawOutputs> {
    let mut out = RawOutputs::default();
    for chunk in windows.chunks(CHUNK) {
        let owned: Vec<BinnedWindow> = chunk.iter().map(|w| (*w).clone()).collect();
        let (x, lengths) = pack(&owned);
        let context = graphs.encode(x.view(), &lengths)?;
        let latent = graphs.decode_latent(context.view())?;
        let sequence = graphs.decode_sequence(context.view(), x.view(), &lengths)?;
        for (b, w) in owned.iter().enumerate() {
            let c: Vec<f32> = context.row(b).to_vec();
            out.latent.push(scoring::latent_error(
                &c,
                &latent.row(b).to_vec(),
                latent_scale,
            ));
            out.sequence.push(match &sequence {
                Some(recon) => {
                    let ours: Vec<f32> = x.slice(s![b, ..w.len, ..]).iter().copied().collect();
                    let theirs: Vec<f32> =
                        recon.slice(s![b, ..w.len, ..]).iter().copied().collect();
                    scoring::sequence_errors(&ours, &theirs, w.len, w.channels, n_features).total
                }
                None => 0.0,
            });
            out.contexts.push(c);
        }
    }
    Ok(out)
}

/// Mean and standard deviation of `ln(error + 1e-8)` (std floored at 1e-6; `{0, 1}` for none).
pub fn log_stats(errors: &[f32]) -> LogStats {
    if errors.is_empty() {
        return LogStats {
            mean: 0.0,
            std: 1.0,
        };
    }
    let logs: Vec<f64> = errors.iter().map(|&e| (f64::from(e) + 1e-8).ln()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n;
    LogStats {
        mean: mean as f32,
        std: (var.sqrt() as f32).max(1e-6),
    }
}

/// Head inputs `[context, log_z(latent), log_z(sequence)]` of every window.
pub fn head_features(
    outputs: &RawOutputs,
    latent_log: LogStats,
    sequence_log: LogStats,
) -> Vec<Vec<f32>> {
    outputs
        .contexts
        .iter()
        .zip(outputs.latent.iter().zip(&outputs.sequence))
        .map(|(c, (&l, &s))| {
            let mut row = c.clone();
            row.push(scoring::log_z(l, latent_log));
            row.push(scoring::log_z(s, sequence_log));
            row
        })
        .collect()
}

/// The calibrated parts of a manifest and what they were measured on.
#[derive(Debug, Clone)]
pub struct Calibrated {
    pub calibration: Calibration,
    pub threshold: Threshold,
    /// Validation metrics per scorer, stored as the manifest's `evaluation`.
    pub evaluation: serde_json::Value,
}

/// Score `windows` with the scorer (its manifest carries the final log statistics), choose the
/// default scorer among the unsupervised `kinds` (best AUC-PR when `labels` has both classes, else
/// `fallback`),
/// store its normal quantiles, and set the threshold.
pub fn calibrate(
    scorer: &mut Scorer,
    windows: &[&BinnedWindow],
    labels: &[bool],
    kinds: &[ScorerKind],
    fallback: ScorerKind,
    target_far: f64,
    calibrated_on: &str,
) -> anyhow::Result<Calibrated> {
    let mut scores = Vec::with_capacity(windows.len());
    for chunk in windows.chunks(CHUNK) {
        let owned: Vec<BinnedWindow> = chunk.iter().map(|w| (*w).clone()).collect();
        scores.extend(scorer.score_detailed(&owned)?);
    }
    let mut calibration = scorer.manifest().calibration.clone();
    let raw = |kind: ScorerKind, calibration: &Calibration| -> Vec<f32> {
        scores
            .iter()
            .map(|s| scoring::raw_value(kind, &s.raw, calibration).unwrap_or(f32::NAN))
            .collect()
    };
    let positives = labels.iter().filter(|&&l| l).count();
    let both = positives > 0 && positives < labels.len();
    let mut metrics = serde_json::Map::new();
    let mut default = fallback;
    let mut best_ap = f64::NEG_INFINITY;
    for &kind in kinds {
        let values = raw(kind, &calibration);
        let (ap, auc) = if both {
            (average_precision(&values, labels), roc_auc(&values, labels))
        } else {
            (f64::NAN, f64::NAN)
        };
        // The supervised head is reported but never the default: the score must not depend on
        // a few labelled windows (it stays the fallback only when it is the sole kind).
        if both && ap > best_ap && kind != ScorerKind::Head {
            best_ap = ap;
            default = kind;
        }
        metrics.insert(
            kind_name(kind).into(),
            json!({ "auc_pr": finite(ap), "auc_roc": finite(auc) }),
        );
    }
    let default_raw = raw(default, &calibration);
    let normal_raw: Vec<f32> = default_raw
        .iter()
        .zip(labels)
        .filter(|(_, l)| !**l)
        .map(|(v, _)| *v)
        .collect();
    anyhow::ensure!(
        !normal_raw.is_empty(),
        "calibration: no normal windows to calibrate the score on"
    );
    calibration.default_scorer = default;
    calibration.normal_quantiles = even_quantiles(&normal_raw, QUANTILES);
    let calibrated: Vec<f32> = default_raw
        .iter()
        .map(|&r| scoring::calibrate(r, &calibration.normal_quantiles))
        .collect();
    let threshold = if both {
        let (f1, score) = best_f1(&calibrated, labels);
        Threshold {
            score,
            method: ThresholdMethod::BestF1 {
                validation_f1: f1 as f32,
            },
        }
    } else {
        Threshold {
            score: (1.0 - target_far) as f32,
            method: ThresholdMethod::TargetFar {
                far: target_far as f32,
            },
        }
    };
    let evaluation = json!({
        "calibrated_on": calibrated_on,
        "windows": labels.len(),
        "positives": positives,
        "default_scorer": kind_name(default),
        "default_chosen_by": if both { "validation AUC-PR" } else { "no validation positives: fallback" },
        "threshold": threshold.score,
        "scorers": metrics,
    });
    Ok(Calibrated {
        calibration,
        threshold,
        evaluation,
    })
}

fn finite(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_stats_of_known_values() {
        let stats = log_stats(&[(1.0f32).exp() - 1e-8, (3.0f32).exp() - 1e-8]);
        assert!((stats.mean - 2.0).abs() < 1e-4, "{stats:?}");
        assert!((stats.std - 1.0).abs() < 1e-4, "{stats:?}");
        assert_eq!(
            log_stats(&[]),
            LogStats {
                mean: 0.0,
                std: 1.0
            }
        );
    }
}

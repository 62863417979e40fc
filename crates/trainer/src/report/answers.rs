//! The answers to the seed's three questions, written from the measured numbers. Every verdict is
//! a comparison of numbers in the report, so a different result gives a different sentence.

use super::history::StageHistory;
use crate::evaluate::EvalReport;
use crate::evaluate::summary::{
    BASELINE, COMBINED, HEAD, LATENT, LATENT_JOINT, PEAK, PEAK_NO_DECODER, SEQUENCE,
};

/// Differences in AUC-PR below this are called "about the same".
pub const MARGIN: f64 = 0.02;

/// A number for prose: three decimals, or "n/a" when undefined.
pub fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "n/a".into()
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", x * 100.0)
    } else {
        "n/a".into()
    }
}

fn auc_pr(report: &EvalReport, name: &str) -> Option<f64> {
    report
        .scorers
        .get(name)
        .map(|m| m.auc_pr)
        .filter(|v| v.is_finite())
}

/// A caveat that comes first when the numbers cannot carry a verdict: every scorer near chance,
/// or so few anomalous windows that AUC-PR differences of a few hundredths are noise.
pub fn evidence_caveat(report: &EvalReport) -> Option<String> {
    let p = report.prevalence;
    let best = report
        .scorers
        .values()
        .map(|m| m.auc_pr)
        .filter(|v| v.is_finite())
        .fold(f64::NAN, f64::max);
    let mut parts = Vec::new();
    if best.is_finite() && best < 1.5 * p {
        parts.push(format!(
            "every scorer is close to chance here (best AUC-PR {} against a chance level of {})",
            num(best),
            num(p)
        ));
    }
    if report.positives < 30 {
        parts.push(format!(
            "only {} anomalous windows were evaluated, so differences of a few hundredths are \
             within noise",
            report.positives
        ));
    }
    (!parts.is_empty()).then(|| format!("Read with care: {}.", parts.join("; and ")))
}

/// How an AUC-PR compares with chance, in words.
fn versus_chance(auc_pr: f64, prevalence: f64) -> &'static str {
    if auc_pr <= prevalence {
        "no better than chance"
    } else if auc_pr < 1.5 * prevalence {
        "barely above chance"
    } else {
        "clearly above chance"
    }
}

/// The best unsupervised LSTM scorer by AUC-PR: `(name, auc_pr)`.
fn best_unsupervised(report: &EvalReport) -> Option<(&'static str, f64)> {
    [LATENT, SEQUENCE, COMBINED, PEAK]
        .into_iter()
        .filter_map(|n| auc_pr(report, n).map(|v| (n, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// "Does the architecture make sense?"
pub fn architecture(report: &EvalReport) -> String {
    let p = report.prevalence;
    let Some(l) = auc_pr(report, LATENT) else {
        return "The latent scorer has no defined AUC-PR on these windows (they need both normal \
                and anomalous examples), so this question cannot be answered from this data."
            .into();
    };
    let mut out = format!(
        "Reconstructing only the context vector (the `latent` scorer — the seed's architecture, \
         with the encoder first trained by a sequence decoder) reached AUC-PR {} ({})",
        num(l),
        versus_chance(l, p)
    );
    let s = auc_pr(report, SEQUENCE);
    if let Some(s) = s {
        out += &format!(
            " against {} for reconstructing the whole window (`sequence`)",
            num(s)
        );
    }
    if let Some(c) = auc_pr(report, COMBINED) {
        out += &format!(", {} for both combined", num(c));
    }
    if let Some(k) = auc_pr(report, PEAK) {
        out += &format!(
            " and {} for the sustained local error of the window's reconstruction (`peak`)",
            num(k)
        );
    }
    out += &format!("; chance level (the prevalence) is {}. ", num(p));
    out += &match s {
        None => "This model has no sequence decoder, so the comparison with a full reconstruction \
                 is not available. "
            .to_string(),
        Some(s) if l > s + MARGIN => "On this data the context vector alone carries more of the \
             signal than the full reconstruction, so the proposed architecture makes sense — \
             provided the encoder first learns a meaningful context (question 2). "
            .to_string(),
        Some(s) if l < s - MARGIN => format!(
            "On this data the latent reconstruction detects less than the full sequence \
             reconstruction (by {}): the context vector alone loses part of what makes a window \
             anomalous, so the score should look at the whole window, not the context alone \
             (this model's default scorer is `{}`). ",
            num(s - l),
            report.default_scorer
        ),
        Some(_) => format!(
            "The two are within {MARGIN} of each other, so reconstructing only the context vector \
             loses little here and is cheaper to score. "
        ),
    };
    if let (Some(b), Some((name, best))) = (auc_pr(report, BASELINE), best_unsupervised(report)) {
        out += &if best > b + MARGIN {
            format!(
                "The best LSTM scorer (`{name}`, {}) beats the non-neural summary baseline ({}) \
                 by {}: modelling the sequence adds something over plain window statistics.",
                num(best),
                num(b),
                num(best - b)
            )
        } else if best < b - MARGIN {
            format!(
                "The non-neural summary baseline ({}) beats every LSTM scorer (best: `{name}`, \
                 {}): on this data the LSTM adds nothing over plain window statistics, so start \
                 with the simple baseline.",
                num(b),
                num(best)
            )
        } else {
            format!(
                "The non-neural summary baseline reached {}, about the same as the best LSTM \
                 scorer (`{name}`, {}): on this data the LSTM adds little over plain window \
                 statistics.",
                num(b),
                num(best)
            )
        };
    }
    if let Some(sentence) = decoder_contribution(report) {
        out.push(' ');
        out += &sentence;
    }
    out
}

/// What the sequence decoder adds to `peak`: the same scan against a zero reconstruction
/// (`peak_no_decoder`) measures how much of `peak` the LSTM's reconstruction is responsible for.
fn decoder_contribution(report: &EvalReport) -> Option<String> {
    let with = auc_pr(report, PEAK)?;
    let without = auc_pr(report, PEAK_NO_DECODER)?;
    Some(if with > without + MARGIN {
        format!(
            "Leaving the sequence decoder out of `peak` (the same scan on the prepared input, \
             `peak_no_decoder`) drops AUC-PR from {} to {}: the LSTM's reconstruction of normal \
             behaviour is part of what detects.",
            num(with),
            num(without)
        )
    } else if with < without - MARGIN {
        format!(
            "The same scan without the sequence decoder (`peak_no_decoder`, {}) does better than \
             `peak` ({}): here the reconstruction blurs what the prepared input shows, so most \
             of the detection comes from the window preparation (per-window centring, step \
             spreads, cross-feature coupling), not from the LSTM.",
            num(without),
            num(with)
        )
    } else {
        format!(
            "The same scan without the sequence decoder (`peak_no_decoder`) reaches {} against \
             {} for `peak`: the LSTM's reconstruction adds little here, and most of the \
             detection comes from the window preparation (per-window centring, step spreads, \
             cross-feature coupling) that both share.",
            num(without),
            num(with)
        )
    })
}

/// First and last recorded context variance of the `latent_joint` training stage.
fn joint_variance_trend(history: Option<&[StageHistory]>) -> Option<(f64, f64, usize)> {
    let stage = history?.iter().find(|s| s.name == LATENT_JOINT)?;
    let values: Vec<f64> = stage.context_variance.iter().flatten().copied().collect();
    Some((
        *values.first()?,
        *values.last()?,
        stage.context_variance.len(),
    ))
}

/// "How do I copy the LSTM output vector to be used as the decoder target?"
pub fn copy_target(report: &EvalReport, history: Option<&[StageHistory]>) -> String {
    let mut out = "Treat the encoder's output as a constant target: stage 1 trains the encoder \
        with the sequence decoder on normal windows, which gives the context its meaning; stage 2 \
        freezes the encoder and trains the latent decoder to reproduce the context, which is \
        detached from the graph (a stop-gradient), so no gradient reaches the encoder through the \
        target. "
        .to_string();
    let (Some(c), Some(j)) = (&report.latent_joint, report.scorers.get(LATENT_JOINT)) else {
        out += "The jointly trained ablation was not trained for this model (train with \
                `--latent-joint`), so this report cannot show what happens without the \
                stop-gradient.";
        return out;
    };
    out += &format!(
        "Trained jointly instead (the `latent_joint` ablation: encoder and latent decoder \
         together on ‖ĉ − c‖²), the mean per-dimension variance of the context over the evaluated \
         windows is {} against {} for the two-stage encoder — a ratio of {}",
        num(c.joint_context_variance),
        num(c.two_stage_context_variance),
        num(c.variance_ratio)
    );
    out += if c.variance_ratio < 0.1 {
        ": it collapsed, mapping every window to nearly the same vector, which the decoder then \
         reproduces for anomalies too. "
    } else if c.variance_ratio < 0.5 {
        ": it partly collapsed. "
    } else {
        ": it did not collapse on this data. "
    };
    if let Some((first, last, epochs)) = joint_variance_trend(history) {
        out += &format!(
            "During its {epochs} training epochs the context variance went from {} to {}{}. ",
            num(first),
            num(last),
            if last < first {
                ", still falling as the loss fell"
            } else {
                ""
            }
        );
    }
    let l = report.scorers.get(LATENT).map_or(f64::NAN, |m| m.auc_pr);
    out += &format!(
        "Its AUC-PR is {} against {} for the two-stage latent scorer",
        num(j.auc_pr),
        num(l)
    );
    out += if j.auc_pr < l - MARGIN {
        ", so the stop-gradient (two-stage training) matters."
    } else if j.auc_pr > l + MARGIN {
        ": on this data joint training detected more, so the collapse argument alone does not \
         decide it here."
    } else {
        ", about the same on this data."
    };
    out
}

/// "Train only on the sensors that did not alert, then use the reconstruction error?"
pub fn normal_only(report: &EvalReport) -> String {
    let p = report.prevalence;
    let mut out = String::from(
        "That is how the autoencoder here was trained: every reconstruction model saw normal \
         windows only. ",
    );
    let unsupervised = [PEAK, COMBINED, LATENT]
        .into_iter()
        .find_map(|n| report.scorers.get(n).map(|m| (n, m)));
    if let Some((name, m)) = unsupervised {
        out += &format!(
            "Its reconstruction error (`{name}`) reached AUC-PR {} — {} ({}) — with recall {} at \
             a 1 % false-alarm rate; ",
            num(m.auc_pr),
            versus_chance(m.auc_pr, p),
            num(p),
            pct(m.recall_at_1pct_far)
        );
        out += if m.auc_pr >= 1.5 * p {
            "so yes, the error separates the alerting sensors from the others. "
        } else {
            "so on this data the error alone does not separate the alerting sensors well. "
        };
    }
    if let Some(m) = report.scorers.get(&report.default_scorer) {
        out += &format!(
            "The model's default scorer `{}` flags, at its stored threshold, {} of the anomalous \
             windows at a false-alarm rate of {} (F1 {}); with {} of windows anomalous, precision \
             among the {} highest-scored windows is {}. ",
            report.default_scorer,
            pct(m.recall_at_threshold),
            pct(m.far_at_threshold),
            num(m.f1_at_threshold),
            pct(p),
            report.positives,
            num(m.precision_at_k)
        );
    }
    let how = match report.model.head_variant.as_deref() {
        Some("resample") => "balanced resampling",
        Some("weighted") => "class-weighted loss",
        _ => "class weighting or resampling",
    };
    match (report.scorers.get(HEAD), best_unsupervised(report)) {
        (Some(h), Some((name, u))) => {
            out += &format!(
                "Where labels exist they can do more than measure: the supervised head on \
                 [context, errors] (trained with {how}, the answer's advice for imbalance) \
                 reached AUC-PR {} against {} for the best unsupervised scorer (`{name}`)",
                num(h.auc_pr),
                num(u)
            );
            out += if h.auc_pr > u + MARGIN {
                ", so use the head where labels exist."
            } else if h.auc_pr < u - MARGIN {
                "; here it does worse than the unsupervised error (too few or noisy labels), so \
                 use the labels to choose the threshold rather than to train a classifier."
            } else {
                ", about the same: the labels are then most useful for choosing the threshold."
            };
        }
        _ => {
            out += "This model used no labels (no head): the labels were used only to measure. \
                    Where labels exist, train the head (class-weighted or resampled) and choose \
                    the threshold on labelled validation windows.";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::evaluate::summary::{CollapseInfo, ModelInfo, ScorerMetrics, ThresholdChoice};

    fn metrics(auc_pr: f64) -> ScorerMetrics {
        ScorerMetrics {
            auc_pr,
            auc_roc: 0.5,
            recall_at_1pct_far: 0.1,
            precision_at_k: 0.2,
            f1_at_threshold: 0.3,
            recall_at_threshold: 0.4,
            far_at_threshold: 0.01,
            threshold: ThresholdChoice {
                value: 0.9,
                scale: "raw".into(),
                source: "test".into(),
            },
            oracle_best_f1: 0.5,
            oracle_best_f1_threshold: 1.0,
        }
    }

    fn report(scores: &[(&str, f64)], collapse: Option<f64>) -> EvalReport {
        EvalReport {
            windows: 100,
            positives: 5,
            prevalence: 0.05,
            default_scorer: COMBINED.into(),
            scorers: scores
                .iter()
                .map(|(n, v)| (n.to_string(), metrics(*v)))
                .collect::<BTreeMap<_, _>>(),
            model: ModelInfo {
                dir: "m".into(),
                model_id: "id".into(),
                feature_names: vec!["f".into()],
                has_sequence_decoder: true,
                has_head: false,
                stored_threshold: 0.99,
                head_variant: None,
                threshold_method: serde_json::Value::Null,
            },
            events: "e.csv".into(),
            evaluated: "test split".into(),
            unlabelled_skipped: 0,
            baseline_fitted_on: "train".into(),
            baseline_fit_windows: 10,
            latent_joint: collapse.map(|ratio| CollapseInfo {
                joint_context_variance: ratio,
                two_stage_context_variance: 1.0,
                variance_ratio: ratio,
            }),
            per_kind: None,
            attribution: None,
            localisation: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn the_architecture_verdict_follows_the_numbers() {
        let better = architecture(&report(
            &[(LATENT, 0.6), (SEQUENCE, 0.4), (BASELINE, 0.2)],
            None,
        ));
        assert!(
            better.contains("0.600 (clearly above chance) against 0.400"),
            "{better}"
        );
        assert!(better.contains("carries more of the signal"), "{better}");
        assert!(
            better.contains("beats the non-neural summary baseline"),
            "{better}"
        );
        let worse = architecture(&report(
            &[(LATENT, 0.3), (SEQUENCE, 0.5), (BASELINE, 0.7)],
            None,
        ));
        assert!(
            worse.contains("detects less than the full sequence"),
            "{worse}"
        );
        assert!(worse.contains("beats every LSTM scorer"), "{worse}");
        let same = architecture(&report(&[(LATENT, 0.5), (SEQUENCE, 0.51)], None));
        assert!(same.contains("within 0.02"), "{same}");
    }

    #[test]
    fn the_decoder_contribution_is_measured_not_assumed() {
        let helps = architecture(&report(
            &[
                (LATENT, 0.1),
                (SEQUENCE, 0.3),
                (PEAK, 0.9),
                (PEAK_NO_DECODER, 0.6),
            ],
            None,
        ));
        assert!(
            helps.contains("drops AUC-PR from 0.900 to 0.600"),
            "{helps}"
        );
        let little = architecture(&report(
            &[
                (LATENT, 0.1),
                (SEQUENCE, 0.3),
                (PEAK, 0.9),
                (PEAK_NO_DECODER, 0.89),
            ],
            None,
        ));
        assert!(little.contains("adds little here"), "{little}");
        let hurts = architecture(&report(
            &[
                (LATENT, 0.1),
                (SEQUENCE, 0.3),
                (PEAK, 0.8),
                (PEAK_NO_DECODER, 0.9),
            ],
            None,
        ));
        assert!(hurts.contains("does better than `peak`"), "{hurts}");
        let absent = architecture(&report(&[(LATENT, 0.1), (SEQUENCE, 0.3)], None));
        assert!(!absent.contains("peak_no_decoder"), "{absent}");
    }

    #[test]
    fn weak_evidence_is_flagged_first() {
        let mut r = report(&[(LATENT, 0.06), (SEQUENCE, 0.04)], None);
        let caveat = evidence_caveat(&r).unwrap();
        assert!(
            caveat.contains("close to chance") && caveat.contains("only 5"),
            "{caveat}"
        );
        assert!(architecture(&r).contains("barely above chance"));
        r.positives = 100;
        r.scorers = [(LATENT.to_string(), metrics(0.6))].into_iter().collect();
        assert!(evidence_caveat(&r).is_none());
        assert!(architecture(&r).contains("clearly above chance"));
    }

    #[test]
    fn collapse_is_reported_only_when_measured() {
        let r = report(&[(LATENT, 0.5), (LATENT_JOINT, 0.1)], Some(0.01));
        let history = [StageHistory {
            name: LATENT_JOINT.into(),
            train: vec![1.0, 0.1],
            val: vec![None, None],
            context_variance: vec![Some(0.8), Some(0.002)],
        }];
        let text = copy_target(&r, Some(&history));
        assert!(text.contains("it collapsed"), "{text}");
        assert!(text.contains("from 0.800 to 0.002"), "{text}");
        assert!(
            text.contains("stop-gradient (two-stage training) matters"),
            "{text}"
        );
        let kept = copy_target(
            &report(&[(LATENT, 0.5), (LATENT_JOINT, 0.5)], Some(0.9)),
            None,
        );
        assert!(
            kept.contains("did not collapse") && kept.contains("about the same"),
            "{kept}"
        );
        let absent = copy_target(&report(&[(LATENT, 0.5)], None), None);
        assert!(absent.contains("was not trained"), "{absent}");
    }

    #[test]
    fn the_head_is_compared_with_the_best_unsupervised_scorer() {
        let r = report(&[(LATENT, 0.3), (COMBINED, 0.4), (HEAD, 0.8)], None);
        let text = normal_only(&r);
        assert!(
            text.contains("0.800 against 0.400") && text.contains("use the head"),
            "{text}"
        );
        let none = normal_only(&report(&[(LATENT, 0.3), (COMBINED, 0.4)], None));
        assert!(none.contains("no labels (no head)"), "{none}");
    }
}

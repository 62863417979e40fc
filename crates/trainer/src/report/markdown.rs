//! The text of `report.md`: summary, metrics table, the three answers, plots and caveats.

use std::fmt::Write;

use super::Plots;
use super::answers::{self, num};
use super::history::StageHistory;
use crate::evaluate::EvalReport;
use crate::evaluate::summary::PEAK_NO_DECODER;

/// The question headings, in the seed's words.
pub const QUESTIONS: [&str; 3] = [
    "1. Does the architecture make sense?",
    "2. How do I copy the LSTM output vector to be used as the decoder target?",
    "3. Train only on the sensors that did not alert, then use the reconstruction error?",
];

/// Render the whole Markdown report.
pub fn render(report: &EvalReport, plots: &Plots, history: Option<&[StageHistory]>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Telltale evaluation report\n");
    let _ = writeln!(
        md,
        "Model `{}` (`{}`) on `{}`: {} windows evaluated ({}), {} anomalous — prevalence {}, the \
         chance level of AUC-PR. Scores come from the exported ONNX graphs through \
         `telltale-scorer`, the same code the server runs.\n",
        report.model.model_id,
        report.model.dir,
        report.events,
        report.windows,
        report.evaluated,
        report.positives,
        num(report.prevalence)
    );
    let _ = writeln!(md, "## Metrics\n");
    let _ = writeln!(
        md,
        "| scorer | AUC-PR | ROC-AUC | recall @ 1 % FAR | precision@k | F1 @ threshold | recall @ \
         threshold | FAR @ threshold | best F1 (oracle) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for (name, m) in &report.scorers {
        let mark = if *name == report.default_scorer {
            " (default)"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| `{name}`{mark} | {} | {} | {} | {} | {} | {} | {} | {} |",
            num(m.auc_pr),
            num(m.auc_roc),
            num(m.recall_at_1pct_far),
            num(m.precision_at_k),
            num(m.f1_at_threshold),
            num(m.recall_at_threshold),
            num(m.far_at_threshold),
            num(m.oracle_best_f1)
        );
    }
    let _ = writeln!(
        md,
        "\nprecision@k uses k = {} (the number of anomalous windows). \"Best F1 (oracle)\" picks \
         its threshold with the evaluated labels: an upper bound, not a result.\n",
        report.positives
    );
    let _ = writeln!(md, "Thresholds (none chosen with the evaluated labels):\n");
    for (name, m) in &report.scorers {
        let _ = writeln!(
            md,
            "- `{name}`: {} on the {} scale — {}.",
            num(f64::from(m.threshold.value)),
            m.threshold.scale,
            m.threshold.source
        );
    }
    let _ = writeln!(
        md,
        "\n`baseline_summary` (mean, std, min, max, slope and tail mean per channel, scored by \
         standardised Euclidean distance to the normal mean) was fitted on {}.\n",
        report.baseline_fitted_on
    );
    if report.scorers.contains_key(PEAK_NO_DECODER) {
        let _ = writeln!(
            md,
            "`peak_no_decoder` is the `peak` scan against a zero reconstruction: the same window \
             preparation without the LSTM, so the gap to `peak` is what the sequence decoder \
             adds.\n"
        );
    }

    let _ = writeln!(md, "## Answers to the three questions\n");
    if let Some(caveat) = answers::evidence_caveat(report) {
        let _ = writeln!(md, "{caveat}\n");
    }
    let texts = [
        answers::architecture(report),
        answers::copy_target(report, history),
        answers::normal_only(report),
    ];
    for (q, text) in QUESTIONS.iter().zip(texts) {
        let _ = writeln!(md, "### {q}\n\n{text}\n");
    }

    if let Some(kinds) = &report.per_kind {
        let _ = writeln!(
            md,
            "## Detection per anomaly kind (default scorer, stored threshold)\n"
        );
        let _ = writeln!(
            md,
            "| kind | windows | flagged | share flagged |\n|---|---|---|---|"
        );
        for (kind, k) in kinds {
            let _ = writeln!(
                md,
                "| {kind} | {} | {} | {} |",
                k.windows,
                k.flagged,
                num(k.flagged_rate)
            );
        }
        let _ = writeln!(
            md,
            "\nFor `none` (normal sensors) the share flagged is the false-alarm rate.\n"
        );
    }
    if let Some(a) = &report.attribution {
        let _ = writeln!(
            md,
            "## Attribution\n\nOn {} anomalous windows with a known affected feature, the feature \
             the server names first (`feature_attribution`: its part of the default scorer `{}`) \
             was an affected one in {} of cases (chance: {}).\n",
            a.windows,
            report.default_scorer,
            num(a.top_feature_accuracy),
            num(a.chance)
        );
    }
    if let Some(l) = &report.localisation {
        let _ = writeln!(
            md,
            "## Localisation\n\nOn {} anomalous windows with a known anomalous segment, the stretch \
             behind the peak score (the server's `peak`) overlapped the segment in {} of cases; a \
             stretch of the same length placed at random would in {}.\n",
            l.windows,
            num(l.peak_overlap_rate),
            num(l.chance)
        );
    }

    let _ = writeln!(md, "## Plots\n");
    for (file, caption) in &plots.files {
        let _ = writeln!(md, "{caption}:\n\n![{caption}]({file})\n");
    }
    if let Some(stages) = history.filter(|s| !s.is_empty()) {
        let _ = writeln!(md, "Final losses: ");
        for s in stages {
            let last_val = s
                .val
                .iter()
                .rev()
                .flatten()
                .next()
                .copied()
                .unwrap_or(f64::NAN);
            let last_train = s.train.last().copied().unwrap_or(f64::NAN);
            let _ = writeln!(
                md,
                "- `{}`: train {}, validation {} after {} epochs",
                s.name,
                num(last_train),
                num(last_val),
                s.train.len()
            );
        }
        let _ = writeln!(md);
    }
    if !report.notes.is_empty() {
        let _ = writeln!(md, "## Notes\n");
        for note in &report.notes {
            let _ = writeln!(md, "- {note}");
        }
    }
    md
}

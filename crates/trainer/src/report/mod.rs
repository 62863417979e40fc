//! `report.md` and its SVG plots, written from an evaluation's numbers.

pub mod answers;
pub mod history;
pub mod markdown;
pub mod plots;

use std::path::{Path, PathBuf};

use anyhow::Context;
use telltale_core::metrics::pr_curve;

use crate::evaluate::summary::{BASELINE, LATENT, LATENT_JOINT};
use crate::evaluate::{EvalReport, table::ScoreTable};

/// File names of the plots, relative to the report directory.
pub const LOSS_PLOT: &str = "loss_curves.svg";
pub const PR_PLOT: &str = "pr_curves.svg";

/// Histogram file name of one scorer.
pub fn histogram_file(scorer: &str) -> String {
    format!("hist_{scorer}.svg")
}

/// The plots a report shows, in order, with a caption each.
#[derive(Debug, Clone, Default)]
pub struct Plots {
    pub files: Vec<(String, String)>,
}

/// Draw every plot into `out` and write `out/report.md`. Reads `model_dir/history.json` for the
/// loss curves when it exists. Returns the paths written.
pub fn write_report(
    out: &Path,
    report: &EvalReport,
    table: &ScoreTable,
    model_dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the report directory", out.display()))?;
    let mut plots = Plots::default();
    let history = history::load_history(model_dir)?;
    if let Some(stages) = history.as_ref().filter(|s| !s.is_empty()) {
        plots::loss_curves(&out.join(LOSS_PLOT), stages)?;
        plots.files.push((
            LOSS_PLOT.into(),
            "Training and validation loss per stage".into(),
        ));
    }
    let mut hist_scorers = vec![
        report.default_scorer.as_str(),
        LATENT,
        LATENT_JOINT,
        BASELINE,
    ];
    hist_scorers.dedup();
    for name in hist_scorers {
        let Some(scores) = table.column(name) else {
            continue;
        };
        let file = histogram_file(name);
        let title = format!("{name} score by label");
        plots::score_histogram(
            &out.join(&file),
            &title,
            scores,
            &table.labels,
            table.raw_threshold(name),
        )?;
        plots.files.push((
            file,
            format!("`{name}` scores by label, with its threshold"),
        ));
    }
    let curves: Vec<(String, Vec<(f64, f64)>)> = table
        .columns
        .iter()
        .map(|(name, scores)| {
            let points = pr_curve(scores, &table.labels)
                .into_iter()
                .map(|(r, p, _)| (r, p));
            (name.clone(), points.collect())
        })
        .collect();
    plots::pr_curves(&out.join(PR_PLOT), &curves, report.prevalence)?;
    plots.files.push((
        PR_PLOT.into(),
        "Precision-recall curves of all scorers".into(),
    ));

    let text = markdown::render(report, &plots, history.as_deref());
    let md = out.join("report.md");
    std::fs::write(&md, text).with_context(|| format!("{}: cannot write", md.display()))?;
    let mut written = vec![md];
    written.extend(plots.files.iter().map(|(f, _)| out.join(f)));
    Ok(written)
}

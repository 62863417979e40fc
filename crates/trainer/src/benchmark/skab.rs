//! The SKAB outlier-detection protocol (`../shared/data/skab/README.md`): for each of the 34 runs
//! (valve1, valve2, other), fit on the first 400 rows, score every remaining row point by point
//! (the window ending at that row, DESIGN §1 long-series windows), take the threshold from the fit
//! part only, and pool the decisions of all runs into one F1, FAR and MAR.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use telltale_core::WindowSpec;
use telltale_core::metrics::{Confusion, quantile};

use super::detectors::{DetectorKind, summary_scores};
pub use super::skab_args::SkabArgs;
pub use super::skab_runs::{
    FIT_ROWS, GROUPS, RunWindows, add, confusion, cut_run, decisions, list_runs, run_name,
};

/// Pooled point-wise results. Rates are fractions (0.136 = 13.6 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pooled {
    pub f1: f64,
    pub far: f64,
    pub mar: f64,
}

impl From<Confusion> for Pooled {
    fn from(c: Confusion) -> Self {
        Self {
            f1: c.f1(),
            far: c.far(),
            mar: c.mar(),
        }
    }
}

/// One run's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub run: String,
    pub points: usize,
    pub anomalous_points: usize,
    pub threshold: f32,
    pub f1: f64,
    pub far: f64,
    pub mar: f64,
    pub seconds: f64,
}

/// `report.json`: the pooled result first (`f1`, `far`, `mar`, `runs`, `points`), then details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkabReport {
    pub f1: f64,
    pub far: f64,
    pub mar: f64,
    pub runs: usize,
    pub points: usize,
    pub detector: String,
    pub settings: serde_json::Value,
    /// `baseline_summary` under the same protocol, window and threshold rule (when the main
    /// detector is the LSTM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_baseline: Option<Pooled>,
    /// Share of scored points that are anomalous, and the F1 of flagging every point: the floor
    /// any detector's F1 must be read against.
    pub anomalous_share: f64,
    pub flag_all_f1: f64,
    pub per_run: Vec<RunResult>,
}

/// Score one run with `detector`; returns (scores, threshold).
fn score_run(
    args: &SkabArgs,
    detector: DetectorKind,
    run: &RunWindows,
    model_dir: &Path,
) -> anyhow::Result<(Vec<f32>, f32)> {
    let spec = WindowSpec {
        length_secs: args.window,
        step_secs: 1,
        centering: telltale_core::window::Centering::None,
        step_std: false,
        log_step_std: false,
    };
    let n_fit = FIT_ROWS - run.first_row;
    let scores = match detector {
        DetectorKind::Summary => {
            summary_scores(&run.windows, n_fit, run.feature_names.len(), &spec)?
        }
        DetectorKind::Lstm => {
            super::lstm::lstm_scores(args, &run.windows, n_fit, &run.feature_names, model_dir)?
        }
    };
    let threshold = (args.threshold_factor
        * f64::from(quantile(&scores[..n_fit], args.threshold_quantile)))
        as f32;
    Ok((scores, threshold))
}

/// Run the protocol and return the report (nothing written).
pub fn benchmark(args: &SkabArgs) -> anyhow::Result<(SkabReport, Vec<RunPoints>)> {
    args.validate()?;
    let mut runs = list_runs(&args.data)?;
    if let Some(n) = args.runs {
        runs.truncate(n);
    }
    let bar = ProgressBar::new(runs.len() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} runs ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut pooled = Confusion::default();
    let mut pooled_summary = Confusion::default();
    let mut per_run = Vec::new();
    let mut points = Vec::new();
    for path in &runs {
        let name = run_name(path);
        bar.set_message(name.clone());
        let started = Instant::now();
        let run = cut_run(path, args.window).with_context(|| format!("SKAB run {name}"))?;
        let model_dir = args.out.join("models").join(name.replace('/', "-"));
        let (scores, threshold) = score_run(args, args.detector, &run, &model_dir)
            .with_context(|| format!("SKAB run {name}"))?;
        let pred = decisions(&scores, run.first_row, threshold, args.agree);
        let truth = &run.labels[FIT_ROWS..];
        let c = confusion(&pred, truth);
        add(&mut pooled, c);
        if args.detector != DetectorKind::Summary {
            let (s, t) = score_run(args, DetectorKind::Summary, &run, &model_dir)?;
            add(
                &mut pooled_summary,
                confusion(&decisions(&s, run.first_row, t, args.agree), truth),
            );
        }
        let offset = FIT_ROWS - run.first_row;
        let rows = (0..pred.len())
            .map(|i| PointRow {
                row: FIT_ROWS + i,
                label: truth[i],
                score: scores[offset + i],
                flagged: pred[i],
            })
            .collect();
        points.push(RunPoints {
            run: name.clone(),
            rows,
        });
        per_run.push(RunResult {
            run: name,
            points: pred.len(),
            anomalous_points: truth.iter().filter(|t| **t).count(),
            threshold,
            f1: c.f1(),
            far: c.far(),
            mar: c.mar(),
            seconds: started.elapsed().as_secs_f64(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let total = Pooled::from(pooled);
    let positives = (pooled.tp + pooled.fn_) as f64;
    let scored = (pooled.tp + pooled.fn_ + pooled.fp + pooled.tn) as f64;
    let report = SkabReport {
        f1: total.f1,
        far: total.far,
        mar: total.mar,
        runs: per_run.len(),
        points: per_run.iter().map(|r| r.points).sum(),
        detector: args.detector.to_string(),
        settings: args.settings(),
        summary_baseline: (args.detector != DetectorKind::Summary)
            .then(|| Pooled::from(pooled_summary)),
        anomalous_share: positives / scored,
        flag_all_f1: 2.0 * positives / (positives + scored),
        per_run,
    };
    Ok((report, points))
}

/// The scored points of one run, for `points.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPoints {
    pub run: String,
    pub rows: Vec<PointRow>,
}

/// One scored point, for `points.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointRow {
    pub row: usize,
    pub label: bool,
    pub score: f32,
    pub flagged: bool,
}

/// Run `benchmark skab`: write `report.json`, `report.md` and `points.csv` into `--out`.
pub fn run(args: &SkabArgs) -> anyhow::Result<()> {
    let (report, points) = benchmark(args)?;
    super::skab_report::write(&args.out, &report, &points)?;
    println!(
        "SKAB ({} runs, {} points, detector {}): F1 {:.3}  FAR {:.1} %  MAR {:.1} %  → {}",
        report.runs,
        report.points,
        report.detector,
        report.f1,
        report.far * 100.0,
        report.mar * 100.0,
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::benchmark::lstm::PointScorer;

    #[test]
    fn bad_arguments_are_refused() {
        let args = SkabArgs {
            data: PathBuf::from("/nonexistent"),
            out: PathBuf::from("/tmp/x"),
            runs: None,
            detector: DetectorKind::Summary,
            window: 20,
            threshold_factor: 1.5,
            threshold_quantile: 0.99,
            agree: 0,
            scorer: PointScorer::Sequence,
            hidden: 16,
            latent_dim: 4,
            epochs: 1,
            lr: 1e-3,
            seed: 0,
            threads: None,
            ort_dylib: None,
        };
        assert!(
            benchmark(&args)
                .unwrap_err()
                .to_string()
                .contains("--agree")
        );
        let args = SkabArgs { agree: 1, ..args };
        assert!(
            benchmark(&args)
                .unwrap_err()
                .to_string()
                .contains("no such folder")
        );
    }
}

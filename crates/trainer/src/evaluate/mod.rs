//! `telltale-trainer evaluate`: score every window of an events file through the exported ONNX
//! graphs (`telltale-scorer`, exactly what the server runs) and write `report.json`, `scores.csv`
//! and `report.md` with plots.
//!
//! Scorers compared: `latent`, `sequence`, `combined`, `peak` (the sustained local error, see
//! `telltale_core::scoring::SequenceErrors::peak`), `head` (when the model has one), the
//! `latent_joint` ablation (when `DIR/ablation_latent_joint/` exists) and the non-neural
//! `baseline_summary`. Thresholds are never chosen with the evaluated labels: the default scorer
//! (and the ablation) use the threshold stored in their manifest; the others use the 1 % false-alarm
//! point of the model's normal validation windows when the file holds them, else a documented
//! fallback. `report.json` names the threshold source of every scorer.

pub mod extras;
pub mod fit;
pub mod inputs;
pub mod pipeline;
pub mod scoring;
pub mod summary;
pub mod table;
pub mod thresholds;

use std::path::PathBuf;

use anyhow::Context;

pub use pipeline::evaluate;
pub use summary::EvalReport;

/// Name of the ablation model directory the trainer writes with `--latent-joint`.
pub const ABLATION_DIR: &str = "ablation_latent_joint";

/// `telltale-trainer evaluate`
#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateArgs {
    /// Model directory written by `telltale-trainer train` (manifest.json + ONNX graphs).
    #[arg(long)]
    pub model: PathBuf,
    /// Events CSV in the seed's format, with labels.
    #[arg(long)]
    pub events: PathBuf,
    /// Directory for report.json, report.md, scores.csv and the SVG plots (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Evaluate only the sensors of the model's test split (from DIR/split.json).
    #[arg(long)]
    pub only_test_split: bool,
    /// Events file the summary baseline is fitted on (its normal windows). Default: the training
    /// split's windows in --events, else the training file recorded in the manifest.
    #[arg(long)]
    pub baseline_fit: Option<PathBuf>,
    /// Label column name (default: the column ending in `alert_label`, or `label`).
    #[arg(long)]
    pub label_column: Option<String>,
    /// Drop rows with bad values (and count them) instead of failing.
    #[arg(long)]
    pub drop_bad_rows: bool,
    /// Windows per ONNX Runtime call.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// ONNX Runtime library (default: ORT_DYLIB_PATH, else the project's .venv).
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_dylib: Option<PathBuf>,
    /// Print nothing but errors (no progress bars, no summary; the report files are written).
    #[arg(long)]
    pub quiet: bool,
}

impl EvaluateArgs {
    /// Arguments with defaults for everything but the three paths.
    pub fn new(model: PathBuf, events: PathBuf, out: PathBuf) -> Self {
        Self {
            model,
            events,
            out,
            only_test_split: false,
            baseline_fit: None,
            label_column: None,
            drop_bad_rows: false,
            batch_size: 256,
            ort_dylib: std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from),
            quiet: false,
        }
    }
}

/// Run `evaluate`, write the report files and print a short summary.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let (report, table) = evaluate(args)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the report directory", args.out.display()))?;
    let json = serde_json::to_string_pretty(&report)?;
    let json_path = args.out.join("report.json");
    std::fs::write(&json_path, json + "\n")
        .with_context(|| format!("{}: cannot write", json_path.display()))?;
    table.write_csv(&args.out.join("scores.csv"))?;
    crate::report::write_report(&args.out, &report, &table, &args.model)?;
    if args.quiet {
        return Ok(());
    }
    println!(
        "evaluated {} windows ({} positive, prevalence {:.3}) → {}",
        report.windows,
        report.positives,
        report.prevalence,
        args.out.display()
    );
    for (name, m) in &report.scorers {
        println!(
            "  {name:<17} AUC-PR {:.3}  ROC-AUC {:.3}  recall@1%FAR {:.3}  F1@thr {:.3}",
            m.auc_pr, m.auc_roc, m.recall_at_1pct_far, m.f1_at_threshold
        );
    }
    Ok(())
}

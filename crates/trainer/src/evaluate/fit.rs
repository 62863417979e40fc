//! Choosing the data the summary baseline is fitted on, and saying which it was.

use std::path::Path;

use anyhow::Context;
use telltale_core::events::{ReadOptions, read_events_csv};
use telltale_core::{EventsFile, SensorWindow};
use telltale_scorer::Scorer;

use super::inputs::{Role, Split, recorded_training_file};
use super::scoring::{align_features, prepare_windows};
use crate::baseline::SummaryBaseline;

/// A fitted baseline with the scores of its own fit windows (for an in-sample threshold when no
/// validation windows are at hand) and a description of the data for the report.
#[derive(Debug)]
pub struct FittedBaseline {
    pub baseline: SummaryBaseline,
    pub fit_scores: Vec<f32>,
    pub description: String,
    /// True when it was fitted on the evaluated windows themselves (the report must say so).
    pub in_sample: bool,
}

/// What `evaluate` knows when it fits the baseline.
pub struct FitContext<'a> {
    pub scorer: &'a Scorer,
    pub events_path: &'a Path,
    pub file: &'a EventsFile,
    pub roles: &'a [Role],
    pub split: Option<&'a Split>,
    /// `--baseline-fit`, when given.
    pub fit_file: Option<&'a Path>,
    pub read_options: &'a ReadOptions,
    /// Indices of the evaluated windows (the last resort fits on their normal ones).
    pub evaluated: &'a [usize],
}

fn is_normal(w: &SensorWindow) -> bool {
    w.label != Some(true)
}

/// Fit on, in order of preference: `--baseline-fit FILE`; the normal windows of the model's
/// training split in the evaluated file; the training file recorded in the manifest's
/// `data_summary`; and only as a last resort the evaluated windows labelled normal (in-sample).
pub fn fit_baseline(ctx: &FitContext<'_>) -> anyhow::Result<FittedBaseline> {
    if let Some(path) = ctx.fit_file {
        return fit_from_file(ctx, path, "--baseline-fit");
    }
    let train: Vec<&SensorWindow> = ctx
        .file
        .windows
        .iter()
        .zip(ctx.roles)
        .filter(|(w, role)| **role == Role::Train && is_normal(w))
        .map(|(w, _)| w)
        .collect();
    if !train.is_empty() {
        let description = format!(
            "the {} normal windows of the model's training split (split.json) in {}",
            train.len(),
            ctx.events_path.display()
        );
        return fit_windows(
            ctx.scorer,
            ctx.file,
            ctx.events_path,
            &train,
            description,
            false,
        );
    }
    if let Some(path) = recorded_training_file(&ctx.scorer.manifest().data_summary) {
        return fit_from_file(ctx, &path, "the training file recorded in the manifest");
    }
    let normal: Vec<&SensorWindow> = ctx
        .evaluated
        .iter()
        .map(|&i| &ctx.file.windows[i])
        .filter(|w| is_normal(w))
        .collect();
    let description = format!(
        "the {} evaluated windows labelled normal (in-sample: no training data was found, so the \
         baseline saw the evaluation labels and its numbers are optimistic; pass --baseline-fit)",
        normal.len()
    );
    fit_windows(
        ctx.scorer,
        ctx.file,
        ctx.events_path,
        &normal,
        description,
        true,
    )
}

fn fit_from_file(ctx: &FitContext<'_>, path: &Path, why: &str) -> anyhow::Result<FittedBaseline> {
    let file = read_events_csv(path, ctx.read_options)
        .with_context(|| format!("reading the baseline's fit data ({why})"))?;
    let in_train = |w: &SensorWindow| {
        ctx.split
            .is_some_and(|s| s.role(&w.sensor_id) == Role::Train)
    };
    let use_split = file.windows.iter().any(in_train);
    let chosen: Vec<&SensorWindow> = file
        .windows
        .iter()
        .filter(|w| is_normal(w) && (!use_split || in_train(w)))
        .collect();
    let which = if use_split {
        "normal windows of the model's training split"
    } else {
        "windows not labelled anomalous"
    };
    let description = format!("the {} {which} in {} ({why})", chosen.len(), path.display());
    fit_windows(ctx.scorer, &file, path, &chosen, description, false)
}

fn fit_windows(
    scorer: &Scorer,
    file: &EventsFile,
    path: &Path,
    windows: &[&SensorWindow],
    description: String,
    in_sample: bool,
) -> anyhow::Result<FittedBaseline> {
    let columns = align_features(
        &file.feature_names,
        &scorer.manifest().feature_names,
        &path.display().to_string(),
    )?;
    let prepared = prepare_windows(scorer, windows, &columns)?;
    let baseline = SummaryBaseline::fit(&prepared)
        .with_context(|| format!("fitting the summary baseline on {description}"))?;
    let fit_scores = baseline.score_all(&prepared)?;
    Ok(FittedBaseline {
        baseline,
        fit_scores,
        description,
        in_sample,
    })
}

//! The evaluation itself: read, score through the ONNX graphs, pick thresholds, compute metrics.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, bail};
use telltale_core::SensorWindow;
use telltale_core::events::{ReadOptions, read_events_csv};
use telltale_scorer::{RuntimeOptions, Scorer, init_runtime};

use super::fit::{FitContext, fit_baseline};
use super::inputs::{Role, Split, read_truth, truth_path};
use super::scoring::{align_features, context_variance, prepare_windows, score_windows};
use super::summary::*;
use super::table::ScoreTable;
use super::thresholds::{derived_threshold, kind_name, stored_threshold};
use super::{ABLATION_DIR, EvaluateArgs, extras};

/// Evaluate as `args` says; returns the report and the per-window table (nothing is written).
pub fn evaluate(args: &EvaluateArgs) -> anyhow::Result<(EvalReport, ScoreTable)> {
    if !args.model.is_dir() {
        bail!("--model {}: no such model directory", args.model.display());
    }
    init_runtime(args.ort_dylib.clone()).context("loading ONNX Runtime")?;
    let options = RuntimeOptions::default();
    let mut scorer = Scorer::open(&args.model, &options)
        .with_context(|| format!("opening the model directory {}", args.model.display()))?;
    let manifest = scorer.manifest().clone();
    let read_options = ReadOptions {
        label_column: args.label_column.clone(),
        drop_bad_rows: args.drop_bad_rows,
    };
    let file = read_events_csv(&args.events, &read_options)
        .with_context(|| format!("reading events {}", args.events.display()))?;
    let source = args.events.display().to_string();
    let split = Split::load(&args.model)?;
    if args.only_test_split && split.as_ref().is_none_or(|s| s.test.is_empty()) {
        bail!(
            "--only-test-split: {} has no split.json with a test list",
            args.model.display()
        );
    }
    let roles: Vec<Role> = file
        .windows
        .iter()
        .map(|w| {
            split
                .as_ref()
                .map_or(Role::Outside, |s| s.role(&w.sensor_id))
        })
        .collect();
    let candidates: Vec<usize> = (0..file.windows.len())
        .filter(|&i| !args.only_test_split || roles[i] == Role::Test)
        .collect();
    let eval_idx: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| file.windows[i].label.is_some())
        .collect();
    if eval_idx.is_empty() {
        bail!(
            "{source}: no labelled windows to evaluate{} (a label column is needed: \
             --label-column, or a column ending in `alert_label`)",
            if args.only_test_split {
                " in the test split"
            } else {
                ""
            }
        );
    }
    let val_idx: Vec<usize> = (0..file.windows.len())
        .filter(|&i| roles[i] == Role::Validation && file.windows[i].label != Some(true))
        .collect();
    let labels: Vec<bool> = eval_idx
        .iter()
        .map(|&i| file.windows[i].label == Some(true))
        .collect();

    // Score the evaluated and the validation windows once.
    let mut union: Vec<usize> = eval_idx.iter().chain(&val_idx).copied().collect();
    union.sort_unstable();
    union.dedup();
    let pos: HashMap<usize, usize> = union.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let columns = align_features(&file.feature_names, &manifest.feature_names, &source)?;
    let refs: Vec<&SensorWindow> = union.iter().map(|&i| &file.windows[i]).collect();
    let prepared = prepare_windows(&scorer, &refs, &columns)?;
    let outputs = score_windows(&mut scorer, &prepared, args.batch_size, "model", args.quiet)?;
    let pick = |v: &[f32], idx: &[usize]| idx.iter().map(|i| v[pos[i]]).collect::<Vec<f32>>();

    let mut table = ScoreTable {
        sensor_ids: eval_idx
            .iter()
            .map(|&i| file.windows[i].sensor_id.clone())
            .collect(),
        window_ids: eval_idx
            .iter()
            .map(|&i| file.windows[i].window_id.clone())
            .collect(),
        labels: labels.clone(),
        calibrated: pick(&outputs.calibrated, &eval_idx),
        is_anomaly: eval_idx
            .iter()
            .map(|i| outputs.is_anomaly[pos[i]])
            .collect(),
        ..ScoreTable::default()
    };
    let mut scorers = BTreeMap::new();
    let default_name = kind_name(manifest.calibration.default_scorer);
    let candidates_main = [
        (LATENT, Some(&outputs.latent)),
        (SEQUENCE, outputs.sequence.as_ref()),
        (COMBINED, outputs.combined.as_ref()),
        (PEAK, outputs.peak.as_ref()),
        (PEAK_NO_DECODER, outputs.peak_no_decoder.as_ref()),
        (HEAD, outputs.head.as_ref()),
    ];
    for (name, values) in candidates_main {
        let Some(values) = values else { continue };
        let raw = pick(values, &eval_idx);
        let (threshold, decision, raw_thr) = if name == default_name {
            let t = stored_threshold(&manifest, "model's");
            let r = raw_threshold(t.value, &manifest.calibration.normal_quantiles);
            (t, table.calibrated.clone(), r)
        } else {
            let t = derived_threshold(name, &pick(values, &val_idx), &manifest.calibration);
            let r = t.value;
            (t, raw.clone(), r)
        };
        scorers.insert(
            name.to_string(),
            scorer_metrics(&raw, &decision, &labels, threshold),
        );
        table.push(name, raw, raw_thr)?;
    }

    // The jointly trained ablation, scored with its own manifest.
    let eval_prepared: Vec<_> = eval_idx.iter().map(|i| prepared[pos[i]].clone()).collect();
    let ablation = args.model.join(ABLATION_DIR);
    let mut latent_joint = None;
    if ablation
        .join(telltale_core::manifest::MANIFEST_FILE)
        .is_file()
    {
        let mut joint = Scorer::open(&ablation, &options)
            .with_context(|| format!("opening the ablation model {}", ablation.display()))?;
        let jm = joint.manifest().clone();
        let jcols = align_features(&file.feature_names, &jm.feature_names, &source)?;
        let eval_refs: Vec<&SensorWindow> = eval_idx.iter().map(|&i| &file.windows[i]).collect();
        let jprepared = prepare_windows(&joint, &eval_refs, &jcols)?;
        let jout = score_windows(
            &mut joint,
            &jprepared,
            args.batch_size,
            LATENT_JOINT,
            args.quiet,
        )?;
        let t = stored_threshold(&jm, "ablation's");
        let r = raw_threshold(t.value, &jm.calibration.normal_quantiles);
        let metrics = scorer_metrics(&jout.latent, &jout.calibrated, &labels, t);
        scorers.insert(LATENT_JOINT.to_string(), metrics);
        table.push(LATENT_JOINT, jout.latent, r)?;
        let joint_var = context_variance(&mut joint, &jprepared, args.batch_size)?;
        let main_var = context_variance(&mut scorer, &eval_prepared, args.batch_size)?;
        latent_joint = Some(CollapseInfo {
            joint_context_variance: joint_var,
            two_stage_context_variance: main_var,
            variance_ratio: joint_var / main_var,
        });
    }

    // The non-neural baseline.
    let fitted = fit_baseline(&FitContext {
        scorer: &scorer,
        events_path: &args.events,
        file: &file,
        roles: &roles,
        split: split.as_ref(),
        fit_file: args.baseline_fit.as_deref(),
        read_options: &read_options,
        evaluated: &eval_idx,
    })?;
    let base_scores = fitted.baseline.score_all(&prepared)?;
    let base_raw = pick(&base_scores, &eval_idx);
    let base_thr = if val_idx.is_empty() {
        threshold_at_far(&fitted.fit_scores, "windows it was fitted on (in-sample)")
    } else {
        threshold_at_far(
            &pick(&base_scores, &val_idx),
            "validation windows of the model's split",
        )
    };
    let base_thr_value = base_thr.value;
    scorers.insert(
        BASELINE.into(),
        scorer_metrics(&base_raw, &base_raw, &labels, base_thr),
    );
    table.push(BASELINE, base_raw, base_thr_value)?;

    // Ground truth from `synth`, when present.
    let truth = truth_path(&args.events)
        .map(|p| read_truth(&p))
        .transpose()?;
    let feature_errors: Vec<Vec<f32>> = eval_idx
        .iter()
        .map(|i| outputs.feature_errors[pos[i]].clone())
        .collect();
    let per_kind = truth
        .as_ref()
        .map(|t| extras::per_kind(&table.sensor_ids, &labels, &table.is_anomaly, t));
    let attribution = truth.as_ref().and_then(|t| {
        extras::attribution(
            &table.sensor_ids,
            &labels,
            &feature_errors,
            &manifest.feature_names,
            t,
        )
    });
    let located: Vec<_> = eval_idx.iter().map(|i| outputs.located[pos[i]]).collect();
    let localisation = truth
        .as_ref()
        .and_then(|t| extras::localisation(&table.sensor_ids, &labels, &located, t));

    let mut notes = Vec::new();
    let seen = eval_idx
        .iter()
        .filter(|&&i| matches!(roles[i], Role::Train | Role::Validation));
    let seen = seen.count();
    if seen > 0 {
        notes.push(format!(
            "{seen} of the evaluated windows belong to the model's training or validation split; \
             pass --only-test-split for an unbiased estimate"
        ));
    }
    if split.is_none() {
        notes.push(
            "the model directory has no split.json: it is unknown which of these windows \
                    the model was trained on"
                .into(),
        );
    }
    if fitted.in_sample {
        notes.push(format!(
            "baseline_summary was fitted on {}",
            fitted.description
        ));
    }
    let unlabelled = candidates.len() - eval_idx.len();
    if unlabelled > 0 {
        notes.push(format!("{unlabelled} windows without a label were skipped"));
    }
    let positives = labels.iter().filter(|l| **l).count();
    let report = EvalReport {
        windows: labels.len(),
        positives,
        prevalence: positives as f64 / labels.len() as f64,
        default_scorer: default_name.to_string(),
        scorers,
        model: ModelInfo {
            dir: args.model.display().to_string(),
            model_id: manifest.model_id.clone(),
            feature_names: manifest.feature_names.clone(),
            has_sequence_decoder: manifest.graphs.sequence_decoder.is_some(),
            has_head: manifest.graphs.head.is_some(),
            stored_threshold: manifest.threshold.score,
            threshold_method: serde_json::to_value(&manifest.threshold.method)?,
            head_variant: manifest
                .evaluation
                .get("head_variant")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
        },
        events: source,
        evaluated: if args.only_test_split {
            "test split"
        } else {
            "all labelled windows"
        }
        .into(),
        unlabelled_skipped: unlabelled,
        baseline_fitted_on: fitted.description,
        baseline_fit_windows: fitted.baseline.fitted_on,
        latent_joint,
        per_kind,
        attribution,
        localisation,
        notes,
    };
    Ok((report, table))
}

//! `train_and_export`: data → stage 1 (autoencoder) → stage 2 (latent decoder) → export and
//! parity check → stage 3 (head, when labels exist) → calibration through the exported graphs →
//! manifest → the finished model directory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::config::Config;
use serde_json::json;
use telltale_core::Manifest;
use telltale_core::manifest::ModelShape;
use telltale_core::scoring::ScorerKind;
use telltale_scorer::{ModelGraphs, RuntimeOptions, Scorer};

use super::ablation::{self, AblationOutcome};
use super::calibrate::{calibrate, head_features, log_stats, onnx_outputs};
use super::checkpoint::CheckpointDir;
use super::head::{self, HeadData};
use super::history::History;
use super::progress::Progress;
use super::{HeadMode, TrainConfig, autoencoder, latent};
use crate::data::{Dataset, Prepared, bin_all, fit_normalizer, normalize_all};
use crate::export::manifest::{ManifestParts, UNIT_LOG_STATS, provisional};
use crate::export::parity::{ParityReport, check_graphs, check_head};
use crate::export::{Staging, copy_dir, model_id, write_graphs, write_json};
use crate::model::{ModelConfig, weights::to_weights};

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub model_dir: PathBuf,
    pub manifest: Manifest,
    pub history: History,
    /// Export check of the main model's graphs (max abs diff per graph).
    pub parity: ParityReport,
    /// The head variant kept, when a head was trained.
    pub head: Option<HeadMode>,
    /// The `--latent-joint` ablation, when trained.
    pub ablation: Option<AblationOutcome>,
}

fn prepare_out_dir(out: &Path, resume: bool) -> anyhow::Result<()> {
    if out.exists() {
        anyhow::ensure!(
            out.is_dir(),
            "{}: exists and is not a directory",
            out.display()
        );
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        anyhow::ensure!(
            empty || resume,
            "{}: already exists; pass --resume to continue its checkpoint, or choose another --out",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))
}

fn labels_of(windows: &[&Prepared]) -> Vec<bool> {
    windows.iter().map(|p| !p.is_normal()).collect()
}

/// Train every stage on `data` and write the model directory `out` (see the module docs).
pub fn train_and_export(
    data: &Dataset,
    config: &TrainConfig,
    out: &Path,
) -> anyhow::Result<TrainOutcome> {
    config.validate()?;
    let n_features = data.feature_names.len();
    anyhow::ensure!(n_features > 0, "the data has no feature columns");
    anyhow::ensure!(!data.train.is_empty(), "the training split has no windows");
    if let Some(threads) = config.threads {
        // Fails only when the pool already exists (a second run in one process): keep that one.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let progress = Progress::new(config.quiet);
    let options = RuntimeOptions {
        intra_threads: config.threads.unwrap_or(0),
        ..RuntimeOptions::default()
    };
    telltale_scorer::init_runtime(config.onnxruntime.clone())?;
    prepare_out_dir(out, config.resume)?;

    // Data: bin once, normalise with the normal training windows' statistics.
    let mut train = bin_all(&data.train, n_features, &config.window)?;
    let mut validation = bin_all(&data.validation, n_features, &config.window)?;
    let normalizer = fit_normalizer(&train);
    normalize_all(&mut train, &normalizer);
    normalize_all(&mut validation, &normalizer);
    let channels = config.window.channel_count(n_features);
    let model_config = ModelConfig::new(channels)
        .with_hidden(config.hidden)
        .with_layers(config.layers)
        .with_latent_dim(config.latent_dim)
        .with_head_units(config.head_units)
        .with_seed(config.seed);

    // Stage 1 and 2.
    let checkpoint = CheckpointDir::new(out);
    let stage1 = autoencoder::train(
        config,
        &model_config,
        &train,
        &validation,
        Some(&checkpoint),
        progress,
    )?;
    let normal_train: Vec<&Prepared> = train.iter().filter(|p| p.is_normal()).collect();
    let normal_val: Vec<&Prepared> = validation.iter().filter(|p| p.is_normal()).collect();
    let train_contexts = latent::contexts(&stage1.model.encoder, &normal_train, config.batch_size);
    let latent_scale = latent::variance(&train_contexts);
    let val_contexts = latent::contexts(&stage1.model.encoder, &normal_val, config.batch_size);
    let (latent_decoder, latent_history) = latent::train(
        config,
        &model_config,
        &train_contexts,
        &val_contexts,
        &latent_scale,
        progress,
    )?;
    let mut history = History {
        stages: vec![stage1.history.clone(), latent_history],
    };

    // Export without the head, check it, and measure errors through ONNX Runtime.
    let staging = Staging::new(out)?;
    let mut parts = ManifestParts {
        feature_names: data.feature_names.clone(),
        window: config.window,
        normalizer: normalizer.clone(),
        shape: ModelShape {
            channels,
            hidden: config.hidden,
            layers: config.layers,
            latent_dim: config.latent_dim,
        },
        latent_scale,
        graphs: write_graphs(
            &staging.dir,
            &to_weights(&stage1.model, &latent_decoder, None),
        )?,
    };
    let mut graphs = ModelGraphs::open(
        &staging.dir,
        &provisional(&parts, UNIT_LOG_STATS, UNIT_LOG_STATS),
        &options,
    )?;
    let (calibration_set, calibrated_on): (Vec<&Prepared>, &str) = if normal_val.is_empty() {
        (normal_train.clone(), "train (no normal validation windows)")
    } else {
        (validation.iter().collect(), "validation")
    };
    let calibration_windows: Vec<_> = calibration_set.iter().map(|p| &p.window).collect();
    let mut parity = check_graphs(
        &mut graphs,
        &stage1.model.encoder,
        &latent_decoder,
        Some(&stage1.model.decoder),
        &calibration_windows,
    )?;
    let calibration_labels = labels_of(&calibration_set);
    let outputs = onnx_outputs(
        &mut graphs,
        &calibration_windows,
        &parts.latent_scale,
        n_features,
    )?;
    let normal_of = |values: &[f32]| -> Vec<f32> {
        values
            .iter()
            .zip(&calibration_labels)
            .filter(|(_, l)| !**l)
            .map(|(v, _)| *v)
            .collect()
    };
    let latent_log = log_stats(&normal_of(&outputs.latent));
    let sequence_log = log_stats(&normal_of(&outputs.sequence));

    // Stage 3: the head, when the training split has labelled positives.
    let train_positives = train.iter().filter(|p| !p.is_normal()).count();
    let mut head_mode = None;
    if config.head != HeadMode::None && train_positives > 0 {
        let all_train: Vec<&Prepared> = train.iter().collect();
        let train_windows: Vec<_> = all_train.iter().map(|p| &p.window).collect();
        let train_outputs =
            onnx_outputs(&mut graphs, &train_windows, &parts.latent_scale, n_features)?;
        let head_train = HeadData {
            features: head_features(&train_outputs, latent_log, sequence_log),
            labels: labels_of(&all_train),
        };
        let head_val = HeadData {
            features: head_features(&outputs, latent_log, sequence_log),
            labels: calibration_labels.clone(),
        };
        let (trained, head_histories) = head::train(
            config,
            &model_config,
            config.head,
            &head_train,
            &head_val,
            progress,
        )?;
        history.stages.extend(head_histories);
        drop(graphs);
        parts.graphs = write_graphs(
            &staging.dir,
            &to_weights(&stage1.model, &latent_decoder, Some(&trained.head)),
        )?;
        graphs = ModelGraphs::open(
            &staging.dir,
            &provisional(&parts, latent_log, sequence_log),
            &options,
        )?;
        parity.head = Some(check_head(&mut graphs, &trained.head, &head_val.features)?);
        head_mode = Some(trained.mode);
        progress.note(&format!("head: kept the {:?} variant", trained.mode));
    }
    drop(graphs);

    // Calibration through the exported graphs. With labelled validation windows the default is
    // the unsupervised scorer with the best validation AUC-PR (`Peak` before `PeakNoDecoder`, so
    // a tie keeps the reconstruction); without them, `Peak` (on `synth` it beats `combined` by
    // 0.90 to 0.10 AUC-PR).
    let mut manifest = provisional(&parts, latent_log, sequence_log);
    let mut kinds = vec![
        ScorerKind::Latent,
        ScorerKind::Sequence,
        ScorerKind::Combined,
        ScorerKind::Peak,
        ScorerKind::PeakNoDecoder,
    ];
    if parts.graphs.head.is_some() {
        kinds.push(ScorerKind::Head);
    }
    let mut scorer = Scorer::with_manifest(&staging.dir, manifest.clone(), &options)?;
    let calibrated = calibrate(
        &mut scorer,
        &calibration_windows,
        &calibration_labels,
        &kinds,
        ScorerKind::Peak,
        config.target_far,
        calibrated_on,
    )?;
    drop(scorer);
    manifest.calibration = calibrated.calibration;
    manifest.threshold = calibrated.threshold;
    manifest.evaluation = calibrated.evaluation;
    manifest.evaluation["head_variant"] = json!(head_mode);
    manifest.evaluation["parity_max_abs_diff"] = json!(parity);
    manifest.model_id = model_id(&staging.dir, &manifest.graphs)?;
    manifest.created_at = chrono::Utc::now();
    manifest.hyper_parameters = json!({
        "train_config": config,
        "model_config": model_config,
        "threads": rayon::current_num_threads(),
    });
    manifest.data_summary = data_summary(data, config, &train, &validation);

    // The ablation, as its own model directory inside this one.
    let ablation = if config.latent_joint {
        let dir = staging.dir.join(ablation::DIR_NAME);
        let shared = ablation::Shared {
            config,
            model_config: &model_config,
            train: &train,
            validation: &validation,
            calibration_windows: &calibration_set,
            calibrated_on,
            parts: &parts,
            options: &options,
            progress,
        };
        let outcome = ablation::run(&shared, &dir, out.join(ablation::DIR_NAME))?;
        history.stages.push(outcome.history.clone());
        Some(outcome)
    } else {
        None
    };

    history.save(&staging.dir.join("history.json"))?;
    write_json(&staging.dir.join("split.json"), &data.split_record())?;
    write_json(&staging.dir.join("parity.json"), &parity)?;
    model_config
        .save(staging.dir.join("config.json"))
        .with_context(|| format!("{}: cannot write config.json", staging.dir.display()))?;
    if checkpoint.exists() {
        copy_dir(&checkpoint.path, &staging.dir.join("checkpoint"))?;
    }
    manifest
        .save(&staging.dir)
        .with_context(|| format!("{}: cannot write the manifest", staging.dir.display()))?;
    let model_dir = staging.finish()?;
    progress.note(&format!(
        "wrote {} (default scorer {:?}, threshold {:.3}; export check max abs diff: encoder {:.1e}, latent {:.1e}, sequence {:.1e})",
        model_dir.display(),
        manifest.calibration.default_scorer,
        manifest.threshold.score,
        parity.encoder,
        parity.latent_decoder,
        parity.sequence_decoder.unwrap_or(0.0),
    ));
    Ok(TrainOutcome {
        model_dir,
        manifest,
        history,
        parity,
        head: head_mode,
        ablation,
    })
}

fn data_summary(
    data: &Dataset,
    config: &TrainConfig,
    train: &[Prepared],
    validation: &[Prepared],
) -> serde_json::Value {
    let positives = |w: &[Prepared]| w.iter().filter(|p| !p.is_normal()).count();
    let split = data.split_record();
    json!({
        "events_file": config.events.as_ref().map(|p| p.display().to_string()),
        "train_windows": train.len(),
        "train_positives": positives(train),
        "train_sensors": split.train.len(),
        "validation_windows": validation.len(),
        "validation_positives": positives(validation),
        "validation_sensors": split.validation.len(),
        "test_windows": data.test.len(),
        "test_sensors": split.test.len(),
        "normalizer_fitted_on": "normal training windows",
    })
}

//! Export of the `--latent-joint` ablation as its own model directory
//! (`DIR/ablation_latent_joint/`): encoder + latent decoder only, `latent` scorer, calibrated on
//! the same windows as the main model so `evaluate` can compare them.

use std::path::{Path, PathBuf};

use serde_json::json;
use telltale_core::Manifest;
use telltale_core::scoring::ScorerKind;
use telltale_scorer::{ModelGraphs, RuntimeOptions, Scorer};

use super::calibrate::{calibrate, log_stats, onnx_outputs};
use super::history::{History, StageHistory};
use super::latent::{contexts, variance};
use super::progress::Progress;
use super::{TrainConfig, joint};
use crate::data::Prepared;
use crate::export::manifest::{ManifestParts, UNIT_LOG_STATS, provisional};
use crate::export::parity::{ParityReport, check_graphs};
use crate::export::{model_id, write_json, write_latent_only};
use crate::model::ModelConfig;

/// Name of the ablation's folder inside the model directory.
pub const DIR_NAME: &str = "ablation_latent_joint";

/// What the ablation produced.
#[derive(Debug, Clone)]
pub struct AblationOutcome {
    /// Final location (inside the finished model directory).
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub parity: ParityReport,
    pub history: StageHistory,
}

/// Everything the ablation shares with the main model.
pub struct Shared<'a> {
    pub config: &'a TrainConfig,
    pub model_config: &'a ModelConfig,
    pub train: &'a [Prepared],
    pub validation: &'a [Prepared],
    /// Windows and labels calibration uses (validation, or normal training windows without one).
    pub calibration_windows: &'a [&'a Prepared],
    pub calibrated_on: &'a str,
    /// The main model's manifest parts (features, window, normaliser).
    pub parts: &'a ManifestParts,
    pub options: &'a RuntimeOptions,
    pub progress: Progress,
}

/// Train, export, check and calibrate the ablation into `staged_dir`.
pub fn run(
    shared: &Shared<'_>,
    staged_dir: &Path,
    final_dir: PathBuf,
) -> anyhow::Result<AblationOutcome> {
    let Shared {
        config,
        model_config,
        train,
        validation,
        progress,
        ..
    } = *shared;
    progress
        .note("latent-joint ablation: encoder + latent decoder trained jointly (no stop-gradient)");
    let (model, history) = joint::train(config, model_config, train, validation, progress)?;
    let normal: Vec<&Prepared> = train.iter().filter(|p| p.is_normal()).collect();
    let latent_scale = variance(&contexts(&model.encoder, &normal, config.batch_size));

    let graphs = write_latent_only(
        staged_dir,
        &model.encoder.to_weights(),
        &model.latent.to_weights(),
    )?;
    let parts = ManifestParts {
        latent_scale,
        graphs,
        ..shared.parts.clone()
    };
    let mut manifest = provisional(&parts, UNIT_LOG_STATS, UNIT_LOG_STATS);
    let mut graphs = ModelGraphs::open(staged_dir, &manifest, shared.options)?;
    let windows: Vec<_> = shared
        .calibration_windows
        .iter()
        .map(|p| &p.window)
        .collect();
    let parity = check_graphs(&mut graphs, &model.encoder, &model.latent, None, &windows)?;
    let n_features = parts.feature_names.len();
    let outputs = onnx_outputs(&mut graphs, &windows, &parts.latent_scale, n_features)?;
    drop(graphs);
    let labels: Vec<bool> = shared
        .calibration_windows
        .iter()
        .map(|p| !p.is_normal())
        .collect();
    let normal_latent: Vec<f32> = outputs
        .latent
        .iter()
        .zip(&labels)
        .filter(|(_, l)| !**l)
        .map(|(v, _)| *v)
        .collect();
    manifest.calibration.latent_log = log_stats(&normal_latent);

    let mut scorer = Scorer::with_manifest(staged_dir, manifest.clone(), shared.options)?;
    let kinds = [ScorerKind::Latent];
    let calibrated = calibrate(
        &mut scorer,
        &windows,
        &labels,
        &kinds,
        ScorerKind::Latent,
        config.target_far,
        shared.calibrated_on,
    )?;
    drop(scorer);
    let variances: Vec<f64> = history
        .epochs
        .iter()
        .filter_map(|e| e.context_variance)
        .collect();
    manifest.calibration = calibrated.calibration;
    manifest.threshold = calibrated.threshold;
    manifest.evaluation = calibrated.evaluation;
    manifest.evaluation["context_variance_first_epoch"] = json!(variances.first());
    manifest.evaluation["context_variance_last_epoch"] = json!(variances.last());
    manifest.model_id = model_id(staged_dir, &manifest.graphs)?;
    manifest.hyper_parameters = json!({
        "variant": "latent_joint",
        "trained": "encoder and latent decoder jointly on ||D(E(x)) - E(x)||^2, no stop-gradient",
        "train_config": config,
        "model_config": model_config,
    });
    manifest.data_summary = json!({ "same_split_as": "the parent model directory" });
    History {
        stages: vec![history.clone()],
    }
    .save(&staged_dir.join("history.json"))?;
    write_json(&staged_dir.join("parity.json"), &parity)?;
    manifest.save(staged_dir)?;
    Ok(AblationOutcome {
        dir: final_dir,
        manifest,
        parity,
        history,
    })
}

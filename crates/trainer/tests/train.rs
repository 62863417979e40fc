//! Training end to end on tiny data: a loadable model directory, learning, determinism, the
//! normal-only batcher, and resuming from a checkpoint.

use telltale_core::manifest::ThresholdMethod;
use telltale_core::scoring::ScorerKind;
use telltale_core::{BinnedWindow, Manifest, WindowSpec};
use telltale_scorer::{RuntimeOptions, Scorer};
use telltale_trainer::data::{NormalBatcher, toy};
use telltale_trainer::model::ModelConfig;
use telltale_trainer::model::weights::lstm_weights;
use telltale_trainer::train::autoencoder;
use telltale_trainer::train::checkpoint::CheckpointDir;
use telltale_trainer::train::progress::Progress;
use telltale_trainer::train::{
    ABLATION_DIR, History, SplitRecord, TrainConfig, split_by_sensor, train_and_export,
};

const QUIET: Progress = Progress::new(true);

/// 48 one-hour steps, H = 8, a couple of epochs: seconds, not minutes.
fn tiny_config() -> TrainConfig {
    TrainConfig {
        epochs: 2,
        hidden: 8,
        latent_dim: 3,
        batch_size: 16,
        window: WindowSpec {
            length_secs: 48 * 3600,
            step_secs: 3600,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        },
        validation_fraction: 0.25,
        latent_epochs: 15,
        head_epochs: 15,
        quiet: true,
        ..TrainConfig::default()
    }
}

#[test]
fn end_to_end_training_writes_a_model_directory_the_scorer_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    let data = split_by_sensor(toy::events_file(40, 5, 48, 1), 0.25, 0.0, 7);
    assert!(
        data.validation.iter().any(|w| w.label == Some(true)),
        "stratified split gives validation positives"
    );
    let config = TrainConfig {
        latent_joint: true,
        ..tiny_config()
    };
    let outcome = train_and_export(&data, &config, &out).unwrap();

    for file in [
        "manifest.json",
        "encoder.onnx",
        "latent_decoder.onnx",
        "sequence_decoder.onnx",
        "head.onnx",
        "history.json",
        "split.json",
        "config.json",
        "checkpoint/state.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("model")],
        "no staging directories left behind"
    );

    // The manifest: calibrated on validation, which has positives.
    let manifest = Manifest::load(&out).unwrap();
    assert_eq!(manifest.model_id.len(), 64);
    assert!(manifest.model_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(manifest.calibration.normal_quantiles.len(), 1001);
    assert!(
        manifest
            .calibration
            .normal_quantiles
            .windows(2)
            .all(|w| w[0] <= w[1])
    );
    assert!(matches!(
        manifest.threshold.method,
        ThresholdMethod::BestF1 { .. }
    ));
    assert!(manifest.graphs.head.is_some());
    assert_eq!(manifest.latent_scale.len(), 8);
    assert!(outcome.head.is_some());
    // The default is the unsupervised scorer with the best validation AUC-PR, `peak` listed
    // before `peak_no_decoder` so that a tie keeps the reconstruction.
    let evaluation = &manifest.evaluation;
    let mut best: Option<(&str, f64)> = None;
    for name in ["latent", "sequence", "combined", "peak", "peak_no_decoder"] {
        let ap = evaluation["scorers"][name]["auc_pr"]
            .as_f64()
            .unwrap_or_else(|| panic!("no validation AUC-PR for {name}: {evaluation}"));
        if best.is_none_or(|(_, b)| ap > b) {
            best = Some((name, ap));
        }
    }
    let default = serde_json::to_value(manifest.calibration.default_scorer).unwrap();
    assert_eq!(default, best.unwrap().0, "{evaluation}");
    assert_eq!(evaluation["default_chosen_by"], "validation AUC-PR");

    // Export check: every graph within 1e-4, short windows included.
    let p = &outcome.parity;
    assert!(p.encoder <= 1e-4 && p.latent_decoder <= 1e-4, "{p:?}");
    assert!(
        p.sequence_decoder.unwrap() <= 1e-4 && p.head.unwrap() <= 1e-4,
        "{p:?}"
    );
    assert_eq!((p.min_length, p.windows), (1, 40));

    // The scorer opens the directory and scores validation windows.
    let mut scorer = Scorer::open(&out, &RuntimeOptions::default()).unwrap();
    let windows: Vec<BinnedWindow> = data
        .validation
        .iter()
        .map(|w| scorer.prepare(&w.events, None).unwrap())
        .collect();
    let scores = scorer.score(&windows).unwrap();
    assert_eq!(scores.len(), data.validation.len());
    for s in &scores {
        assert!((0.0..=1.0).contains(&s.score), "{s:?}");
        assert!(s.latent_error.is_finite() && s.sequence_error.is_finite());
        assert!(
            s.alert_probability
                .is_some_and(|p| (0.0..=1.0).contains(&p))
        );
        assert_eq!(s.feature_errors.len(), 2);
    }

    // History and split.
    let history = History::load(&out.join("history.json")).unwrap();
    let names: Vec<&str> = history.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(&names[..2], ["autoencoder", "latent_decoder"]);
    assert!(names.iter().any(|n| n.starts_with("head_")), "{names:?}");
    assert_eq!(history.stage("autoencoder").unwrap().epochs.len(), 2);
    let split: SplitRecord =
        serde_json::from_str(&std::fs::read_to_string(out.join("split.json")).unwrap()).unwrap();
    assert_eq!(split.train.len() + split.validation.len(), 40);
    assert!(split.train.iter().all(|id| !split.validation.contains(id)));

    // The ablation: encoder + latent decoder only, latent scorer, context variance recorded.
    let ablation_dir = out.join(ABLATION_DIR);
    let ablation = Manifest::load(&ablation_dir).unwrap();
    assert_eq!(ablation.graphs.sequence_decoder, None);
    assert_eq!(ablation.calibration.default_scorer, ScorerKind::Latent);
    assert!(!ablation_dir.join("sequence_decoder.onnx").exists());
    Scorer::open(&ablation_dir, &RuntimeOptions::default()).unwrap();
    let joint = history.stage("latent_joint").unwrap();
    assert!(joint.epochs.iter().all(|e| e.context_variance.is_some()));

    // An existing directory is not overwritten without --resume.
    let err = train_and_export(&data, &config, &out).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err:#}");
}

#[test]
fn without_validation_positives_the_default_is_peak_at_the_target_far() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    // No alerting sensors at all: no head, nothing to choose a scorer by.
    let data = split_by_sensor(toy::events_file(24, 0, 48, 3), 0.25, 0.0, 7);
    let config = TrainConfig {
        target_far: 0.05,
        ..tiny_config()
    };
    train_and_export(&data, &config, &out).unwrap();
    let manifest = Manifest::load(&out).unwrap();
    assert_eq!(manifest.calibration.default_scorer, ScorerKind::Peak);
    assert!(manifest.graphs.head.is_none());
    assert_eq!(manifest.threshold.score, 0.95);
    assert!(matches!(
        manifest.threshold.method,
        ThresholdMethod::TargetFar { .. }
    ));
}

#[test]
fn training_loss_decreases_on_a_learnable_signal() {
    let train = toy::prepared(64, 24, 3, 1);
    let config = TrainConfig {
        epochs: 6,
        batch_size: 16,
        lr: 1e-2,
        patience: 10,
        quiet: true,
        ..TrainConfig::default()
    };
    let model_config = ModelConfig::new(3).with_hidden(16).with_seed(3);
    let stage = autoencoder::train(&config, &model_config, &train, &[], None, QUIET).unwrap();
    let losses: Vec<f64> = stage.history.epochs.iter().map(|e| e.train_loss).collect();
    assert_eq!(losses.len(), 6);
    assert!(losses[5] < 0.7 * losses[0], "loss did not fall: {losses:?}");
}

fn weights_of(stage: &autoencoder::Stage1) -> Vec<telltale_onnx::LstmWeights> {
    let mut w: Vec<_> = stage
        .model
        .encoder
        .layers
        .iter()
        .map(lstm_weights)
        .collect();
    w.push(lstm_weights(&stage.model.decoder.lstm));
    w
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let train = toy::prepared(20, 12, 3, 4);
    // Batches of 16 run as two shards on two threads: parallel gradients stay reproducible.
    let config = TrainConfig {
        epochs: 2,
        batch_size: 16,
        quiet: true,
        ..TrainConfig::default()
    };
    let run = |seed: u64| {
        let model_config = ModelConfig::new(3)
            .with_hidden(8)
            .with_layers(2)
            .with_seed(seed);
        let cfg = TrainConfig {
            seed,
            ..config.clone()
        };
        weights_of(&autoencoder::train(&cfg, &model_config, &train, &[], None, QUIET).unwrap())
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn the_autoencoder_batcher_never_yields_anomalous_windows() {
    let mut windows = toy::prepared(30, 4, 2, 5);
    for (i, w) in windows.iter_mut().enumerate() {
        w.label = match i % 3 {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        };
    }
    let batcher = NormalBatcher::new(&windows, 4, 9);
    assert_eq!(batcher.len(), 20);
    for epoch in 0..3 {
        let yielded: Vec<usize> = batcher.epoch(epoch).into_iter().flatten().collect();
        assert_eq!(yielded.len(), 20);
        assert!(
            yielded.iter().all(|&i| windows[i].label != Some(true)),
            "epoch {epoch}: {yielded:?}"
        );
    }
}

#[test]
fn resume_continues_from_the_checkpoint_epoch() {
    let train = toy::prepared(24, 16, 3, 6);
    let validation = toy::prepared(8, 16, 3, 7);
    let model_config = ModelConfig::new(3).with_hidden(8).with_seed(5);
    let two = TrainConfig {
        epochs: 2,
        batch_size: 16,
        patience: 10,
        quiet: true,
        ..TrainConfig::default()
    };
    let three = TrainConfig {
        epochs: 3,
        resume: true,
        ..two.clone()
    };
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = CheckpointDir::new(tmp.path());

    let first = autoencoder::train(
        &two,
        &model_config,
        &train,
        &validation,
        Some(&checkpoint),
        QUIET,
    )
    .unwrap();
    assert!(checkpoint.exists());
    let resumed = autoencoder::train(
        &three,
        &model_config,
        &train,
        &validation,
        Some(&checkpoint),
        QUIET,
    )
    .unwrap();
    let fresh = autoencoder::train(
        &TrainConfig {
            resume: false,
            ..three.clone()
        },
        &model_config,
        &train,
        &validation,
        None,
        QUIET,
    )
    .unwrap();

    let losses = |s: &autoencoder::Stage1| {
        s.history
            .epochs
            .iter()
            .map(|e| (e.epoch, e.train_loss))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&resumed).len(), 3);
    assert_eq!(losses(&resumed)[..2], losses(&first)[..]);
    // Resuming after epoch 2 ends exactly where an uninterrupted 3-epoch run ends.
    assert_eq!(losses(&resumed), losses(&fresh));
    assert_eq!(weights_of(&resumed), weights_of(&fresh));
}

//! `telltale-trainer evaluate` end to end: synthetic events, a real model directory (ONNX graphs
//! run by ONNX Runtime), and the report files.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use serde_json::Value;
use telltale_core::manifest::{Graphs, ModelShape, Threshold, ThresholdMethod};
use telltale_core::{Calibration, LogStats, Manifest, Normalizer, ScorerKind, WindowSpec};
use telltale_trainer::evaluate::{self, EvaluateArgs};
use telltale_trainer::report::markdown::QUESTIONS;
use telltale_trainer::synth::{SynthArgs, generate};

const SENSORS: usize = 60;
const HIDDEN: usize = 8;

fn ort_dylib() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1")
}

/// 60 sensors over 2 days, two features, 20 % alerting, with synth's truth sidecar.
fn synth_events(dir: &Path) -> PathBuf {
    synth_events_named(dir, "events.csv", 7)
}

fn synth_events_named(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let out = dir.join(name);
    generate(&SynthArgs {
        sensors: SENSORS,
        days: 2.0,
        features: 2,
        alert_rate: 0.2,
        seed,
        out: out.clone(),
        truth: None,
        mean_gap_secs: 900.0,
        start: Utc.with_ymd_and_hms(2020, 12, 20, 0, 0, 0).unwrap(),
        kinds: Vec::new(),
    })
    .expect("synth");
    out
}

/// A model directory: seeded random weights exported by `telltale-onnx` and a hand-made
/// manifest (2-day windows of 1 h steps). `sequence = false` gives the latent-joint layout.
fn write_model(dir: &Path, sequence: bool, seed: u64) {
    write_model_with_summary(dir, sequence, seed, Value::Null);
}

fn write_model_with_summary(dir: &Path, sequence: bool, seed: u64, data_summary: Value) {
    std::fs::create_dir_all(dir).unwrap();
    let channels = 4;
    let weights = telltale_onnx::fixture::random_weights(channels, HIDDEN, 1, 3, false, seed);
    telltale_onnx::write_graphs(dir, &weights).expect("write graphs");
    let manifest = Manifest {
        format_version: telltale_core::MANIFEST_FORMAT_VERSION,
        model_id: format!("fixture-{seed}"),
        created_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        feature_names: vec!["feature_1".into(), "feature_2".into()],
        window: WindowSpec {
            length_secs: 2 * 86_400,
            step_secs: 3600,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        },
        normalizer: Normalizer {
            mean: vec![0.0, 0.0, 1.0, 0.5],
            std: vec![1.0, 1.0, 0.5, 0.5],
        },
        shape: ModelShape {
            channels,
            hidden: HIDDEN,
            layers: 1,
            latent_dim: 3,
        },
        latent_scale: vec![0.05; HIDDEN],
        calibration: Calibration {
            default_scorer: if sequence {
                ScorerKind::Combined
            } else {
                ScorerKind::Latent
            },
            latent_log: LogStats {
                mean: -3.0,
                std: 1.0,
            },
            sequence_log: LogStats {
                mean: 0.0,
                std: 1.0,
            },
            normal_quantiles: if sequence {
                vec![-3.0, -1.0, 0.0, 1.0, 3.0]
            } else {
                vec![0.0, 0.01, 0.05, 0.2, 1.0]
            },
            peak_coupling: false,
        },
        threshold: Threshold {
            score: 0.9,
            method: ThresholdMethod::TargetFar { far: 0.01 },
        },
        graphs: Graphs {
            sequence_decoder: sequence.then(|| telltale_onnx::SEQUENCE_DECODER_FILE.into()),
            ..Graphs::default()
        },
        hyper_parameters: Value::Null,
        data_summary,
        evaluation: Value::Null,
    };
    manifest.save(dir).expect("manifest");
}

/// Model + ablation + split.json + history.json, the layout `train --latent-joint` writes.
fn model_dir(root: &Path) -> PathBuf {
    let dir = root.join("model");
    write_model(&dir, true, 1);
    write_model(&dir.join(evaluate::ABLATION_DIR), false, 2);
    let ids = |r: std::ops::RangeInclusive<usize>| r.map(|i| i.to_string()).collect::<Vec<_>>();
    let split =
        serde_json::json!({"train": ids(1..=36), "validation": ids(37..=48), "test": ids(49..=60)});
    std::fs::write(dir.join("split.json"), split.to_string()).unwrap();
    let history = serde_json::json!({"stages": [
        {"name": "autoencoder", "best_epoch": 2, "stopped_early": false, "epochs": [
            {"epoch": 1, "train_loss": 1.0, "validation_loss": 1.1, "seconds": 0.1},
            {"epoch": 2, "train_loss": 0.6, "validation_loss": 0.8, "seconds": 0.1}]},
        {"name": "latent_decoder", "best_epoch": 1, "stopped_early": false, "epochs": [
            {"epoch": 1, "train_loss": 0.3, "validation_loss": null, "seconds": 0.1}]}
    ]});
    std::fs::write(dir.join("history.json"), history.to_string()).unwrap();
    dir
}

fn args(model: &Path, events: &Path, out: &Path) -> EvaluateArgs {
    let mut args = EvaluateArgs::new(model.into(), events.into(), out.into());
    args.ort_dylib = Some(ort_dylib());
    args.batch_size = 16;
    args
}

/// `report.json` of the report directory `out`.
fn read_report(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

fn assert_unit(value: &Value, what: &str) {
    let x = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!((0.0..=1.0).contains(&x), "{what} = {x} is outside [0, 1]");
}

#[test]
fn evaluate_writes_json_markdown_csv_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let events = synth_events(tmp.path());
    let model = model_dir(tmp.path());
    let out = tmp.path().join("report");
    evaluate::run(&args(&model, &events, &out)).expect("evaluate");

    let report = read_report(&out);
    assert_eq!(report["windows"], SENSORS);
    assert_eq!(report["positives"], 12);
    assert_unit(&report["prevalence"], "prevalence");
    assert_eq!(report["default_scorer"], "combined");
    let scorers = report["scorers"].as_object().unwrap();
    let mut names: Vec<&str> = scorers.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "baseline_summary",
            "combined",
            "latent",
            "latent_joint",
            "peak",
            "peak_no_decoder",
            "sequence"
        ]
    );
    for (name, m) in scorers {
        for key in [
            "auc_pr",
            "auc_roc",
            "recall_at_1pct_far",
            "precision_at_k",
            "f1_at_threshold",
        ] {
            assert_unit(&m[key], &format!("{name}.{key}"));
        }
        assert!(
            m["threshold"]["source"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
    // Thresholds come from the manifest (default, ablation) or the validation sensors, never
    // from the evaluated labels.
    assert_eq!(scorers["combined"]["threshold"]["scale"], "calibrated");
    assert_eq!(scorers["latent_joint"]["threshold"]["scale"], "calibrated");
    assert!(
        scorers["latent"]["threshold"]["source"]
            .as_str()
            .unwrap()
            .contains("validation")
    );
    assert!(
        report["baseline_fitted_on"]
            .as_str()
            .unwrap()
            .contains("training split")
    );
    let file = telltale_core::events::read_events_csv(&events, &Default::default()).unwrap();
    let normal_train = file
        .windows
        .iter()
        .filter(|w| w.label == Some(false) && w.sensor_id.parse::<usize>().unwrap() <= 36)
        .count();
    assert_eq!(
        report["baseline_fit_windows"].as_u64(),
        Some(normal_train as u64)
    );
    assert!(report["latent_joint"]["variance_ratio"].as_f64().unwrap() > 0.0);
    assert!(report["per_kind"]["none"]["windows"].as_u64().unwrap() == 48);

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for q in QUESTIONS {
        assert!(md.contains(q), "report.md lacks question {q:?}");
    }
    assert!(md.contains("AUC-PR") && md.contains("latent_joint"));
    for svg in [
        "loss_curves.svg",
        "pr_curves.svg",
        "hist_combined.svg",
        "hist_latent.svg",
    ] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap_or_else(|e| panic!("{svg}: {e}"));
        assert!(
            text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert!(md.contains(svg), "report.md does not show {svg}");
    }
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert!(csv.starts_with("sensor_id,window_id,label,latent,sequence,combined,peak,peak_no_decoder,latent_joint,baseline_summary,score,is_anomaly"));
    assert_eq!(csv.lines().count(), SENSORS + 1);
}

#[test]
fn the_command_line_prints_a_summary_unless_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let events = synth_events(tmp.path());
    let model = model_dir(tmp.path());
    let run = |out: &str, quiet: bool| {
        let out = tmp.path().join(out);
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_telltale-trainer"));
        command
            .arg("evaluate")
            .arg("--model")
            .arg(&model)
            .arg("--events")
            .arg(&events)
            .arg("--out")
            .arg(&out)
            .env("ORT_DYLIB_PATH", ort_dylib());
        if quiet {
            command.arg("--quiet");
        }
        let done = command.output().unwrap();
        assert!(done.status.success(), "{done:?}");
        assert!(out.join("report.json").is_file() && out.join("report.md").is_file());
        (
            String::from_utf8(done.stdout).unwrap(),
            String::from_utf8(done.stderr).unwrap(),
        )
    };
    let (stdout, _) = run("loud", false);
    assert!(
        stdout.contains("AUC-PR") && stdout.contains("evaluated 60 windows"),
        "{stdout}"
    );
    let (stdout, stderr) = run("quiet", true);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
}

#[test]
fn a_peak_default_reports_where_the_anomaly_was() {
    let tmp = tempfile::tempdir().unwrap();
    let events = synth_events(tmp.path());
    let model = model_dir(tmp.path());
    // The default scorer of the combined-scorer fixture has no peak stretch: no localisation.
    let out = tmp.path().join("combined");
    evaluate::run(&args(&model, &events, &out)).unwrap();
    let report = read_report(&out);
    assert!(report.get("localisation").is_none(), "{report}");

    let mut manifest = Manifest::load(&model).unwrap();
    manifest.calibration.default_scorer = ScorerKind::PeakNoDecoder;
    manifest.save(&model).unwrap();
    let out = tmp.path().join("peak");
    evaluate::run(&args(&model, &events, &out)).unwrap();
    let report = read_report(&out);
    let l = &report["localisation"];
    // Every anomalous window of synth's truth has a segment.
    assert_eq!(l["windows"], report["positives"], "{report}");
    assert_unit(&l["peak_overlap_rate"], "peak_overlap_rate");
    assert_unit(&l["chance"], "chance");
    // 2-day windows, 6-48 h segments, 24 h stretches: chance is far from both ends.
    let chance = l["chance"].as_f64().unwrap();
    assert!((0.3..1.0).contains(&chance), "{chance}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Localisation"), "{md}");
}

#[test]
fn only_test_split_scores_the_test_sensors() {
    let tmp = tempfile::tempdir().unwrap();
    let events = synth_events(tmp.path());
    let model = model_dir(tmp.path());
    let mut a = args(&model, &events, &tmp.path().join("r"));
    a.only_test_split = true;
    let (report, table) = evaluate::evaluate(&a).expect("evaluate");
    assert_eq!(report.windows, 12);
    assert!(
        table
            .sensor_ids
            .iter()
            .all(|id| id.parse::<usize>().unwrap() >= 49)
    );
    assert_eq!(report.evaluated, "test split");
    assert!(
        report
            .notes
            .iter()
            .all(|n| !n.contains("training or validation split"))
    );
}

#[test]
fn another_file_uses_the_recorded_training_file_and_calibration_fallbacks() {
    let tmp = tempfile::tempdir().unwrap();
    let train_events = synth_events(tmp.path());
    let other = synth_events_named(tmp.path(), "other.csv", 8);
    let model = tmp.path().join("model");
    let summary = serde_json::json!({"events_file": train_events.display().to_string()});
    write_model_with_summary(&model, true, 1, summary);
    let (report, _) = evaluate::evaluate(&args(&model, &other, &tmp.path().join("r"))).unwrap();
    assert!(
        report
            .baseline_fitted_on
            .contains("recorded in the manifest"),
        "{}",
        report.baseline_fitted_on
    );
    assert!(report.baseline_fitted_on.contains("events.csv"));
    assert_eq!(
        report.baseline_fit_windows, 48,
        "the 48 normal windows of the training file"
    );
    let latent = &report.scorers["latent"].threshold;
    assert!(latent.source.contains("log-normal"), "{}", latent.source);
    // exp(-3 + 2.326 · 1) − 1e-8 from the manifest's latent-error statistics.
    assert!(
        (latent.value - (-3.0f32 + 2.326).exp()).abs() < 1e-4,
        "{}",
        latent.value
    );
    assert!(report.notes.iter().any(|n| n.contains("no split.json")));
    assert!(report.latent_joint.is_none() && !report.scorers.contains_key("latent_joint"));
}

#[test]
fn wrong_model_path_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let events = synth_events(tmp.path());
    let missing = tmp.path().join("no-such-model");
    let err = evaluate::run(&args(&missing, &events, &tmp.path().join("r"))).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("no-such-model") && text.contains("no such model directory"),
        "{text}"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let text = format!(
        "{:#}",
        evaluate::run(&args(&empty, &events, &tmp.path().join("r"))).unwrap_err()
    );
    assert!(text.contains("manifest.json"), "{text}");
}

#[test]
fn events_without_the_model_features_name_the_missing_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let events = tmp.path().join("other.csv");
    std::fs::write(
        &events,
        "sensor_id,timestamp,pressure,label\n1,2020-12-20 00:00:00,1.0,0\n1,2020-12-20 01:00:00,1.5,0\n",
    )
    .unwrap();
    let text = format!(
        "{:#}",
        evaluate::run(&args(&model, &events, &tmp.path().join("r"))).unwrap_err()
    );
    assert!(
        text.contains("feature_1") && text.contains("other.csv"),
        "{text}"
    );
}

/// The real pipeline: `train_and_export` (with a head and the latent-joint ablation) on tiny
/// synthetic data, then `evaluate --only-test-split` on what it wrote.
#[test]
fn evaluates_a_model_trained_by_the_trainer() {
    use telltale_trainer::train::{HeadMode, TrainConfig, split_by_sensor, train_and_export};
    let tmp = tempfile::tempdir().unwrap();
    let events = synth_events(tmp.path());
    let file = telltale_core::events::read_events_csv(&events, &Default::default()).unwrap();
    let config = TrainConfig {
        epochs: 2,
        hidden: 8,
        latent_dim: 3,
        batch_size: 16,
        validation_fraction: 0.25,
        test_fraction: 0.25,
        window: WindowSpec {
            length_secs: 2 * 86_400,
            step_secs: 3600,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        },
        latent_joint: true,
        head: HeadMode::Weighted,
        latent_epochs: 5,
        head_epochs: 5,
        quiet: true,
        onnxruntime: Some(ort_dylib()),
        events: Some(events.clone()),
        ..TrainConfig::default()
    };
    let data = split_by_sensor(file, config.validation_fraction, config.test_fraction, 3);
    let test_sensors = data.split_record().test.len();
    let model = tmp.path().join("trained");
    train_and_export(&data, &config, &model).expect("train");

    let out = tmp.path().join("report");
    let mut a = args(&model, &events, &out);
    a.only_test_split = true;
    evaluate::run(&a).expect("evaluate");
    let report = read_report(&out);
    assert_eq!(report["windows"].as_u64(), Some(test_sensors as u64));
    let scorers = report["scorers"].as_object().unwrap();
    for name in [
        "latent",
        "sequence",
        "combined",
        "head",
        "latent_joint",
        "baseline_summary",
    ] {
        let m = scorers
            .get(name)
            .unwrap_or_else(|| panic!("no scorer {name}"));
        for key in [
            "auc_pr",
            "auc_roc",
            "recall_at_1pct_far",
            "precision_at_k",
            "f1_at_threshold",
        ] {
            assert_unit(&m[key], &format!("{name}.{key}"));
        }
    }
    assert!(
        report["baseline_fitted_on"]
            .as_str()
            .unwrap()
            .contains("training split")
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("supervised head") && md.contains("latent_joint"),
        "{md}"
    );
    assert!(
        std::fs::read_to_string(out.join("loss_curves.svg"))
            .unwrap()
            .starts_with("<svg")
    );
}

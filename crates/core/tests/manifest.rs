//! The model manifest: round trip and the checks that `load` applies.

use chrono::{TimeZone, Utc};
use telltale_core::manifest::{
    Graphs, MANIFEST_FILE, ManifestError, ModelShape, Threshold, ThresholdMethod,
};
use telltale_core::{Calibration, LogStats, MANIFEST_FORMAT_VERSION, Manifest, Normalizer};
use telltale_core::{ScorerKind, WindowSpec};

fn manifest() -> Manifest {
    Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        model_id: "abc123".into(),
        created_at: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        feature_names: vec!["feature_1".into(), "feature_2".into()],
        window: WindowSpec::default(),
        normalizer: Normalizer {
            mean: vec![0.0, 1.0, 0.5, 0.1],
            std: vec![1.0, 2.0, 0.3, 0.2],
        },
        shape: ModelShape {
            channels: 4,
            hidden: 3,
            layers: 1,
            latent_dim: 2,
        },
        latent_scale: vec![1.0, 0.5, 0.25],
        calibration: Calibration {
            default_scorer: ScorerKind::Combined,
            latent_log: LogStats {
                mean: -2.0,
                std: 1.0,
            },
            sequence_log: LogStats {
                mean: -1.0,
                std: 0.5,
            },
            normal_quantiles: vec![-1.0, 0.0, 0.5, 3.0],
            peak_coupling: false,
        },
        threshold: Threshold {
            score: 0.99,
            method: ThresholdMethod::TargetFar { far: 0.01 },
        },
        graphs: Graphs::default(),
        hyper_parameters: serde_json::json!({ "epochs": 3 }),
        data_summary: serde_json::Value::Null,
        evaluation: serde_json::Value::Null,
    }
}

fn load_err(m: &Manifest) -> String {
    let dir = tempfile::tempdir().unwrap();
    m.save(dir.path()).unwrap();
    match Manifest::load(dir.path()) {
        Err(ManifestError::Invalid { message, .. }) => message,
        other => panic!("expected an inconsistent manifest, got {other:?}"),
    }
}

#[test]
fn save_then_load_gives_the_same_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest();
    m.save(dir.path()).unwrap();
    assert_eq!(Manifest::load(dir.path()).unwrap(), m);
    let text = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
    assert!(text.contains("\"kind\": \"target_far\""), "{text}");
}

#[test]
fn another_format_version_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = serde_json::to_value(manifest()).unwrap();
    value["format_version"] = serde_json::json!(MANIFEST_FORMAT_VERSION + 1);
    value["something_new"] = serde_json::json!(true);
    value.as_object_mut().unwrap().remove("graphs");
    std::fs::write(dir.path().join(MANIFEST_FILE), value.to_string()).unwrap();
    let err = Manifest::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            ManifestError::Version {
                found: 2,
                expected: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("re-export the model"), "{err}");
}

#[test]
fn unreadable_and_malformed_manifests_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Manifest::load(dir.path()),
        Err(ManifestError::Io { .. })
    ));
    std::fs::write(dir.path().join(MANIFEST_FILE), "{ not json").unwrap();
    assert!(matches!(
        Manifest::load(dir.path()),
        Err(ManifestError::Parse { .. })
    ));
    let mut value = serde_json::to_value(manifest()).unwrap();
    value.as_object_mut().unwrap().remove("normalizer");
    std::fs::write(dir.path().join(MANIFEST_FILE), value.to_string()).unwrap();
    let err = Manifest::load(dir.path()).unwrap_err();
    assert!(matches!(err, ManifestError::Parse { .. }), "{err:?}");
    assert!(err.to_string().contains("normalizer"), "{err}");
}

#[test]
fn inconsistent_sizes_and_values_are_caught() {
    let mut m = manifest();
    m.shape.channels = 5;
    assert!(load_err(&m).contains("shape.channels is 5 but 2 features need 4"));

    let mut m = manifest();
    m.latent_scale.pop();
    assert!(load_err(&m).contains("latent_scale must have 3 values"));

    let mut m = manifest();
    m.calibration.normal_quantiles = vec![1.0, 0.0];
    assert!(load_err(&m).contains("ascending"));

    let mut m = manifest();
    m.normalizer.std[1] = 0.0;
    assert!(load_err(&m).contains("std finite and positive"));

    let mut m = manifest();
    m.graphs.sequence_decoder = None;
    assert!(load_err(&m).contains("latent scorer"));

    let mut m = manifest();
    m.calibration.default_scorer = ScorerKind::Head;
    assert!(load_err(&m).contains("head graph"));

    let mut m = manifest();
    m.window = WindowSpec {
        length_secs: 10,
        step_secs: 20,
        centering: telltale_core::window::Centering::None,
        step_std: false,
        log_step_std: false,
    };
    assert!(load_err(&m).contains("invalid window spec"));
}

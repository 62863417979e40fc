//! A small real model directory for the scorer's tests: graphs written by `telltale-onnx` from
//! seeded random weights, and a hand-built manifest.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use telltale_core::manifest::{Graphs, ModelShape, Threshold, ThresholdMethod};
use telltale_core::{
    BinnedWindow, Calibration, LogStats, Manifest, Normalizer, ScorerKind, WindowSpec,
};
use telltale_onnx::ModelWeights;

pub const FEATURES: usize = 2;
pub const CHANNELS: usize = FEATURES + 2;
pub const HIDDEN: usize = 8;
pub const LATENT: usize = 3;
pub const STEPS: usize = 12;
pub const THRESHOLD: f32 = 0.75;

/// The ONNX Runtime library: `ORT_DYLIB_PATH`, else the wheel in the repo's `.venv`.
pub fn ort_dylib() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1");
    assert!(
        path.exists(),
        "ORT_DYLIB_PATH is unset and {} is missing: run scripts/test.sh (it installs onnxruntime)",
        path.display()
    );
    path
}

pub fn init() {
    telltale_scorer::init_runtime(Some(ort_dylib())).expect("load ONNX Runtime");
}

pub fn weights(layers: usize, head: bool) -> ModelWeights {
    telltale_onnx::fixture::random_weights(CHANNELS, HIDDEN, layers, LATENT, head, 42)
}

/// A manifest for `weights`' graphs; `sequence` = false describes the latent-joint ablation.
pub fn manifest(layers: usize, head: bool, sequence: bool) -> Manifest {
    let default_scorer = match (sequence, head) {
        (false, _) => ScorerKind::Latent,
        (true, true) => ScorerKind::Head,
        (true, false) => ScorerKind::Combined,
    };
    let normal_quantiles = match default_scorer {
        ScorerKind::Latent => vec![0.0, 0.01, 0.05, 0.2, 1.0],
        ScorerKind::Head => vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        _ => vec![-3.0, -1.5, 0.0, 1.5, 3.0],
    };
    Manifest {
        format_version: telltale_core::MANIFEST_FORMAT_VERSION,
        model_id: "test-model".into(),
        created_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        feature_names: (0..FEATURES).map(|i| format!("feature_{i}")).collect(),
        window: WindowSpec {
            length_secs: STEPS as i64 * 3600,
            step_secs: 3600,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        },
        normalizer: Normalizer {
            mean: vec![1.0, -1.0, 0.5, 0.5],
            std: vec![2.0, 1.0, 0.5, 0.5],
        },
        shape: ModelShape {
            channels: CHANNELS,
            hidden: HIDDEN,
            layers,
            latent_dim: LATENT,
        },
        latent_scale: (0..HIDDEN).map(|i| 0.01 + 0.01 * i as f32).collect(),
        calibration: Calibration {
            default_scorer,
            latent_log: LogStats {
                mean: -4.0,
                std: 1.5,
            },
            sequence_log: LogStats {
                mean: 0.0,
                std: 1.0,
            },
            normal_quantiles,
            peak_coupling: false,
        },
        threshold: Threshold {
            score: THRESHOLD,
            method: ThresholdMethod::TargetFar { far: 0.01 },
        },
        graphs: Graphs {
            sequence_decoder: sequence.then(|| telltale_onnx::SEQUENCE_DECODER_FILE.into()),
            head: head.then(|| telltale_onnx::HEAD_FILE.into()),
            ..Graphs::default()
        },
        hyper_parameters: serde_json::Value::Null,
        data_summary: serde_json::Value::Null,
        evaluation: serde_json::Value::Null,
    }
}

/// Write graphs and manifest into `dir`.
pub fn write_model(dir: &Path, layers: usize, head: bool, sequence: bool) -> ModelWeights {
    let weights = weights(layers, head);
    telltale_onnx::write_graphs(dir, &weights).expect("write graphs");
    manifest(layers, head, sequence)
        .save(dir)
        .expect("write manifest");
    weights
}

/// A prepared (normalised-looking) window of `len` steps with values around `level`.
pub fn window(rng: &mut ChaCha8Rng, len: usize, level: f32) -> BinnedWindow {
    let data = (0..len * CHANNELS)
        .map(|_| level + rng.random_range(-1.0f32..1.0))
        .collect();
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    BinnedWindow {
        len,
        channels: CHANNELS,
        data,
        start,
        end: start + chrono::Duration::hours(STEPS as i64),
        events_used: len,
    }
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

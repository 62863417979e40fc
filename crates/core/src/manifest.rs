//! The model directory format (DESIGN §3): `manifest.json` beside the ONNX graphs.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::normalize::Normalizer;
use crate::scoring::Calibration;
use crate::window::WindowSpec;

/// Bumped whenever a reader of an older format could misread a newer manifest.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;

/// File name of the manifest inside a model directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Everything a scorer needs to turn raw events into scores with the graphs beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Hash of the exported weights (hex), so every stored score names the model that made it.
    pub model_id: String,
    pub created_at: DateTime<Utc>,
    pub feature_names: Vec<String>,
    pub window: WindowSpec,
    pub normalizer: Normalizer,
    pub shape: ModelShape,
    /// Per-dimension variance of the context on normal training windows; the latent error divides
    /// each squared difference by it.
    pub latent_scale: Vec<f32>,
    pub calibration: Calibration,
    pub threshold: Threshold,
    pub graphs: Graphs,
    /// Free-form training settings (epochs, learning rate, seed, …) for the record.
    #[serde(default)]
    pub hyper_parameters: serde_json::Value,
    #[serde(default)]
    pub data_summary: serde_json::Value,
    /// Validation metrics measured at training time, when any.
    #[serde(default)]
    pub evaluation: serde_json::Value,
}

/// Sizes the graphs were exported with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelShape {
    /// C = features + 2.
    pub channels: usize,
    /// Encoder hidden size H (= context size).
    pub hidden: usize,
    pub layers: usize,
    /// Latent decoder bottleneck size k.
    pub latent_dim: usize,
}

/// File names of the ONNX graphs, relative to the model directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graphs {
    pub encoder: String,
    pub latent_decoder: String,
    /// Absent only in the `latent_joint` ablation (the seed's literal proposal: encoder + latent
    /// decoder, nothing else); such a model must use the `latent` scorer.
    #[serde(default)]
    pub sequence_decoder: Option<String>,
    #[serde(default)]
    pub head: Option<String>,
}

impl Default for Graphs {
    fn default() -> Self {
        Self {
            encoder: "encoder.onnx".into(),
            latent_decoder: "latent_decoder.onnx".into(),
            sequence_decoder: Some("sequence_decoder.onnx".into()),
            head: None,
        }
    }
}

/// The stored decision threshold on the calibrated `score` scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Windows with `score >= threshold` are reported as anomalous.
    pub score: f32,
    /// How the threshold was chosen.
    pub method: ThresholdMethod,
}

/// How a threshold was chosen, with the number it was chosen for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThresholdMethod {
    /// Score at a target false-alarm rate on normal validation windows.
    TargetFar { far: f32 },
    /// Best F1 on labelled validation windows.
    BestF1 { validation_f1: f32 },
}

/// Why a model directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// `manifest.json` is missing or unreadable.
    #[error("{path}: cannot read the model manifest: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Not JSON, or fields missing or of the wrong type.
    #[error("{path}: not a valid model manifest: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    /// Written by a trainer with another format version.
    #[error(
        "{path}: model format version {found} is not supported (this build reads version {expected}); \
         re-export the model with a matching telltale-trainer"
    )]
    Version {
        path: String,
        found: u64,
        expected: u32,
    },
    /// Parsed, but sizes or values disagree (see `Manifest::check`).
    #[error("{path}: inconsistent manifest: {message}")]
    Invalid { path: String, message: String },
}

impl Manifest {
    /// Read and check `dir/manifest.json`. The format version is checked before the rest is
    /// parsed, so a newer format is reported as such rather than as a parse error.
    pub fn load(dir: &Path) -> Result<Self, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io {
            path: shown.clone(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: shown.clone(),
                source,
            })?;
        let found = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if found != u64::from(MANIFEST_FORMAT_VERSION) {
            return Err(ManifestError::Version {
                path: shown,
                found,
                expected: MANIFEST_FORMAT_VERSION,
            });
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|source| ManifestError::Parse {
                path: shown.clone(),
                source,
            })?;
        manifest.check().map_err(|message| ManifestError::Invalid {
            path: shown,
            message,
        })?;
        Ok(manifest)
    }

    /// Write `dir/manifest.json` (pretty-printed).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(MANIFEST_FILE), text + "\n")
    }

    /// Internal consistency: sizes agree with each other.
    pub fn check(&self) -> Result<(), String> {
        let channels = self.window.channel_count(self.feature_names.len());
        if self.feature_names.is_empty() {
            return Err("no feature names".into());
        }
        if self.shape.channels != channels {
            return Err(format!(
                "shape.channels is {} but {} features need {channels}",
                self.shape.channels,
                self.feature_names.len()
            ));
        }
        if self.normalizer.mean.len() != channels || self.normalizer.std.len() != channels {
            return Err(format!("normalizer must have {channels} channels"));
        }
        if self.latent_scale.len() != self.shape.hidden {
            return Err(format!(
                "latent_scale must have {} values",
                self.shape.hidden
            ));
        }
        let quantiles = &self.calibration.normal_quantiles;
        if quantiles.len() < 2 {
            return Err("calibration.normal_quantiles needs at least 2 values".into());
        }
        if quantiles.iter().any(|q| !q.is_finite()) || !quantiles.is_sorted() {
            return Err("calibration.normal_quantiles must be finite and ascending".into());
        }
        if self
            .normalizer
            .std
            .iter()
            .any(|s| !(s.is_finite() && *s > 0.0))
            || self.normalizer.mean.iter().any(|m| !m.is_finite())
        {
            return Err("normalizer mean must be finite and std finite and positive".into());
        }
        if self.graphs.sequence_decoder.is_none()
            && self.calibration.default_scorer != crate::scoring::ScorerKind::Latent
        {
            return Err("a model without a sequence decoder must use the latent scorer".into());
        }
        if self.graphs.head.is_none()
            && self.calibration.default_scorer == crate::scoring::ScorerKind::Head
        {
            return Err("the head scorer needs a head graph".into());
        }
        self.window.validate().map_err(|e| e.to_string())?;
        Ok(())
    }
}

//! The one `AppState` every handler receives through `with_state`.

use std::path::Path;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use telltale_core::Manifest;

use crate::config::Config;
use crate::inference::Infer;

/// Request limits the handlers enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most events in one window sent to `/score` (and per window of `/score/batch`).
    pub max_events: usize,
    /// Fewest events inside a window for it to be scored.
    pub min_events: usize,
    /// Most windows in one `/score/batch` request.
    pub max_batch_windows: usize,
    /// Largest request body in bytes.
    pub body_limit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_events: 10_000,
            min_events: 1,
            max_batch_windows: 256,
            body_limit: 16 << 20,
        }
    }
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Self {
        Self {
            max_events: config.max_events,
            min_events: config.min_events as usize,
            max_batch_windows: config.max_batch_windows,
            body_limit: config.body_limit,
        }
    }
}

/// What clients are told about the loaded model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Hash of the weights (manifest `model_id`); stored with every score.
    pub id: String,
    /// Name of the model directory (`models/<version>/`).
    pub version: String,
    pub manifest: Arc<Manifest>,
}

impl ModelInfo {
    /// Describe the model loaded from `dir`.
    pub fn new(dir: &Path, manifest: &Manifest) -> Self {
        let version = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Self {
            id: manifest.model_id.clone(),
            version,
            manifest: Arc::new(manifest.clone()),
        }
    }

    /// Feature names in model order.
    pub fn features(&self) -> &[String] {
        &self.manifest.feature_names
    }
}

/// Shared state: database pool, inference handle, model description, limits, metrics.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub infer: Infer,
    pub model: Arc<ModelInfo>,
    pub limits: Limits,
    pub metrics: PrometheusHandle,
}

impl AppState {
    /// Assemble the state; the model description comes from the inference backend's manifest.
    pub fn new(db: PgPool, infer: Infer, model_dir: &Path, limits: Limits) -> Self {
        let model = Arc::new(ModelInfo::new(model_dir, infer.manifest()));
        Self {
            db,
            infer,
            model,
            limits,
            metrics: crate::telemetry::metrics_handle(),
        }
    }
}

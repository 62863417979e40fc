//! The one `AppState` every handler receives through `with_state`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use telltale_core::Manifest;

use std::time::Duration;

use telltale_scorer::RuntimeOptions;

use crate::auth::Auth;
use crate::config::Config;
use crate::inference::{BatchConfig, Infer, Worker};
use crate::serving::{LoadOptions, ModelSlot, Serving};

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

/// Shared state: database pool, the served model, limits, access control, metrics.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub models: Arc<ModelSlot>,
    pub limits: Limits,
    pub auth: Arc<Auth>,
    pub metrics: PrometheusHandle,
    /// Set once a shutdown was requested: `/ready` answers 503 while requests drain.
    pub draining: Arc<AtomicBool>,
}

impl AppState {
    /// Assemble the state around a running inference handle for the model in `model_dir`. No
    /// API keys; reloads use default ONNX Runtime options and the handle's queue capacity.
    pub fn new(db: PgPool, infer: Infer, model_dir: &Path, limits: Limits) -> Self {
        let load = LoadOptions {
            runtime: RuntimeOptions::default(),
            batch: BatchConfig {
                max_batch: 64,
                max_wait: Duration::from_millis(1),
                queue_capacity: infer.capacity(),
            },
        };
        Self::with_worker(db, infer, None, model_dir, limits, load)
    }

    /// Assemble the state; `worker` is joined when the model is replaced or the server stops.
    pub fn with_worker(
        db: PgPool,
        infer: Infer,
        worker: Option<Worker>,
        model_dir: &Path,
        limits: Limits,
        load: LoadOptions,
    ) -> Self {
        let serving = Serving::new(infer, worker, model_dir);
        Self {
            db,
            models: Arc::new(ModelSlot::new(serving, load)),
            limits,
            auth: Arc::new(Auth::default()),
            metrics: crate::telemetry::metrics_handle(),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same state with access control `auth`.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// The model serving right now (one snapshot: use it for everything a request does).
    pub fn serving(&self) -> Arc<Serving> {
        self.models.current()
    }

    /// Description of the model serving right now.
    pub fn model(&self) -> Arc<ModelInfo> {
        Arc::clone(&self.models.current().model)
    }

    /// Inference handle of the model serving right now.
    pub fn infer(&self) -> Infer {
        self.models.current().infer.clone()
    }
}

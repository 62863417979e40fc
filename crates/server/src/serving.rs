//! The model being served and its hot replacement (`POST /admin/models/reload`, SIGHUP).
//!
//! A [`Serving`] pairs an inference handle with the description of the model behind it; handlers
//! take one snapshot per request ([`ModelSlot::current`]), so a score and the model id stored with
//! it always come from the same model. A reload loads the new directory on its own inference
//! thread, checks it (it must open in ONNX Runtime, read the same features and score a probe
//! window to finite numbers), then swaps the snapshot in one step. The old handle stops taking
//! windows a moment later and finishes what it has queued; a request that raced the swap is sent
//! to the new model. A model that fails any check is refused and the old one keeps serving.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use telltale_core::Event;
use telltale_scorer::{RuntimeOptions, Scorer};

use crate::inference::{Arrivals, BatchConfig, Infer, InferError, Scored, WindowRequest, Worker};
use crate::state::ModelInfo;

/// How long a replaced model keeps accepting windows from requests that took their snapshot just
/// before the swap.
const RETIRE_AFTER: Duration = Duration::from_millis(500);

/// One loaded model: its inference handle and its description.
pub struct Serving {
    pub infer: Infer,
    pub model: Arc<ModelInfo>,
    /// Where it was loaded from.
    pub dir: PathBuf,
    worker: Mutex<Option<Worker>>,
}

impl Serving {
    /// Wrap a running inference handle loaded from `dir`.
    pub fn new(infer: Infer, worker: Option<Worker>, dir: &Path) -> Self {
        let model = Arc::new(ModelInfo::new(dir, infer.manifest()));
        Self {
            infer,
            model,
            dir: dir.to_path_buf(),
            worker: Mutex::new(worker),
        }
    }

    /// Stop taking windows, finish the queued ones and wait for the inference thread (blocking).
    pub fn shut_down(&self) {
        self.infer.close();
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(worker) = worker {
            worker.join();
        }
    }
}

/// Why a reload was refused (the previous model keeps serving).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Another reload is running.
    #[error("another model reload is in progress; retry when it has finished")]
    Busy,
    /// The directory does not hold a model ONNX Runtime can load.
    #[error("the model in `{dir}` cannot be loaded: {reason}")]
    Load { dir: String, reason: String },
    /// The model loads but cannot replace the current one.
    #[error("the model in `{dir}` is incompatible with the one being served: {reason}")]
    Incompatible { dir: String, reason: String },
}

/// What a successful reload replaced.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub previous: Arc<ModelInfo>,
    pub current: Arc<ModelInfo>,
}

/// How new models are loaded.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub runtime: RuntimeOptions,
    pub batch: BatchConfig,
}

/// The served model, swappable at run time.
pub struct ModelSlot {
    current: RwLock<Arc<Serving>>,
    arrivals: Arc<Arrivals>,
    load: LoadOptions,
    reloading: tokio::sync::Mutex<()>,
}

impl ModelSlot {
    /// Serve `first`; later models are loaded with `load`.
    pub fn new(first: Serving, load: LoadOptions) -> Self {
        let arrivals = first.infer.arrivals();
        Self {
            current: RwLock::new(Arc::new(first)),
            arrivals,
            load,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The model serving right now.
    pub fn current(&self) -> Arc<Serving> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Arrival counters shared by every model this slot serves.
    pub fn arrivals(&self) -> Arc<Arrivals> {
        Arc::clone(&self.arrivals)
    }

    /// Score windows with the current model, returning the model that scored them. Windows that
    /// reach a model retired by a concurrent reload are sent to its successor.
    pub async fn score_many(
        &self,
        mut requests: Vec<WindowRequest>,
    ) -> Result<(Arc<Serving>, Vec<Result<Scored, InferError>>), InferError> {
        loop {
            let serving = self.current();
            match serving.infer.score_many_or_return(requests).await {
                Ok(results) => return Ok((serving, results)),
                Err((InferError::Closed, back)) if !Arc::ptr_eq(&serving, &self.current()) => {
                    requests = back;
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    /// Score one window with the current model (see [`ModelSlot::score_many`]).
    pub async fn score(
        &self,
        request: WindowRequest,
    ) -> Result<(Arc<Serving>, Scored), InferError> {
        let (serving, mut results) = self.score_many(vec![request]).await?;
        let result = results.pop().unwrap_or(Err(InferError::Closed))?;
        Ok((serving, result))
    }

    /// Load the model in `dir` (default: the directory the current model came from, e.g. after
    /// a new version was moved into place there), check it and swap it in.
    pub async fn reload(&self, dir: Option<PathBuf>) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self.reloading.try_lock().map_err(|_| ReloadError::Busy)?;
        let previous = self.current();
        let dir = dir.unwrap_or_else(|| previous.dir.clone());
        let shown = dir.display().to_string();
        tracing::info!(dir = %shown, "loading a model to replace the current one");

        let load = self.load.clone();
        let arrivals = self.arrivals();
        let dir_for_thread = dir.clone();
        let spawned = tokio::task::spawn_blocking(move || {
            Infer::spawn_sharing(
                move || Scorer::open(&dir_for_thread, &load.runtime).map_err(anyhow::Error::from),
                load.batch,
                arrivals,
            )
        })
        .await
        .map_err(|err| ReloadError::Load {
            dir: shown.clone(),
            reason: format!("the loading task failed: {err}"),
        })?;
        let (infer, worker) = spawned.map_err(|err| ReloadError::Load {
            dir: shown.clone(),
            reason: format!("{err:#}"),
        })?;
        let candidate = Arc::new(Serving::new(infer, Some(worker), &dir));

        if let Err(reason) = self.check(&previous, &candidate).await {
            retire(candidate, Duration::ZERO);
            tracing::warn!(dir = %shown, %reason, "model refused; the previous model keeps serving");
            return Err(ReloadError::Incompatible { dir: shown, reason });
        }

        match self.current.write() {
            Ok(mut guard) => *guard = Arc::clone(&candidate),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&candidate),
        }
        tracing::info!(
            previous = %previous.model.id,
            current = %candidate.model.id,
            version = %candidate.model.version,
            "model reloaded"
        );
        metrics::counter!("telltale_model_reloads_total").increment(1);
        let reloaded = Reloaded {
            previous: Arc::clone(&previous.model),
            current: Arc::clone(&candidate.model),
        };
        retire(previous, RETIRE_AFTER);
        Ok(reloaded)
    }

    /// Can `candidate` replace `current`? Same features in the same order (clients send them by
    /// name, stored history is keyed by them) and a probe window scores to finite numbers.
    async fn check(&self, current: &Serving, candidate: &Serving) -> Result<(), String> {
        let old = current.model.features();
        let new = candidate.model.features();
        if old != new {
            return Err(format!(
                "it reads features {new:?} but the served model reads {old:?}; start a new server \
                 for a model with other features"
            ));
        }
        // `Scorer::score` refuses non-finite results, so an answer means finite numbers.
        let probe = probe_window(new.len(), Utc::now());
        candidate
            .infer
            .score(probe)
            .await
            .map_err(|err| format!("scoring a probe window failed: {err}"))?;
        Ok(())
    }

    /// Stop the current model (server shutdown): finish queued windows, join its thread.
    pub async fn shut_down(&self) {
        let serving = self.current();
        let _ = tokio::task::spawn_blocking(move || serving.shut_down()).await;
    }
}

/// Stop a replaced model after `delay`, on a blocking thread (its queue drains first).
fn retire(serving: Arc<Serving>, delay: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = tokio::task::spawn_blocking(move || serving.shut_down()).await;
    });
}

/// A plain window for the reload check: two days of hourly events with smooth values.
fn probe_window(features: usize, end: DateTime<Utc>) -> WindowRequest {
    let events = (0..48)
        .map(|i| {
            let timestamp = end - TimeDelta::hours(47 - i);
            let values = (0..features)
                .map(|f| ((i as f32) * 0.3 + f as f32).sin())
                .collect();
            Event {
                timestamp,
                features: values,
            }
        })
        .collect();
    WindowRequest {
        events,
        end: Some(end),
    }
}

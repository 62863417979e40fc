//! Inference behind a bounded queue with dynamic batching (DESIGN §4, HOUSE_STYLE habit 3).
//!
//! A [`Backend`] (in production the `telltale-scorer` [`Scorer`]) lives on one dedicated thread,
//! created there so it never has to be `Send`. Handlers hand windows to the [`Infer`] handle,
//! which admits them only while the queue has room (else 429 at once) and awaits a oneshot reply.
//! The batcher thread ([`batcher`]) takes the first waiting window, collects more for at most
//! `max_wait` or until `max_batch`, prepares (bins + normalises) each with the backend and scores
//! the batch with one backend call.

mod arrivals;
mod batcher;

pub use arrivals::{Arrivals, InFlight, track_scoring_requests};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use telltale_core::{BinnedWindow, Event, Manifest, WindowError};
use telltale_scorer::{Scorer, ScorerError, WindowScores};
use tokio::sync::oneshot;

/// What the batcher thread drives: synchronous, one call per batch.
pub trait Backend {
    /// The model's manifest (feature names, window spec, threshold).
    fn manifest(&self) -> &Manifest;
    /// Bin and normalise one window's events (sorted, unique timestamps) ending at `end`.
    fn prepare(
        &self,
        events: &[Event],
        end: Option<DateTime<Utc>>,
    ) -> Result<BinnedWindow, WindowError>;
    /// Score prepared windows, one result per window in order.
    fn score(&mut self, windows: &[BinnedWindow]) -> Result<Vec<WindowScores>, ScorerError>;
}

impl Backend for Scorer {
    fn manifest(&self) -> &Manifest {
        Scorer::manifest(self)
    }

    fn prepare(
        &self,
        events: &[Event],
        end: Option<DateTime<Utc>>,
    ) -> Result<BinnedWindow, WindowError> {
        Scorer::prepare(self, events, end)
    }

    fn score(&mut self, windows: &[BinnedWindow]) -> Result<Vec<WindowScores>, ScorerError> {
        Scorer::score(self, windows)
    }
}

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most windows per backend call.
    pub max_batch: usize,
    /// Longest wait for more windows after the first one of a batch.
    pub max_wait: Duration,
    /// Most windows waiting in the queue.
    pub queue_capacity: usize,
}

/// One window to score: its events in feature order and the window's end (default: last event).
#[derive(Debug, Clone)]
pub struct WindowRequest {
    pub events: Vec<Event>,
    pub end: Option<DateTime<Utc>>,
}

/// Where the scored window lies.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSummary {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Time steps of the binned sequence.
    pub steps: usize,
    /// Events inside the window.
    pub events_used: usize,
}

/// The scores of one window and where it lies.
#[derive(Debug, Clone)]
pub struct Scored {
    pub scores: WindowScores,
    pub window: WindowSummary,
}

/// Why a window was not scored.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("the inference queue is full ({capacity} windows waiting)")]
    Overloaded { capacity: usize },
    #[error("the inference worker is not running (shutting down)")]
    Closed,
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error(transparent)]
    Scorer(#[from] ScorerError),
    #[error("the inference worker failed: {0}")]
    Failed(String),
}

struct Job {
    request: WindowRequest,
    reply: oneshot::Sender<Result<Scored, InferError>>,
    enqueued: Instant,
}

struct Shared {
    tx: mpsc::Sender<Job>,
    /// Windows admitted but not yet taken by the batcher.
    waiting: AtomicUsize,
    capacity: usize,
    closed: AtomicBool,
    running: AtomicBool,
    arrivals: Arc<Arrivals>,
}

/// Cheap-to-clone handle used by handlers to score windows.
#[derive(Clone)]
pub struct Infer {
    shared: Arc<Shared>,
    manifest: Arc<Manifest>,
}

/// The batcher thread; [`Worker::join`] waits for it after [`Infer::close`].
pub struct Worker {
    handle: JoinHandle<()>,
}

impl Infer {
    /// Start the batcher thread, creating the backend on it with `make`. Returns once the backend
    /// is ready, or with the error `make` returned.
    pub fn spawn<B, E, F>(make: F, config: BatchConfig) -> Result<(Infer, Worker), E>
    where
        B: Backend + 'static,
        E: Send + 'static + From<std::io::Error>,
        F: FnOnce() -> Result<B, E> + Send + 'static,
    {
        Self::spawn_sharing(make, config, Arc::default())
    }

    /// [`Infer::spawn`], counting arriving requests in `arrivals` (shared by every model the
    /// server loads over its life, see [`Arrivals`]).
    pub fn spawn_sharing<B, E, F>(
        make: F,
        config: BatchConfig,
        arrivals: Arc<Arrivals>,
    ) -> Result<(Infer, Worker), E>
    where
        B: Backend + 'static,
        E: Send + 'static + From<std::io::Error>,
        F: FnOnce() -> Result<B, E> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<Job>();
        let shared = Arc::new(Shared {
            tx,
            waiting: AtomicUsize::new(0),
            capacity: config.queue_capacity.max(1),
            closed: AtomicBool::new(false),
            running: AtomicBool::new(true),
            arrivals,
        });
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<Manifest, E>>(1);
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("telltale-inference".into())
            .spawn(move || {
                let _running = RunningGuard(Arc::clone(&thread_shared));
                let backend = match make() {
                    Ok(backend) => {
                        let _ = ready_tx.send(Ok(backend.manifest().clone()));
                        backend
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                batcher::run(backend, rx, &thread_shared, config);
            })?;
        let outcome = ready_rx.recv().unwrap_or_else(|_| {
            Err(E::from(std::io::Error::other(
                "the inference thread stopped while starting",
            )))
        });
        match outcome {
            Ok(manifest) => Ok((
                Infer {
                    shared,
                    manifest: Arc::new(manifest),
                },
                Worker { handle },
            )),
            Err(err) => {
                let _ = handle.join();
                Err(err)
            }
        }
    }

    /// The model's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Scoring requests being read that have not queued their windows yet.
    pub fn incoming_requests(&self) -> usize {
        self.shared.arrivals.incoming()
    }

    /// Windows waiting for the batcher right now (not yet taken into a batch).
    pub fn queue_depth(&self) -> usize {
        self.shared.waiting.load(Ordering::Relaxed)
    }

    /// Queue capacity in windows.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// True while the batcher thread runs and accepts work.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire) && !self.shared.closed.load(Ordering::Acquire)
    }

    /// Stop accepting windows; the batcher finishes what is queued, then exits.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
    }

    /// Score one window.
    pub async fn score(&self, request: WindowRequest) -> Result<Scored, InferError> {
        let mut results = self.score_many(vec![request]).await?;
        results.pop().unwrap_or(Err(InferError::Closed))
    }

    /// Score several windows, admitted all together or not at all. The outer error is the
    /// admission (queue full, closed); the inner results are per window, in order.
    pub async fn score_many(
        &self,
        requests: Vec<WindowRequest>,
    ) -> Result<Vec<Result<Scored, InferError>>, InferError> {
        self.score_many_or_return(requests)
            .await
            .map_err(|(err, _)| err)
    }

    /// [`Infer::score_many`] that hands the requests back when they were not admitted, so a
    /// caller can send them to another model (a reload closes the handle it replaces).
    pub async fn score_many_or_return(
        &self,
        requests: Vec<WindowRequest>,
    ) -> Result<Vec<Result<Scored, InferError>>, (InferError, Vec<WindowRequest>)> {
        let replies = self.enqueue(requests)?;
        // Counted only once queued: the batcher may then take everything counted as arrived.
        let _awaiting = arrivals::Awaiting::new(&self.shared.arrivals);
        let mut results = Vec::with_capacity(replies.len());
        for reply in replies {
            results.push(reply.await.unwrap_or(Err(InferError::Closed)));
        }
        Ok(results)
    }

    #[allow(clippy::type_complexity)]
    fn enqueue(
        &self,
        requests: Vec<WindowRequest>,
    ) -> Result<Vec<oneshot::Receiver<Result<Scored, InferError>>>, (InferError, Vec<WindowRequest>)>
    {
        if !self.is_running() {
            return Err((InferError::Closed, requests));
        }
        let n = requests.len();
        let shared = &self.shared;
        let admitted =
            shared
                .waiting
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                    (waiting + n <= shared.capacity).then_some(waiting + n)
                });
        if admitted.is_err() {
            metrics::counter!("telltale_inference_rejected_total").increment(n as u64);
            return Err((
                InferError::Overloaded {
                    capacity: shared.capacity,
                },
                requests,
            ));
        }
        metrics::gauge!("telltale_inference_queue_depth").set(self.queue_depth() as f64);
        let now = Instant::now();
        let mut replies = Vec::with_capacity(n);
        for request in requests {
            let (reply, rx) = oneshot::channel();
            // A send fails only when the worker has exited; the dropped reply then reads as Closed.
            let _ = shared.tx.send(Job {
                request,
                reply,
                enqueued: now,
            });
            replies.push(rx);
        }
        Ok(replies)
    }
}

impl Worker {
    /// Wait (blocking) for the batcher thread to finish its queue and exit.
    pub fn join(self) {
        if self.handle.join().is_err() {
            tracing::error!("the inference thread panicked");
        }
    }
}

/// Marks the worker as stopped however its thread ends.
struct RunningGuard(Arc<Shared>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests;

//! Batcher behaviour with a small deterministic backend (no ONNX Runtime): batching, limits,
//! overload, error isolation and draining. The HTTP tests exercise the real scorer.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use telltale_core::manifest::{Graphs, ModelShape, Threshold, ThresholdMethod};
use telltale_core::{BinnedWindow, Calibration, Event, LogStats, Manifest, Normalizer, ScorerKind};
use telltale_core::{WindowError, WindowSpec};
use telltale_scorer::{ScorerError, WindowScores};

use super::*;

/// Value that makes [`TestBackend::score`] fail for the whole batch.
const POISON: f32 = -1.0;
/// Value that makes [`TestBackend::score`] panic.
const BOMB: f32 = -2.0;

fn manifest() -> Manifest {
    Manifest {
        format_version: telltale_core::MANIFEST_FORMAT_VERSION,
        model_id: "test".into(),
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        feature_names: vec!["f".into()],
        window: WindowSpec::default(),
        normalizer: Normalizer {
            mean: vec![0.0; 3],
            std: vec![1.0; 3],
        },
        shape: ModelShape {
            channels: 3,
            hidden: 2,
            layers: 1,
            latent_dim: 1,
        },
        latent_scale: vec![1.0; 2],
        calibration: Calibration {
            default_scorer: ScorerKind::Latent,
            latent_log: LogStats {
                mean: 0.0,
                std: 1.0,
            },
            sequence_log: LogStats {
                mean: 0.0,
                std: 1.0,
            },
            normal_quantiles: vec![0.0, 1.0],
            peak_coupling: false,
        },
        threshold: Threshold {
            score: 0.5,
            method: ThresholdMethod::TargetFar { far: 0.01 },
        },
        graphs: Graphs::default(),
        hyper_parameters: serde_json::Value::Null,
        data_summary: serde_json::Value::Null,
        evaluation: serde_json::Value::Null,
    }
}

/// Scores a window as the sum of its single feature; records batch sizes; can hold its first
/// call until released.
struct TestBackend {
    manifest: Manifest,
    batches: Arc<Mutex<Vec<usize>>>,
    gate: Option<(std_mpsc::Sender<()>, std_mpsc::Receiver<()>)>,
}

impl Backend for TestBackend {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn prepare(
        &self,
        events: &[Event],
        end: Option<DateTime<Utc>>,
    ) -> Result<BinnedWindow, WindowError> {
        let first = events.first().ok_or(WindowError::Empty)?;
        let last = events.last().ok_or(WindowError::Empty)?;
        Ok(BinnedWindow {
            len: events.len(),
            channels: 1,
            data: events.iter().map(|e| e.features[0]).collect(),
            start: first.timestamp,
            end: end.unwrap_or(last.timestamp),
            events_used: events.len(),
        })
    }

    fn score(&mut self, windows: &[BinnedWindow]) -> Result<Vec<WindowScores>, ScorerError> {
        if let Some((entered, release)) = self.gate.take() {
            entered.send(()).unwrap();
            release.recv().unwrap();
        }
        self.batches.lock().unwrap().push(windows.len());
        if windows.iter().any(|w| w.data.contains(&BOMB)) {
            panic!("bomb window");
        }
        if windows.iter().any(|w| w.data.contains(&POISON)) {
            return Err(ScorerError::Input("poisoned window".into()));
        }
        Ok(windows
            .iter()
            .map(|w| {
                let sum: f32 = w.data.iter().sum();
                WindowScores {
                    score: sum,
                    is_anomaly: sum > 0.5,
                    latent_error: sum,
                    sequence_error: 0.0,
                    alert_probability: None,
                    feature_errors: vec![sum],
                    step_errors: w.data.clone(),
                    peak_span: None,
                }
            })
            .collect())
    }
}

struct Harness {
    infer: Infer,
    worker: Worker,
    batches: Arc<Mutex<Vec<usize>>>,
    entered: Option<std_mpsc::Receiver<()>>,
    release: Option<std_mpsc::Sender<()>>,
}

fn start(max_batch: usize, queue_capacity: usize, gated: bool) -> Harness {
    start_with_wait(max_batch, queue_capacity, gated, Duration::from_millis(5))
}

fn start_with_wait(
    max_batch: usize,
    queue_capacity: usize,
    gated: bool,
    max_wait: Duration,
) -> Harness {
    let batches = Arc::new(Mutex::new(Vec::new()));
    let (entered_tx, entered_rx) = std_mpsc::channel();
    let (release_tx, release_rx) = std_mpsc::channel();
    let gate = gated.then_some((entered_tx, release_rx));
    let backend_batches = Arc::clone(&batches);
    let config = BatchConfig {
        max_batch,
        max_wait,
        queue_capacity,
    };
    let (infer, worker) = Infer::spawn(
        move || -> Result<TestBackend, std::io::Error> {
            Ok(TestBackend {
                manifest: manifest(),
                batches: backend_batches,
                gate,
            })
        },
        config,
    )
    .unwrap();
    Harness {
        infer,
        worker,
        batches,
        entered: gated.then_some(entered_rx),
        release: gated.then_some(release_tx),
    }
}

fn window(values: &[f32]) -> WindowRequest {
    let events = values
        .iter()
        .enumerate()
        .map(|(i, &v)| Event {
            timestamp: Utc.timestamp_opt(1_600_000_000 + 60 * i as i64, 0).unwrap(),
            features: vec![v],
        })
        .collect();
    WindowRequest { events, end: None }
}

/// Occupy the batcher with one held window, run `fill` while it is held, then release it.
async fn while_held<T>(h: &mut Harness, fill: impl FnOnce(&Infer) -> T) -> (T, Scored) {
    let infer = h.infer.clone();
    let in_flight = infer.request_started();
    let held = tokio::spawn(async move {
        let _in_flight = in_flight;
        infer.score(window(&[0.25])).await
    });
    tokio::task::block_in_place(|| h.entered.as_ref().unwrap().recv().unwrap());
    let out = fill(&h.infer);
    h.release.as_ref().unwrap().send(()).unwrap();
    (out, held.await.unwrap().unwrap())
}

type Pending = tokio::task::JoinHandle<Result<Vec<Result<Scored, InferError>>, InferError>>;

/// Send `requests` as a scoring request does (counted in flight until its windows are queued)
/// and return once all of them are in the queue. The queue depth alone is not enough: it is
/// reserved before the windows are sent, and a batcher released in between finds only some.
fn queue_all(infer: &Infer, requests: Vec<WindowRequest>) -> Pending {
    let depth = infer.queue_depth() + requests.len();
    let queued = infer.clone();
    let in_flight = infer.request_started();
    let task = tokio::spawn(async move {
        let _in_flight = in_flight;
        queued.score_many(requests).await
    });
    tokio::task::block_in_place(|| {
        while infer.queue_depth() != depth || infer.incoming_requests() != 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    task
}

async fn wait_for_depth(infer: &Infer, depth: usize) {
    while infer.queue_depth() != depth {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_windows_are_scored_together_and_answered_in_order() {
    let mut h = start(16, 64, true);
    let (pending, first) = while_held(&mut h, |infer| {
        let requests = (1..=9).map(|i| window(&[i as f32, 1.0])).collect();
        queue_all(infer, requests)
    })
    .await;
    assert_eq!(first.scores.score, 0.25);
    let results = pending.await.unwrap().unwrap();
    let scores: Vec<f32> = results
        .into_iter()
        .map(|r| r.unwrap().scores.score)
        .collect();
    assert_eq!(scores, (1..=9).map(|i| i as f32 + 1.0).collect::<Vec<_>>());
    assert_eq!(*h.batches.lock().unwrap(), vec![1, 9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_never_exceed_max_batch() {
    let mut h = start(4, 64, true);
    let infer = h.infer.clone();
    let (pending, _) = while_held(&mut h, |_| {
        let requests = (0..10).map(|i| window(&[i as f32])).collect();
        queue_all(&infer, requests)
    })
    .await;
    assert!(pending.await.unwrap().unwrap().iter().all(Result::is_ok));
    assert_eq!(*h.batches.lock().unwrap(), vec![1, 4, 4, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_rejects_at_once() {
    let mut h = start(8, 3, true);
    let infer = h.infer.clone();
    let (outcome, _) = while_held(&mut h, |_| {
        let too_many = (0..4).map(|_| window(&[1.0])).collect();
        let over = futures_now(infer.score_many(too_many));
        let fits = queue_all(&infer, (0..3).map(|_| window(&[1.0])).collect());
        let one_more = futures_now(infer.score(window(&[1.0])));
        (over, fits, one_more)
    })
    .await;
    let (over, fits, one_more) = outcome;
    assert!(matches!(
        over,
        Some(Err(InferError::Overloaded { capacity: 3 }))
    ));
    assert!(matches!(
        one_more,
        Some(Err(InferError::Overloaded { capacity: 3 }))
    ));
    assert!(fits.await.unwrap().unwrap().iter().all(Result::is_ok));
    wait_for_depth(&h.infer, 0).await;
}

/// Poll a future once: rejection must be immediate, not after waiting.
fn futures_now<F: std::future::Future>(future: F) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batcher_waits_for_requests_still_being_read() {
    // max_wait is long: the batch closes because nothing more is on its way, not by timeout.
    let h = start_with_wait(16, 64, false, Duration::from_secs(600));
    let reading = [h.infer.request_started(), h.infer.request_started()];
    let infer = h.infer.clone();
    let first = tokio::spawn(async move { infer.score(window(&[1.0])).await });
    // The first window is queued and counted, and the batcher has taken it: it now waits.
    while h.infer.incoming_requests() != 1 || h.infer.queue_depth() != 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let second = h.infer.score(window(&[2.0])).await.unwrap();
    assert_eq!(first.await.unwrap().unwrap().scores.score, 1.0);
    assert_eq!(second.scores.score, 2.0);
    assert_eq!(*h.batches.lock().unwrap(), vec![2]);
    drop(reading);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_window_does_not_fail_its_batch() {
    let mut h = start(16, 64, true);
    let (pending, _) = while_held(&mut h, |infer| {
        let requests = vec![
            window(&[1.0]),
            window(&[POISON]),
            window(&[]),
            window(&[2.0]),
        ];
        queue_all(infer, requests)
    })
    .await;
    let results = pending.await.unwrap().unwrap();
    assert_eq!(results[0].as_ref().unwrap().scores.score, 1.0);
    assert!(matches!(
        results[1],
        Err(InferError::Scorer(ScorerError::Input(_)))
    ));
    assert!(matches!(
        results[2],
        Err(InferError::Window(WindowError::Empty))
    ));
    assert_eq!(results[3].as_ref().unwrap().scores.score, 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_backend_fails_the_request_but_not_the_worker() {
    let h = start(16, 64, false);
    let err = h.infer.score(window(&[BOMB])).await.unwrap_err();
    assert!(
        matches!(&err, InferError::Failed(msg) if msg.contains("bomb")),
        "{err}"
    );
    assert!(h.infer.is_running());
    assert_eq!(
        h.infer
            .score(window(&[0.5, 0.25]))
            .await
            .unwrap()
            .scores
            .score,
        0.75
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_drains_the_queue_then_stops() {
    let mut h = start(2, 64, true);
    let infer = h.infer.clone();
    let (pending, _) = while_held(&mut h, |_| {
        let requests = (0..5).map(|i| window(&[i as f32])).collect();
        let task = queue_all(&infer, requests);
        infer.close();
        task
    })
    .await;
    assert!(pending.await.unwrap().unwrap().iter().all(Result::is_ok));
    assert!(matches!(
        h.infer.score(window(&[1.0])).await,
        Err(InferError::Closed)
    ));
    tokio::task::block_in_place(|| h.worker.join());
}

#[test]
fn a_backend_that_cannot_start_is_an_error() {
    let config = BatchConfig {
        max_batch: 1,
        max_wait: Duration::ZERO,
        queue_capacity: 1,
    };
    let result = Infer::spawn(
        || -> Result<TestBackend, std::io::Error> { Err(std::io::Error::other("no model here")) },
        config,
    );
    assert_eq!(result.err().unwrap().to_string(), "no model here");
}

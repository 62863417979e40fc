//! The batcher thread: collect queued windows into batches and score each batch with one call.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use telltale_core::BinnedWindow;
use tokio::sync::oneshot;

use super::{Backend, BatchConfig, InferError, Job, Scored, Shared, WindowSummary};

/// How often an idle batcher checks whether it was closed.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// How often a batcher waiting for more windows re-checks that some are still on their way.
const ARRIVAL_POLL: Duration = Duration::from_micros(200);

type Reply = oneshot::Sender<Result<Scored, InferError>>;

/// Serve batches until the handle is closed and the queue is empty.
pub(super) fn run<B: Backend>(
    mut backend: B,
    rx: Receiver<Job>,
    shared: &Shared,
    config: BatchConfig,
) {
    let max_batch = config.max_batch.max(1);
    loop {
        let first = match rx.recv_timeout(IDLE_POLL) {
            Ok(job) => taken(shared, job),
            Err(RecvTimeoutError::Timeout) if shared.closed.load(Ordering::Acquire) => break,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = vec![first];
        let deadline = Instant::now() + config.max_wait;
        while batch.len() < max_batch {
            // Take what is already queued, then wait (up to max_wait) for windows on their way.
            match rx.try_recv() {
                Ok(job) => {
                    batch.push(taken(shared, job));
                    continue;
                }
                Err(_) if config.max_wait.is_zero() => break,
                Err(_) => {}
            }
            // Wait only while requests are being read that will soon queue windows. A request
            // counts as arrived only after its windows are queued, so once nothing is incoming
            // one more look at the queue finds every window that was counted.
            if shared.arrivals.incoming() == 0 {
                match rx.try_recv() {
                    Ok(job) => {
                        batch.push(taken(shared, job));
                        continue;
                    }
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout((deadline - now).min(ARRIVAL_POLL)) {
                Ok(job) => batch.push(taken(shared, job)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let left = shared.waiting.load(Ordering::Acquire);
        metrics::gauge!("telltale_inference_queue_depth").set(left as f64);
        process(&mut backend, batch);
    }
    tracing::info!("inference queue drained; batcher stopped");
}

/// A job leaves the queue (its slot frees up for new admissions).
fn taken(shared: &Shared, job: Job) -> Job {
    shared.waiting.fetch_sub(1, Ordering::AcqRel);
    job
}

/// Prepare every job's window, score the good ones in one call and answer every job.
fn process<B: Backend>(backend: &mut B, batch: Vec<Job>) {
    let now = Instant::now();
    let mut windows: Vec<BinnedWindow> = Vec::with_capacity(batch.len());
    let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
    for job in batch {
        metrics::histogram!("telltale_inference_queue_wait_seconds")
            .record(now.duration_since(job.enqueued).as_secs_f64());
        if job.reply.is_closed() {
            continue; // the client went away
        }
        let prepared = catch_unwind(AssertUnwindSafe(|| {
            backend.prepare(&job.request.events, job.request.end)
        }));
        match prepared {
            Ok(Ok(window)) => {
                windows.push(window);
                replies.push(job.reply);
            }
            Ok(Err(err)) => {
                let _ = job.reply.send(Err(InferError::Window(err)));
            }
            Err(panic) => {
                let _ = job
                    .reply
                    .send(Err(InferError::Failed(panic_message(&*panic))));
            }
        }
    }
    if windows.is_empty() {
        return;
    }
    match score_batch(backend, &windows) {
        Ok(scores) => answer(replies, &windows, scores),
        Err(err) if windows.len() > 1 => {
            // One bad window must not fail its neighbours: retry each on its own.
            tracing::warn!(error = %err, size = windows.len(), "batch failed; scoring one by one");
            for (reply, window) in replies.into_iter().zip(&windows) {
                match score_batch(backend, std::slice::from_ref(window)) {
                    Ok(scores) => answer(vec![reply], std::slice::from_ref(window), scores),
                    Err(err) => {
                        let _ = reply.send(Err(err));
                    }
                }
            }
        }
        Err(err) => {
            if let Some(reply) = replies.pop() {
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// One backend call, timed, with panics turned into errors.
fn score_batch<B: Backend>(
    backend: &mut B,
    windows: &[BinnedWindow],
) -> Result<Vec<telltale_scorer::WindowScores>, InferError> {
    metrics::histogram!("telltale_inference_batch_size").record(windows.len() as f64);
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| backend.score(windows)));
    metrics::histogram!("telltale_inference_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    let scores = match outcome {
        Ok(Ok(scores)) => scores,
        Ok(Err(err)) => return Err(InferError::Scorer(err)),
        Err(panic) => return Err(InferError::Failed(panic_message(&*panic))),
    };
    if scores.len() != windows.len() {
        return Err(InferError::Failed(format!(
            "the scorer returned {} results for {} windows",
            scores.len(),
            windows.len()
        )));
    }
    metrics::counter!("telltale_inference_windows_total").increment(windows.len() as u64);
    Ok(scores)
}

fn answer(
    replies: Vec<Reply>,
    windows: &[BinnedWindow],
    scores: Vec<telltale_scorer::WindowScores>,
) {
    for ((reply, window), scores) in replies.into_iter().zip(windows).zip(scores) {
        let window = WindowSummary {
            start: window.start,
            end: window.end,
            steps: window.len,
            events_used: window.events_used,
        };
        let _ = reply.send(Ok(Scored { scores, window }));
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic without a message".to_string()
    }
}

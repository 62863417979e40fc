//! Knowing whether more windows are about to arrive, so the batcher waits only when worthwhile.
//!
//! A scoring request is "in flight" from the moment it reaches the router (before its body is
//! read) and "awaiting" once its windows are queued. In-flight requests that are not awaiting are
//! still being read or validated: their windows will reach the queue shortly, and the batcher
//! waits for them (at most `max_wait`). When there are none it scores what it has at once, so a
//! lone request never pays the batching wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::Infer;

/// Counters shared by the handlers and the batcher. One set serves every model loaded over the
/// server's life, so a reload does not lose count of requests already being read.
#[derive(Debug, Default)]
pub struct Arrivals {
    in_flight: AtomicUsize,
    awaiting: AtomicUsize,
}

impl Arrivals {
    /// Requests whose windows are probably about to be queued.
    pub(super) fn incoming(&self) -> usize {
        let in_flight = self.in_flight.load(Ordering::Acquire);
        in_flight.saturating_sub(self.awaiting.load(Ordering::Acquire))
    }
}

/// Marks one scoring request as in flight until dropped.
pub struct InFlight(Arc<Arrivals>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks one request's windows as queued until its results are in.
pub(super) struct Awaiting(Arc<Arrivals>);

impl Awaiting {
    pub(super) fn new(arrivals: &Arc<Arrivals>) -> Self {
        arrivals.awaiting.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(arrivals))
    }
}

impl Drop for Awaiting {
    fn drop(&mut self) {
        self.0.awaiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Count a scoring request as in flight (see the module docs).
pub fn request_started(arrivals: &Arc<Arrivals>) -> InFlight {
    arrivals.in_flight.fetch_add(1, Ordering::AcqRel);
    InFlight(Arc::clone(arrivals))
}

impl Infer {
    /// Count a scoring request as in flight (see the module docs).
    pub fn request_started(&self) -> InFlight {
        request_started(&self.shared.arrivals)
    }

    /// The arrival counters this handle's batcher reads.
    pub fn arrivals(&self) -> Arc<Arrivals> {
        Arc::clone(&self.shared.arrivals)
    }
}

/// Middleware: count `POST /score…` requests as in flight from the moment they arrive.
pub async fn track_scoring_requests(
    State(arrivals): State<Arc<Arrivals>>,
    request: Request,
    next: Next,
) -> Response {
    let scoring = request.method() == Method::POST && request.uri().path().starts_with("/score");
    let _in_flight = scoring.then(|| request_started(&arrivals));
    next.run(request).await
}

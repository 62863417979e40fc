//! Logging (`tracing`, text or JSON) and Prometheus metrics with the `telltale_` prefix.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Latency buckets (seconds) for request, queue and inference histograms: 100 µs … 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Buckets for the number of windows per inference call.
pub const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Install the tracing subscriber (`RUST_LOG` filter, default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("telltale_inference_batch_size".into()),
                        BATCH_SIZE_BUCKETS,
                    )
                })
                .expect("bucket lists are non-empty constants");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "telltale_http_requests_total",
        "HTTP requests by method, route, status"
    );
    describe_histogram!(
        "telltale_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route, status"
    );
    describe_histogram!(
        "telltale_inference_batch_size",
        "Windows per inference call"
    );
    describe_histogram!(
        "telltale_inference_duration_seconds",
        metrics::Unit::Seconds,
        "Time of one scorer call (all graphs) for a batch"
    );
    describe_histogram!(
        "telltale_inference_queue_wait_seconds",
        metrics::Unit::Seconds,
        "Time a window waited in the inference queue"
    );
    describe_gauge!(
        "telltale_inference_queue_depth",
        "Windows waiting for inference"
    );
    describe_counter!("telltale_inference_windows_total", "Windows scored");
    describe_counter!(
        "telltale_inference_rejected_total",
        "Windows refused because the queue was full"
    );
    describe_counter!("telltale_ingest_events_total", "Ingested events by outcome");
}

/// Middleware: count and time every request by method, matched route and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("telltale_http_requests_total", &labels).increment(1);
    metrics::histogram!("telltale_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

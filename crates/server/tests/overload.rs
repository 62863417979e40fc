//! Overload of the real `telltale-server` binary on loopback: far more concurrent `/score`
//! requests than its inference queue holds, for a fixed time. Every request must be answered
//! 200 or 429 (never 5xx, never a dropped connection) and the queue must stay within its
//! capacity. The share of 429s and the latency of accepted requests are printed, not asserted.

mod common;
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use common::{end_time, events_json, model_dir};
use process::{ServerProcess, TestDatabase, metric};

const CLIENTS: usize = 256;
const QUEUE_CAPACITY: usize = 16;
const RUN_FOR: Duration = Duration::from_secs(10);
/// Generous bound on one request; reaching it means the server hangs.
const HANG: Duration = Duration::from_secs(60);

/// What one client saw: latencies of 200s, count of 429s, anything else.
#[derive(Default)]
struct Seen {
    ok: Vec<Duration>,
    rejected: usize,
    other: Vec<String>,
}

async fn client_loop(
    http: reqwest::Client,
    url: String,
    body: Arc<String>,
    stop: Arc<AtomicBool>,
) -> Seen {
    let mut seen = Seen::default();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let reply = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.as_str().to_owned())
            .send()
            .await;
        match reply {
            Ok(reply) => {
                let status = reply.status().as_u16();
                let text = reply.text().await;
                match (status, text) {
                    (200, Ok(_)) => seen.ok.push(started.elapsed()),
                    (429, Ok(_)) => seen.rejected += 1,
                    (status, text) => seen.other.push(format!("{status}: {text:?}")),
                }
            }
            Err(err) => seen.other.push(format!("transport error: {err}")),
        }
    }
    seen
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_past_capacity_every_request_is_200_or_429_and_the_queue_stays_bounded() {
    let database = TestDatabase::create("overload").await;
    let capacity = QUEUE_CAPACITY.to_string();
    let server = ServerProcess::start(
        model_dir(),
        &database.url,
        &["--queue-capacity", &capacity, "--max-batch", "8"],
    )
    .await;
    let http = reqwest::Client::builder()
        .timeout(HANG)
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let body = Arc::new(json!({"events": events_json(200, end_time())}).to_string());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(client_loop(
                http.clone(),
                server.url("/score"),
                Arc::clone(&body),
                Arc::clone(&stop),
            ))
        })
        .collect();

    // Sample the queue depth the server reports while the load runs.
    let started = Instant::now();
    let mut depths = Vec::new();
    while started.elapsed() < RUN_FOR {
        let text = http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if let Some(depth) = metric(&text, "telltale_inference_queue_depth") {
            depths.push(depth);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen = Seen::default();
    for client in clients {
        let one = tokio::time::timeout(HANG, client)
            .await
            .expect("a client hung")
            .unwrap();
        seen.ok.extend(one.ok);
        seen.rejected += one.rejected;
        seen.other.extend(one.other);
    }
    let elapsed = started.elapsed();

    assert!(
        seen.other.is_empty(),
        "{} answers were neither 200 nor 429, e.g. {:?}",
        seen.other.len(),
        &seen.other[..seen.other.len().min(5)]
    );
    assert!(!seen.ok.is_empty(), "no request was accepted");
    assert!(seen.rejected > 0, "the queue never filled; raise the load");
    let deepest = depths.iter().copied().fold(0.0, f64::max);
    assert!(
        !depths.is_empty(),
        "/metrics never reported the queue depth"
    );
    assert!(
        deepest <= QUEUE_CAPACITY as f64,
        "queue depth {deepest} above its capacity {QUEUE_CAPACITY}"
    );
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused = metric(&metrics, "telltale_inference_rejected_total").unwrap_or(0.0);
    assert!(refused >= seen.rejected as f64, "rejections not counted");

    seen.ok.sort();
    let total = seen.ok.len() + seen.rejected;
    eprintln!(
        "{CLIENTS} clients for {elapsed:.1?}, queue capacity {QUEUE_CAPACITY}: {total} requests, \
         {} answered 200 ({:.0}/s), {} answered 429 ({:.1} %); accepted latency p50 {:?}, \
         p99 {:?}, max {:?}; deepest queue seen {deepest}",
        seen.ok.len(),
        seen.ok.len() as f64 / elapsed.as_secs_f64(),
        seen.rejected,
        100.0 * seen.rejected as f64 / total as f64,
        percentile(&seen.ok, 0.5),
        percentile(&seen.ok, 0.99),
        seen.ok.last().unwrap(),
    );
    drop(server);
    database.drop_now().await;
}

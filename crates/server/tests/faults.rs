//! Faults against the real `telltale-server` binary (a child process): its database stops and
//! comes back while it runs, and it is killed with SIGKILL during bulk ingest. Each test checks
//! that the server keeps answering what it can, answers the rest with 503, recovers by itself,
//! and loses nothing it acknowledged. SIGTERM under load is in `shutdown.rs`.

mod common;
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use common::{end_time, events_json, manifest, model_dir};
use process::{Cluster, ServerProcess, TestDatabase};

/// Generous bound for anything the tests wait for; reaching it means the server hangs.
const HANG: Duration = Duration::from_secs(60);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// First timestamp of the ingest batches.
fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 3, 1, 0, 0, 0).unwrap()
}

/// Events `first .. first + n`, one second apart from `base_time()`: unique per index.
fn indexed_events(first: usize, n: usize) -> Value {
    let features = manifest().feature_names;
    let events: Vec<Value> = (first..first + n)
        .map(|k| {
            let ts = base_time() + chrono::Duration::seconds(k as i64);
            let values: serde_json::Map<String, Value> = features
                .iter()
                .enumerate()
                .map(|(j, name)| (name.clone(), json!(((k + j) as f64 * 0.1).sin())))
                .collect();
            json!({"timestamp": ts.to_rfc3339(), "features": values})
        })
        .collect();
    Value::Array(events)
}

/// Stored events of `sensor` among indices `first .. first + n`.
async fn stored(pool: &PgPool, sensor: &str, first: usize, n: usize) -> i64 {
    let from = base_time() + chrono::Duration::seconds(first as i64);
    let to = base_time() + chrono::Duration::seconds((first + n - 1) as i64);
    sqlx::query_scalar("SELECT count(*) FROM events WHERE sensor_id = $1 AND ts BETWEEN $2 AND $3")
        .bind(sensor)
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A 503 problem body naming the service as unavailable, with `Retry-After`, and nothing about
/// the database's address or the driver's errors.
async fn assert_unavailable(reply: reqwest::Response, port: u16) {
    assert_eq!(reply.status(), 503, "{:?}", reply.text().await);
    assert_eq!(
        reply.headers()["content-type"],
        "application/problem+json",
        "{reply:?}"
    );
    assert!(reply.headers().contains_key("retry-after"), "{reply:?}");
    let text = reply.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["type"], "urn:telltale:problem:unavailable", "{body}");
    assert_eq!(body["status"], 503, "{body}");
    let lower = text.to_lowercase();
    for leak in [
        "127.0.0.1",
        &port.to_string(),
        "sqlx",
        "pool",
        "refused",
        "os error",
        "connection",
        "postgres",
        "57p01",
    ] {
        assert!(!lower.contains(leak), "the body leaks `{leak}`: {text}");
    }
}

fn port_of(url: &str) -> u16 {
    let authority = url.split('/').nth(2).unwrap();
    authority.rsplit(':').next().unwrap().parse().unwrap()
}

/// Outcome of one ingest request: its first event index, its size, and the status (or None when
/// no HTTP answer came).
#[derive(Debug, Clone, Copy)]
struct Sent {
    first: usize,
    n: usize,
    status: Option<u16>,
    connect_error: bool,
}

/// Post batches of `n` new events to `sensor` until `stop`, one after the other.
async fn ingest_loop(
    client: reqwest::Client,
    url: String,
    n: usize,
    first_index: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut first = first_index;
    while !stop.load(Ordering::SeqCst) {
        let outcome = client
            .post(&url)
            .json(&indexed_events(first, n))
            .send()
            .await;
        let (status, connect_error) = match outcome {
            Ok(reply) => (Some(reply.status().as_u16()), false),
            Err(err) => (None, err.is_connect()),
        };
        if status == Some(200) {
            acked.fetch_add(1, Ordering::SeqCst);
        }
        sent.push(Sent {
            first,
            n,
            status,
            connect_error,
        });
        first += n;
        if status != Some(200) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    sent
}

/// Wait until `counter` reaches `target` (at most `HANG`).
async fn wait_for(counter: &AtomicUsize, target: usize, what: &str) {
    let started = Instant::now();
    while counter.load(Ordering::SeqCst) < target {
        assert!(started.elapsed() < HANG, "{what} did not progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every request stored all of its events or none, and every acknowledged one stored all.
/// Returns (acknowledged, stored without acknowledgement, not stored).
async fn check_all_or_nothing(pool: &PgPool, sensor: &str, sent: &[Sent]) -> (usize, usize, usize) {
    let (mut acked, mut unacked_stored, mut absent) = (0, 0, 0);
    for s in sent {
        let count = stored(pool, sensor, s.first, s.n).await;
        if s.status == Some(200) {
            assert_eq!(count, s.n as i64, "acknowledged request {s:?} of {sensor}");
            acked += 1;
        } else if count == s.n as i64 {
            unacked_stored += 1;
        } else {
            assert_eq!(count, 0, "request {s:?} of {sensor} was stored in part");
            absent += 1;
        }
    }
    (acked, unacked_stored, absent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_answers_503_and_recovers_without_a_restart() {
    let cluster = Cluster::start();
    let port = port_of(&cluster.url);
    let server = ServerProcess::start(model_dir(), &cluster.url, &[]).await;
    let http = client();
    let ingest_url = server.url("/sensors/f-1/events");
    let score_body = json!({"events": events_json(24, end_time())});

    // Up: ingest and score the stored window.
    let first = http
        .post(&ingest_url)
        .json(&indexed_events(0, 50))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["inserted"], 50);
    let anomaly = http
        .get(server.url("/sensors/f-1/anomaly"))
        .send()
        .await
        .unwrap();
    assert_eq!(anomaly.status(), 200);

    // A client keeps ingesting new batches to another sensor throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let background = tokio::spawn(ingest_loop(
        http.clone(),
        server.url("/sensors/f-bg/events"),
        200,
        0,
        Arc::clone(&stop),
        Arc::clone(&acked),
    ));
    wait_for(&acked, 3, "background ingest before the outage").await;

    cluster.stop();

    // Down: scoring and liveness still work; database routes answer 503 without internals.
    let score = http
        .post(server.url("/score"))
        .json(&score_body)
        .send()
        .await
        .unwrap();
    assert_eq!(score.status(), 200);
    let health = http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = http.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let started = Instant::now();
    let ingest = http
        .post(&ingest_url)
        .json(&indexed_events(50, 50))
        .send()
        .await
        .unwrap();
    let ingest_took = started.elapsed();
    assert_unavailable(ingest, port).await;
    let anomaly = http
        .get(server.url("/sensors/f-1/anomaly"))
        .send()
        .await
        .unwrap();
    assert_unavailable(anomaly, port).await;
    let scores = http
        .get(server.url("/sensors/f-1/scores"))
        .send()
        .await
        .unwrap();
    assert_unavailable(scores, port).await;
    let score = http
        .post(server.url("/score"))
        .json(&score_body)
        .send()
        .await
        .unwrap();
    assert_eq!(score.status(), 200);
    eprintln!("database down: ingest answered 503 after {ingest_took:?}");

    // Back on the same port: the same server recovers by itself.
    cluster.start_again();
    let restarted = Instant::now();
    loop {
        let reply = http
            .post(&ingest_url)
            .json(&indexed_events(50, 50))
            .send()
            .await
            .unwrap();
        match reply.status().as_u16() {
            200 => break,
            503 => {}
            other => panic!("ingest answered {other} while the database came back"),
        }
        assert!(restarted.elapsed() < HANG, "ingest did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = restarted.elapsed();
    let ready = http.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let anomaly = http
        .get(server.url("/sensors/f-1/anomaly"))
        .send()
        .await
        .unwrap();
    assert_eq!(anomaly.status(), 200);
    let scores: Value = http
        .get(server.url("/sensors/f-1/scores"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        scores["scores"].as_array().map(Vec::len),
        Some(2),
        "{scores}"
    );
    eprintln!("database back: ingest answered 200 after {recovered:?}");

    // Let the background client see the recovered server, then check what was stored.
    let acked_before = acked.load(Ordering::SeqCst);
    wait_for(
        &acked,
        acked_before + 3,
        "background ingest after the outage",
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let sent = background.await.unwrap();
    for s in &sent {
        assert!(
            matches!(s.status, Some(200 | 503)),
            "background ingest got {s:?}"
        );
    }
    assert!(
        sent.iter().any(|s| s.status == Some(503)),
        "the background client never saw the outage"
    );
    let pool = PgPool::connect(&cluster.url).await.unwrap();
    let (acked, unacked_stored, absent) = check_all_or_nothing(&pool, "f-bg", &sent).await;
    assert_eq!(stored(&pool, "f-1", 0, 100).await, 100);
    eprintln!(
        "background ingest: {acked} acknowledged and stored, {unacked_stored} stored without \
         acknowledgement, {absent} refused and not stored"
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_bulk_ingest_keeps_requests_all_or_nothing() {
    const CLIENTS: usize = 6;
    const PER_REQUEST: usize = 4000;
    let database = TestDatabase::create("faults_kill").await;
    let mut server = ServerProcess::start(model_dir(), &database.url, &[]).await;
    let http = client();

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(ingest_loop(
                http.clone(),
                server.url(&format!("/sensors/kill-{c}/events")),
                PER_REQUEST,
                0,
                Arc::clone(&stop),
                Arc::clone(&acked),
            ))
        })
        .collect();
    // Kill once a good number of requests went through; the clients keep sending meanwhile.
    wait_for(&acked, 3 * CLIENTS, "bulk ingest").await;
    server.kill_hard();
    // Each client ends after its next answer (an error: the server is gone).
    stop.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    for client in clients {
        sent.push(client.await.unwrap());
    }
    let cut: usize = sent
        .iter()
        .flatten()
        .filter(|s| s.status.is_none() && !s.connect_error)
        .count();
    assert!(
        cut > 0,
        "no request was in flight when the server was killed"
    );

    // A new server on the same database: nothing half-written, and retries complete the rest.
    let server = ServerProcess::start(model_dir(), &database.url, &[]).await;
    let ready = http.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let pool = PgPool::connect(&database.url).await.unwrap();
    let mut totals = (0, 0, 0);
    for (c, requests) in sent.iter().enumerate() {
        let sensor = format!("kill-{c}");
        let (a, u, n) = check_all_or_nothing(&pool, &sensor, requests).await;
        totals = (totals.0 + a, totals.1 + u, totals.2 + n);
        for s in requests.iter().filter(|s| s.status != Some(200)) {
            let reply = http
                .post(server.url(&format!("/sensors/{sensor}/events")))
                .json(&indexed_events(s.first, s.n))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 200);
            let body: Value = reply.json().await.unwrap();
            let done = body["inserted"].as_u64().unwrap() + body["duplicates"].as_u64().unwrap();
            assert_eq!(done, s.n as u64, "{body}");
            assert_eq!(stored(&pool, &sensor, s.first, s.n).await, s.n as i64);
        }
    }
    eprintln!(
        "killed with {cut} requests in flight: {} acknowledged and stored, {} stored without \
         acknowledgement, {} not stored (all stored on retry)",
        totals.0, totals.1, totals.2
    );
    pool.close().await;
    drop(server);
    database.drop_now().await;
}

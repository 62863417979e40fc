//! Soak driver of `scripts/soak.sh`: steady mixed traffic against a running server (`/score`,
//! `POST /sensors/{id}/events`, `/sensors/{id}/anomaly`, `/sensors/{id}/scores`) at a fixed rate
//! for a fixed time, sampling the server's resident memory (`VmRSS` of `/proc/PID/status`).
//!
//! Prints request counts by route and status, latency percentiles and RSS at start, after the
//! warm-up, at its peak and at the end. Exits 1 when any request failed (5xx, 4xx other than 429,
//! no answer) or RSS grew by more than `--max-growth-pct` after the warm-up.
//!
//! `cargo run -p telltale-server --example soak -- --url http://127.0.0.1:8080 --pid PID`

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[derive(Parser)]
struct Args {
    /// Base URL of the server.
    #[arg(long)]
    url: String,
    /// Process id of the server (for its RSS).
    #[arg(long)]
    pid: u32,
    /// Seconds of traffic.
    #[arg(long, default_value_t = 180)]
    seconds: u64,
    /// Requests per second (all routes together).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Sensors the traffic is spread over.
    #[arg(long, default_value_t = 16)]
    sensors: usize,
    /// Seconds of traffic before the RSS baseline is taken (default: a fifth of the run, at most
    /// 30).
    #[arg(long)]
    warmup_secs: Option<u64>,
    /// Largest accepted RSS growth from the baseline to the end, in percent.
    #[arg(long, default_value_t = 50.0)]
    max_growth_pct: f64,
}

/// Events per ingest request, and between two events.
const INGEST_EVENTS: usize = 60;
const EVENT_SPACING_SECS: i64 = 600;
/// Most requests in flight at once.
const MAX_IN_FLIGHT: usize = 256;
const RSS_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Score,
    Ingest,
    Anomaly,
    Scores,
}

impl Kind {
    /// Two scores, one ingest, one anomaly, one history read in every five requests.
    const CYCLE: [Kind; 5] = [
        Kind::Score,
        Kind::Ingest,
        Kind::Score,
        Kind::Anomaly,
        Kind::Scores,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Score => "POST /score",
            Kind::Ingest => "POST /sensors/{id}/events",
            Kind::Anomaly => "GET /sensors/{id}/anomaly",
            Kind::Scores => "GET /sensors/{id}/scores",
        }
    }
}

/// Outcomes by route: status (or `error`) → count, and latencies of 2xx answers.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(Kind, String), u64>,
    latencies: BTreeMap<Kind, Vec<Duration>>,
}

struct Traffic {
    http: reqwest::Client,
    url: String,
    features: Vec<String>,
    score_bodies: Vec<String>,
    /// Next event index per sensor.
    next_event: Vec<AtomicUsize>,
    tally: Mutex<Tally>,
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).unwrap()
}

impl Traffic {
    fn event(&self, index: usize) -> Value {
        let ts = base_time() + chrono::Duration::seconds(index as i64 * EVENT_SPACING_SECS);
        let values: serde_json::Map<String, Value> = self
            .features
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let v = ((index as f64) * 0.05 + j as f64).sin() + 0.1 * j as f64;
                (name.clone(), json!(v))
            })
            .collect();
        json!({"timestamp": ts.to_rfc3339(), "features": values})
    }

    fn ingest_body(&self, sensor: usize, n: usize) -> String {
        let first = self.next_event[sensor].fetch_add(n, Ordering::SeqCst);
        let events: Vec<Value> = (first..first + n).map(|i| self.event(i)).collect();
        Value::Array(events).to_string()
    }

    async fn send(&self, kind: Kind, sensor: usize, i: usize) {
        let id = format!("soak-{sensor}");
        let request = match kind {
            Kind::Score => self
                .http
                .post(format!("{}/score", self.url))
                .header("content-type", "application/json")
                .body(self.score_bodies[i % self.score_bodies.len()].clone()),
            Kind::Ingest => self
                .http
                .post(format!("{}/sensors/{id}/events", self.url))
                .header("content-type", "application/json")
                .body(self.ingest_body(sensor, INGEST_EVENTS)),
            Kind::Anomaly => self.http.get(format!("{}/sensors/{id}/anomaly", self.url)),
            Kind::Scores => self
                .http
                .get(format!("{}/sensors/{id}/scores?limit=20", self.url)),
        };
        let started = Instant::now();
        let outcome = match request.send().await {
            Ok(reply) => {
                let status = reply.status();
                match reply.bytes().await {
                    Ok(_) => Ok(status),
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        };
        let took = started.elapsed();
        let mut tally = self.tally.lock().unwrap();
        let key = match outcome {
            Ok(status) => {
                if status.is_success() {
                    tally.latencies.entry(kind).or_default().push(took);
                }
                status.as_u16().to_string()
            }
            Err(err) => {
                eprintln!("soak: {} failed: {err}", kind.name());
                "error".to_string()
            }
        };
        *tally.statuses.entry((kind, key)).or_default() += 1;
    }
}

/// `VmRSS` of `pid` in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

async fn wait_ready(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Ok(reply) = http.get(format!("{url}/ready")).send().await
            && reply.status().is_success()
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{url}/ready did not answer 200 within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("soak: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let url = args.url.trim_end_matches('/').to_string();
    wait_ready(&http, &url).await?;
    let model: Value = http
        .get(format!("{url}/models/current"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("GET /models/current: {e}"))?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let features: Vec<String> = serde_json::from_value(model["feature_names"].clone())
        .map_err(|e| format!("/models/current has no feature_names: {e}"))?;

    let sensors = args.sensors.max(1);
    let mut traffic = Traffic {
        http,
        url,
        features,
        score_bodies: Vec::new(),
        next_event: (0..sensors).map(|_| AtomicUsize::new(0)).collect(),
        tally: Mutex::new(Tally::default()),
    };
    // Windows of 200 events (about 5.5 days at 40 min), ending at different times.
    traffic.score_bodies = (0..8)
        .map(|k| {
            let events: Vec<Value> = (0..200).map(|i| traffic.event(k * 50 + i * 4)).collect();
            json!({"sensor_id": format!("window-{k}"), "events": events}).to_string()
        })
        .collect();
    let traffic = Arc::new(traffic);
    // Every sensor gets a stored history first, so its anomaly route has a window to score.
    for sensor in 0..sensors {
        traffic.send(Kind::Ingest, sensor, 0).await;
    }

    let pid = args.pid;
    let start_rss = rss_kb(pid).ok_or(format!("no process {pid}"))?;
    let warmup = Duration::from_secs(args.warmup_secs.unwrap_or((args.seconds / 5).min(30)));
    let run_for = Duration::from_secs(args.seconds);
    let started = Instant::now();
    let samples = Arc::new(Mutex::new(vec![(Duration::ZERO, start_rss)]));
    let sampler = {
        let samples = Arc::clone(&samples);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RSS_EVERY);
            loop {
                tick.tick().await;
                if let Some(kb) = rss_kb(pid) {
                    samples.lock().unwrap().push((started.elapsed(), kb));
                }
            }
        })
    };

    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(0.1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = Vec::new();
    let mut i = 0usize;
    while started.elapsed() < run_for {
        tick.tick().await;
        let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
        let kind = Kind::CYCLE[i % Kind::CYCLE.len()];
        let sensor = (i / Kind::CYCLE.len()) % sensors;
        let traffic = Arc::clone(&traffic);
        tasks.push(tokio::spawn(async move {
            traffic.send(kind, sensor, i).await;
            drop(permit);
        }));
        i += 1;
        if tasks.len() >= 1024 {
            tasks.retain(|t| !t.is_finished());
        }
    }
    let sent_for = started.elapsed();
    for task in tasks {
        let _ = task.await;
    }
    sampler.abort();
    let end_rss = rss_kb(pid).ok_or("the server is gone after the run")?;
    let samples = samples.lock().unwrap().clone();
    let baseline = samples
        .iter()
        .find(|(at, _)| *at >= warmup)
        .map_or(end_rss, |s| s.1);
    let peak = samples
        .iter()
        .map(|s| s.1)
        .max()
        .unwrap_or(end_rss)
        .max(end_rss);

    let tally = traffic.tally.lock().unwrap();
    let total: u64 = tally.statuses.values().sum();
    println!(
        "soak: {:.0} s at {:.1} requests/s (target {}), {sensors} sensors, {total} requests",
        sent_for.as_secs_f64(),
        i as f64 / sent_for.as_secs_f64(),
        args.rate
    );
    let mut failed = 0;
    for ((kind, status), count) in &tally.statuses {
        println!("  {:<28} {status:>5}  {count}", kind.name());
        let ok = status.starts_with('2') || status == "429";
        if !ok {
            failed += count;
        }
    }
    for (kind, latencies) in &tally.latencies {
        let mut sorted = latencies.clone();
        sorted.sort();
        println!(
            "  {:<28} latency p50 {:.1?}  p99 {:.1?}  max {:.1?}",
            kind.name(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            sorted.last().copied().unwrap_or_default()
        );
    }
    let growth = end_rss as f64 - baseline as f64;
    let growth_pct = 100.0 * growth / baseline as f64;
    println!(
        "  RSS: start {:.1} MB, after {} s warm-up {:.1} MB, peak {:.1} MB, end {:.1} MB; growth \
         after warm-up {:+.1} MB ({:+.1} %), limit {} %",
        mb(start_rss),
        warmup.as_secs(),
        mb(baseline),
        mb(peak),
        mb(end_rss),
        growth / 1024.0,
        growth_pct,
        args.max_growth_pct
    );
    let every = samples.len().div_ceil(24).max(1);
    let rss_line: Vec<String> = samples
        .iter()
        .step_by(every)
        .chain(samples.last())
        .map(|(at, kb)| format!("{}s:{:.1}", at.as_secs(), mb(*kb)))
        .collect();
    println!("  RSS samples (s:MB): {}", rss_line.join(" "));
    let mut ok = true;
    if failed > 0 {
        println!("soak: FAILED: {failed} requests failed (5xx, 4xx other than 429, or no answer)");
        ok = false;
    }
    if growth_pct > args.max_growth_pct {
        println!("soak: FAILED: RSS grew {growth_pct:.1} % after the warm-up");
        ok = false;
    }
    if ok {
        println!("soak: OK");
    }
    Ok(ok)
}

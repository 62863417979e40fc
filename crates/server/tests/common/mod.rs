//! Shared test helpers: a real model directory, an `AppState` around it, request helpers.
//!
//! The model is `TELLTALE_TEST_MODEL` when set (scripts/test.sh points it at trainer output),
//! else a small model written once per test binary with the project's own ONNX export code
//! (`telltale-onnx`) and a hand-made manifest.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use telltale_core::manifest::{Graphs, ModelShape, Threshold, ThresholdMethod};
use telltale_core::{Calibration, LogStats, Manifest, Normalizer, ScorerKind, WindowSpec};
use telltale_scorer::{RuntimeOptions, Scorer};
use telltale_server::inference::{BatchConfig, Infer, Worker};
use telltale_server::{AppState, Limits};
use tower::ServiceExt;

/// Limits used by the tests (small, so limit checks are cheap to reach).
pub const LIMITS: Limits = Limits {
    max_events: 400,
    min_events: 1,
    max_batch_windows: 8,
    body_limit: 256 * 1024,
};

/// Load ONNX Runtime (ORT_DYLIB_PATH or the project's .venv).
pub fn init_runtime() {
    telltale_scorer::init_runtime(None).expect("ONNX Runtime must load for the server tests");
}

/// The model directory the tests serve.
pub fn model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("TELLTALE_TEST_MODEL") {
        Some(dir) => PathBuf::from(dir),
        None => write_fixture_model(),
    })
}

/// A small random model (2 features, H = 8, seeded) under the target's test directory, written
/// once and reused (written to a fresh directory, then renamed into place).
fn write_fixture_model() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("telltale-server");
    let dir = root.join("fixture-model-v1");
    if dir.join("manifest.json").is_file() {
        return dir;
    }
    std::fs::create_dir_all(&root).unwrap();
    let staging = tempfile::Builder::new()
        .prefix("staging-")
        .tempdir_in(&root)
        .unwrap();
    write_fixture_into(staging.path());
    match std::fs::rename(staging.path(), &dir) {
        Ok(()) => {}
        // Another test binary won the race; its model is identical.
        Err(_) if dir.join("manifest.json").is_file() => {}
        Err(err) => panic!(
            "cannot move the fixture model into {}: {err}",
            dir.display()
        ),
    }
    dir
}

/// Write the random fixture model (2 features, seeded weights) into `dir`: a second model with
/// the same features as the trained test model, for reload tests.
pub fn write_fixture_model_to(dir: &Path) {
    write_fixture_into(dir);
}

fn write_fixture_into(dir: &Path) {
    let features = vec!["feature_1".to_string(), "feature_2".to_string()];
    let channels = WindowSpec::channels(features.len());
    let (hidden, latent_dim) = (8, 3);
    let weights = telltale_onnx::fixture::random_weights(channels, hidden, 1, latent_dim, false, 7);
    let files = telltale_onnx::write_graphs(dir, &weights).unwrap();
    let manifest = Manifest {
        format_version: telltale_core::MANIFEST_FORMAT_VERSION,
        model_id: "fixture-0123456789abcdef".into(),
        created_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        feature_names: features,
        window: WindowSpec::default(),
        normalizer: Normalizer {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        },
        shape: ModelShape {
            channels,
            hidden,
            layers: 1,
            latent_dim,
        },
        latent_scale: vec![0.05; hidden],
        calibration: Calibration {
            default_scorer: ScorerKind::Latent,
            latent_log: LogStats {
                mean: -2.0,
                std: 1.0,
            },
            sequence_log: LogStats {
                mean: -1.0,
                std: 1.0,
            },
            normal_quantiles: vec![0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
            peak_coupling: false,
        },
        threshold: Threshold {
            score: 0.99,
            method: ThresholdMethod::TargetFar { far: 0.01 },
        },
        graphs: Graphs {
            encoder: files.encoder,
            latent_decoder: files.latent_decoder,
            sequence_decoder: files.sequence_decoder,
            head: files.head,
        },
        hyper_parameters: json!({"fixture": true}),
        data_summary: Value::Null,
        evaluation: Value::Null,
    };
    manifest.save(dir).unwrap();
}

/// The served model's manifest.
pub fn manifest() -> Manifest {
    Manifest::load(model_dir()).unwrap()
}

/// Start an inference worker on the test model.
pub fn start_infer(config: BatchConfig) -> (Infer, Worker) {
    init_runtime();
    let dir = model_dir().to_path_buf();
    Infer::spawn(
        move || Scorer::open(&dir, &RuntimeOptions::default()).map_err(anyhow::Error::from),
        config,
    )
    .unwrap()
}

/// Batching used by the tests.
pub fn batch_config() -> BatchConfig {
    BatchConfig {
        max_batch: 8,
        max_wait: Duration::from_micros(500),
        queue_capacity: 64,
    }
}

/// State on `pool` with a fresh inference worker.
pub fn state_with(pool: PgPool) -> AppState {
    let (infer, _worker) = start_infer(batch_config());
    AppState::new(pool, infer, model_dir(), LIMITS)
}

/// A pool that never connects (for routes that do not use the database).
pub fn unreachable_pool() -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://nobody@127.0.0.1:9/none")
        .unwrap()
}

/// The app without a database.
pub fn app_without_db() -> Router {
    telltale_server::app(state_with(unreachable_pool()))
}

/// `n` events 37 minutes apart ending at `end`, values a smooth function of the index.
pub fn events_json(n: usize, end: DateTime<Utc>) -> Vec<Value> {
    let features = manifest().feature_names;
    (0..n)
        .map(|i| {
            let ts = end - chrono::Duration::minutes(37 * (n - 1 - i) as i64);
            let values: serde_json::Map<String, Value> = features
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    let v = ((i as f64) * 0.3 + j as f64).sin() * 0.5 + 0.2 * j as f64;
                    (name.clone(), json!(v))
                })
                .collect();
            json!({"timestamp": ts.format("%Y-%m-%d %H:%M:%S%.3f").to_string(), "features": values})
        })
        .collect()
}

/// A fixed end time for test windows.
pub fn end_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 12, 20, 1, 3, 13).unwrap()
}

/// A request with a JSON body.
pub fn post_json(uri: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A request with a raw body and content type.
pub fn post_raw(uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post(uri);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder.body(body.into()).unwrap()
}

/// A GET request.
pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// Response status, content type and body (JSON when it parses, else a JSON string).
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

/// Send one request through the app.
pub async fn call(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Reply {
        status,
        content_type,
        body,
    }
}

/// Assert a problem response: status, media type, body fields; returns the body.
pub fn assert_problem(reply: &Reply, status: u16, detail_contains: &str) -> Value {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.body);
    assert_eq!(
        reply.content_type, "application/problem+json",
        "body: {}",
        reply.body
    );
    let body = &reply.body;
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:telltale:problem:"),
        "{body}"
    );
    assert!(!body["title"].as_str().unwrap().is_empty(), "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(detail_contains),
        "detail {detail:?} lacks {detail_contains:?}"
    );
    body.clone()
}

/// Field names listed in a problem's `errors`.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Rows in each table of the sensor history, in the order sensors, events, labels, scores.
pub async fn table_counts(pool: &PgPool) -> [i64; 4] {
    let sql = "SELECT (SELECT count(*) FROM sensors), (SELECT count(*) FROM events), \
               (SELECT count(*) FROM labels), (SELECT count(*) FROM scores)";
    let (sensors, events, labels, scores): (i64, i64, i64, i64) =
        sqlx::query_as(sql).fetch_one(pool).await.unwrap();
    [sensors, events, labels, scores]
}

/// Text that must never reach a client: internals of the server, its libraries or its host.
pub const INTERNAL_TEXT: &[&str] = &[
    "sqlx",
    "panicked",
    "thread '",
    "/work/",
    "/root/",
    "/home/",
    "/tmp/",
    ".rs:",
    "SELECT ",
    "INSERT ",
    "postgres",
    "telltale_",
    "ApiError",
    "struct ",
    "onnx",
    "ort::",
    "Error {",
];

/// Assert a client-error answer: `status` (always 4xx), `application/problem+json`, every problem
/// field present and well-typed, `detail` containing `detail_contains`, no internal text; when
/// `field` is given, `detail` names it and, for a 422 of invalid input, so does an `errors` entry.
pub fn assert_client_error(reply: &Reply, status: u16, detail_contains: &str, field: Option<&str>) {
    assert!((400..500).contains(&status), "a client error must be 4xx");
    let body = assert_problem(reply, status, detail_contains);
    let text = body.to_string();
    for internal in INTERNAL_TEXT {
        assert!(!text.contains(internal), "{internal:?} leaked: {text}");
    }
    let detail = body["detail"].as_str().unwrap();
    if let Some(errors) = body.get("errors") {
        let errors = errors.as_array().expect("errors is an array");
        assert!(
            !errors.is_empty(),
            "errors, when present, is not empty: {text}"
        );
        for error in errors {
            assert!(
                error["field"].as_str().is_some_and(|f| !f.is_empty()),
                "{text}"
            );
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{text}"
            );
        }
    }
    if let Some(field) = field {
        assert!(
            detail.contains(field),
            "detail {detail:?} does not name {field:?}"
        );
        if body["type"] == "urn:telltale:problem:invalid-input" {
            let fields = error_fields(&body);
            assert!(
                fields.iter().any(|f| f.contains(field)),
                "errors {fields:?} do not name {field:?}"
            );
        }
    }
}

/// A body of unknown length (no `Content-Length`), as a chunked upload arrives.
pub fn body_of_unknown_length(bytes: Vec<u8>) -> Body {
    use http_body_util::{BodyExt, Full};
    // `map_frame` drops the exact size hint of `Full`.
    Body::new(Full::new(axum::body::Bytes::from(bytes)).map_frame(|frame| frame))
}

/// Percent-encode a path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/health` and `/ready` answer 200 and a valid `/score` request still scores.
pub async fn assert_still_serving(app: &Router) {
    let health = call(app, get("/health")).await;
    assert_eq!(health.status, 200, "{}", health.body);
    let ready = call(app, get("/ready")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let body = json!({"sensor_id": "after", "events": events_json(30, end_time())});
    let scored = call(app, post_json("/score", &body)).await;
    assert_eq!(scored.status, 200, "{}", scored.body);
    assert!(scored.body["score"].is_number(), "{}", scored.body);
}

//! Hot model reload (`POST /admin/models/reload`) and API keys, against real ONNX Runtime models
//! and a real Postgres (`#[sqlx::test]` gives each test a fresh database from `DATABASE_URL`).
//!
//! Model A is the test model (`TELLTALE_TEST_MODEL`, trainer output in scripts/test.sh); model B
//! is the seeded random fixture with the same features, written to a temporary directory.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Request, header};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use telltale_server::AppState;
use telltale_server::auth::{Auth, key_file_line};

const KEY: &str = "tt_0123456789abcdef-test-key";

fn keyed(state: AppState, protect_reads: bool) -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    std::fs::write(&path, format!("{}\n", key_file_line("tests", KEY))).unwrap();
    let mut auth = Auth::from_key_file(&path).unwrap();
    auth.protect_reads = protect_reads;
    state.with_auth(auth)
}

fn with_key(mut request: Request<Body>, key: &str) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {key}").parse().unwrap(),
    );
    request
}

fn reload_request(dir: Option<&Path>) -> Request<Body> {
    let body = match dir {
        Some(dir) => json!({"model_dir": dir}),
        None => json!({}),
    };
    with_key(post_json("/admin/models/reload", &body), KEY)
}

/// Model B: the fixture model in a fresh directory named `name`.
fn second_model(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    write_fixture_model_to(&dir);
    dir
}

async fn current_id(app: &axum::Router) -> String {
    let reply = call(app, get("/models/current")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn score_ok(app: &axum::Router) -> Value {
    let body = json!({"events": events_json(40, end_time())});
    let reply = call(app, post_json("/score", &body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[sqlx::test(migrations = "../../migrations")]
async fn reload_swaps_the_model_and_every_stored_score_names_its_model(pool: PgPool) {
    let root = tempfile::tempdir().unwrap();
    let b_dir = second_model(root.path(), "model-b");
    let app = telltale_server::app(keyed(state_with(pool.clone()), false));
    let a_id = current_id(&app).await;

    let ingest = with_key(
        post_json(
            "/sensors/pump-7/events",
            &json!(events_json(60, end_time())),
        ),
        KEY,
    );
    assert_eq!(call(&app, ingest).await.status, 200);
    let first = call(&app, get("/sensors/pump-7/anomaly")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["model"]["id"], a_id.as_str());

    let reply = call(&app, reload_request(Some(&b_dir))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["previous"]["id"], a_id.as_str());
    let b_id = reply.body["current"]["id"].as_str().unwrap().to_string();
    assert_ne!(a_id, b_id);
    assert_eq!(reply.body["current"]["version"], "model-b");
    assert_eq!(current_id(&app).await, b_id);

    let second = call(&app, get("/sensors/pump-7/anomaly")).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["model"]["id"], b_id.as_str());
    assert_eq!(score_ok(&app).await["model"]["id"], b_id.as_str());

    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT model_id, model_version FROM scores ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].0, a_id);
    assert_eq!(stored[1], (b_id, "model-b".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_or_incompatible_models_are_refused_and_the_old_one_keeps_serving() {
    let root = tempfile::tempdir().unwrap();
    let app = telltale_server::app(keyed(state_with(unreachable_pool()), false));
    let a_id = current_id(&app).await;

    // Not a directory at all.
    let missing = root.path().join("no-such-model");
    let reply = call(&app, reload_request(Some(&missing))).await;
    let body = assert_problem(&reply, 422, "cannot be loaded");
    assert_eq!(body["type"], "urn:telltale:problem:model-not-loadable");

    // A graph file that is not ONNX.
    let corrupt = second_model(root.path(), "corrupt");
    std::fs::write(corrupt.join("encoder.onnx"), b"this is not a protobuf").unwrap();
    let reply = call(&app, reload_request(Some(&corrupt))).await;
    assert_problem(&reply, 422, "cannot be loaded");

    // A manifest that does not parse.
    let bad_manifest = second_model(root.path(), "bad-manifest");
    std::fs::write(bad_manifest.join("manifest.json"), b"{\"format_version\": ").unwrap();
    let reply = call(&app, reload_request(Some(&bad_manifest))).await;
    assert_problem(&reply, 422, "cannot be loaded");

    // Loads fine but reads other features than the served model.
    let other = second_model(root.path(), "other-features");
    let path = other.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["feature_names"] = json!(["pressure", "temperature"]);
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let reply = call(&app, reload_request(Some(&other))).await;
    let body = assert_problem(&reply, 422, "pressure");
    assert_eq!(body["type"], "urn:telltale:problem:model-incompatible");

    // Not a reload request.
    let bad_body = with_key(
        post_raw(
            "/admin/models/reload",
            Some("application/json"),
            "{\"dir\": 1}",
        ),
        KEY,
    );
    assert_problem(&call(&app, bad_body).await, 400, "reload request");

    assert_eq!(current_id(&app).await, a_id);
    assert_eq!(score_ok(&app).await["model"]["id"], a_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_reloads_all_succeed_on_one_model_or_the_other() {
    let root = tempfile::tempdir().unwrap();
    let b_dir = second_model(root.path(), "model-b");
    let a_dir = model_dir().to_path_buf();
    let app = telltale_server::app(keyed(state_with(unreachable_pool()), false));
    let a_id = current_id(&app).await;

    let app = Arc::new(app);
    let done = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let app = Arc::clone(&app);
        let done = Arc::clone(&done);
        clients.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            // At least a few requests each, and keep going until the reloads are over.
            while ids.len() < 5 || !done.load(Ordering::Acquire) {
                ids.push(
                    score_ok(&app).await["model"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
            ids
        }));
    }
    let mut b_id = String::new();
    for round in 0..6 {
        let target = if round % 2 == 0 { &b_dir } else { &a_dir };
        let reply = call(&app, reload_request(Some(target))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        if round == 0 {
            b_id = reply.body["current"]["id"].as_str().unwrap().to_string();
        }
    }
    done.store(true, Ordering::Release);
    let mut seen = Vec::new();
    for client in clients {
        // A client task panics (failing the test) on any answer but 200.
        seen.extend(client.await.unwrap());
    }
    assert!(seen.len() >= 20);
    assert!(seen.iter().all(|id| *id == a_id || *id == b_id), "{seen:?}");
    // Six reloads ended on A.
    assert_eq!(current_id(&app).await, a_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_with_an_empty_body_reads_the_current_directory_again() {
    let root = tempfile::tempdir().unwrap();
    let live = second_model(root.path(), "live");
    let state = keyed(state_with(unreachable_pool()), false);
    let app = telltale_server::app(state);
    let reply = call(&app, reload_request(Some(&live))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let b_id = reply.body["current"]["id"].as_str().unwrap().to_string();

    // Deploy a new version into the same directory: another model's files replace B's.
    for entry in std::fs::read_dir(model_dir()).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_file() {
            continue;
        }
        std::fs::copy(entry.path(), live.join(entry.file_name())).unwrap();
    }
    let request = with_key(
        post_raw("/admin/models/reload", Some("application/json"), ""),
        KEY,
    );
    let reply = call(&app, request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["previous"]["id"], b_id.as_str());
    assert_ne!(reply.body["current"]["id"], b_id.as_str());
    assert_eq!(reply.body["current"]["version"], "live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_guard_writes_and_admin_and_reads_when_asked() {
    let app = telltale_server::app(keyed(state_with(unreachable_pool()), false));
    let reload = post_json("/admin/models/reload", &json!({}));
    let reply = call(&app, reload).await;
    assert_problem(&reply, 401, "API key");
    let wrong = with_key(post_json("/admin/models/reload", &json!({})), "tt_wrong");
    assert_problem(&call(&app, wrong).await, 401, "not valid");
    let ingest = post_json("/sensors/s1/events", &json!(events_json(3, end_time())));
    assert_problem(&call(&app, ingest).await, 401, "API key");
    // Reads stay open without --protect-reads.
    score_ok(&app).await;
    assert_eq!(call(&app, get("/models/current")).await.status, 200);

    let closed = telltale_server::app(keyed(state_with(unreachable_pool()), true));
    let body = json!({"events": events_json(40, end_time())});
    assert_problem(
        &call(&closed, post_json("/score", &body)).await,
        401,
        "API key",
    );
    assert_problem(&call(&closed, get("/metrics")).await, 401, "API key");
    let mut by_header = post_json("/score", &body);
    by_header
        .headers_mut()
        .insert("x-api-key", KEY.parse().unwrap());
    assert_eq!(call(&closed, by_header).await.status, 200);
    for open in ["/health", "/openapi.json"] {
        assert_eq!(call(&closed, get(open)).await.status, 200, "{open}");
    }

    // Without keys configured, admin is refused outright.
    let keyless = telltale_server::app(state_with(unreachable_pool()));
    let reply = call(&keyless, post_json("/admin/models/reload", &json!({}))).await;
    assert_problem(&reply, 403, "--api-key-file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_only_allowed_origins() {
    let mut auth = Auth::default();
    auth.cors_origins = vec!["https://ops.example.com".parse().unwrap()];
    let app = telltale_server::app(state_with(unreachable_pool()).with_auth(auth));
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/score")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type,authorization",
            )
            .body(Body::empty())
            .unwrap()
    };
    let allowed = call_raw(&app, preflight("https://ops.example.com")).await;
    assert_eq!(
        allowed
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_string()),
        Some("https://ops.example.com".to_string())
    );
    let other = call_raw(&app, preflight("https://evil.example.net")).await;
    assert!(
        other
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    // Without origins configured no CORS headers are sent at all.
    let plain = telltale_server::app(state_with(unreachable_pool()));
    let mut request = get("/models/current");
    request
        .headers_mut()
        .insert(header::ORIGIN, "https://ops.example.com".parse().unwrap());
    let reply = call_raw(&plain, request).await;
    assert!(
        reply
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

async fn call_raw(app: &axum::Router, request: Request<Body>) -> axum::response::Response {
    use tower::ServiceExt;
    app.clone().oneshot(request).await.unwrap()
}

//! The real `telltale-server` binary: SIGHUP reloads the model directory in place, and neither
//! the database password nor an API key ever reaches the logs. Needs `DATABASE_URL` (a trust-auth
//! Postgres: the password added below is accepted and ignored, so it only tests redaction).

mod common;
mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use process::{ServerProcess, TestDatabase};
use serde_json::{Value, json};
use telltale_server::auth::key_file_line;

const KEY: &str = "tt_sighup-test-key-9f8e7d6c5b4a";
const PASSWORD: &str = "hunter2-never-logged";

/// `postgres://user@host/db` → `postgres://user:PASSWORD@host/db`.
fn with_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = authority.split_once('@').unwrap_or(("postgres", authority));
    let user = user.split(':').next().unwrap();
    format!("{scheme}://{user}:{PASSWORD}@{host}/{path}")
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn model_id(client: &reqwest::Client, server: &ServerProcess) -> Option<String> {
    let reply = client
        .get(server.url("/models/current"))
        .send()
        .await
        .ok()?;
    let body: Value = reply.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}

fn copy_model(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_model_directory_and_secrets_stay_out_of_the_logs() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    write_fixture_model_to(&live);
    let keys = root.path().join("keys");
    std::fs::write(&keys, format!("{}\n", key_file_line("tests", KEY))).unwrap();

    let database = TestDatabase::create("sighup").await;
    let keys_arg = keys.to_str().unwrap();
    let mut server = ServerProcess::start_logging(
        &live,
        &with_password(&database.url),
        &["--api-key-file", keys_arg],
        "debug",
    )
    .await;
    let client = reqwest::Client::new();
    wait_until("the server is ready", async || {
        client
            .get(server.url("/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let before = model_id(&client, &server).await.unwrap();

    // A request carrying the key, so it has been seen by the server.
    let events = json!(events_json(30, end_time()));
    let reply = client
        .post(server.url("/sensors/sighup-1/events"))
        .bearer_auth(KEY)
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    // Deploy another model into the same directory and send SIGHUP.
    copy_model(model_dir(), &live);
    server.signal("HUP");
    wait_until("SIGHUP swapped the model", async || {
        model_id(&client, &server)
            .await
            .is_some_and(|id| id != before)
    })
    .await;
    let after = model_id(&client, &server).await.unwrap();
    assert_eq!(after, manifest().model_id);

    // A broken deploy on SIGHUP is refused; the model keeps serving.
    std::fs::write(live.join("encoder.onnx"), b"broken").unwrap();
    server.signal("HUP");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(model_id(&client, &server).await.unwrap(), after);
    let body = json!({"events": events_json(40, end_time())});
    let scored = client
        .post(server.url("/score"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(scored.status(), 200);

    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(60))
        .await
        .expect("the server did not exit after SIGTERM");
    assert!(status.success(), "{status}");
    let logs = server.log_text();
    assert!(logs.contains("model reloaded"), "{logs}");
    assert!(logs.contains("model reload refused"), "{logs}");
    assert!(!logs.contains(PASSWORD), "the database password was logged");
    assert!(!logs.contains(KEY), "an API key was logged");
    database.drop_now().await;
}

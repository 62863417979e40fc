//! Ingest, stored-window scoring and score history against a real Postgres (`#[sqlx::test]`
//! creates a fresh database per test from `DATABASE_URL` and runs the migrations) and a real model.

mod common;

use common::*;
use serde_json::json;
use sqlx::PgPool;

async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = match table {
        "events" => "SELECT count(*) FROM events",
        "sensors" => "SELECT count(*) FROM sensors",
        "scores" => "SELECT count(*) FROM scores",
        "labels" => "SELECT count(*) FROM labels",
        other => panic!("unknown table {other}"),
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// A seed-format CSV for `sensor` with the model's features (the first column is the label's).
fn seed_csv(sensor: &str, rows: usize, label: Option<u8>) -> String {
    let features = manifest().feature_names;
    let mut header = format!("sensor_id,timestamp,{}", features.join(","));
    if label.is_some() {
        header.push_str(",10_days_alert_label");
    }
    let mut text = header + "\n";
    for i in 0..rows {
        let values: Vec<String> = (0..features.len())
            .map(|j| format!("{:.3}", 0.1 * (i + j) as f64))
            .collect();
        text.push_str(&format!(
            "{sensor},2020-12-20 01:{:02}:34.565,{}",
            i,
            values.join(",")
        ));
        if let Some(label) = label {
            text.push_str(&format!(",{label}"));
        }
        text.push('\n');
    }
    text
}

#[sqlx::test(migrations = "../../migrations")]
async fn ingest_is_idempotent_and_reports_counts(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let events = json!(events_json(20, end_time()));
    let first = call(&app, post_json("/sensors/pump-1/events", &events)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body,
        json!({"sensor_id": "pump-1", "received": 20, "inserted": 20, "duplicates": 0, "labels": 0})
    );
    let again = call(&app, post_json("/sensors/pump-1/events", &events)).await;
    assert_eq!(again.body["inserted"], 0);
    assert_eq!(again.body["duplicates"], 20);
    assert_eq!(count(&pool, "events").await, 20);

    // Stored values are the sent values, in the model's feature order.
    let features: Vec<f32> = sqlx::query_scalar(
        "SELECT features FROM events WHERE sensor_id = 'pump-1' ORDER BY ts LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let names = manifest().feature_names;
    let sent: Vec<f32> = names
        .iter()
        .map(|n| events[0]["features"][n].as_f64().unwrap() as f32)
        .collect();
    assert_eq!(features, sent);
}

#[sqlx::test(migrations = "../../migrations")]
async fn duplicate_timestamps_in_one_request_keep_the_last(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let mut events = events_json(3, end_time());
    let mut repeat = events[2].clone();
    let first = manifest().feature_names[0].clone();
    repeat["features"][&first] = json!(42.0);
    events.swap(0, 1); // out of order
    events.push(repeat); // sent last: it replaces the earlier event with its timestamp
    let reply = call(&app, post_json("/sensors/s/events", &json!(events))).await;
    assert_eq!(reply.body["inserted"], 3, "{}", reply.body);
    assert_eq!(reply.body["duplicates"], 1);
    let stored: Vec<f32> =
        sqlx::query_scalar("SELECT features FROM events ORDER BY ts DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored[0], 42.0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failing_ingest_stores_nothing(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let mut events = events_json(50, end_time());
    let first = manifest().feature_names[0].clone();
    events[49]["features"][&first] = json!("NaN");
    let reply = call(&app, post_json("/sensors/pump-2/events", &json!(events))).await;
    let problem = assert_problem(&reply, 422, &format!("events[49].features.{first}"));
    assert!(
        problem["errors"].as_array().unwrap().len() == 1,
        "{problem}"
    );
    assert_eq!(count(&pool, "events").await, 0);
    assert_eq!(count(&pool, "sensors").await, 0);

    let csv = seed_csv("pump-2", 5, None).replace("0.300", "inf");
    let reply = call(
        &app,
        post_raw("/sensors/pump-2/events", Some("text/csv"), csv),
    )
    .await;
    assert_problem(&reply, 422, "request body:");
    assert_eq!(count(&pool, "events").await, 0);
    assert_eq!(count(&pool, "sensors").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn csv_in_the_seed_format_is_ingested_with_its_label(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let csv = seed_csv("7", 6, Some(1));
    let reply = call(&app, post_raw("/sensors/7/events", Some("text/csv"), csv)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"sensor_id": "7", "received": 6, "inserted": 6, "duplicates": 0, "labels": 1})
    );
    let alert: bool = sqlx::query_scalar("SELECT alert FROM labels WHERE sensor_id = '7'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(alert);

    let other = seed_csv("8", 2, None);
    let reply = call(&app, post_raw("/sensors/7/events", Some("text/csv"), other)).await;
    assert_problem(&reply, 422, "rows for sensor `8`");
}

#[sqlx::test(migrations = "../../migrations")]
async fn ingest_rejects_other_media_types_and_bad_ids(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let reply = call(&app, post_raw("/sensors/a/events", Some("text/plain"), "x")).await;
    assert_problem(&reply, 415, "text/csv");
    let reply = call(&app, post_raw("/sensors/a/events", None, "[]")).await;
    assert_problem(&reply, 415, "(missing)");
    let reply = call(&app, post_json("/sensors/%20/events", &json!([]))).await;
    assert_problem(&reply, 422, "sensor id");
    let reply = call(&app, post_json("/sensors/a/events", &json!([]))).await;
    assert_problem(&reply, 422, "at least one event");
}

#[sqlx::test(migrations = "../../migrations")]
async fn anomaly_scores_the_stored_window_and_stores_the_score(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let events = events_json(40, end_time());
    let stored = call(&app, post_json("/sensors/pump-3/events", &json!(events))).await;
    assert_eq!(stored.status, 200, "{}", stored.body);

    let reply = call(&app, get("/sensors/pump-3/anomaly")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let scored = &reply.body;
    assert_eq!(scored["sensor_id"], "pump-3");
    assert_eq!(scored["window"]["events_used"], 40);

    // The same events sent to /score give the same answer.
    let direct = call(
        &app,
        post_json("/score", &json!({"sensor_id": "pump-3", "events": events})),
    )
    .await;
    assert_eq!(&direct.body, scored);

    // The score is stored with the model id.
    let (model_id, score): (String, f32) =
        sqlx::query_as("SELECT model_id, score FROM scores WHERE sensor_id = 'pump-3'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(model_id, manifest().model_id);
    assert_eq!(score, scored["score"].as_f64().unwrap() as f32);

    // An earlier window via ?at= sees fewer events; history lists newest first.
    let at = (end_time() - chrono::Duration::hours(10)).to_rfc3339();
    let earlier = call(
        &app,
        get(&format!(
            "/sensors/pump-3/anomaly?at={}",
            at.replace('+', "%2B")
        )),
    )
    .await;
    assert_eq!(earlier.status, 200, "{}", earlier.body);
    let used = earlier.body["window"]["events_used"].as_u64().unwrap();
    assert!(used < 40 && used > 0, "{used}");

    let history = call(&app, get("/sensors/pump-3/scores?limit=10")).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let scores = history.body["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 2);
    assert_eq!(scores[0]["window"]["events_used"], used);
    assert_eq!(scores[1]["score"], scored["score"]);
    assert_eq!(scores[1]["model"]["id"], manifest().model_id.as_str());
    assert_eq!(
        scores[1]["feature_attribution"],
        scored["feature_attribution"]
    );
    let one = call(&app, get("/sensors/pump-3/scores?limit=1")).await;
    assert_eq!(one.body["scores"].as_array().unwrap().len(), 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn anomaly_errors_are_404_and_422(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    assert_problem(
        &call(&app, get("/sensors/ghost/anomaly")).await,
        404,
        "unknown sensor `ghost`",
    );
    assert_problem(
        &call(&app, get("/sensors/ghost/scores")).await,
        404,
        "unknown sensor",
    );

    let events = events_json(5, end_time());
    call(&app, post_json("/sensors/s/events", &json!(events))).await;
    let reply = call(&app, get("/sensors/s/anomaly?at=2001-01-01T00:00:00Z")).await;
    assert_problem(&reply, 422, "has 0 events in the window");
    let reply = call(&app, get("/sensors/s/anomaly?at=yesterday")).await;
    let problem = assert_problem(&reply, 422, "at:");
    assert_eq!(error_fields(&problem), ["at"]);
    assert_problem(
        &call(&app, get("/sensors/s/scores?limit=0")).await,
        422,
        "out of range",
    );
    assert_problem(
        &call(&app, get("/sensors/s/scores?limit=abc")).await,
        422,
        "limit",
    );
    assert_eq!(count(&pool, "scores").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_sensor_stored_with_other_features_is_409(pool: PgPool) {
    sqlx::query("INSERT INTO sensors (sensor_id, feature_names) VALUES ('old', '{temperature}')")
        .execute(&pool)
        .await
        .unwrap();
    let app = telltale_server::app(state_with(pool.clone()));
    let reply = call(
        &app,
        post_json("/sensors/old/events", &json!(events_json(2, end_time()))),
    )
    .await;
    assert_problem(&reply, 409, "[temperature]");
    assert_problem(
        &call(&app, get("/sensors/old/anomaly")).await,
        409,
        "loaded model",
    );
    assert_eq!(count(&pool, "events").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn ready_with_a_database_is_200(pool: PgPool) {
    let app = telltale_server::app(state_with(pool));
    let reply = call(&app, get("/ready")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "ready");
    assert_eq!(reply.body["model_id"], manifest().model_id.as_str());
}

/// A copy of the test model whose default scorer is `peak_no_decoder` (same graphs).
fn peak_model() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(model_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut manifest = telltale_core::Manifest::load(dir.path()).unwrap();
    manifest.calibration.default_scorer = telltale_core::ScorerKind::PeakNoDecoder;
    manifest.save(dir.path()).unwrap();
    dir
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_peak_score_says_when_and_the_history_keeps_it(pool: PgPool) {
    init_runtime();
    let model = peak_model();
    let path = model.path().to_path_buf();
    let (infer, _worker) = telltale_server::inference::Infer::spawn(
        move || {
            telltale_scorer::Scorer::open(&path, &telltale_scorer::RuntimeOptions::default())
                .map_err(anyhow::Error::from)
        },
        batch_config(),
    )
    .unwrap();
    let state = telltale_server::AppState::new(pool.clone(), infer, model.path(), LIMITS);
    let app = telltale_server::app(state);

    // 300 events 37 min apart (about 8 days); the first feature jumps by 20 for events
    // 150..190 (about 25 h).
    let mut events = events_json(300, end_time());
    let first = manifest().feature_names[0].clone();
    for event in &mut events[150..190] {
        let v = event["features"][&first].as_f64().unwrap();
        event["features"][&first] = json!(v + 20.0);
    }
    let ts = |i: usize| {
        chrono::NaiveDateTime::parse_from_str(
            events[i]["timestamp"].as_str().unwrap(),
            "%Y-%m-%d %H:%M:%S%.3f",
        )
        .unwrap()
        .and_utc()
    };
    let (shift_start, shift_end) = (ts(150), ts(189));

    let stored = call(&app, post_json("/sensors/pump-9/events", &json!(events))).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let reply = call(&app, get("/sensors/pump-9/anomaly")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let scored = &reply.body;
    let peak = &scored["peak"];
    let at = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .to_utc()
    };
    let (start, end) = (at(&peak["start"]), at(&peak["end"]));
    assert!(
        start < shift_end && end > shift_start,
        "the peak stretch {start}..{end} misses the shift {shift_start}..{shift_end}"
    );
    assert!(at(&scored["window"]["start"]) <= start && end <= at(&scored["window"]["end"]));
    assert_eq!(end - start, chrono::Duration::hours(24));
    assert_eq!(scored["feature_attribution"][0]["feature"], first.as_str());

    // Stored with the score and listed in the history; the /score answer is the same.
    let history = call(&app, get("/sensors/pump-9/scores?limit=1")).await;
    assert_eq!(history.body["scores"][0]["peak"], *peak, "{}", history.body);
    let direct = call(
        &app,
        post_json("/score", &json!({"sensor_id": "pump-9", "events": events})),
    )
    .await;
    assert_eq!(&direct.body, scored);
}

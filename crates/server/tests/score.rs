//! `/score`, `/score/batch` and the operational routes against a real ONNX model, through
//! `app(state)` with `oneshot` (no database needed: these routes never touch it).

mod common;

use common::*;
use serde_json::{Value, json};
use telltale_core::Event;
use telltale_core::events::parse_timestamp;
use telltale_scorer::{RuntimeOptions, Scorer};

fn window_body(n: usize) -> Value {
    json!({"sensor_id": "s-1", "events": events_json(n, end_time())})
}

#[tokio::test]
async fn score_returns_the_scorers_answer_for_the_window() {
    let app = app_without_db();
    let body = window_body(30);
    let reply = call(&app, post_json("/score", &body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let out = &reply.body;

    // The same window scored directly with telltale-scorer gives the same numbers.
    let manifest = manifest();
    let events: Vec<Event> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Event {
            timestamp: parse_timestamp(e["timestamp"].as_str().unwrap()).unwrap(),
            features: manifest
                .feature_names
                .iter()
                .map(|n| e["features"][n].as_f64().unwrap() as f32)
                .collect(),
        })
        .collect();
    init_runtime();
    let mut scorer = Scorer::open(model_dir(), &RuntimeOptions::default()).unwrap();
    let window = scorer.prepare(&events, None).unwrap();
    let expected = scorer
        .score(std::slice::from_ref(&window))
        .unwrap()
        .remove(0);

    let close = |got: &Value, want: f32| (got.as_f64().unwrap() as f32 - want).abs() <= 1e-5;
    assert!(close(&out["score"], expected.score), "{out}");
    assert!(close(&out["latent_error"], expected.latent_error), "{out}");
    assert!(
        close(&out["sequence_error"], expected.sequence_error),
        "{out}"
    );
    assert_eq!(out["is_anomaly"], expected.is_anomaly);
    let score = out["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    assert_eq!(
        out["threshold"].as_f64().unwrap() as f32,
        manifest.threshold.score
    );
    assert_eq!(out["sensor_id"], "s-1");
    assert_eq!(out["model"]["id"], manifest.model_id.as_str());
    assert_eq!(out["window"]["events_used"], 30);
    assert_eq!(out["window"]["steps"], window.len);
    assert_eq!(
        out["step_errors"].as_array().unwrap().len(),
        expected.step_errors.len()
    );

    // Attribution: every feature once, largest error first.
    let attribution = out["feature_attribution"].as_array().unwrap();
    let mut names: Vec<&str> = attribution
        .iter()
        .map(|a| a["feature"].as_str().unwrap())
        .collect();
    let errors: Vec<f64> = attribution
        .iter()
        .map(|a| a["error"].as_f64().unwrap())
        .collect();
    assert!(errors.windows(2).all(|w| w[0] >= w[1]), "{errors:?}");
    names.sort_unstable();
    let mut want: Vec<&str> = manifest.feature_names.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(names, want);
}

#[tokio::test]
async fn features_as_an_array_score_like_features_by_name() {
    let app = app_without_db();
    let by_name = window_body(12);
    let features = manifest().feature_names;
    let mut in_order = by_name.clone();
    for event in in_order["events"].as_array_mut().unwrap() {
        let values: Vec<Value> = features
            .iter()
            .map(|n| event["features"][n].clone())
            .collect();
        event["features"] = Value::Array(values);
    }
    let a = call(&app, post_json("/score", &by_name)).await;
    let b = call(&app, post_json("/score", &in_order)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, b.body);
}

#[tokio::test]
async fn batch_results_match_single_requests_in_order() {
    let app = app_without_db();
    let windows: Vec<Value> = [5, 17, 40].iter().map(|&n| window_body(n)).collect();
    let reply = call(
        &app,
        post_json("/score/batch", &json!({"windows": windows})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (window, result) in windows.iter().zip(results) {
        let single = call(&app, post_json("/score", window)).await;
        assert_eq!(&single.body, result);
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = app_without_db();
    let reply = call(
        &app,
        post_raw("/score", Some("application/json"), "{\"events\": ["),
    )
    .await;
    assert_problem(&reply, 400, "JSON");
}

#[tokio::test]
async fn wrong_types_are_422_naming_the_field() {
    let app = app_without_db();
    let body = json!({"events": [{"timestamp": 1608426034, "features": [0.1, 0.2]}]});
    let reply = call(&app, post_json("/score", &body)).await;
    assert_problem(&reply, 422, "events[0].timestamp");
}

#[tokio::test]
async fn unknown_fields_are_422() {
    let app = app_without_db();
    let body = json!({"evnts": []});
    let reply = call(&app, post_json("/score", &body)).await;
    assert_problem(&reply, 422, "evnts");
}

#[tokio::test]
async fn unknown_feature_names_are_422_listing_the_known_ones() {
    let app = app_without_db();
    let mut body = window_body(3);
    body["events"][1]["features"]["feature_99"] = json!(1.0);
    let reply = call(&app, post_json("/score", &body)).await;
    let problem = assert_problem(&reply, 422, "unknown feature `feature_99`");
    assert_eq!(error_fields(&problem), ["events[1].features.feature_99"]);
    let first = &manifest().feature_names[0];
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(first.as_str())
    );
}

#[tokio::test]
async fn non_finite_values_are_422() {
    let app = app_without_db();
    let first = manifest().feature_names[0].clone();
    for bad in [json!("NaN"), json!("inf"), json!(null), json!(1e300)] {
        let mut body = window_body(3);
        body["events"][2]["features"][&first] = bad.clone();
        let reply = call(&app, post_json("/score", &body)).await;
        let problem = assert_problem(&reply, 422, &format!("events[2].features.{first}"));
        assert_eq!(
            problem["errors"].as_array().unwrap().len(),
            1,
            "{bad}: {problem}"
        );
    }
}

#[tokio::test]
async fn too_many_events_are_422_naming_the_limit() {
    let app = app_without_db();
    let reply = call(
        &app,
        post_json("/score", &window_body(LIMITS.max_events + 1)),
    )
    .await;
    assert_problem(&reply, 422, &format!("at most {}", LIMITS.max_events));
}

#[tokio::test]
async fn empty_windows_are_422() {
    let app = app_without_db();
    let reply = call(&app, post_json("/score", &json!({"events": []}))).await;
    assert_problem(&reply, 422, "at least 1");
}

#[tokio::test]
async fn unsorted_and_duplicate_timestamps_are_422() {
    let app = app_without_db();
    let mut unsorted = window_body(4);
    let events = unsorted["events"].as_array_mut().unwrap();
    events.swap(1, 2);
    let reply = call(&app, post_json("/score", &unsorted)).await;
    let problem = assert_problem(&reply, 422, "sort events by timestamp");
    assert_eq!(error_fields(&problem), ["events[2].timestamp"]);

    let mut duplicate = window_body(4);
    duplicate["events"][3]["timestamp"] = duplicate["events"][2]["timestamp"].clone();
    let reply = call(&app, post_json("/score", &duplicate)).await;
    assert_problem(&reply, 422, "duplicate timestamp");
}

#[tokio::test]
async fn bad_timestamps_are_422() {
    let app = app_without_db();
    let mut body = window_body(2);
    body["events"][0]["timestamp"] = json!("20th of December");
    let reply = call(&app, post_json("/score", &body)).await;
    let problem = assert_problem(&reply, 422, "events[0].timestamp");
    assert_eq!(error_fields(&problem), ["events[0].timestamp"]);
}

#[tokio::test]
async fn an_end_before_every_event_is_422() {
    let app = app_without_db();
    let mut body = window_body(3);
    body["end"] = json!("2001-01-01T00:00:00Z");
    let reply = call(&app, post_json("/score", &body)).await;
    assert_problem(&reply, 422, "fall inside the window");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = app_without_db();
    let padding = "x".repeat(LIMITS.body_limit + 1);
    let body = json!({"sensor_id": padding, "events": []});
    let reply = call(&app, post_json("/score", &body)).await;
    assert_problem(&reply, 413, "--body-limit");
}

#[tokio::test]
async fn other_content_types_are_415() {
    let app = app_without_db();
    let reply = call(&app, post_raw("/score", Some("text/plain"), "hello")).await;
    assert_problem(&reply, 415, "application/json");
}

#[tokio::test]
async fn batches_must_have_1_to_max_windows() {
    let app = app_without_db();
    let reply = call(&app, post_json("/score/batch", &json!({"windows": []}))).await;
    assert_problem(&reply, 422, "send 1 to");
    let many: Vec<Value> = (0..=LIMITS.max_batch_windows)
        .map(|_| window_body(2))
        .collect();
    let reply = call(&app, post_json("/score/batch", &json!({"windows": many}))).await;
    assert_problem(&reply, 422, "send 1 to");
}

#[tokio::test]
async fn batch_errors_name_the_window() {
    let app = app_without_db();
    let mut bad = window_body(3);
    bad["events"][0]["features"] = json!("high");
    let body = json!({"windows": [window_body(3), bad]});
    let reply = call(&app, post_json("/score/batch", &body)).await;
    let problem = assert_problem(&reply, 422, "windows[1].events[0].features");
    assert_eq!(error_fields(&problem), ["windows[1].events[0].features"]);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problem_bodies() {
    let app = app_without_db();
    assert_problem(&call(&app, get("/nope")).await, 404, "no such route");
    assert_problem(&call(&app, get("/score")).await, 405, "method");
}

#[tokio::test]
async fn health_is_ok_and_ready_needs_the_database() {
    let app = app_without_db();
    let health = call(&app, get("/health")).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));
    assert_problem(&call(&app, get("/ready")).await, 503, "database");
}

#[tokio::test]
async fn metrics_report_requests_and_batches() {
    let app = app_without_db();
    assert_eq!(
        call(&app, post_json("/score", &window_body(4)))
            .await
            .status,
        200
    );
    let reply = call(&app, get("/metrics")).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.content_type.starts_with("text/plain"),
        "{}",
        reply.content_type
    );
    let text = reply.body.as_str().unwrap();
    for needle in [
        "telltale_http_requests_total{method=\"POST\",route=\"/score\",status=\"200\"}",
        "telltale_http_request_duration_seconds_bucket{",
        "telltale_inference_batch_size_bucket{le=\"1\"}",
        "telltale_inference_duration_seconds_bucket{",
        "telltale_inference_queue_depth",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn models_current_describes_the_manifest() {
    let app = app_without_db();
    let reply = call(&app, get("/models/current")).await;
    assert_eq!(reply.status, 200);
    let manifest = manifest();
    assert_eq!(reply.body["id"], manifest.model_id.as_str());
    assert_eq!(reply.body["feature_names"], json!(manifest.feature_names));
    assert_eq!(
        reply.body["window"]["max_steps"],
        manifest.window.max_steps()
    );
    assert_eq!(reply.body["has_head"], manifest.graphs.head.is_some());
}

#[tokio::test]
async fn swagger_ui_and_the_spec_are_served() {
    let app = app_without_db();
    let docs = call(&app, get("/docs/")).await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.body.as_str().unwrap().contains("swagger-ui"),
        "{}",
        docs.body
    );
    // The UI's assets are vendored (served offline) and point it at our spec.
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        assert_eq!(call(&app, get(asset)).await.status, 200, "{asset}");
    }
    let init = call(&app, get("/docs/swagger-initializer.js")).await;
    assert!(
        init.body.as_str().unwrap().contains("/openapi.json"),
        "{}",
        init.body
    );
    let spec = call(&app, get("/openapi.json")).await;
    assert_eq!(spec.status, 200);
    assert_eq!(
        spec.body,
        serde_json::to_value(telltale_server::openapi()).unwrap()
    );
}

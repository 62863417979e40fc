//! Bad input of every kind, sent to the real app (real model, real Postgres from `DATABASE_URL`):
//! every answer is a 4xx `application/problem+json` body that names the offending field and leaks
//! nothing internal, nothing is stored, and the server still serves afterwards. Valid sensor ids
//! full of unicode and SQL metacharacters are stored and read back exactly.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

/// One bad request and the answer it must get.
struct Case {
    name: String,
    request: Request<Body>,
    status: u16,
    /// Text the problem's `detail` contains.
    detail: &'static str,
    /// The offending field, when there is one.
    field: Option<String>,
}

fn case(
    name: impl Into<String>,
    request: Request<Body>,
    (status, detail): (u16, &'static str),
    field: Option<&str>,
) -> Case {
    Case {
        name: name.into(),
        request,
        status,
        detail,
        field: field.map(str::to_string),
    }
}

/// Send every case; each must get its answer and leave every table as it was.
async fn run(app: &Router, pool: &PgPool, cases: Vec<Case>) {
    let before = table_counts(pool).await;
    for case in cases {
        let reply = call(app, case.request).await;
        // One line per case (the whole battery is readable with `--no-capture`); the last one
        // printed names the case that failed.
        let kind = reply.body["type"].as_str().unwrap_or_default();
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        let status = reply.status.as_u16();
        eprintln!("{:?}: {status} {kind}: {detail:.160}", case.name);
        assert_client_error(&reply, case.status, case.detail, case.field.as_deref());
        let after = table_counts(pool).await;
        assert_eq!(after, before, "case {:?} changed stored rows", case.name);
    }
}

const TS: &str = "2020-12-20 01:00:00";
const BAD_JSON: (u16, &str) = (400, "not valid JSON");

/// The model's feature names.
fn names() -> Vec<String> {
    manifest().feature_names
}

/// Features by name, the first set to `first`, the others valid.
fn features_with(first: Value) -> Value {
    let names = names();
    let values = names.iter().enumerate();
    Value::Object(
        values
            .map(|(i, n)| (n.clone(), if i == 0 { first.clone() } else { json!(0.5) }))
            .collect(),
    )
}

fn event(timestamp: Value, features: Value) -> Value {
    json!({"timestamp": timestamp, "features": features})
}

fn good_event(timestamp: &str) -> Value {
    event(json!(timestamp), features_with(json!(0.25)))
}

fn raw(uri: &str, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Request<Body> {
    post_raw(uri, content_type, body.into())
}

fn json_raw(uri: &str, body: impl Into<Vec<u8>>) -> Request<Body> {
    raw(uri, Some("application/json"), body)
}

/// `body` with the string `"VALUE"` replaced by raw JSON text (`NaN`, `1e999`, …).
fn with_raw(uri: &str, body: &Value, value: &str) -> Request<Body> {
    json_raw(uri, body.to_string().replace("\"VALUE\"", value))
}

/// A JSON body just over the test body limit.
fn oversized() -> Vec<u8> {
    let padding = "x".repeat(LIMITS.body_limit);
    json!({"sensor_id": padding, "events": []})
        .to_string()
        .into_bytes()
}

/// Cases every JSON route shares: syntax, media type, size, nesting. `minimal` is the smallest
/// body of the route's shape (`{"events": []}`, `[]`, …).
fn transport_cases(uri: &str, minimal: &str) -> Vec<Case> {
    let open = "[".repeat(100_000);
    let closed = format!("{open}{}", "]".repeat(100_000));
    let cut = &minimal[..minimal.len() - 1];
    let media = (415, "application/json");
    let too_large = (413, "--body-limit");
    let unknown_length = body_of_unknown_length(oversized());
    let form = Some("application/x-www-form-urlencoded");
    vec![
        case(
            "malformed",
            json_raw(uri, format!("{cut}:")),
            BAD_JSON,
            None,
        ),
        case("cut short", json_raw(uri, cut), BAD_JSON, None),
        case(
            "trailing",
            json_raw(uri, format!("{minimal} x")),
            BAD_JSON,
            None,
        ),
        case("empty body", json_raw(uri, ""), BAD_JSON, None),
        case(
            "BOM",
            json_raw(uri, format!("\u{feff}{minimal}")),
            BAD_JSON,
            None,
        ),
        case("no content type", raw(uri, None, minimal), media, None),
        case(
            "text/plain",
            raw(uri, Some("text/plain"), minimal),
            media,
            None,
        ),
        case("form", raw(uri, form, "a=1"), media, None),
        case(
            "over the limit",
            json_raw(uri, oversized()),
            too_large,
            None,
        ),
        case(
            "over the limit, no length",
            post_raw(uri, Some("application/json"), unknown_length),
            too_large,
            None,
        ),
        // Nesting at the top fails at the first `[` that is not the expected shape.
        case("100k [", json_raw(uri, open), (422, "expected"), None),
        case("100k [ ]", json_raw(uri, closed), (422, "expected"), None),
    ]
}

/// Unparseable and absurd timestamps, and what the detail says about each.
const BAD_TIMESTAMPS: &[(&str, &str)] = &[
    ("yesterday", "expected a timestamp"),
    ("", "empty value"),
    ("0000-01-01 00:00:00", "year 0"),
    ("1969-12-31T23:59:59Z", "year 1969"),
    ("9999-12-31T23:59:59Z", "year 9999"),
    ("2020-02-30 00:00:00", "no date"),
    ("2020-12-20 24:00:00", "no time"),
    ("2020-12-20T01:00:00+25:00", "offset"),
    ("2020-12-20 01:00:00 CET", "unexpected"),
    ("1608426034", "too short"),
];

/// A feature value written as raw JSON, what the answer is, and what the detail says.
const BAD_VALUES: &[(&str, u16, &str)] = &[
    ("NaN", 400, "not valid JSON"),
    ("Infinity", 400, "not valid JSON"),
    ("-Infinity", 400, "not valid JSON"),
    ("1e999", 422, "number out of range"),
    ("-1e999", 422, "number out of range"),
    ("1e39", 422, "32-bit float"),
    ("-3.5e38", 422, "32-bit float"),
    ("\"NaN\"", 422, "finite number"),
    ("\"1.5\"", 422, "finite number"),
    ("null", 422, "null"),
    ("true", 422, "finite number"),
    ("{}", 422, "an object"),
];

#[sqlx::test(migrations = "../../migrations")]
async fn score_rejects_every_kind_of_bad_window(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let first = names()[0].clone();
    let uri = "/score";
    let post = |body: Value| post_json(uri, &body);
    let one_event = |event: Value| json!({"events": [event]});
    let with_ts = |ts: Value| one_event(event(ts, features_with(json!(1.0))));
    let window_of = |a: &str, b: &str| json!({"events": [good_event(a), good_event(b)]});
    let with_id = |id: Value| json!({"sensor_id": id, "events": [good_event(TS)]});
    let value_field = format!("events[0].features.{first}");
    let ts_field = Some("events[0].timestamp");

    let mut cases = transport_cases(uri, r#"{"events": []}"#);
    // Numbers that are not finite 32-bit floats; strings, null, booleans for numbers.
    let template = one_event(event(json!(TS), features_with(json!("VALUE"))));
    for &(value, status, detail) in BAD_VALUES {
        let request = with_raw(uri, &template, value);
        cases.push(case(value, request, (status, detail), Some(&value_field)));
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_value = with_raw(uri, &template, &deep);
    cases.push(case(
        "deep value",
        deep_value,
        (422, "an array"),
        Some(&value_field),
    ));
    let unclosed = with_raw(uri, &template, &deep[..100_000]);
    cases.push(case(
        "deep value, unclosed",
        unclosed,
        BAD_JSON,
        Some(&value_field),
    ));
    // Unparseable, absurd and non-string timestamps.
    for &(ts, detail) in BAD_TIMESTAMPS {
        cases.push(case(ts, post(with_ts(json!(ts))), (422, detail), ts_field));
    }
    for ts in [json!(1e20), json!(1_608_426_034), Value::Null, json!([])] {
        let name = format!("timestamp {ts}");
        cases.push(case(
            name,
            post(with_ts(ts)),
            (422, "expected a string"),
            ts_field,
        ));
    }
    // Events out of order or with one timestamp twice (a window must be sorted and unique).
    let second = Some("events[1].timestamp");
    let duplicate = (422, "duplicate timestamp");
    cases.extend([
        case("duplicate", post(window_of(TS, TS)), duplicate, second),
        case(
            "same instant, other zone",
            post(window_of(
                "2020-12-20T01:00:00Z",
                "2020-12-20 02:00:00+01:00",
            )),
            duplicate,
            second,
        ),
        case(
            "unsorted",
            post(window_of("2020-12-20 02:00:00", TS)),
            (422, "sort events by timestamp"),
            second,
        ),
    ]);
    // Features unknown, missing or of the wrong shape; unknown and missing fields.
    let unknown = json!({&first: 1.0, "feature_99": 1.0});
    cases.extend([
        case(
            "unknown feature",
            post(one_event(event(json!(TS), unknown))),
            (422, "unknown feature `feature_99`"),
            Some("events[0].features.feature_99"),
        ),
        case(
            "missing feature",
            post(one_event(event(json!(TS), json!({&first: 1.0})))),
            (422, "missing feature"),
            Some("events[0].features"),
        ),
        case(
            "features a string",
            post(one_event(event(json!(TS), json!("high")))),
            (422, "got the string"),
            Some("events[0].features"),
        ),
        case(
            "too few values",
            post(one_event(event(json!(TS), json!([1.0])))),
            (422, "values given"),
            Some("events[0].features"),
        ),
        case(
            "no features",
            post(one_event(json!({"timestamp": TS}))),
            (422, "missing field"),
            Some("events[0].features"),
        ),
        case(
            "unknown event field",
            post(one_event(
                json!({"timestamp": TS, "features": [1, 2], "x": 1}),
            )),
            (422, "unknown field"),
            Some("events[0].x"),
        ),
        case(
            "unknown field",
            post(json!({"evnts": []})),
            (422, "unknown field"),
            Some("evnts"),
        ),
        case(
            "no events",
            post(json!({})),
            (422, "missing field"),
            Some("events"),
        ),
        case(
            "events null",
            post(json!({"events": null})),
            (422, "null"),
            Some("events"),
        ),
    ]);
    // Window size, and an end that leaves no event inside.
    let too_many = json!({"events": events_json(LIMITS.max_events + 1, end_time())});
    let with_end = |end: &str| json!({"events": [good_event(TS)], "end": end});
    cases.extend([
        case(
            "empty",
            post(json!({"events": []})),
            (422, "at least 1"),
            Some("events"),
        ),
        case(
            "too many",
            post(too_many),
            (422, "at most 400"),
            Some("events"),
        ),
        case(
            "end bad",
            post(with_end("soon")),
            (422, "expected a timestamp"),
            Some("end"),
        ),
        case(
            "end 9999",
            post(with_end("9999-01-01 00:00:00")),
            (422, "year 9999"),
            Some("end"),
        ),
        case(
            "end before every event",
            post(with_end("2020-01-01 00:00:00")),
            (422, "fall inside the window"),
            Some("events"),
        ),
    ]);
    // The echoed sensor id follows the rules of stored ids.
    let id_rule = (422, "a sensor id has 1 to 128 characters");
    for id in ["", " \t", "a\u{0}b", "a\nb", "a\u{85}", &"x".repeat(10_240)] {
        let name = format!("sensor_id {:.20?}", id);
        cases.push(case(
            name,
            post(with_id(json!(id))),
            id_rule,
            Some("sensor_id"),
        ));
    }
    let number_id = post(with_id(json!(7)));
    cases.push(case(
        "sensor_id 7",
        number_id,
        (422, "expected a string"),
        Some("sensor_id"),
    ));
    let bad_utf8 = json_raw(uri, b"{\"sensor_id\": \"\xff\", \"events\": []}".to_vec());
    cases.push(case(
        "sensor_id bad UTF-8",
        bad_utf8,
        BAD_JSON,
        Some("sensor_id"),
    ));
    let surrogate = json_raw(uri, r#"{"sensor_id": "\ud800", "events": []}"#);
    cases.push(case(
        "lone surrogate",
        surrogate,
        BAD_JSON,
        Some("sensor_id"),
    ));
    // Other JSON than a window object.
    let window_object = (422, "expected a window object");
    cases.extend([
        case(
            "array of events",
            post(json!([good_event(TS)])),
            window_object,
            None,
        ),
        case("null body", json_raw(uri, "null"), window_object, None),
        case(
            "string body",
            json_raw(uri, "\"events\""),
            window_object,
            None,
        ),
    ]);
    run(&app, &pool, cases).await;
    assert_still_serving(&app).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn score_batch_rejects_bad_windows_naming_the_window(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let first = names()[0].clone();
    let post = |body: Value| post_json("/score/batch", &body);
    let ok = json!({"events": events_json(5, end_time())});
    let mut bad_value = ok.clone();
    bad_value["events"][2]["features"][&first] = json!("1.5");
    let mut bad_id = ok.clone();
    bad_id["sensor_id"] = json!("x".repeat(129));
    let too_many = vec![ok.clone(); LIMITS.max_batch_windows + 1];
    let count = (422, "send 1 to");

    let mut cases = transport_cases("/score/batch", r#"{"windows": []}"#);
    cases.extend([
        case(
            "no windows",
            post(json!({"windows": []})),
            count,
            Some("windows"),
        ),
        case(
            "too many",
            post(json!({"windows": too_many})),
            count,
            Some("windows"),
        ),
        case(
            "missing",
            post(json!({})),
            (422, "missing field"),
            Some("windows"),
        ),
        case(
            "windows an object",
            post(json!({"windows": {}})),
            (422, "expected a sequence"),
            Some("windows"),
        ),
        case(
            "bad value in window 1",
            post(json!({"windows": [ok, bad_value]})),
            (422, "finite number"),
            Some(&format!("windows[1].events[2].features.{first}")),
        ),
        case(
            "bad id in window 1",
            post(json!({"windows": [ok, bad_id]})),
            (422, "sensor id"),
            Some("windows[1].sensor_id"),
        ),
        case(
            "empty window 1",
            post(json!({"windows": [ok, {"events": []}]})),
            (422, "at least 1"),
            Some("windows[1].events"),
        ),
        case(
            "window an array",
            post(json!({"windows": [[]]})),
            (422, "expected a window object"),
            Some("windows[0]"),
        ),
        case(
            "array body",
            post(json!([ok])),
            (422, "expected a batch object"),
            None,
        ),
    ]);
    run(&app, &pool, cases).await;
    assert_still_serving(&app).await;
}

/// Path segments (percent-encoded) whose decoded id breaks the id rules.
fn bad_id_segments() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("blank", "%20%09".into()),
        ("10 kB", "x".repeat(10_240)),
        ("129 characters", encode_segment(&"é".repeat(129))),
        ("NUL", "a%00b".into()),
        ("newline", "a%0Ab".into()),
        ("DEL", "a%7Fb".into()),
        ("invalid UTF-8", "a%FFb".into()),
    ]
}

#[sqlx::test(migrations = "../../migrations")]
async fn ingest_rejects_bad_events_and_stores_nothing(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    // A stored sensor: bad requests for a known sensor must not add to it either.
    let uri = "/sensors/known/events";
    let stored = call(&app, post_json(uri, &json!(events_json(5, end_time())))).await;
    assert_eq!(stored.status, 200, "{}", stored.body);

    let names = names();
    let first = names[0].clone();
    let post = |body: Value| post_json(uri, &body);
    let one =
        |timestamp: Value, value: Value| post(json!([event(timestamp, features_with(value))]));
    let ts_field = Some("events[0].timestamp");

    let mut cases = transport_cases(uri, "[]");
    cases.extend([
        case(
            "empty array",
            post(json!([])),
            (422, "at least one event"),
            Some("events"),
        ),
        case(
            "object",
            post(json!({"events": []})),
            (422, "expected a sequence"),
            None,
        ),
        case(
            "no content type",
            raw(uri, None, "[]"),
            (415, "(missing)"),
            None,
        ),
        case(
            "text/plain",
            raw(uri, Some("text/plain"), "[]"),
            (415, "text/csv"),
            None,
        ),
    ]);
    // serde names array elements `[0]`, the validation `events[0]`: both end the same way.
    let value_field = format!("[0].features.{first}");
    let template = json!([event(json!(TS), features_with(json!("VALUE")))]);
    for &(value, status, detail) in BAD_VALUES {
        let request = with_raw(uri, &template, value);
        cases.push(case(value, request, (status, detail), Some(&value_field)));
    }
    for &(ts, detail) in BAD_TIMESTAMPS {
        cases.push(case(
            ts,
            one(json!(ts), json!(1.0)),
            (422, detail),
            ts_field,
        ));
    }
    let number = one(json!(1e20), json!(1.0));
    cases.push(case(
        "epoch 1e20",
        number,
        (422, "expected a string"),
        Some("[0].timestamp"),
    ));
    let one_bad = json!([good_event(TS), event(json!(TS), json!([]))]);
    cases.extend([
        case(
            "unknown feature",
            post(json!([event(
                json!(TS),
                json!({&first: 1.0, "feature_99": 1.0})
            )])),
            (422, "unknown feature"),
            Some("events[0].features.feature_99"),
        ),
        case(
            "missing feature",
            post(json!([event(json!(TS), json!({&first: 1.0}))])),
            (422, "missing feature"),
            Some("events[0].features"),
        ),
        case(
            "bad among good",
            post(one_bad),
            (422, "values given"),
            Some("events[1].features"),
        ),
    ]);
    // CSV bodies in the seed's format.
    let csv = |text: String| raw(uri, Some("text/csv"), text);
    let header = format!("sensor_id,timestamp,{}", names.join(","));
    let values = vec!["1.0"; names.len()].join(",");
    let row = |id: &str, ts: &str, values: &str| csv(format!("{header}\n{id},{ts},{values}\n"));
    let nan = values.replacen("1.0", "NaN", 1);
    let text = values.replacen("1.0", "high", 1);
    let body = Some("body");
    cases.extend([
        case("csv empty", csv(String::new()), (422, "empty"), body),
        case(
            "csv header only",
            csv(format!("{header}\n")),
            (422, "no data rows"),
            body,
        ),
        case(
            "csv bad time",
            row("known", "noon", &values),
            (422, "expected a timestamp"),
            body,
        ),
        case(
            "csv year 9999",
            row("known", "9999-01-01 00:00:00", &values),
            (422, "9999"),
            body,
        ),
        case("csv NaN", row("known", TS, &nan), (422, "finite"), body),
        case("csv text value", row("known", TS, &text), (422, ""), body),
        case(
            "csv other sensor",
            row("other", TS, &values),
            (422, "sensor `other`"),
            body,
        ),
        case(
            "csv missing column",
            csv(format!("sensor_id,timestamp,{first}\nknown,{TS},1.0\n")),
            (422, "missing feature column"),
            body,
        ),
        case(
            "csv unknown column",
            csv(format!("{header},feature_99\nknown,{TS},{values},1.0\n")),
            (422, "unknown feature column `feature_99`"),
            body,
        ),
        case(
            "csv binary",
            raw(uri, Some("text/csv"), vec![0, 159, 255, 0, 10]),
            (422, ""),
            body,
        ),
    ]);
    for (name, segment) in bad_id_segments() {
        let request = post_json(
            &format!("/sensors/{segment}/events"),
            &json!([good_event(TS)]),
        );
        cases.push(case(format!("id {name}"), request, (422, ""), Some("id")));
    }
    run(&app, &pool, cases).await;
    assert_still_serving(&app).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn stored_routes_reject_bad_ids_and_parameters(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let events = json!(events_json(20, end_time()));
    let stored = call(&app, post_json("/sensors/known/events", &events)).await;
    assert_eq!(stored.status, 200, "{}", stored.body);

    let mut cases = Vec::new();
    for &(at, detail) in BAD_TIMESTAMPS {
        let at = encode_segment(at);
        let uri = format!("/sensors/known/anomaly?at={at}");
        cases.push(case(
            format!("at={at}"),
            get(&uri),
            (422, detail),
            Some("at"),
        ));
    }
    let twice = "/sensors/known/anomaly?at=2020-12-20T01:00:00Z&at=2020-12-21T01:00:00Z";
    cases.push(case(
        "at twice",
        get(twice),
        (422, "more than once"),
        Some("at"),
    ));
    let early = "/sensors/known/anomaly?at=2020-01-01T00:00:00Z";
    cases.push(case(
        "at before every event",
        get(early),
        (422, "has 0 events"),
        None,
    ));
    for limit in [
        "-1",
        "0",
        "1001",
        "99999999999999999999",
        "abc",
        "",
        "1.5",
        "1e3",
    ] {
        let uri = format!("/sensors/known/scores?limit={limit}");
        cases.push(case(
            format!("limit={limit}"),
            get(&uri),
            (422, ""),
            Some("limit"),
        ));
    }
    for route in ["anomaly", "scores"] {
        for (name, segment) in bad_id_segments() {
            let uri = format!("/sensors/{segment}/{route}");
            cases.push(case(
                format!("{route}: id {name}"),
                get(&uri),
                (422, ""),
                Some("id"),
            ));
        }
        let unknown = get(&format!("/sensors/unknown/{route}"));
        cases.push(case(
            route,
            unknown,
            (404, "unknown sensor `unknown`"),
            None,
        ));
    }
    run(&app, &pool, cases).await;
    assert_still_serving(&app).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn ingest_sorts_events_and_keeps_the_last_of_a_timestamp(pool: PgPool) {
    // Documented: ingest takes events in any order and keeps the last one sent of a timestamp
    // (a window sent to /score must instead be sorted and unique, see above).
    let app = telltale_server::app(state_with(pool.clone()));
    let at = |ts: &str, value: f64| event(json!(ts), features_with(json!(value)));
    let body = json!([
        at("2020-12-20 03:00:00", 3.0),
        at("2020-12-20 01:00:00", 1.0),
        at("2020-12-20T02:00:00+01:00", 10.0),
        at("2020-12-20 01:00:00.000Z", 11.0),
    ]);
    let reply = call(&app, post_json("/sensors/s/events", &body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let counts = ["received", "inserted", "duplicates"].map(|k| reply.body[k].clone());
    assert_eq!(counts, [json!(4), json!(2), json!(2)], "{}", reply.body);
    let sql = "SELECT ts, features[1] FROM events WHERE sensor_id = 's' ORDER BY ts";
    let rows: Vec<(chrono::DateTime<chrono::Utc>, f32)> =
        sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
    let rows: Vec<(String, f32)> = rows.into_iter().map(|(t, v)| (t.to_rfc3339(), v)).collect();
    let expected = [
        ("2020-12-20T01:00:00+00:00", 11.0),
        ("2020-12-20T03:00:00+00:00", 3.0),
    ];
    assert_eq!(rows, expected.map(|(t, v)| (t.to_string(), v)));
}

#[sqlx::test(migrations = "../../migrations")]
async fn unusual_valid_sensor_ids_round_trip_exactly(pool: PgPool) {
    // The id rules: 1 to 128 characters, not all blank, no control characters; anything else
    // (SQL and LIKE metacharacters, slashes, quotes, RTL marks, emoji) is kept as sent.
    let app = telltale_server::app(state_with(pool.clone()));
    let max = telltale_server::validate::MAX_SENSOR_ID_CHARS;
    let mut ids: Vec<String> = [
        "'; DROP TABLE events;--",
        "%",
        "_",
        "%_\\",
        "a/b",
        "a%2Fb",
        "O'Brien \"quoted\"",
        "\u{202e}שלום\u{202c}",
        "🔥 pump #3?",
        "名前",
        " padded ",
        "..",
    ]
    .map(String::from)
    .into();
    ids.extend(["x".repeat(max), "é".repeat(max)]);
    let events = json!(events_json(20, end_time()));
    for id in &ids {
        let path = format!("/sensors/{}", encode_segment(id));
        let stored = call(&app, post_json(&format!("{path}/events"), &events)).await;
        assert_eq!(stored.status, 200, "{id:?}: {}", stored.body);
        assert_eq!(stored.body["sensor_id"], json!(id));
        assert_eq!(stored.body["inserted"], 20, "{id:?}");
        let scored = call(&app, get(&format!("{path}/anomaly"))).await;
        assert_eq!(scored.status, 200, "{id:?}: {}", scored.body);
        assert_eq!(scored.body["sensor_id"], json!(id));
        let window = json!({"sensor_id": id, "events": events});
        let echoed = call(&app, post_json("/score", &window)).await;
        assert_eq!(echoed.status, 200, "{id:?}: {}", echoed.body);
        assert_eq!(echoed.body["sensor_id"], json!(id));
    }
    // Each id reads exactly its own rows: `%` and `_` are no patterns, quotes no SQL.
    for id in &ids {
        let history = call(
            &app,
            get(&format!("/sensors/{}/scores", encode_segment(id))),
        )
        .await;
        assert_eq!(history.status, 200, "{id:?}: {}", history.body);
        assert_eq!(history.body["sensor_id"], json!(id));
        assert_eq!(
            history.body["scores"].as_array().unwrap().len(),
            1,
            "{id:?}"
        );
    }
    let mut stored: Vec<String> = sqlx::query_scalar("SELECT sensor_id FROM sensors")
        .fetch_all(&pool)
        .await
        .unwrap();
    stored.sort();
    ids.sort();
    assert_eq!(stored, ids);
    let n = ids.len() as i64;
    assert_eq!(table_counts(&pool).await, [n, n * 20, 0, n]);
    assert_still_serving(&app).await;
}

/// Values far outside anything seen in training but finite 32-bit floats (sentinel readings such
/// as ±3.4e38 are common in sensor exports): the answer is finite scores or a 422 naming the
/// events, never `null` in a number field, and nothing is stored that cannot be read back.
#[sqlx::test(migrations = "../../migrations")]
async fn extreme_finite_values_never_give_non_finite_scores(pool: PgPool) {
    let app = telltale_server::app(state_with(pool.clone()));
    let extreme: Vec<Value> = (0..50)
        .map(|i| {
            let ts = end_time() - chrono::Duration::hours(50 - i);
            let value = if i % 2 == 0 { 3.4e38 } else { -3.4e38 };
            event(json!(ts.to_rfc3339()), features_with(json!(value)))
        })
        .collect();

    let scored = call(&app, post_json("/score", &json!({"events": extreme}))).await;
    assert_finite_or_rejected(&scored);

    let ingest = call(&app, post_json("/sensors/spiky/events", &json!(extreme))).await;
    assert_eq!(ingest.status, 200, "{}", ingest.body);
    let before = table_counts(&pool).await;
    let anomaly = call(&app, get("/sensors/spiky/anomaly")).await;
    assert_finite_or_rejected(&anomaly);
    if anomaly.status != 200 {
        assert_eq!(
            table_counts(&pool).await,
            before,
            "a rejected score is not stored"
        );
    }
    let history = call(&app, get("/sensors/spiky/scores")).await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert_still_serving(&app).await;
}

fn assert_finite_or_rejected(reply: &Reply) {
    if reply.status != 200 {
        assert_client_error(reply, 422, "", Some("events"));
        return;
    }
    let body = &reply.body;
    let has_head = manifest().graphs.head.is_some();
    let mut numbers = vec![
        &body["score"],
        &body["latent_error"],
        &body["sequence_error"],
    ];
    if has_head {
        numbers.push(&body["alert_probability"]);
    }
    for attribution in body["feature_attribution"].as_array().unwrap() {
        numbers.extend([&attribution["error"], &attribution["share"]]);
    }
    numbers.extend(body["step_errors"].as_array().unwrap());
    let missing = numbers.iter().filter(|v| !v.is_number()).count();
    assert_eq!(missing, 0, "{missing} number fields are null: {body}");
}

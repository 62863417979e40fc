use serde_json::json;

use super::*;

fn names() -> Vec<String> {
    vec!["feature_1".into(), "feature_2".into()]
}

fn event(ts: &str, features: serde_json::Value) -> EventIn {
    EventIn {
        timestamp: ts.into(),
        features: serde_json::from_value(features).unwrap(),
    }
}

#[test]
fn features_by_name_and_in_order_give_the_same_event() {
    let names = names();
    let reader = FeatureReader::new(&names);
    let mut errors = Errors::default();
    let events = reader.events(
        &[
            event(
                "2020-12-20 01:00:34.565",
                json!({"feature_2": 0.1, "feature_1": 0.23}),
            ),
            event("2020-12-20T01:03:13.897Z", json!([0.23, 0.1])),
        ],
        "events",
        Order::Strict,
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events[0].features, vec![0.23, 0.1]);
    assert_eq!(events[1].features, vec![0.23, 0.1]);
}

#[test]
fn each_bad_value_is_named_with_its_field() {
    let names = names();
    let reader = FeatureReader::new(&names);
    let mut errors = Errors::default();
    let events = reader.events(
        &[
            event(
                "2020-12-20 01:00:00",
                json!({"feature_1": "NaN", "feature_9": 1.0}),
            ),
            event("not a time", json!([1.0])),
            event("2020-12-20 00:00:00", json!([1.0, 1e300])),
        ],
        "events",
        Order::Strict,
        &mut errors,
    );
    assert!(events.is_empty());
    let fields: Vec<String> = errors.list.iter().map(|e| e.field.clone()).collect();
    assert_eq!(
        fields,
        [
            "events[0].features.feature_1",
            "events[0].features.feature_9",
            "events[0].features",
            "events[1].timestamp",
            "events[1].features",
            "events[2].timestamp",
            "events[2].features[1]",
        ]
    );
    assert!(errors.list[0].message.contains("NaN"));
    assert!(errors.list[1].message.contains("feature_1, feature_2"));
    assert!(errors.list[5].message.contains("sort events"));
}

#[test]
fn duplicate_timestamps_are_rejected_in_a_window_but_not_in_ingest() {
    let names = names();
    let reader = FeatureReader::new(&names);
    let input = [
        event("2020-12-20 01:00:00", json!([1.0, 2.0])),
        event("2020-12-20T01:00:00Z", json!([1.0, 2.0])),
    ];
    let mut errors = Errors::default();
    reader.events(&input, "events", Order::Strict, &mut errors);
    let err = errors.finish(()).unwrap_err();
    assert!(err.to_string().contains("duplicate timestamp"), "{err}");

    let mut errors = Errors::default();
    assert_eq!(
        reader
            .events(&input, "events", Order::Any, &mut errors)
            .len(),
        2
    );
    assert!(errors.is_empty());
}

#[test]
fn sensor_ids_are_checked() {
    assert!(sensor_id("pump-7").is_ok());
    assert!(sensor_id(" ").is_err());
    assert!(sensor_id("a\nb").is_err());
    assert!(sensor_id(&"x".repeat(129)).is_err());
}

#[test]
fn sensor_ids_allow_any_text_but_control_characters() {
    let longest = "é".repeat(MAX_SENSOR_ID_CHARS);
    for id in [
        "'; DROP TABLE events;--",
        "%_\\",
        "a/b",
        "\u{202e}\u{5e9}\u{1f525}",
        " padded ",
        &longest,
    ] {
        assert!(is_sensor_id(id), "{id:?}");
    }
    let too_long = "é".repeat(MAX_SENSOR_ID_CHARS + 1);
    for id in ["", "\t\u{3000}", "a\0b", "a\u{7f}", "a\u{85}b", &too_long] {
        assert!(!is_sensor_id(id), "{id:?}");
    }
}

#[test]
fn a_window_checks_its_sensor_id() {
    let names = names();
    let reader = FeatureReader::new(&names);
    let request = ScoreRequest {
        sensor_id: Some("a\0b".into()),
        events: vec![event("2020-12-20 01:00:00", json!([1.0, 2.0]))],
        end: None,
    };
    let mut errors = Errors::default();
    let spec = WindowSpec::default();
    let limits = Limits::default();
    window(&request, &reader, &spec, &limits, "windows[3]", &mut errors);
    let err = errors.finish(()).unwrap_err();
    assert!(
        err.to_string().starts_with("windows[3].sensor_id: "),
        "{err}"
    );
}

#[test]
fn many_errors_are_capped_and_counted() {
    let mut errors = Errors::default();
    for i in 0..30 {
        errors.push(format!("events[{i}]"), "bad");
    }
    let ApiError::Invalid { detail, errors } = errors.finish(()).unwrap_err() else {
        panic!("expected a 422");
    };
    assert_eq!(errors.len(), MAX_REPORTED);
    assert!(detail.starts_with("30 problems"), "{detail}");
}

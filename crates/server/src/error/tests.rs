//! Status codes, problem bodies and rejection mapping.

use super::*;

#[test]
fn internal_errors_do_not_leak_their_detail() {
    let err = ApiError::Internal("connection to 10.0.0.3 refused".into());
    let problem = err.problem();
    assert_eq!(problem.status, 500);
    assert!(!problem.detail.contains("10.0.0.3"));
}

#[test]
fn field_errors_carry_the_field_path() {
    let problem = ApiError::field("events[2].timestamp", "not a timestamp").problem();
    assert_eq!(problem.status, 422);
    assert_eq!(
        problem.errors,
        vec![FieldError::new("events[2].timestamp", "not a timestamp")]
    );
    assert!(problem.detail.contains("events[2].timestamp"));
}

#[test]
fn unreachable_database_is_503_without_detail() {
    let refused = std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "connect to 10.0.0.3:5432 refused",
    );
    let err = ApiError::Database(sqlx::Error::Io(refused));
    let problem = err.problem();
    assert_eq!(problem.status, 503);
    assert_eq!(problem.kind, "urn:telltale:problem:unavailable");
    assert!(!problem.detail.contains("10.0.0.3"), "{}", problem.detail);
    assert_eq!(err.retry_after(), Some(DATABASE_RETRY_SECS));
    let response = err.into_response();
    assert_eq!(
        response.headers()[header::RETRY_AFTER],
        DATABASE_RETRY_SECS.to_string().as_str()
    );

    let other = ApiError::Database(sqlx::Error::RowNotFound);
    assert_eq!(other.problem().status, 500);
    assert_eq!(other.retry_after(), None);
}

#[test]
fn overload_is_429() {
    let error = ApiError::Overloaded { capacity: 8 };
    assert_eq!(error.retry_after(), Some(1));
    let problem = error.problem();
    assert_eq!(problem.status, 429);
    assert_eq!(problem.kind, "urn:telltale:problem:overloaded");
}

fn json_problem<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> Problem {
    let rejection = axum::Json::<T>::from_bytes(body.as_bytes()).unwrap_err();
    ApiError::from(rejection).problem()
}

#[test]
fn json_values_of_the_wrong_type_name_their_field() {
    use crate::schema::ScoreRequest;
    let problem =
        json_problem::<ScoreRequest>(r#"{"events": [{"timestamp": 1e20, "features": [1, 2]}]}"#);
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors.len(), 1, "{problem:?}");
    assert_eq!(problem.errors[0].field, "events[0].timestamp");
    assert!(problem.errors[0].message.contains("expected a string"));
    assert!(problem.detail.starts_with("events[0].timestamp: "));

    let problem = json_problem::<ScoreRequest>(r#"{"events": [{"timestamp": "x"}]}"#);
    assert_eq!(
        problem.errors,
        vec![FieldError::new("events[0].features", "missing field")]
    );
    let problem = json_problem::<ScoreRequest>("{}");
    assert_eq!(
        problem.errors,
        vec![FieldError::new("events", "missing field")]
    );
}

#[test]
fn json_of_the_wrong_shape_says_what_was_expected() {
    use crate::schema::ScoreRequest;
    // An array of events sent where a window object is expected.
    let problem = json_problem::<ScoreRequest>(r#"[{"timestamp": "x", "features": []}]"#);
    assert_eq!(problem.status, 422);
    assert!(problem.errors.is_empty());
    assert!(
        problem.detail.contains("expected a window object"),
        "{}",
        problem.detail
    );
}

#[test]
fn numbers_beyond_f64_are_422_but_broken_json_is_400() {
    use crate::schema::ScoreRequest;
    let problem = json_problem::<ScoreRequest>(
        r#"{"events": [{"timestamp": "x", "features": {"f": 1e999}}]}"#,
    );
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors[0].field, "events[0].features.f");
    assert!(problem.errors[0].message.starts_with(OUT_OF_RANGE));

    let problem =
        json_problem::<ScoreRequest>(r#"{"events": [{"timestamp": "x", "features": [NaN]}]}"#);
    assert_eq!(problem.status, 400);
    assert!(
        problem
            .detail
            .starts_with("the body is not valid JSON: events[0].features")
    );
}

#[test]
fn a_root_names_the_fields_of_a_top_level_array() {
    use crate::schema::EventIn;
    let problem = |body: &str| {
        let rejection = axum::Json::<Vec<EventIn>>::from_bytes(body.as_bytes()).unwrap_err();
        ApiError::from_json_rejection(rejection, "events").problem()
    };
    let typed = problem(r#"[{"timestamp": 5, "features": []}]"#);
    assert_eq!(typed.errors[0].field, "events[0].timestamp");
    let missing = problem(r#"[{"timestamp": "x"}]"#);
    assert_eq!(missing.errors[0].field, "events[0].features");
    let shape = problem(r#"{"events": []}"#);
    assert_eq!(shape.errors[0].field, "events");
    assert!(shape.errors[0].message.contains("expected a sequence"));
    let syntax = problem(r#"[{"timestamp": "x", "features": [NaN]}]"#);
    assert_eq!(syntax.status, 400);
    assert!(
        syntax.detail.contains(": events[0].features[0]: "),
        "{}",
        syntax.detail
    );
}

#[test]
fn query_values_name_their_parameter() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Q {
        limit: Option<u32>,
    }
    let uri: axum::http::Uri = "/x?limit=-1".parse().unwrap();
    let rejection = axum::extract::Query::<Q>::try_from_uri(&uri).unwrap_err();
    let problem = ApiError::from(rejection).problem();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors[0].field, "limit");
    assert_eq!(problem.detail, "limit: invalid digit found in string");
}

#[test]
fn the_document_gives_problem_bodies_their_media_type() {
    let mut openapi = crate::openapi();
    document_problem_media_type(&mut openapi);
    let json = serde_json::to_value(&openapi).unwrap();
    let mut problems = 0;
    for (path, item) in json["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(content) = response["content"].as_object() else {
                    continue;
                };
                let is_problem = |media: &str| {
                    content
                        .get(media)
                        .is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem")
                };
                let at = format!("{method} {path} {status}");
                assert!(!is_problem("application/json"), "{at}");
                if is_problem(PROBLEM_MEDIA_TYPE) {
                    problems += 1;
                    assert!(!status.starts_with('2'), "{at}");
                }
            }
        }
    }
    assert!(problems > 10, "{problems}");
}

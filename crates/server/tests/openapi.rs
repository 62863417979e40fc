//! The committed `openapi/openapi.json` must be exactly what the code generates.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json")
}

#[test]
fn committed_spec_matches_the_code() {
    let path = committed_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let generated = telltale_server::openapi_json();
    assert!(
        committed == generated,
        "{} is out of date; regenerate it with\n  cargo run -p telltale-server -- openapi > openapi/openapi.json",
        path.display()
    );
}

#[test]
fn every_endpoint_is_documented() {
    let spec = serde_json::to_value(telltale_server::openapi()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for (path, method) in [
        ("/score", "post"),
        ("/score/batch", "post"),
        ("/sensors/{id}/events", "post"),
        ("/sensors/{id}/anomaly", "get"),
        ("/sensors/{id}/scores", "get"),
        ("/models/current", "get"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
        ("/admin/models/reload", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert_eq!(
        paths.len(),
        10,
        "unexpected paths: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for name in [
        "ScoreRequest",
        "ScoreResponse",
        "Problem",
        "FieldError",
        "EventIn",
        "Features",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Writes and admin name the API key schemes Swagger UI's "Authorize" button offers.
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("api_key") && schemes.contains_key("x_api_key"));
    for (path, method) in [
        ("/sensors/{id}/events", "post"),
        ("/admin/models/reload", "post"),
    ] {
        let security = &paths[path][method]["security"];
        assert!(
            security.to_string().contains("api_key"),
            "{method} {path}: {security}"
        );
    }
}

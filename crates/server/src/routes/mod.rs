//! HTTP routes, one module per resource, each declared once with utoipa so the OpenAPI document
//! and the router cannot drift.

pub mod admin;
pub mod health;
pub mod models;
pub mod score;
pub mod sensors;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Document-level OpenAPI information; paths and schemas come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Telltale",
        description = "Anomaly scores for sensors from 10-day windows of irregular events: an LSTM \
                       autoencoder served with ONNX Runtime, with sensor history in Postgres. Errors \
                       are JSON problem bodies (`type`, `title`, `status`, `detail`, `errors`).",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "scoring", description = "Score windows of events sent in the request"),
        (name = "sensors", description = "Stored sensor history: ingest, score, score history"),
        (name = "models", description = "The loaded model"),
        (name = "operations", description = "Liveness, readiness and metrics")
    ),
    modifiers(&ApiKeys)
)]
struct ApiDoc;

/// The API key schemes (`--api-key-file`): a bearer token or the `X-API-Key` header.
struct ApiKeys;

impl Modify for ApiKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "API key from `telltale-server new-api-key`, needed for writes and \
                         /admin when the server runs with --api-key-file (and for reads with \
                         --protect-reads)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// Every API route with its OpenAPI description (state still to be supplied).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(score::score))
        .routes(routes!(score::score_batch))
        .routes(routes!(sensors::ingest::ingest))
        .routes(routes!(sensors::anomaly::anomaly))
        .routes(routes!(sensors::history::scores))
        .routes(routes!(models::current))
        .routes(routes!(admin::reload))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
}

//! HTTP routes, one module per resource, each declared once with utoipa so the OpenAPI document
//! and the router cannot drift.

pub mod health;
pub mod models;
pub mod score;
pub mod sensors;

use utoipa::OpenApi;
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
    )
)]
struct ApiDoc;

/// Every API route with its OpenAPI description (state still to be supplied).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(score::score))
        .routes(routes!(score::score_batch))
        .routes(routes!(sensors::ingest::ingest))
        .routes(routes!(sensors::anomaly::anomaly))
        .routes(routes!(sensors::history::scores))
        .routes(routes!(models::current))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
}

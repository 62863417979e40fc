//! `GET /health` (process up), `GET /ready` (model and database usable), `GET /metrics`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// How long `/ready` waits for the database.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// Readiness answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// `ready`.
    pub status: String,
    /// Id of the loaded model.
    pub model_id: String,
    /// Windows waiting for inference.
    pub queue_depth: usize,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Health))
)]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The model is loaded (inference worker running) and the database answers.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "Model or database unavailable, or shutting down", body = Problem),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        return Err(ApiError::Unavailable("the server is shutting down".into()));
    }
    let serving = state.serving();
    if !serving.infer.is_running() {
        return Err(ApiError::Unavailable(
            "the inference worker is not running".into(),
        ));
    }
    let db_ok = tokio::time::timeout(DB_CHECK_TIMEOUT, crate::db::ping(&state.db))
        .await
        .unwrap_or(false);
    if !db_ok {
        return Err(ApiError::Unavailable(
            "the database is not reachable".into(),
        ));
    }
    Ok(Json(Readiness {
        status: "ready".into(),
        model_id: serving.model.id.clone(),
        queue_depth: serving.infer.queue_depth(),
    }))
}

/// Prometheus metrics (text exposition format), names prefixed `telltale_`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "Prometheus text format",
        body = String,
        content_type = "text/plain; version=0.0.4"
    ))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("telltale_inference_queue_depth").set(state.infer().queue_depth() as f64);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

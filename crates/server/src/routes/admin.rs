//! `POST /admin/models/reload`: load a model directory and swap it in without a restart.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem, problem_response};
use crate::schema::ModelRef;
use crate::serving::ReloadError;
use crate::state::AppState;

/// Which model directory to load.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReloadRequest {
    /// Model directory on the server's filesystem (written by `telltale-trainer train`).
    /// Default: the directory the current model was loaded from, read again (deploy a new
    /// version by replacing what that path points to).
    pub model_dir: Option<String>,
}

/// The outcome of a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReloadResponse {
    /// The model served before.
    pub previous: ModelRef,
    /// The model serving now.
    pub current: ModelRef,
}

/// Load a model directory, check it, and swap it in atomically.
///
/// The new model must load in ONNX Runtime, read the same features as the current one and score
/// a probe window to finite numbers; otherwise it is refused and the current model keeps serving.
/// Requests in flight finish on the model they started with. Needs an API key (`--api-key-file`);
/// without keys configured it answers 403. SIGHUP does the same as a call without a body.
#[utoipa::path(
    post,
    path = "/admin/models/reload",
    tag = "models",
    request_body(content = Option<ReloadRequest>, description = "Optional (an empty body reloads the current directory)"),
    responses(
        (status = 200, description = "The new model serves", body = ReloadResponse),
        (status = 400, description = "Body is not valid JSON", body = Problem),
        (status = 401, description = "Missing or invalid API key", body = Problem),
        (status = 403, description = "Admin endpoints are disabled (no API keys configured)", body = Problem),
        (status = 409, description = "Another reload is running", body = Problem),
        (status = 422, description = "The model cannot be loaded or is incompatible; the old one keeps serving", body = Problem),
    ),
    security(("api_key" = []), ("x_api_key" = []))
)]
pub async fn reload(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request: ReloadRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReloadRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(err) => {
                return ApiError::BadRequest(format!("the body is not a reload request: {err}"))
                    .into_response();
            }
        }
    };
    let dir = request.model_dir.map(PathBuf::from);
    match state.models.reload(dir).await {
        Ok(done) => Json(ReloadResponse {
            previous: ModelRef::from(done.previous.as_ref()),
            current: ModelRef::from(done.current.as_ref()),
        })
        .into_response(),
        Err(err) => {
            let (status, slug, title) = match &err {
                ReloadError::Busy => (
                    StatusCode::CONFLICT,
                    "reload-in-progress",
                    "Reload in progress",
                ),
                ReloadError::Load { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "model-not-loadable",
                    "Model cannot be loaded",
                ),
                ReloadError::Incompatible { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "model-incompatible",
                    "Model is incompatible",
                ),
            };
            problem_response(&Problem {
                kind: format!("urn:telltale:problem:{slug}"),
                title: title.into(),
                status: status.as_u16(),
                detail: format!("{err}; the previous model keeps serving"),
                errors: Vec::new(),
            })
        }
    }
}

//! `POST /score` and `POST /score/batch`: score windows sent in the request (nothing stored).

use axum::Json;
use axum::extract::State;
use telltale_scorer::ScorerError;

use crate::error::{ApiError, ApiJson, Problem};
use crate::inference::InferError;
use crate::schema::{BatchScoreRequest, BatchScoreResponse, ScoreRequest, ScoreResponse};
use crate::state::AppState;
use crate::validate::{self, Errors, FeatureReader};

/// Score one window of events.
#[utoipa::path(
    post,
    path = "/score",
    tag = "scoring",
    request_body(content = ScoreRequest, description = "Events of one window, sorted by time"),
    responses(
        (status = 200, description = "Scores of the window", body = ScoreResponse),
        (status = 400, description = "Body is not valid JSON", body = Problem),
        (status = 413, description = "Body larger than the server's limit", body = Problem),
        (status = 415, description = "Content-Type is not application/json", body = Problem),
        (status = 422, description = "Invalid events; `errors` names each field", body = Problem),
        (status = 429, description = "Inference queue full; retry shortly", body = Problem),
        (status = 503, description = "Server shutting down", body = Problem),
    )
)]
pub async fn score(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ScoreRequest>,
) -> Result<Json<ScoreResponse>, ApiError> {
    let model = state.model();
    let reader = FeatureReader::new(model.features());
    let spec = model.manifest.window;
    let mut errors = Errors::default();
    let window = validate::window(&request, &reader, &spec, &state.limits, "", &mut errors);
    let window = errors
        .finish(window)?
        .ok_or_else(|| ApiError::Internal("no window".into()))?;
    let (serving, scored) = state
        .models
        .score(window)
        .await
        .map_err(|e| inference_error(e, None))?;
    Ok(Json(ScoreResponse::new(
        request.sensor_id,
        scored,
        &serving.model,
    )))
}

/// Score several windows in one request (they join the same dynamic batches).
#[utoipa::path(
    post,
    path = "/score/batch",
    tag = "scoring",
    request_body(content = BatchScoreRequest, description = "Windows to score"),
    responses(
        (status = 200, description = "Scores, in request order", body = BatchScoreResponse),
        (status = 400, description = "Body is not valid JSON", body = Problem),
        (status = 413, description = "Body larger than the server's limit", body = Problem),
        (status = 415, description = "Content-Type is not application/json", body = Problem),
        (status = 422, description = "Invalid windows; `errors` names each field", body = Problem),
        (status = 429, description = "Inference queue full; retry shortly", body = Problem),
        (status = 503, description = "Server shutting down", body = Problem),
    )
)]
pub async fn score_batch(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<BatchScoreRequest>,
) -> Result<Json<BatchScoreResponse>, ApiError> {
    let limits = state.limits;
    let count = request.windows.len();
    if count == 0 || count > limits.max_batch_windows {
        return Err(ApiError::field(
            "windows",
            format!(
                "{count} windows given; send 1 to {} (server --max-batch-windows)",
                limits.max_batch_windows
            ),
        ));
    }
    let model = state.model();
    let reader = FeatureReader::new(model.features());
    let spec = model.manifest.window;
    let mut errors = Errors::default();
    let windows: Vec<_> = request
        .windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            validate::window(
                w,
                &reader,
                &spec,
                &limits,
                &format!("windows[{i}]"),
                &mut errors,
            )
        })
        .collect();
    let windows = errors.finish(windows)?;
    let (serving, results) = state
        .models
        .score_many(windows)
        .await
        .map_err(|e| inference_error(e, None))?;
    let mut out = Vec::with_capacity(count);
    for (i, (result, window)) in results.into_iter().zip(request.windows).enumerate() {
        let scored = result.map_err(|e| inference_error(e, Some(i)))?;
        out.push(ScoreResponse::new(window.sensor_id, scored, &serving.model));
    }
    Ok(Json(BatchScoreResponse { results: out }))
}

/// Map an inference failure to the answer; `index` names the window of a batch.
pub fn inference_error(err: InferError, index: Option<usize>) -> ApiError {
    let field = index.map_or_else(|| "events".to_string(), |i| format!("windows[{i}].events"));
    match err {
        InferError::Overloaded { capacity } => ApiError::Overloaded { capacity },
        InferError::Closed => ApiError::Unavailable("the server is shutting down; retry".into()),
        InferError::Window(err) => ApiError::field(field, err.to_string()),
        InferError::Scorer(ScorerError::Input(message)) => ApiError::field(field, message),
        InferError::Scorer(err) => ApiError::Scorer(err),
        InferError::Failed(message) => ApiError::Internal(message),
    }
}

//! `GET /sensors/{id}/anomaly`: score the window of stored events and store the score.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::db;
use crate::error::{ApiError, ApiPath, ApiQuery, Problem};
use crate::inference::{InferError, WindowRequest};
use crate::routes::score::inference_error;
use crate::schema::ScoreResponse;
use crate::state::AppState;
use crate::validate::{self, Errors};

/// Stored events read for one window at most, as a multiple of `--max-events`.
const STORED_EVENTS_FACTOR: usize = 10;

/// Which window to score.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnomalyQuery {
    /// End of the window (ISO-8601 or `YYYY-MM-DD HH:MM:SS[.fff]`); default: the sensor's latest
    /// event.
    pub at: Option<String>,
}

/// Score a sensor's stored window ending at `at`, store the score with the model id, return it.
#[utoipa::path(
    get,
    path = "/sensors/{id}/anomaly",
    tag = "sensors",
    params(("id" = String, Path, description = "Sensor id"), AnomalyQuery),
    responses(
        (status = 200, description = "Scores of the window (also stored)", body = ScoreResponse),
        (status = 404, description = "Unknown sensor", body = Problem),
        (status = 409, description = "Sensor stored with other features than the model's", body = Problem),
        (status = 422, description = "Bad `at`, or too few events in the window", body = Problem),
        (status = 429, description = "Inference queue full; retry shortly", body = Problem),
        (status = 503, description = "Database unavailable (retry after `Retry-After` seconds) or server shutting down", body = Problem),
    )
)]
pub async fn anomaly(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AnomalyQuery>,
) -> Result<Json<ScoreResponse>, ApiError> {
    validate::sensor_id(&id)?;
    let mut errors = Errors::default();
    let at = validate::optional_timestamp(query.at.as_deref(), "at", &mut errors);
    errors.finish(())?;
    super::known_sensor(&state, &id).await?;
    let end = match at {
        Some(at) => at,
        None => db::latest_event(&state.db, &id).await?.ok_or_else(|| {
            ApiError::Unprocessable(format!("sensor `{id}` has no stored events"))
        })?,
    };
    let start = validate::window_start(end, &state.model().manifest.window).ok_or_else(|| {
        ApiError::field(
            "at",
            "the window would start before the supported time range",
        )
    })?;
    let cap = state.limits.max_events.saturating_mul(STORED_EVENTS_FACTOR);
    let events = db::window_events(&state.db, &id, start, end, cap.saturating_add(1)).await?;
    if events.len() > cap {
        return Err(ApiError::Unprocessable(format!(
            "sensor `{id}` has more than {cap} events in the window [{start}, {end}]; the server \
             scores at most {STORED_EVENTS_FACTOR} × --max-events stored events per window"
        )));
    }
    if events.len() < state.limits.min_events {
        return Err(ApiError::Unprocessable(format!(
            "sensor `{id}` has {} events in the window [{start}, {end}]; at least {} are needed to \
             score it",
            events.len(),
            state.limits.min_events
        )));
    }
    let (serving, scored) = state
        .models
        .score(WindowRequest {
            events,
            end: Some(end),
        })
        .await
        .map_err(|err| match err {
            InferError::Window(err) => ApiError::Unprocessable(format!("sensor `{id}`: {err}")),
            other => inference_error(other, None),
        })?;
    let response = ScoreResponse::new(Some(id.clone()), scored, &serving.model);
    db::insert_score(&state.db, &id, &response).await?;
    Ok(Json(response))
}

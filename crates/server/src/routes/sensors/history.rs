//! `GET /sensors/{id}/scores`: a sensor's stored scores, newest first.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{self, ScoreRow};
use crate::error::{ApiError, ApiPath, ApiQuery, Problem};
use crate::schema::{FeatureAttribution, ModelRef, PeakSpan, WindowOut};
use crate::state::AppState;
use crate::validate;

/// Most scores returned by one request.
pub const MAX_LIMIT: u32 = 1000;

/// How many scores to return.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoresQuery {
    /// Number of scores, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

/// One stored score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredScore {
    pub id: i64,
    pub scored_at: DateTime<Utc>,
    pub score: f32,
    pub threshold: f32,
    pub is_anomaly: bool,
    pub latent_error: f32,
    pub sequence_error: f32,
    pub alert_probability: Option<f32>,
    pub feature_attribution: Vec<FeatureAttribution>,
    /// The stretch behind a peak score (null for other scorers and older scores).
    pub peak: Option<PeakSpan>,
    pub window: WindowOut,
    pub model: ModelRef,
}

/// A sensor's score history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreHistory {
    pub sensor_id: String,
    /// Newest first.
    pub scores: Vec<StoredScore>,
}

impl From<ScoreRow> for StoredScore {
    fn from(row: ScoreRow) -> Self {
        Self {
            id: row.id,
            scored_at: row.scored_at,
            score: row.score,
            threshold: row.threshold,
            is_anomaly: row.is_anomaly,
            latent_error: row.latent_error,
            sequence_error: row.sequence_error,
            alert_probability: row.alert_probability,
            feature_attribution: row.feature_attribution.0,
            peak: row
                .peak_start
                .zip(row.peak_end)
                .map(|(start, end)| PeakSpan { start, end }),
            window: WindowOut {
                start: row.window_start,
                end: row.window_end,
                steps: usize::try_from(row.steps).unwrap_or(0),
                events_used: usize::try_from(row.events_used).unwrap_or(0),
            },
            model: ModelRef {
                id: row.model_id,
                version: row.model_version,
            },
        }
    }
}

/// List a sensor's stored scores, newest first.
#[utoipa::path(
    get,
    path = "/sensors/{id}/scores",
    tag = "sensors",
    params(("id" = String, Path, description = "Sensor id"), ScoresQuery),
    responses(
        (status = 200, description = "Stored scores, newest first", body = ScoreHistory),
        (status = 404, description = "Unknown sensor", body = Problem),
        (status = 422, description = "`limit` out of range", body = Problem),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem),
    )
)]
pub async fn scores(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ScoresQuery>,
) -> Result<Json<ScoreHistory>, ApiError> {
    validate::sensor_id(&id)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("{limit} is out of range; use 1 to {MAX_LIMIT}"),
        ));
    }
    if db::sensor_features(&state.db, &id).await?.is_none() {
        return Err(ApiError::NotFound(format!("unknown sensor `{id}`")));
    }
    let rows = db::list_scores(&state.db, &id, limit).await?;
    Ok(Json(ScoreHistory {
        sensor_id: id,
        scores: rows.into_iter().map(Into::into).collect(),
    }))
}

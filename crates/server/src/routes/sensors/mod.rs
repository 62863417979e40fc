//! `/sensors/{id}/…`: ingest events, score the stored window, list stored scores.

pub mod anomaly;
pub mod history;
pub mod ingest;

use crate::error::ApiError;
use crate::state::AppState;

/// Feature names of a known sensor, checked against the model's; 404 / 409 otherwise.
pub(crate) async fn known_sensor(state: &AppState, id: &str) -> Result<(), ApiError> {
    let stored = crate::db::sensor_features(&state.db, id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "unknown sensor `{id}`; send its events to POST /sensors/{id}/events first"
            ))
        })?;
    check_features(id, &stored, state.model().features())
}

/// A sensor's stored events must have the model's features in the model's order.
pub(crate) fn check_features(
    id: &str,
    stored: &[String],
    model: &[String],
) -> Result<(), ApiError> {
    if stored == model {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "sensor `{id}` is stored with features [{}] but the loaded model uses [{}]",
        stored.join(", "),
        model.join(", ")
    )))
}

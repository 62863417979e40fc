//! `POST /sensors/{id}/events`: store events (JSON array or the seed's CSV), all or nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telltale_core::Event;
use telltale_core::events::{ReadOptions, read_events};
use utoipa::ToSchema;

use crate::db;
use crate::error::{ApiError, ApiPath, Problem};
use crate::schema::EventIn;
use crate::state::AppState;
use crate::validate::{self, Errors, FeatureReader, Order};

/// What an ingest request stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IngestResponse {
    pub sensor_id: String,
    /// Events in the request.
    pub received: u64,
    /// Events newly stored.
    pub inserted: u64,
    /// Events not stored because their timestamp was already stored or repeated in the request.
    pub duplicates: u64,
    /// Alert labels stored (CSV with a label column: one per window).
    pub labels: u64,
}

/// Events of one request, in model feature order, sorted, one per timestamp.
struct Parsed {
    received: u64,
    events: Vec<Event>,
    labels: Vec<(DateTime<Utc>, bool)>,
}

/// Store events of a sensor (created on first use).
#[utoipa::path(
    post,
    path = "/sensors/{id}/events",
    tag = "sensors",
    params(("id" = String, Path, description = "Sensor id (1 to 128 characters)")),
    request_body(
        description = "A JSON array of events, or CSV in the seed's format \
                       (`sensor_id,timestamp,feature_1,…[,10_days_alert_label]`, rows of this \
                       sensor only). Idempotent on (sensor, timestamp); all or nothing.",
        content(
            (Vec<EventIn> = "application/json"),
            (String = "text/csv"),
        )
    ),
    responses(
        (status = 200, description = "Stored", body = IngestResponse),
        (status = 400, description = "Body is not valid JSON", body = Problem),
        (status = 401, description = "API key missing or invalid (with --api-key-file)", body = Problem),
        (status = 409, description = "Sensor stored with other features than the model's", body = Problem),
        (status = 413, description = "Body larger than the server's limit", body = Problem),
        (status = 415, description = "Neither application/json nor text/csv", body = Problem),
        (status = 422, description = "Invalid events; nothing was stored", body = Problem),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds \
                                      (safe: ingest is idempotent)", body = Problem),
    ),
    security((), ("api_key" = []), ("x_api_key" = []))
)]
pub async fn ingest(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, ApiError> {
    validate::sensor_id(&id)?;
    let body = body?;
    let model = state.model();
    let features = model.features();
    let parsed = match media_type(&headers).as_deref() {
        Some("application/json") => parse_json(&body, features)?,
        Some("text/csv") => parse_csv(&body, &id, features)?,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type {} is not accepted; send application/json (an array of events) \
                 or text/csv (the seed's format)",
                other.map_or_else(|| "(missing)".to_string(), |t| format!("`{t}`"))
            )));
        }
    };
    let mut tx = state.db.begin().await?;
    let stored = db::ensure_sensor(&mut tx, &id, features).await?;
    super::check_features(&id, &stored, features)?;
    let inserted = db::insert_events(&mut tx, &id, &parsed.events, features.len()).await?;
    db::upsert_labels(&mut tx, &id, &parsed.labels).await?;
    tx.commit().await?;
    let duplicates = parsed.received - inserted;
    metrics::counter!("telltale_ingest_events_total", "outcome" => "inserted").increment(inserted);
    metrics::counter!("telltale_ingest_events_total", "outcome" => "duplicate")
        .increment(duplicates);
    Ok(Json(IngestResponse {
        sensor_id: id,
        received: parsed.received,
        inserted,
        duplicates,
        labels: parsed.labels.len() as u64,
    }))
}

/// `application/json; charset=utf-8` → `application/json`; `+json` types count as JSON.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    if essence.ends_with("+json") {
        return Some("application/json".into());
    }
    Some(essence)
}

fn parse_json(body: &[u8], features: &[String]) -> Result<Parsed, ApiError> {
    let Json(events) = Json::<Vec<EventIn>>::from_bytes(body)
        .map_err(|rejection| ApiError::from_json_rejection(rejection, "events"))?;
    if events.is_empty() {
        return Err(ApiError::field(
            "events",
            "the array is empty; send at least one event",
        ));
    }
    let mut errors = Errors::default();
    let parsed = FeatureReader::new(features).events(&events, "events", Order::Any, &mut errors);
    let parsed = errors.finish(parsed)?;
    Ok(Parsed {
        received: events.len() as u64,
        events: sort_unique(parsed),
        labels: Vec::new(),
    })
}

fn parse_csv(body: &[u8], id: &str, features: &[String]) -> Result<Parsed, ApiError> {
    let file = read_events(body, "request body", &ReadOptions::default())
        .map_err(|err| ApiError::field("body", err.to_string()))?;
    let mut column_of = Vec::with_capacity(features.len());
    let mut errors = Errors::default();
    for name in features {
        match file.feature_names.iter().position(|n| n == name) {
            Some(j) => column_of.push(j),
            None => errors.push("body", format!("missing feature column `{name}`")),
        }
    }
    for name in file.feature_names.iter().filter(|n| !features.contains(n)) {
        errors.push(
            "body",
            format!(
                "unknown feature column `{name}`; the model's features are {}",
                features.join(", ")
            ),
        );
    }
    for window in file.windows.iter().filter(|w| w.sensor_id != id) {
        errors.push(
            "body",
            format!(
                "rows for sensor `{}` in a request for sensor `{id}`; post each sensor's rows to \
                 its own URL",
                window.sensor_id
            ),
        );
    }
    errors.finish(())?;
    let mut events = Vec::new();
    let mut labels = Vec::new();
    for window in file.windows {
        if let (Some(label), Some(last)) = (window.label, window.events.last()) {
            labels.push((last.timestamp, label));
        }
        events.extend(window.events.into_iter().map(|e| Event {
            timestamp: e.timestamp,
            features: column_of.iter().map(|&j| e.features[j]).collect(),
        }));
    }
    Ok(Parsed {
        received: file.report.rows,
        events: sort_unique(events),
        labels,
    })
}

/// Sort by timestamp; of events with the same timestamp keep the last one sent.
fn sort_unique(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| e.timestamp); // stable: equal timestamps keep request order
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    for event in events {
        match out.last_mut() {
            Some(last) if last.timestamp == event.timestamp => *last = event,
            _ => out.push(event),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn later_duplicates_win_and_order_is_by_time() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        let ev = |s, v| Event {
            timestamp: at(s),
            features: vec![v],
        };
        let out = sort_unique(vec![ev(20, 1.0), ev(10, 2.0), ev(20, 3.0)]);
        assert_eq!(out, vec![ev(10, 2.0), ev(20, 3.0)]);
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "Text/CSV; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(media_type(&headers).as_deref(), Some("text/csv"));
        headers.insert(
            header::CONTENT_TYPE,
            "application/vnd.x+json".parse().unwrap(),
        );
        assert_eq!(media_type(&headers).as_deref(), Some("application/json"));
    }
}

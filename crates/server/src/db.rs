//! Postgres access: pool, migrations, sensor history and stored scores (runtime queries).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row, Transaction};
use telltale_core::Event;

use crate::schema::{FeatureAttribution, ScoreResponse};

/// Rows per bulk `INSERT … SELECT FROM UNNEST` statement.
const INSERT_CHUNK: usize = 20_000;

/// How long start-up waits for the first database connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request waits for a pooled connection. While the database is down, the pool keeps
/// trying to connect for this long, then the request is answered 503; short, so clients learn
/// quickly, long enough for a busy pool to hand out a connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Open a pool. One direct connection is made first so that an unreachable or misconfigured
/// database reports its own error (refused, bad password, unknown database), not a pool timeout.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    probe.close().await?;
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A pooled connection is checked before use, so connections broken by a database restart
        // are replaced instead of failing the next request.
        .test_before_acquire(true)
        .connect_with(options)
        .await
}

/// True when `err` means the database cannot be reached or is not accepting work right now
/// (refused or broken connection, pool timeout, database shutting down or starting up), so the
/// request may succeed when retried. Other errors are bugs or bad data.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// SQLSTATE codes of a database that is unreachable, shutting down, starting up or full:
/// class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now, 53300 too many connections.
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Apply the migrations under `migrations/` (embedded at compile time).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("../../migrations").run(pool).await
}

/// True when a trivial query answers.
pub async fn ping(pool: &PgPool) -> bool {
    sqlx::query("SELECT 1").execute(pool).await.is_ok()
}

/// Feature names a sensor's events are stored with; `None` for an unknown sensor.
pub async fn sensor_features(
    pool: &PgPool,
    sensor_id: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT feature_names FROM sensors WHERE sensor_id = $1")
        .bind(sensor_id)
        .fetch_optional(pool)
        .await
}

/// Create the sensor if needed and return the feature names it is stored with.
pub async fn ensure_sensor(
    tx: &mut Transaction<'_, Postgres>,
    sensor_id: &str,
    feature_names: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(
        "INSERT INTO sensors (sensor_id, feature_names) VALUES ($1, $2) \
         ON CONFLICT (sensor_id) DO NOTHING",
    )
    .bind(sensor_id)
    .bind(feature_names)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar("SELECT feature_names FROM sensors WHERE sensor_id = $1 FOR SHARE")
        .bind(sensor_id)
        .fetch_one(&mut **tx)
        .await
}

/// Insert events (features in the sensor's order), skipping timestamps already stored. Returns
/// the number of new rows. One statement per chunk: timestamps and a flat value array are
/// unnested together, each row's features sliced out of the flat array.
pub async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    sensor_id: &str,
    events: &[Event],
    n_features: usize,
) -> Result<u64, sqlx::Error> {
    let mut inserted = 0;
    for chunk in events.chunks(INSERT_CHUNK) {
        let timestamps: Vec<DateTime<Utc>> = chunk.iter().map(|e| e.timestamp).collect();
        let values: Vec<f32> = chunk
            .iter()
            .flat_map(|e| e.features.iter().copied())
            .collect();
        let result = sqlx::query(
            "INSERT INTO events (sensor_id, ts, features) \
             SELECT $1, t.ts, ($3::real[])[((t.i - 1) * $4 + 1)::int : (t.i * $4)::int] \
             FROM UNNEST($2::timestamptz[]) WITH ORDINALITY AS t(ts, i) \
             ON CONFLICT (sensor_id, ts) DO NOTHING",
        )
        .bind(sensor_id)
        .bind(&timestamps)
        .bind(&values)
        .bind(n_features as i32)
        .execute(&mut **tx)
        .await?;
        inserted += result.rows_affected();
    }
    Ok(inserted)
}

/// Store (or replace) alert labels, each for the window ending at its timestamp.
pub async fn upsert_labels(
    tx: &mut Transaction<'_, Postgres>,
    sensor_id: &str,
    labels: &[(DateTime<Utc>, bool)],
) -> Result<(), sqlx::Error> {
    if labels.is_empty() {
        return Ok(());
    }
    let ends: Vec<DateTime<Utc>> = labels.iter().map(|l| l.0).collect();
    let alerts: Vec<bool> = labels.iter().map(|l| l.1).collect();
    sqlx::query(
        "INSERT INTO labels (sensor_id, window_end, alert) \
         SELECT $1, l.window_end, l.alert FROM UNNEST($2::timestamptz[], $3::bool[]) \
         AS l(window_end, alert) \
         ON CONFLICT (sensor_id, window_end) DO UPDATE SET alert = EXCLUDED.alert",
    )
    .bind(sensor_id)
    .bind(&ends)
    .bind(&alerts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Timestamp of the sensor's latest event.
pub async fn latest_event(
    pool: &PgPool,
    sensor_id: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(ts) FROM events WHERE sensor_id = $1")
        .bind(sensor_id)
        .fetch_one(pool)
        .await
}

/// Events with `from <= ts <= to`, oldest first, at most `limit` (the newest ones when more).
pub async fn window_events(
    pool: &PgPool,
    sensor_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ts, features FROM events WHERE sensor_id = $1 AND ts >= $2 AND ts <= $3 \
         ORDER BY ts DESC LIMIT $4",
    )
    .bind(sensor_id)
    .bind(from)
    .bind(to)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    let mut events = rows
        .into_iter()
        .map(|row| {
            Ok(Event {
                timestamp: row.try_get("ts")?,
                features: row.try_get("features")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    events.reverse();
    Ok(events)
}

/// Events a sensor has in `[from, to]`.
pub async fn count_events(
    pool: &PgPool,
    sensor_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE sensor_id = $1 AND ts >= $2 AND ts <= $3")
        .bind(sensor_id)
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await
}

/// A stored score row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScoreRow {
    pub id: i64,
    pub sensor_id: String,
    pub model_id: String,
    pub model_version: String,
    pub scored_at: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub steps: i32,
    pub events_used: i32,
    pub score: f32,
    pub threshold: f32,
    pub is_anomaly: bool,
    pub latent_error: f32,
    pub sequence_error: f32,
    pub alert_probability: Option<f32>,
    pub feature_attribution: sqlx::types::Json<Vec<FeatureAttribution>>,
    pub peak_start: Option<DateTime<Utc>>,
    pub peak_end: Option<DateTime<Utc>>,
}

/// Store a score; returns its id and time.
pub async fn insert_score(
    pool: &PgPool,
    sensor_id: &str,
    score: &ScoreResponse,
) -> Result<(i64, DateTime<Utc>), sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO scores (sensor_id, model_id, model_version, window_start, window_end, steps, \
         events_used, score, threshold, is_anomaly, latent_error, sequence_error, \
         alert_probability, feature_attribution, peak_start, peak_end) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         RETURNING id, scored_at",
    )
    .bind(sensor_id)
    .bind(&score.model.id)
    .bind(&score.model.version)
    .bind(score.window.start)
    .bind(score.window.end)
    .bind(i32::try_from(score.window.steps).unwrap_or(i32::MAX))
    .bind(i32::try_from(score.window.events_used).unwrap_or(i32::MAX))
    .bind(score.score)
    .bind(score.threshold)
    .bind(score.is_anomaly)
    .bind(score.latent_error)
    .bind(score.sequence_error)
    .bind(score.alert_probability)
    .bind(sqlx::types::Json(&score.feature_attribution))
    .bind(score.peak.as_ref().map(|p| p.start))
    .bind(score.peak.as_ref().map(|p| p.end))
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("id")?, row.try_get("scored_at")?))
}

/// A sensor's stored scores, newest first.
pub async fn list_scores(
    pool: &PgPool,
    sensor_id: &str,
    limit: u32,
) -> Result<Vec<ScoreRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, sensor_id, model_id, model_version, scored_at, window_start, window_end, steps, \
         events_used, score, threshold, is_anomaly, latent_error, sequence_error, \
         alert_probability, feature_attribution, peak_start, peak_end \
         FROM scores WHERE sensor_id = $1 ORDER BY scored_at DESC, id DESC LIMIT $2",
    )
    .bind(sensor_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_others_are_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_unavailable(&sqlx::Error::Io(refused)));
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::PoolClosed));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::Protocol(
            "bad message".into()
        )));
        for code in ["08006", "08001", "57P01", "57P02", "57P03", "53300"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "40001"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}

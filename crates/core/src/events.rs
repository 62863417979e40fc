//! Reading the seed's events CSV and SKAB-like long series (DESIGN §1).
//!
//! STUB: signatures are the contract; bodies are being implemented.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::DataError;

/// One sensor reading: a timestamp and one value per feature, in `EventsFile::feature_names` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: DateTime<Utc>,
    pub features: Vec<f32>,
}

/// All events of one sensor (or one sensor + `window_id`): one window with at most one label.
/// `events` are sorted by timestamp with duplicate timestamps removed (the last row wins).
#[derive(Debug, Clone, PartialEq)]
pub struct SensorWindow {
    pub sensor_id: String,
    pub window_id: Option<String>,
    pub label: Option<bool>,
    pub events: Vec<Event>,
}

/// Options for reading an events file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Name of the label column; `None` means: the column whose name ends in `alert_label`, else a
    /// column named `label`, else no labels.
    pub label_column: Option<String>,
    /// Drop rows with bad values (and count them) instead of failing on the first one.
    pub drop_bad_rows: bool,
}

/// What reading a file found besides the data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Rows dropped because of bad values (only with `drop_bad_rows`).
    pub dropped_rows: u64,
    /// Rows that repeated a (sensor, window, timestamp) and were replaced by a later row.
    pub duplicate_rows: u64,
    /// First few drop reasons, `file:line:col: message`, for the user.
    pub drop_examples: Vec<String>,
}

/// A parsed events file: windows in order of first appearance of their sensor id.
#[derive(Debug, Clone)]
pub struct EventsFile {
    pub feature_names: Vec<String>,
    pub label_column: Option<String>,
    pub windows: Vec<SensorWindow>,
    pub report: ReadReport,
}

/// Read an events CSV (`sensor_id,timestamp,feature_1,…[,label]`, delimiter `,` `;` or tab).
pub fn read_events_csv(path: &Path, options: &ReadOptions) -> Result<EventsFile, DataError> {
    let _ = (path, options);
    todo!("core: read_events_csv")
}

/// Same as [`read_events_csv`] from any reader; `source` names it in errors.
pub fn read_events<R: Read>(
    reader: R,
    source: &str,
    options: &ReadOptions,
) -> Result<EventsFile, DataError> {
    let _ = (reader, source, options);
    todo!("core: read_events")
}

/// Parse an ISO-8601 / RFC 3339 timestamp or `YYYY-MM-DD HH:MM:SS[.fff]` (UTC unless an offset is
/// given). The error says what was expected.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let _ = text;
    todo!("core: parse_timestamp")
}

/// One SKAB-like run: rows sorted by time, with a per-row anomaly flag.
#[derive(Debug, Clone)]
pub struct LongSeries {
    pub source: String,
    pub feature_names: Vec<String>,
    pub timestamps: Vec<DateTime<Utc>>,
    /// `values[row][feature]`
    pub values: Vec<Vec<f32>>,
    pub anomaly: Vec<bool>,
}

impl LongSeries {
    /// Cut the series into windows by time: each window covers `(end - window, end]`, ends advance
    /// by `stride` starting at the first row's time + window (or at the first row when the series is
    /// shorter). Window label: any anomalous row. `sensor_id` is the source name, `window_id` the
    /// end index.
    pub fn windows(&self, window: chrono::Duration, stride: chrono::Duration) -> Vec<SensorWindow> {
        let _ = (window, stride);
        todo!("core: LongSeries::windows")
    }

    /// The window ending at row `end_row` (inclusive) and covering `window` of time back from it.
    pub fn window_ending_at(&self, end_row: usize, window: chrono::Duration) -> SensorWindow {
        let _ = (end_row, window);
        todo!("core: LongSeries::window_ending_at")
    }
}

/// Options for long series files.
#[derive(Debug, Clone)]
pub struct LongSeriesOptions {
    /// Name of the per-row label column (default `anomaly`).
    pub label_column: String,
    /// Columns to ignore besides the label (SKAB: `changepoint`).
    pub ignore_columns: Vec<String>,
    pub drop_bad_rows: bool,
}

impl Default for LongSeriesOptions {
    fn default() -> Self {
        Self {
            label_column: "anomaly".into(),
            ignore_columns: vec!["changepoint".into()],
            drop_bad_rows: false,
        }
    }
}

/// Read a long-series CSV (timestamp column first or named `datetime`/`timestamp`).
pub fn read_long_series(path: &Path, options: &LongSeriesOptions) -> Result<LongSeries, DataError> {
    let _ = (path, options);
    todo!("core: read_long_series")
}

//! Reading the seed's events CSV and SKAB-like long series (DESIGN §1).
//!
//! An events file has a header; the sensor id column (`sensor_id`, or `sensor` / `id`) and the
//! timestamp column (`timestamp`, or `time` / `datetime` / `ts`) are found by name (any case), an
//! optional `window_id` column splits a sensor's rows into several windows, the label column is
//! optional, and every other column is a numeric feature.

mod cells;
mod group;
mod long_series;
mod table;
mod timestamp;

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::DataError;
use cells::{parse_label, parse_number, parse_text};
use group::Grouper;
use table::{BadRows, Table};

pub use long_series::{
    LongSeries, LongSeriesOptions, read_long_series, read_long_series_from, read_long_series_report,
};
pub use timestamp::{YEAR_RANGE, parse_timestamp};

/// Accepted names of the sensor id column, in order of preference.
pub const SENSOR_COLUMNS: [&str; 3] = ["sensor_id", "sensor", "id"];
/// Accepted names of the timestamp column, in order of preference.
pub const TIMESTAMP_COLUMNS: [&str; 4] = ["timestamp", "time", "datetime", "ts"];
/// Name of the optional column that splits one sensor's rows into several windows.
pub const WINDOW_COLUMN: &str = "window_id";

/// One sensor reading: a timestamp and one value per feature, in `EventsFile::feature_names` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When the reading was taken.
    pub timestamp: DateTime<Utc>,
    /// One value per feature column.
    pub features: Vec<f32>,
}

/// All events of one sensor (or one sensor + `window_id`): one window with at most one label.
/// `events` are sorted by timestamp with duplicate timestamps removed (the last row wins).
#[derive(Debug, Clone, PartialEq)]
pub struct SensorWindow {
    /// The sensor id as written in the file.
    pub sensor_id: String,
    /// The `window_id` cell, when the file has that column.
    pub window_id: Option<String>,
    /// The window label (`true` = alert), when the file has a label column.
    pub label: Option<bool>,
    /// Sorted by timestamp, unique timestamps.
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
    /// Data rows read (header excluded), counting dropped and duplicate rows too.
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
    /// Feature column names in file order; `Event::features` follows it.
    pub feature_names: Vec<String>,
    /// Name of the label column used, if any.
    pub label_column: Option<String>,
    /// One per sensor (or sensor + window id), in order of first appearance.
    pub windows: Vec<SensorWindow>,
    /// Counts of rows read, dropped and replaced.
    pub report: ReadReport,
}

/// Read an events CSV (`sensor_id,timestamp,feature_1,…[,label]`, delimiter `,` `;` or tab).
pub fn read_events_csv(path: &Path, options: &ReadOptions) -> Result<EventsFile, DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::Io(source.clone(), e))?;
    read_events(file, &source, options)
}

/// Same as [`read_events_csv`] from any reader; `source` names it in errors.
pub fn read_events<R: Read>(
    reader: R,
    source: &str,
    options: &ReadOptions,
) -> Result<EventsFile, DataError> {
    let mut table = Table::open(reader, source)?;
    let columns = Columns::resolve(&table, options)?;
    let mut bad = BadRows::new(options.drop_bad_rows);
    let mut grouper = Grouper::new(columns.window.is_some());
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while table.next(&mut record)? {
        rows += 1;
        match parse_row(&table, &columns, &record) {
            Ok(row) => {
                let window = columns.window.map(|c| &record[c]);
                grouper.push(&record[columns.sensor], window, row, &table, columns.label)?;
            }
            Err(error) => bad.handle(error)?,
        }
    }
    if rows == 0 {
        return Err(table.file_error("no data rows after the header"));
    }
    if bad.dropped == rows {
        return Err(bad.all_dropped(source));
    }
    let (windows, duplicate_rows) = grouper.finish();
    let feature_names = columns
        .features
        .iter()
        .map(|&c| table.headers[c].clone())
        .collect();
    let label_column = columns.label.map(|c| table.headers[c].clone());
    let report = ReadReport {
        rows,
        dropped_rows: bad.dropped,
        duplicate_rows,
        drop_examples: bad.examples,
    };
    Ok(EventsFile {
        feature_names,
        label_column,
        windows,
        report,
    })
}

/// Column indices of an events file.
struct Columns {
    sensor: usize,
    timestamp: usize,
    window: Option<usize>,
    label: Option<usize>,
    features: Vec<usize>,
}

impl Columns {
    fn resolve<R: Read>(table: &Table<R>, options: &ReadOptions) -> Result<Self, DataError> {
        let missing = |what: &str, names: &[&str]| {
            let names = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            table.file_error(&format!(
                "no {what} column: expected a column named {names}; the header has {}",
                table.listed_headers()
            ))
        };
        let sensor = table
            .find(&SENSOR_COLUMNS)
            .ok_or_else(|| missing("sensor id", &SENSOR_COLUMNS))?;
        let timestamp = table
            .find(&TIMESTAMP_COLUMNS)
            .ok_or_else(|| missing("timestamp", &TIMESTAMP_COLUMNS))?;
        let window = table.find(&[WINDOW_COLUMN]);
        let label = match &options.label_column {
            Some(name) => Some(
                table
                    .find(&[name])
                    .ok_or_else(|| missing("label", &[name]))?,
            ),
            None => table
                .headers
                .iter()
                .position(|h| h.to_ascii_lowercase().ends_with("alert_label"))
                .or_else(|| table.find(&["label"])),
        };
        let taken = [Some(sensor), Some(timestamp), window, label];
        let features: Vec<usize> = (0..table.headers.len())
            .filter(|c| !taken.contains(&Some(*c)))
            .collect();
        if features.is_empty() {
            return Err(table.file_error(&format!(
                "no feature columns: every column besides sensor id, timestamp, window id and \
                 label is a numeric feature, and the header has only {}",
                table.listed_headers()
            )));
        }
        Ok(Self {
            sensor,
            timestamp,
            window,
            label,
            features,
        })
    }
}

/// The values of one data row, before grouping.
pub(crate) struct Row {
    pub line: u64,
    pub label: Option<bool>,
    pub event: Event,
}

fn parse_row<R: Read>(
    table: &Table<R>,
    columns: &Columns,
    record: &csv::ByteRecord,
) -> Result<Row, DataError> {
    let line = table.check_row(record)?;
    let cell_error = |col: usize, message: String| table.cell_error(line, col, message);
    parse_text(&record[columns.sensor], "a sensor id")
        .map_err(|m| cell_error(columns.sensor, m))?;
    if let Some(col) = columns.window {
        parse_text(&record[col], "a window id").map_err(|m| cell_error(col, m))?;
    }
    let ts_cell = &record[columns.timestamp];
    let timestamp = std::str::from_utf8(ts_cell)
        .map_err(|_| "expected a timestamp, found invalid UTF-8".to_string())
        .and_then(parse_timestamp)
        .map_err(|m| cell_error(columns.timestamp, m))?;
    let mut features = Vec::with_capacity(columns.features.len());
    for &col in &columns.features {
        features.push(parse_number(&record[col]).map_err(|m| cell_error(col, m))?);
    }
    let label = match columns.label {
        Some(col) => Some(parse_label(&record[col]).map_err(|m| cell_error(col, m))?),
        None => None,
    };
    Ok(Row {
        line,
        label,
        event: Event {
            timestamp,
            features,
        },
    })
}

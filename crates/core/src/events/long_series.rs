//! SKAB-like long series: one run per file, a per-row anomaly flag, cut into windows by time.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::cells::{parse_label, parse_number};
use super::group::sort_unique_by;
use super::table::{BadRows, Table};
use super::{Event, ReadReport, SensorWindow, parse_timestamp};
use crate::error::DataError;

/// Accepted names of a long series' timestamp column; without one, the first column is it.
const TIME_COLUMNS: [&str; 3] = ["datetime", "timestamp", "time"];

/// One SKAB-like run: rows sorted by time, with a per-row anomaly flag.
#[derive(Debug, Clone)]
pub struct LongSeries {
    /// The file the series was read from (used as `sensor_id` of its windows).
    pub source: String,
    /// Feature column names in file order.
    pub feature_names: Vec<String>,
    /// Row times, strictly increasing.
    pub timestamps: Vec<DateTime<Utc>>,
    /// `values[row][feature]`
    pub values: Vec<Vec<f32>>,
    /// Per-row label (all `false` when the file has no label column).
    pub anomaly: Vec<bool>,
}

impl LongSeries {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Cut the series into windows by time: each window covers `(end - window, end]`, ends advance
    /// by `stride` starting at the first row's time + window (or at the first row when the series is
    /// shorter). Window label: any anomalous row. `sensor_id` is the source name, `window_id` the
    /// end index.
    ///
    /// The end index is the row index of the window's last row. Ends stop at the last row's time;
    /// an end whose window holds no row (a gap in the data) yields no window.
    ///
    /// # Panics
    /// When `window` or `stride` is not positive.
    pub fn windows(&self, window: Duration, stride: Duration) -> Vec<SensorWindow> {
        assert!(window > Duration::zero(), "window length must be positive");
        assert!(stride > Duration::zero(), "window stride must be positive");
        let (Some(&first), Some(&last)) = (self.timestamps.first(), self.timestamps.last()) else {
            return Vec::new();
        };
        let mut end = if first + window <= last {
            first + window
        } else {
            first
        };
        let (mut lo, mut hi) = (0, 0);
        let mut out = Vec::new();
        while end <= last {
            while hi < self.len() && self.timestamps[hi] <= end {
                hi += 1;
            }
            while lo < hi && self.timestamps[lo] <= end - window {
                lo += 1;
            }
            if lo < hi {
                out.push(self.window_of_rows(lo, hi - 1));
            }
            end += stride;
        }
        out
    }

    /// The window ending at row `end_row` (inclusive) and covering `window` of time back from it.
    ///
    /// # Panics
    /// When `end_row` is not a row of the series.
    pub fn window_ending_at(&self, end_row: usize, window: Duration) -> SensorWindow {
        assert!(
            end_row < self.len(),
            "row {end_row} is past the end of {}",
            self.source
        );
        let cutoff = self.timestamps[end_row] - window;
        let first = self.timestamps[..=end_row].partition_point(|&t| t <= cutoff);
        self.window_of_rows(first.min(end_row), end_row)
    }

    /// Rows `first..=last` as one window.
    fn window_of_rows(&self, first: usize, last: usize) -> SensorWindow {
        let events = (first..=last)
            .map(|i| Event {
                timestamp: self.timestamps[i],
                features: self.values[i].clone(),
            })
            .collect();
        SensorWindow {
            sensor_id: self.source.clone(),
            window_id: Some(last.to_string()),
            label: Some(self.anomaly[first..=last].iter().any(|&a| a)),
            events,
        }
    }
}

/// Options for long series files.
#[derive(Debug, Clone)]
pub struct LongSeriesOptions {
    /// Name of the per-row label column (default `anomaly`).
    pub label_column: String,
    /// Columns to ignore besides the label (SKAB: `changepoint`).
    pub ignore_columns: Vec<String>,
    /// Drop rows with bad values (and count them) instead of failing.
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
///
/// A file without the label column (SKAB's `anomaly-free.csv`) reads as all rows normal. Rows are
/// sorted by time; a repeated timestamp keeps the last row.
pub fn read_long_series(path: &Path, options: &LongSeriesOptions) -> Result<LongSeries, DataError> {
    read_long_series_report(path, options).map(|(series, _)| series)
}

/// [`read_long_series`] that also reports dropped and duplicate rows.
pub fn read_long_series_report(
    path: &Path,
    options: &LongSeriesOptions,
) -> Result<(LongSeries, ReadReport), DataError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::Io(source.clone(), e))?;
    read_long_series_from(file, &source, options)
}

/// [`read_long_series_report`] from any reader; `source` names it in errors and windows.
pub fn read_long_series_from<R: Read>(
    reader: R,
    source: &str,
    options: &LongSeriesOptions,
) -> Result<(LongSeries, ReadReport), DataError> {
    let mut table = Table::open(reader, source)?;
    let time_col = table.find(&TIME_COLUMNS).unwrap_or(0);
    let label_col = table.find(&[options.label_column.as_str()]);
    let ignored: Vec<&str> = options.ignore_columns.iter().map(String::as_str).collect();
    let features: Vec<usize> = (0..table.headers.len())
        .filter(|&c| c != time_col && Some(c) != label_col)
        .filter(|&c| {
            !ignored
                .iter()
                .any(|name| table.headers[c].eq_ignore_ascii_case(name))
        })
        .collect();
    if features.is_empty() {
        return Err(table.file_error(&format!(
            "no feature columns besides the timestamp and label; the header has {}",
            table.listed_headers()
        )));
    }

    let mut bad = BadRows::new(options.drop_bad_rows);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    let mut parsed: Vec<(Event, bool)> = Vec::new();
    while table.next(&mut record)? {
        rows += 1;
        let row = (|| {
            let line = table.check_row(&record)?;
            let cell_error = |col: usize, message: String| table.cell_error(line, col, message);
            let timestamp = std::str::from_utf8(&record[time_col])
                .map_err(|_| "expected a timestamp, found invalid UTF-8".to_string())
                .and_then(parse_timestamp)
                .map_err(|m| cell_error(time_col, m))?;
            let mut values = Vec::with_capacity(features.len());
            for &col in &features {
                values.push(parse_number(&record[col]).map_err(|m| cell_error(col, m))?);
            }
            let anomaly = match label_col {
                Some(col) => parse_label(&record[col]).map_err(|m| cell_error(col, m))?,
                None => false,
            };
            Ok((
                Event {
                    timestamp,
                    features: values,
                },
                anomaly,
            ))
        })();
        match row {
            Ok(row) => parsed.push(row),
            Err(error) => bad.handle(error)?,
        }
    }
    if rows == 0 {
        return Err(table.file_error("no data rows after the header"));
    }
    if parsed.is_empty() {
        return Err(bad.all_dropped(source));
    }

    let (parsed, duplicate_rows) = sort_unique_by(parsed, |(event, _)| event.timestamp);
    let mut series = LongSeries {
        source: source.to_string(),
        feature_names: features.iter().map(|&c| table.headers[c].clone()).collect(),
        timestamps: Vec::with_capacity(parsed.len()),
        values: Vec::with_capacity(parsed.len()),
        anomaly: Vec::with_capacity(parsed.len()),
    };
    for (event, anomaly) in parsed {
        series.timestamps.push(event.timestamp);
        series.values.push(event.features);
        series.anomaly.push(anomaly);
    }
    let report = ReadReport {
        rows,
        dropped_rows: bad.dropped,
        duplicate_rows,
        drop_examples: bad.examples,
    };
    Ok((series, report))
}

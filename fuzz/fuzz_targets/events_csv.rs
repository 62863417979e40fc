//! Arbitrary bytes as an events CSV and as a long series CSV: the readers must return `Ok` or an
//! error (never panic or hang), and what they return must be consistent with the data contract.

#![no_main]

use chrono::Duration;
use libfuzzer_sys::fuzz_target;
use telltale_core::events::read_long_series_from;
use telltale_core::{EventsFile, LongSeriesOptions, ReadOptions, read_events};

fuzz_target!(|data: &[u8]| {
    for drop_bad_rows in [false, true] {
        let options = ReadOptions {
            label_column: None,
            drop_bad_rows,
        };
        match read_events(data, "fuzz.csv", &options) {
            Ok(file) => check_events(&file, drop_bad_rows),
            Err(error) => drop(error.to_string()),
        }
    }
    let named_label = ReadOptions {
        label_column: Some("label".into()),
        drop_bad_rows: true,
    };
    match read_events(data, "fuzz.csv", &named_label) {
        Ok(file) => check_events(&file, true),
        Err(error) => drop(error.to_string()),
    }

    let options = LongSeriesOptions {
        drop_bad_rows: true,
        ..LongSeriesOptions::default()
    };
    match read_long_series_from(data, "fuzz.csv", &options) {
        Ok((series, report)) => {
            assert!(!series.is_empty());
            assert!(series.timestamps.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(series.values.len(), series.len());
            assert_eq!(series.anomaly.len(), series.len());
            let n = series.feature_names.len();
            for row in &series.values {
                assert_eq!(row.len(), n);
                assert!(row.iter().all(|v| v.is_finite()));
            }
            assert_eq!(
                report.rows,
                report.dropped_rows + report.duplicate_rows + series.len() as u64
            );
            // Window ends advance by a day between the first and last row (at most ~84,000 of
            // them for the supported years), so this stays fast for any input.
            let windows = series.windows(Duration::hours(6), Duration::days(1));
            for window in &windows {
                assert!(!window.events.is_empty());
                assert!(
                    window
                        .events
                        .windows(2)
                        .all(|w| w[0].timestamp < w[1].timestamp)
                );
            }
            let last = series.window_ending_at(series.len() - 1, Duration::hours(6));
            assert!(!last.events.is_empty());
        }
        Err(error) => drop(error.to_string()),
    }
});

/// What every successfully read events file must satisfy.
fn check_events(file: &EventsFile, drop_bad_rows: bool) {
    let n = file.feature_names.len();
    assert!(n > 0);
    assert!(!file.windows.is_empty());
    let mut kept = 0u64;
    for window in &file.windows {
        assert!(!window.events.is_empty());
        assert!(
            window
                .events
                .windows(2)
                .all(|w| w[0].timestamp < w[1].timestamp)
        );
        for event in &window.events {
            assert_eq!(event.features.len(), n);
            assert!(event.features.iter().all(|v| v.is_finite()));
        }
        assert_eq!(window.label.is_some(), file.label_column.is_some());
        kept += window.events.len() as u64;
    }
    let report = &file.report;
    if !drop_bad_rows {
        assert_eq!(report.dropped_rows, 0);
    }
    assert_eq!(
        report.rows,
        report.dropped_rows + report.duplicate_rows + kept
    );
}

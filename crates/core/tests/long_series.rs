//! Long series (SKAB-like): reading, and cutting into windows by time.

use std::path::PathBuf;

use chrono::Duration;
use telltale_core::DataError;
use telltale_core::events::{
    LongSeries, LongSeriesOptions, read_long_series, read_long_series_from,
};

fn series(text: &str) -> LongSeries {
    read_long_series_from(text.as_bytes(), "run", &LongSeriesOptions::default())
        .unwrap()
        .0
}

/// `n` rows one second apart starting at 10:00:00 (offsets in `seconds`), anomaly where flagged.
fn rows(seconds: &[i64], anomalous: &[i64]) -> String {
    let mut text = String::from("datetime;a;b;anomaly;changepoint\n");
    for &s in seconds {
        let flag = if anomalous.contains(&s) { "1.0" } else { "0.0" };
        text.push_str(&format!(
            "2020-03-09 10:{:02}:{:02};{s};{};{flag};0.0\n",
            s / 60,
            s % 60,
            -s
        ));
    }
    text
}

/// Last-row index, row count and label of each window.
fn summary(windows: &[telltale_core::SensorWindow]) -> Vec<(String, usize, bool)> {
    windows
        .iter()
        .map(|w| {
            (
                w.window_id.clone().unwrap(),
                w.events.len(),
                w.label.unwrap(),
            )
        })
        .collect()
}

#[test]
fn reading_drops_the_label_and_ignored_columns() {
    let s = series(&rows(&[0, 1, 2], &[1]));
    assert_eq!(s.feature_names, ["a", "b"]);
    assert_eq!(s.values, [vec![0.0, 0.0], vec![1.0, -1.0], vec![2.0, -2.0]]);
    assert_eq!(s.anomaly, [false, true, false]);
    assert_eq!(s.len(), 3);
    assert_eq!(s.source, "run");
}

#[test]
fn windows_cover_end_minus_window_exclusive_to_end_inclusive() {
    let s = series(&rows(&(0..10).collect::<Vec<_>>(), &[4]));
    let windows = s.windows(Duration::seconds(3), Duration::seconds(2));
    // Ends at 3, 5, 7, 9 s: rows (0, 3] = 1..=3, (2, 5] = 3..=5, …
    let expected = [
        ("3", 3, false),
        ("5", 3, true),
        ("7", 3, false),
        ("9", 3, false),
    ];
    let expected: Vec<(String, usize, bool)> = expected
        .iter()
        .map(|&(id, n, l)| (id.to_string(), n, l))
        .collect();
    assert_eq!(summary(&windows), expected);
    assert_eq!(windows[0].sensor_id, "run");
    let first: Vec<f32> = windows[0].events.iter().map(|e| e.features[0]).collect();
    assert_eq!(first, [1.0, 2.0, 3.0]);
}

#[test]
fn a_series_shorter_than_the_window_starts_at_its_first_row() {
    let s = series(&rows(&[0, 1, 2, 3, 4], &[]));
    let windows = s.windows(Duration::seconds(10), Duration::seconds(2));
    let got: Vec<(String, usize, bool)> = summary(&windows);
    let expected: Vec<(String, usize, bool)> = [("0", 1), ("2", 3), ("4", 5)]
        .iter()
        .map(|&(id, n)| (id.to_string(), n, false))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn windows_over_a_gap_without_rows_are_skipped() {
    let s = series(&rows(&[0, 1, 2, 20, 21], &[]));
    let ends: Vec<String> = s
        .windows(Duration::seconds(3), Duration::seconds(1))
        .into_iter()
        .map(|w| w.window_id.unwrap())
        .collect();
    // Ends 3, 4 still see row 2 (at 2 s); ends 5..=19 see nothing; ends 20, 21 see the later rows.
    assert_eq!(ends, ["2", "2", "3", "4"]);
}

#[test]
fn window_ending_at_a_row_looks_back_in_time() {
    let s = series(&rows(&[0, 1, 2, 5, 6], &[1]));
    let w = s.window_ending_at(3, Duration::seconds(4));
    assert_eq!(w.window_id.as_deref(), Some("3"));
    let values: Vec<f32> = w.events.iter().map(|e| e.features[0]).collect();
    assert_eq!(values, [2.0, 5.0], "rows in (1 s, 5 s]");
    assert_eq!(w.label, Some(false));
    assert_eq!(
        s.window_ending_at(1, Duration::seconds(4)).label,
        Some(true)
    );
    assert_eq!(s.window_ending_at(0, Duration::seconds(4)).events.len(), 1);
}

#[test]
fn rows_are_sorted_duplicates_keep_the_last_and_the_label_may_be_missing() {
    let text = "time;x\n2020-03-09 10:00:02;2\n2020-03-09 10:00:01;1\n2020-03-09 10:00:02;3\n";
    let (s, report) =
        read_long_series_from(text.as_bytes(), "r", &LongSeriesOptions::default()).unwrap();
    assert_eq!(s.values, [vec![1.0], vec![3.0]]);
    assert_eq!(s.anomaly, [false, false]);
    assert_eq!(report.rows, 3);
    assert_eq!(report.duplicate_rows, 1);
}

#[test]
fn bad_rows_point_at_their_cell_or_are_dropped() {
    let text = "datetime;a;anomaly\n2020-03-09 10:00:00;1;0\n2020-03-09 10:00:01;x;0\n";
    let err =
        read_long_series_from(text.as_bytes(), "r.csv", &LongSeriesOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "r.csv:3:2 (field `a`): expected a number, found `x`"
    );
    let options = LongSeriesOptions {
        drop_bad_rows: true,
        ..LongSeriesOptions::default()
    };
    let (s, report) = read_long_series_from(text.as_bytes(), "r.csv", &options).unwrap();
    assert_eq!((s.len(), report.dropped_rows), (1, 1));
    let only_time = "datetime;anomaly\n2020-03-09 10:00:00;0\n";
    let err = read_long_series_from(only_time.as_bytes(), "r.csv", &LongSeriesOptions::default())
        .unwrap_err();
    assert!(matches!(err, DataError::File { .. }), "{err:?}");
}

/// The SKAB data beside the project (read in place, never copied).
fn skab_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TELLTALE_SKAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/skab")
        });
    if dir.join("valve1/0.csv").exists() {
        Some(dir)
    } else {
        eprintln!("SKAB data not found at {}; skipping", dir.display());
        None
    }
}

#[test]
fn skab_valve1_run_0_reads_with_its_fault_segment() {
    let Some(dir) = skab_dir() else { return };
    let s = read_long_series(&dir.join("valve1/0.csv"), &LongSeriesOptions::default()).unwrap();
    assert_eq!(s.feature_names.len(), 8);
    assert_eq!(s.feature_names[0], "Accelerometer1RMS");
    assert_eq!(s.feature_names[7], "Volume Flow RateRMS");
    assert_eq!(s.len(), 1147);
    assert_eq!(s.anomaly.iter().filter(|&&a| a).count(), 401);
    assert_eq!(s.anomaly.iter().position(|&a| a), Some(573));
    assert!(s.timestamps.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(s.values[0][2], 1.3302, "Current of the first row");

    let window = Duration::seconds(60);
    assert_eq!(s.window_ending_at(572, window).label, Some(false));
    let at_fault = s.window_ending_at(573, window);
    assert_eq!(at_fault.label, Some(true));
    assert_eq!(at_fault.events.last().unwrap().timestamp, s.timestamps[573]);

    // Every window against a brute-force scan of all ends.
    let windows = s.windows(window, Duration::seconds(1));
    let mut end = s.timestamps[0] + window;
    let mut checked = 0;
    while end <= *s.timestamps.last().unwrap() {
        let inside: Vec<usize> = (0..s.len())
            .filter(|&i| s.timestamps[i] > end - window && s.timestamps[i] <= end)
            .collect();
        end += Duration::seconds(1);
        let Some(&last) = inside.last() else { continue };
        let w = &windows[checked];
        assert_eq!(w.window_id, Some(last.to_string()));
        assert_eq!(w.events.len(), inside.len());
        assert_eq!(w.events[0].timestamp, s.timestamps[inside[0]]);
        assert_eq!(w.label, Some(inside.iter().any(|&i| s.anomaly[i])));
        checked += 1;
    }
    assert_eq!(checked, windows.len());
    assert!(checked > 1000, "{checked} windows");
}

#[test]
fn skab_anomaly_free_has_no_label_column_and_reads_as_normal() {
    let Some(dir) = skab_dir() else { return };
    let path = dir.join("anomaly-free/anomaly-free.csv");
    let s = read_long_series(&path, &LongSeriesOptions::default()).unwrap();
    assert_eq!(s.len(), 9405);
    assert_eq!(s.feature_names.len(), 8);
    assert!(s.anomaly.iter().all(|&a| !a));
}

//! Reading events files: layout, grouping, labels, duplicates, delimiters.

use chrono::{DateTime, TimeZone, Utc};
use telltale_core::events::{ReadOptions, read_events, read_events_csv};
use telltale_core::{DataError, EventsFile};

fn read(text: &str) -> EventsFile {
    read_events(text.as_bytes(), "test.csv", &ReadOptions::default()).unwrap()
}

fn at(h: u32, m: u32, s: u32, ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 12, 20, h, m, s).unwrap() + chrono::Duration::milliseconds(ms)
}

const SEED: &str = "\
sensor_id,timestamp,feature_1,feature_2,10_days_alert_label
1,2020-12-20 01:00:34.565,0.23,0.1,1
1,2020-12-20 01:03:13.897,0.3,0.12,1
2,2020-12-20 01:00:34.565,0.13,0.4,0
2,2020-12-20 01:03:13.897,0.2,0.9,0
";

#[test]
fn the_seed_example_reads_into_two_labelled_windows() {
    let file = read(SEED);
    assert_eq!(file.feature_names, ["feature_1", "feature_2"]);
    assert_eq!(file.label_column.as_deref(), Some("10_days_alert_label"));
    assert_eq!(file.windows.len(), 2);
    let first = &file.windows[0];
    assert_eq!(first.sensor_id, "1");
    assert_eq!(first.window_id, None);
    assert_eq!(first.label, Some(true));
    assert_eq!(first.events.len(), 2);
    assert_eq!(first.events[0].timestamp, at(1, 0, 34, 565));
    assert_eq!(first.events[1].features, [0.3, 0.12]);
    assert_eq!(file.windows[1].sensor_id, "2");
    assert_eq!(file.windows[1].label, Some(false));
    assert_eq!(file.report.rows, 4);
    assert_eq!(file.report.duplicate_rows, 0);
    assert_eq!(file.report.dropped_rows, 0);
}

#[test]
fn semicolon_and_tab_delimiters_read_the_same() {
    let comma = read(SEED);
    for delimiter in [";", "\t"] {
        let other = read(&SEED.replace(',', delimiter));
        assert_eq!(other.feature_names, comma.feature_names);
        assert_eq!(other.windows, comma.windows, "delimiter {delimiter:?}");
    }
}

#[test]
fn unsorted_rows_group_by_first_appearance_and_sort_by_time() {
    let file = read(
        "sensor_id,timestamp,x\n\
         b,2020-12-20 03:00:00,3\n\
         a,2020-12-20 02:00:00,2\n\
         b,2020-12-20 01:00:00,1\n\
         a,2020-12-20 01:00:00,1\n\
         c,2020-12-20 05:00:00,5\n\
         b,2020-12-20 02:00:00,2\n",
    );
    let ids: Vec<&str> = file.windows.iter().map(|w| w.sensor_id.as_str()).collect();
    assert_eq!(ids, ["b", "a", "c"]);
    let b: Vec<f32> = file.windows[0]
        .events
        .iter()
        .map(|e| e.features[0])
        .collect();
    assert_eq!(b, [1.0, 2.0, 3.0]);
    assert!(file.windows[0].events.is_sorted_by_key(|e| e.timestamp));
    assert_eq!(file.windows[0].label, None);
    assert_eq!(file.label_column, None);
}

#[test]
fn duplicate_timestamps_keep_the_last_row_and_are_counted() {
    let file = read(
        "sensor_id,timestamp,x\n\
         a,2020-12-20 01:00:00,1\n\
         a,2020-12-20 02:00:00,2\n\
         b,2020-12-20 01:00:00,7\n\
         a,2020-12-20 01:00:00,10\n\
         a,2020-12-20 01:00:00.000,11\n",
    );
    let a: Vec<f32> = file.windows[0]
        .events
        .iter()
        .map(|e| e.features[0])
        .collect();
    assert_eq!(a, [11.0, 2.0]);
    assert_eq!(
        file.windows[1].events.len(),
        1,
        "other sensors are not duplicates"
    );
    assert_eq!(file.report.duplicate_rows, 2);
    assert_eq!(file.report.rows, 5);
}

#[test]
fn a_window_id_column_splits_a_sensor_into_windows() {
    let file = read(
        "sensor_id,window_id,timestamp,x,label\n\
         a,w1,2020-12-20 01:00:00,1,0\n\
         a,w2,2020-12-20 01:00:00,2,1\n\
         a,w1,2020-12-20 02:00:00,3,0\n\
         b,w1,2020-12-20 01:00:00,4,0\n",
    );
    assert_eq!(file.feature_names, ["x"], "window_id is not a feature");
    let keys: Vec<(&str, Option<&str>, Option<bool>, usize)> = file
        .windows
        .iter()
        .map(|w| {
            (
                w.sensor_id.as_str(),
                w.window_id.as_deref(),
                w.label,
                w.events.len(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("a", Some("w1"), Some(false), 2),
            ("a", Some("w2"), Some(true), 1),
            ("b", Some("w1"), Some(false), 1)
        ]
    );
}

#[test]
fn label_column_choice_and_spellings() {
    let text = "id,time,x,label,other_alert_label\n\
                s,2020-12-20 01:00:00,1,1,0.0\n\
                t,2020-12-20 01:00:00,1,0,1.0\n";
    // Preferred: the column ending in `alert_label`; then `label` is just another feature.
    let auto = read(text);
    assert_eq!(auto.label_column.as_deref(), Some("other_alert_label"));
    assert_eq!(auto.feature_names, ["x", "label"]);
    let labels: Vec<Option<bool>> = auto.windows.iter().map(|w| w.label).collect();
    assert_eq!(labels, [Some(false), Some(true)]);

    let options = ReadOptions {
        label_column: Some("label".into()),
        ..ReadOptions::default()
    };
    let named = read_events(text.as_bytes(), "t.csv", &options).unwrap();
    assert_eq!(named.feature_names, ["x", "other_alert_label"]);
    let labels: Vec<Option<bool>> = named.windows.iter().map(|w| w.label).collect();
    assert_eq!(labels, [Some(true), Some(false)]);

    let plain = read(
        "sensor_id,timestamp,x,Label\ns,2020-12-20 01:00:00,1,TRUE\nt,2020-12-20 01:00:00,1,False\n",
    );
    assert_eq!(plain.label_column.as_deref(), Some("Label"));
    let labels: Vec<Option<bool>> = plain.windows.iter().map(|w| w.label).collect();
    assert_eq!(labels, [Some(true), Some(false)]);
}

#[test]
fn a_named_label_column_that_is_missing_is_a_file_error() {
    let options = ReadOptions {
        label_column: Some("y".into()),
        ..ReadOptions::default()
    };
    let err = read_events(SEED.as_bytes(), "seed.csv", &options).unwrap_err();
    assert!(matches!(err, DataError::File { .. }), "{err:?}");
    assert!(err.to_string().contains("`y`"), "{err}");
}

#[test]
fn headers_are_matched_without_case_bom_or_spaces_and_crlf_is_fine() {
    let text = "\u{feff}Sensor_ID , TimeStamp ,Temp\r\nx,2020-12-20T01:00:00Z,1.5\r\n";
    let file = read(text);
    assert_eq!(file.feature_names, ["Temp"]);
    assert_eq!(file.windows[0].sensor_id, "x");
    assert_eq!(file.windows[0].events[0].features, [1.5]);
}

#[test]
fn blank_lines_are_skipped_and_do_not_shift_line_numbers() {
    let text = "\nsensor_id,timestamp,x\n\na,2020-12-20 01:00:00,1\nb,2020-12-20 01:00:00,oops\n";
    let err = read_events(text.as_bytes(), "f.csv", &ReadOptions::default()).unwrap_err();
    let DataError::Bad { location, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(location.line, 5, "{err}");
}

#[test]
fn reading_from_a_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.csv");
    std::fs::write(&path, SEED).unwrap();
    let file = read_events_csv(&path, &ReadOptions::default()).unwrap();
    assert_eq!(file.windows.len(), 2);

    let missing = dir.path().join("missing.csv");
    let err = read_events_csv(&missing, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io(..)));
    assert!(err.to_string().contains("missing.csv"), "{err}");
}

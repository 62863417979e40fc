//! Bad events files: every error names file, line (header = line 1), column and field, and says
//! what was expected; `drop_bad_rows` drops and counts instead.

use telltale_core::events::{ReadOptions, read_events};
use telltale_core::{DataError, Location};

const HEADER: &str = "sensor_id,timestamp,f1,f2,label\n";
const GOOD: &str = "a,2020-12-20 01:00:00,1,2,0\n";

fn read_err(body: &str) -> DataError {
    let text = format!("{HEADER}{GOOD}{body}");
    read_events(text.as_bytes(), "bad.csv", &ReadOptions::default()).unwrap_err()
}

/// Location and message of a `DataError::Bad`.
fn bad(err: DataError) -> (Location, String) {
    match err {
        DataError::Bad { location, message } => (location, message),
        other => panic!("expected a bad-value error, got {other:?}"),
    }
}

fn cell(line: u64, column: usize, field: &str) -> Location {
    Location {
        file: "bad.csv".into(),
        line,
        column: Some(column),
        field: Some(field.into()),
    }
}

#[test]
fn bad_values_point_at_their_cell() {
    let cases = [
        (
            "b,2020-12-20 01:00:00,NaN,2,0\n",
            3,
            "f1",
            "expected a finite number, found `NaN`",
        ),
        (
            "b,2020-12-20 01:00:00,1,inf,0\n",
            4,
            "f2",
            "expected a finite number, found `inf`",
        ),
        ("b,2020-12-20 01:00:00,1,-inf,0\n", 4, "f2", "finite"),
        (
            "b,2020-12-20 01:00:00,abc,2,0\n",
            3,
            "f1",
            "expected a number, found `abc`",
        ),
        (
            "b,2020-12-20 01:00:00,1,,0\n",
            4,
            "f2",
            "empty value; expected a number",
        ),
        (
            "b,20/12/2020,1,2,0\n",
            2,
            "timestamp",
            "expected a timestamp like",
        ),
        (
            "b,2999-01-01 00:00:00,1,2,0\n",
            2,
            "timestamp",
            "year 2999 is outside",
        ),
        (
            "b,2020-12-20 01:00:00,1,2,maybe\n",
            5,
            "label",
            "expected a label 0/1 or true/false",
        ),
        (
            ",2020-12-20 01:00:00,1,2,0\n",
            1,
            "sensor_id",
            "empty value; expected a sensor id",
        ),
    ];
    for (row, column, field, expected) in cases {
        let (location, message) = bad(read_err(row));
        assert_eq!(location, cell(3, column, field), "{row}");
        assert!(message.contains(expected), "{row}: {message}");
    }
}

#[test]
fn the_display_form_is_file_line_column_field_message() {
    let err = read_err("b,2020-12-20 01:00:00,abc,2,0\n");
    assert_eq!(
        err.to_string(),
        "bad.csv:3:3 (field `f1`): expected a number, found `abc`"
    );
}

#[test]
fn a_wrong_field_count_names_the_line() {
    for row in [
        "b,2020-12-20 01:00:00,1,2\n",
        "b,2020-12-20 01:00:00,1,2,0,9\n",
    ] {
        let (location, message) = bad(read_err(row));
        assert_eq!(location.line, 3);
        assert_eq!(location.column, None);
        assert!(
            message.contains("expected 5 fields as in the header"),
            "{message}"
        );
    }
}

#[test]
fn rows_of_one_window_must_agree_on_the_label() {
    let (location, message) = bad(read_err(
        "b,2020-12-20 01:00:00,1,2,1\na,2020-12-20 02:00:00,1,2,1\n",
    ));
    assert_eq!(location, cell(4, 5, "label"));
    assert!(
        message.contains("disagrees with label 0 on line 2 for sensor `a`"),
        "{message}"
    );
}

#[test]
fn missing_columns_and_empty_files_are_file_errors() {
    let cases = [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("sensor_id,timestamp,x\n", "no data rows"),
        (
            "timestamp,x\n2020-12-20 01:00:00,1\n",
            "no sensor id column",
        ),
        ("sensor_id,x\na,1\n", "no timestamp column"),
        (
            "sensor_id,timestamp,label\na,2020-12-20 01:00:00,1\n",
            "no feature columns",
        ),
        ("sensor_id,timestamp,x,X\n", "both named `X`"),
        ("sensor_id,,x\n", "column 2 has no name"),
    ];
    for (text, expected) in cases {
        let err = read_events(text.as_bytes(), "f.csv", &ReadOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::File { .. }), "{text:?}: {err:?}");
        assert!(err.to_string().starts_with("f.csv: "), "{err}");
        assert!(err.to_string().contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn dropping_bad_rows_keeps_the_good_ones_and_counts_the_rest() {
    let mut text = format!("{HEADER}{GOOD}");
    for i in 0..7 {
        text.push_str(&format!("b,2020-12-20 0{i}:00:00,NaN,2,0\n"));
    }
    text.push_str("b,2020-12-20 09:00:00,1,2,1\n");
    text.push_str("c,2020-12-20 09:00:00,1\n");
    let options = ReadOptions {
        drop_bad_rows: true,
        ..ReadOptions::default()
    };
    let file = read_events(text.as_bytes(), "bad.csv", &options).unwrap();
    assert_eq!(file.report.rows, 10);
    assert_eq!(file.report.dropped_rows, 8);
    assert_eq!(file.report.drop_examples.len(), 5);
    assert_eq!(
        file.report.drop_examples[0],
        "bad.csv:3:3 (field `f1`): expected a finite number, found `NaN`"
    );
    let ids: Vec<(&str, usize, Option<bool>)> = file
        .windows
        .iter()
        .map(|w| (w.sensor_id.as_str(), w.events.len(), w.label))
        .collect();
    assert_eq!(ids, [("a", 1, Some(false)), ("b", 1, Some(true))]);
}

#[test]
fn dropping_every_row_is_still_an_error() {
    let text = format!("{HEADER}a,2020-12-20 01:00:00,x,2,0\n");
    let options = ReadOptions {
        drop_bad_rows: true,
        ..ReadOptions::default()
    };
    let err = read_events(text.as_bytes(), "bad.csv", &options).unwrap_err();
    assert!(
        err.to_string().contains("all 1 data rows were dropped"),
        "{err}"
    );
}

#[test]
fn a_bad_timestamp_with_a_multibyte_tail_does_not_panic() {
    let (location, message) = bad(read_err("b,2020-12-20 01:00:00é,1,2,0\n"));
    assert_eq!(location.column, Some(2));
    assert!(message.contains("unexpected `é`"), "{message}");
}

//! `WindowSpec` and `bin_events` on small cases worked out by hand.

use chrono::TimeZone;
use chrono::{DateTime, Duration, Utc};
use telltale_core::Event;
use telltale_core::window::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 12, 20, 0, 0, 0).unwrap() + Duration::seconds(secs)
}

fn ev(secs: i64, values: &[f32]) -> Event {
    Event {
        timestamp: t(secs),
        features: values.to_vec(),
    }
}

const HOUR: i64 = 3600;
const FOUR_HOURS: WindowSpec = WindowSpec {
    length_secs: 4 * HOUR,
    step_secs: HOUR,
    centering: telltale_core::window::Centering::None,
    step_std: false,
    log_step_std: false,
};

#[test]
fn default_spec_is_ten_days_of_hours() {
    let spec = WindowSpec::default();
    assert_eq!(spec.max_steps(), 240);
    assert_eq!(spec.validate(), Ok(()));
    assert_eq!(WindowSpec::channels(3), 5);
}

#[test]
fn max_steps_rounds_up() {
    assert_eq!(
        WindowSpec {
            length_secs: 10,
            step_secs: 3,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        }
        .max_steps(),
        4
    );
    assert_eq!(
        WindowSpec {
            length_secs: 9,
            step_secs: 3,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        }
        .max_steps(),
        3
    );
    assert_eq!(
        WindowSpec {
            length_secs: 0,
            step_secs: 3,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        }
        .max_steps(),
        0
    );
}

#[test]
fn bad_specs_are_rejected_with_a_reason() {
    let cases = [
        (0, 1, "window length must be positive"),
        (10, 0, "step length must be positive"),
        (10, -1, "step length must be positive"),
        (10, 11, "longer than the window"),
        (MAX_LENGTH_SECS + 1, MAX_LENGTH_SECS, "longer than"),
        (2_000_000, 1, "more than the limit"),
    ];
    for (length_secs, step_secs, why) in cases {
        let err = WindowSpec {
            length_secs,
            step_secs,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        }
        .validate()
        .unwrap_err();
        assert!(
            err.to_string().contains(why),
            "{length_secs}/{step_secs}: {err}"
        );
    }
}

#[test]
fn a_full_window_by_hand() {
    // Window [0 h, 4 h]: steps [0,1) [1,2) [2,3) [3,4]. Events in step 0 (two), step 2, and
    // exactly at the end (last step includes it); step 1 is empty and carries step 0 forward.
    let events = [
        ev(0, &[1.0, 10.0]),
        ev(1800, &[3.0, 20.0]),
        ev(2 * HOUR, &[5.0, 0.0]),
        ev(4 * HOUR, &[7.0, 1.0]),
    ];
    let w = bin_events(&events, 2, &FOUR_HOURS, None).unwrap();
    let l2 = 2f32.ln_1p();
    let l1 = 1f32.ln_1p();
    #[rustfmt::skip]
    let expected = [
        2.0, 15.0, l2, 0.0,
        2.0, 15.0, 0.0, 1.0,
        5.0, 0.0, l1, 0.0,
        7.0, 1.0, l1, 0.0,
    ];
    assert_eq!((w.len, w.channels), (4, 4));
    assert_eq!(w.data, expected);
    assert_eq!(w.step(2), &expected[8..12]);
    assert_eq!((w.start, w.end, w.events_used), (t(0), t(4 * HOUR), 4));
}

#[test]
fn short_history_gives_a_shorter_sequence() {
    // End 4 h, first event at 2.5 h → it falls in step 2 of 4: two steps remain.
    let events = [ev(9000, &[1.0]), ev(4 * HOUR, &[2.0])];
    let w = bin_events(&events, 1, &FOUR_HOURS, None).unwrap();
    assert_eq!(w.len, 2);
    assert_eq!(w.start, t(2 * HOUR));
    assert_eq!(w.data, [1.0, 1f32.ln_1p(), 0.0, 2.0, 1f32.ln_1p(), 0.0]);
}

#[test]
fn events_outside_the_window_are_ignored() {
    let events = [
        ev(-1, &[100.0]),
        ev(0, &[1.0]),
        ev(HOUR, &[2.0]),
        ev(5 * HOUR, &[f32::NAN]),
    ];
    let w = bin_events(&events, 1, &FOUR_HOURS, Some(t(4 * HOUR))).unwrap();
    assert_eq!(w.len, 4);
    assert_eq!(w.events_used, 2);
    assert_eq!(w.step(0)[0], 1.0);
    assert_eq!(
        w.step(3),
        [2.0, 0.0, 1.0],
        "carried forward to the end, empty"
    );
    let err = bin_events(&events, 1, &FOUR_HOURS, Some(t(-2 * HOUR))).unwrap_err();
    assert_eq!(err, WindowError::NoEventsInWindow { end: t(-2 * HOUR) });
}

#[test]
fn bad_event_lists_are_errors() {
    assert_eq!(
        bin_events(&[], 1, &FOUR_HOURS, None),
        Err(WindowError::Empty)
    );
    let unsorted = [ev(0, &[1.0]), ev(10, &[1.0]), ev(5, &[1.0])];
    assert_eq!(
        bin_events(&unsorted, 1, &FOUR_HOURS, None),
        Err(WindowError::Unsorted { index: 2 })
    );
    let duplicate = [ev(0, &[1.0]), ev(0, &[2.0])];
    assert_eq!(
        bin_events(&duplicate, 1, &FOUR_HOURS, None),
        Err(WindowError::Unsorted { index: 1 })
    );
    let short = [ev(0, &[1.0, 2.0]), ev(10, &[1.0])];
    assert_eq!(
        bin_events(&short, 2, &FOUR_HOURS, None),
        Err(WindowError::FeatureCount {
            index: 1,
            got: 1,
            expected: 2
        })
    );
    let infinite = [ev(0, &[1.0, f32::INFINITY])];
    assert_eq!(
        bin_events(&infinite, 2, &FOUR_HOURS, None),
        Err(WindowError::NonFinite {
            index: 0,
            feature: 1
        })
    );
    let spec = WindowSpec {
        length_secs: 1,
        step_secs: 2,
        centering: telltale_core::window::Centering::None,
        step_std: false,
        log_step_std: false,
    };
    assert!(matches!(
        bin_events(&infinite, 2, &spec, None),
        Err(WindowError::Spec(_))
    ));
}

#[test]
fn a_length_that_is_not_a_multiple_of_the_step_has_a_short_last_step() {
    let spec = WindowSpec {
        length_secs: 10,
        step_secs: 4,
        centering: telltale_core::window::Centering::None,
        step_std: false,
        log_step_std: false,
    };
    // Window [0, 10]: steps [0,4) [4,8) [8,10].
    let events = [ev(0, &[1.0]), ev(8, &[2.0]), ev(10, &[4.0])];
    let w = bin_events(&events, 1, &spec, None).unwrap();
    assert_eq!(w.len, 3);
    assert_eq!(w.step(2), [3.0, 2f32.ln_1p(), 0.0]);
}

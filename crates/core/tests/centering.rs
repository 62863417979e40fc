//! Per-window centring and within-step std channels of `bin_events`, on cases worked out by hand.

use chrono::TimeZone;
use chrono::{DateTime, Duration, Utc};
use telltale_core::Event;
use telltale_core::window::*;

const HOUR: i64 = 3600;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 12, 20, 0, 0, 0).unwrap() + Duration::seconds(secs)
}

fn ev(secs: i64, values: &[f32]) -> Event {
    Event {
        timestamp: t(secs),
        features: values.to_vec(),
    }
}

fn spec(length_secs: i64, centering: Centering, step_std: bool) -> WindowSpec {
    WindowSpec {
        length_secs,
        step_secs: HOUR,
        centering,
        step_std,
        log_step_std: false,
    }
}

/// One channel of a binned window, step by step.
fn channel(w: &BinnedWindow, c: usize) -> Vec<f32> {
    (0..w.len).map(|t| w.step(t)[c]).collect()
}

/// Two features over four hourly steps: two events, one event, none, two events.
fn four_steps() -> [Event; 5] {
    [
        ev(60, &[1.0, 10.0]),
        ev(120, &[3.0, 10.0]),
        ev(HOUR + 60, &[7.0, 1.0]),
        ev(3 * HOUR + 60, &[2.0, 0.0]),
        ev(3 * HOUR + 120, &[6.0, 4.0]),
    ]
}

#[test]
fn step_std_channels_follow_the_empty_flag() {
    let s = spec(4 * HOUR, Centering::None, true);
    assert_eq!(s.channel_count(2), 6);
    assert_eq!(
        WindowSpec::default().channel_count(2),
        WindowSpec::channels(2)
    );
    // Step 0: feature 0 = 1, 3 (std 1), feature 1 = 10, 10 (std 0); step 1: one event (std
    // carried forward); step 2: empty (carried forward); step 3: 2, 6 (std 2) and 0, 4 (std 2).
    let events = four_steps();
    let w = bin_events(&events, 2, &s, Some(t(4 * HOUR - 1))).unwrap();
    assert_eq!(w.channels, 6);
    assert_eq!(channel(&w, 0), [2.0, 7.0, 7.0, 4.0], "means");
    assert_eq!(channel(&w, 3), [0.0, 0.0, 1.0, 0.0], "empty flag");
    assert_eq!(channel(&w, 4), [1.0, 1.0, 1.0, 2.0], "feature 0 std");
    assert_eq!(channel(&w, 5), [0.0, 0.0, 0.0, 2.0], "feature 1 std");
}

#[test]
fn log_step_std_marks_a_collapsed_spread_whatever_the_units() {
    let log_spec = |length_secs| WindowSpec {
        log_step_std: true,
        ..spec(length_secs, Centering::None, true)
    };
    // The window of `step_std_channels_follow_the_empty_flag`: feature 0 stds 1, 1, 1, 2 (mean
    // 1.25, floor 0.0125); feature 1 stds 0, 0, 0, 2 (mean 0.5, floor 0.005).
    let events = four_steps();
    let w = bin_events(&events, 2, &log_spec(4 * HOUR), Some(t(4 * HOUR - 1))).unwrap();
    let close = |got: Vec<f32>, want: [f64; 4]| {
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
    };
    let one = (1.0f64 / 0.0125 + 1.0).ln();
    close(
        channel(&w, 4),
        [one, one, one, (2.0f64 / 0.0125 + 1.0).ln()],
    );
    close(channel(&w, 5), [0.0, 0.0, 0.0, (2.0f64 / 0.005 + 1.0).ln()]);

    // The same readings in other units (× 1000 and shifted) give the same channels.
    let scaled: Vec<Event> = events
        .iter()
        .map(|e| Event {
            timestamp: e.timestamp,
            features: e.features.iter().map(|v| 1000.0 * v - 5.0).collect(),
        })
        .collect();
    let v = bin_events(&scaled, 2, &log_spec(4 * HOUR), Some(t(4 * HOUR - 1))).unwrap();
    for c in 4..6 {
        for (a, b) in channel(&w, c).iter().zip(channel(&v, c)) {
            assert!((a - b).abs() < 1e-4, "channel {c}: {a} vs {b}");
        }
    }

    // Leading steps without an estimate take the first estimate; a spread-less feature is 0.
    let late = [
        ev(60, &[1.0]),
        ev(HOUR + 60, &[1.0]),
        ev(HOUR + 120, &[3.0]),
    ];
    let w = bin_events(&late, 1, &log_spec(2 * HOUR), Some(t(2 * HOUR - 1))).unwrap();
    let first = channel(&w, 3);
    assert_eq!(first[0], first[1]);
    assert!(
        (f64::from(first[1]) - 101f64.ln()).abs() < 1e-5,
        "{first:?}"
    );
    let flat = [ev(60, &[4.0]), ev(120, &[4.0])];
    let w = bin_events(&flat, 1, &log_spec(HOUR), Some(t(HOUR - 1))).unwrap();
    assert_eq!(channel(&w, 3), [0.0]);
}

#[test]
fn a_large_level_does_not_cancel_the_step_std() {
    let s = spec(HOUR, Centering::None, true);
    let events = [ev(60, &[1e6 + 1.0]), ev(120, &[1e6 + 3.0])];
    let w = bin_events(&events, 1, &s, Some(t(HOUR - 1))).unwrap();
    assert_eq!(w.step(0)[3], 1.0);
}

/// Hourly events over `days` days of one feature `f(hour)`.
fn hourly(days: i64, f: impl Fn(i64) -> f32) -> Vec<Event> {
    (0..days * 24).map(|h| ev(h * HOUR + 60, &[f(h)])).collect()
}

#[test]
fn median_mad_removes_level_and_scale() {
    let s = spec(4 * 24 * HOUR, Centering::MedianMad, false);
    let shape = |h: i64| ((h * 7) % 11) as f32;
    let a = bin_events(&hourly(4, shape), 1, &s, None).unwrap();
    let b = bin_events(&hourly(4, |h| 500.0 + 3.0 * shape(h)), 1, &s, None).unwrap();
    for (x, y) in channel(&a, 0).iter().zip(channel(&b, 0)) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
    let mut values = channel(&a, 0);
    values.sort_by(f32::total_cmp);
    assert_eq!(
        values[values.len() / 2],
        0.0,
        "the median step is centred on 0"
    );
    // The count channel is centred on its median (one event per step) but not scaled.
    let mut counts = channel(&a, 1);
    counts.sort_by(f32::total_cmp);
    assert_eq!(counts[counts.len() / 2], 0.0);
    assert!(counts.iter().all(|v| v.is_finite()));
}

#[test]
fn daily_median_mad_removes_a_daily_cycle_but_keeps_a_departure() {
    let s = spec(4 * 24 * HOUR, Centering::DailyMedianMad, false);
    assert_eq!(daily_period(HOUR, 96), 24);
    assert_eq!(daily_period(HOUR, 30), 1, "under two days: one median");
    assert_eq!(
        daily_period(7 * HOUR, 96),
        1,
        "a step that does not divide a day"
    );
    let cycle = |h: i64| 20.0 + 5.0 * ((h % 24) as f32 * 0.2618).sin() + 0.1 * (h % 3) as f32;
    let w = bin_events(&hourly(4, cycle), 1, &s, None).unwrap();
    let plain = channel(&w, 0);
    assert!(plain.iter().all(|v| v.abs() < 2.0), "{plain:?}");
    // The same cycle with a 6 h shift of +3 on the third day stands out.
    let shifted = |h: i64| cycle(h) + if (50..56).contains(&h) { 3.0 } else { 0.0 };
    let w = bin_events(&hourly(4, shifted), 1, &s, None).unwrap();
    let values = channel(&w, 0);
    // An exactly periodic cycle has no spread left, so the scale stays 1: the shift keeps its size.
    assert!(
        values[50..56].iter().all(|&v| (v - 3.0).abs() < 1e-4),
        "{values:?}"
    );
    assert!(values[..50].iter().all(|&v| v.abs() < 1e-4), "{values:?}");
}

#[test]
fn a_constant_feature_centres_to_zero_not_nan() {
    let s = spec(2 * 24 * HOUR, Centering::DailyMedianMad, true);
    let w = bin_events(&hourly(2, |_| 42.0), 1, &s, None).unwrap();
    assert!(w.data.iter().all(|v| v.is_finite()));
    assert!(channel(&w, 0).iter().all(|&v| v == 0.0));
    assert!(channel(&w, 3).iter().all(|&v| v == 0.0));
}

#[test]
fn older_specs_without_the_new_fields_still_parse() {
    let s: WindowSpec = serde_json::from_str(r#"{"length_secs": 864000, "step_secs": 3600}"#)
        .expect("a spec written before centring existed");
    assert_eq!(s, WindowSpec::default());
    let text = serde_json::to_string(&spec(HOUR, Centering::DailyMedianMad, true)).unwrap();
    assert!(text.contains(r#""centering":"daily_median_mad""#), "{text}");
    assert!(text.contains(r#""step_std":true"#), "{text}");
}

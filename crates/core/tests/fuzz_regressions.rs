//! Cases found by the fuzz targets in `fuzz/` (see fuzz/README.md), kept as plain tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use telltale_core::window::Centering;
use telltale_core::{Event, WindowSpec, bin_events};

const HOUR: i64 = 3600;

fn ev(hours: i64, value: f32) -> Event {
    Event {
        timestamp: start() + Duration::hours(hours),
        features: vec![value],
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 12, 20, 0, 0, 0).unwrap()
}

fn spec(steps: i64, step_secs: i64, centering: Centering, step_std: bool) -> WindowSpec {
    WindowSpec {
        length_secs: steps * step_secs,
        step_secs,
        centering,
        step_std,
        log_step_std: false,
    }
}

/// The feature channel of a binned window, step by step. The window ends a second before
/// `start() + length`, so the event at hour `h` falls in step `h * HOUR / step_secs`.
fn feature(events: &[Event], spec: &WindowSpec) -> Vec<f32> {
    let end = start() + Duration::seconds(spec.length_secs - 1);
    let window = bin_events(events, 1, spec, Some(end)).unwrap();
    assert!(
        window.data.iter().all(|v| v.is_finite()),
        "{:?}",
        window.data
    );
    (0..window.len).map(|t| window.step(t)[0]).collect()
}

/// Centring subtracts the median in f64; two finite f32 values of opposite sign near the ends of
/// the range differ by more than `f32::MAX`, which used to become an infinity.
#[test]
fn centring_far_apart_extremes_stays_finite() {
    let events = [
        ev(0, f32::MAX),
        ev(1, f32::MAX),
        ev(2, f32::MAX),
        ev(3, -2.9e38),
    ];
    let spec = spec(4, HOUR, Centering::MedianMad, false);
    assert_eq!(feature(&events, &spec), [0.0, 0.0, 0.0, -f32::MAX]);
}

/// A large departure over a small robust scale overflowed the same way.
#[test]
fn centring_a_large_departure_over_a_small_scale_stays_finite() {
    let events = [
        ev(0, 0.0),
        ev(1, 1e-5),
        ev(2, -1e-5),
        ev(3, 0.0),
        ev(4, 3e38),
    ];
    let spec = spec(5, HOUR, Centering::MedianMad, false);
    let out = feature(&events, &spec);
    assert_eq!(out[4], f32::MAX);
    assert!(out[..4].iter().all(|v| v.abs() < 1.0), "{out:?}");
}

/// The input the `window_binning` target found: daily centring with step std channels, a level
/// of `f32::MAX` carried over many days, then one event near `-f32::MAX`.
#[test]
fn daily_centring_of_carried_extremes_stays_finite() {
    let step = 4 * HOUR;
    let days = 20;
    let events = [ev(0, f32::MAX), ev(24 * days - 4, -2.9e38)];
    let spec = spec(6 * days, step, Centering::DailyMedianMad, true);
    let out = feature(&events, &spec);
    assert_eq!(out.len(), 6 * days as usize);
    assert_eq!(*out.last().unwrap(), -f32::MAX);
    assert!(out[..out.len() - 1].iter().all(|&v| v == 0.0), "{out:?}");
}

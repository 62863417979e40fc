//! Structured input for `bin_events`: events with arbitrary gaps and values (NaN, infinities,
//! extremes included), window specs of every centring mode with and without step std channels,
//! and an optional window end. Binning must not panic, and a window it returns must be well
//! formed: at most `max_steps` steps, the promised shape, finite values (every event inside the
//! window is finite, or binning fails), and without centring means within the events' range and
//! counts that add up to the events used.

#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use telltale_core::window::Centering;
use telltale_core::{BinnedWindow, Event, WindowError, WindowSpec, bin_events};

/// Most features per event.
const MAX_FEATURES: usize = 4;
/// Most steps per window, so one input stays fast (the crate allows up to 1,000,000).
const MAX_FUZZ_STEPS: usize = 4096;
/// Steps per day that divide a day evenly, so daily centring takes effect.
const DAY_DIVISORS: [i64; 12] = [2, 3, 4, 6, 8, 12, 24, 48, 96, 144, 288, 1440];

#[derive(Arbitrary, Debug)]
enum SpecIn {
    /// `steps` steps of `step_secs`, the window shortened by `short` seconds (within a step).
    Steps {
        step_secs: u32,
        steps: u16,
        short: u32,
    },
    /// Whole days cut into steps that divide a day.
    Daily { divisor: u8, days: u8 },
    /// Raw numbers, valid or not.
    Raw { length_secs: i64, step_secs: i64 },
}

#[derive(Arbitrary, Debug)]
enum CenteringIn {
    None,
    MedianMad,
    DailyMedianMad,
}

#[derive(Arbitrary, Debug)]
enum BaseIn {
    /// Seconds after 2020-09-13 (1.6e9 s since the epoch).
    Recent(u32),
    /// Seconds and nanoseconds since the epoch, anywhere in chrono's range.
    Raw(i64, u32),
}

#[derive(Arbitrary, Debug)]
enum Gap {
    Nanos(u32),
    Seconds(u16),
    Minutes(u16),
    Hours(u16),
    Days(u8),
    Same,
    BackSeconds(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Value {
    /// Multiples of 1/64 in [-512, 512).
    Small(i16),
    /// Any bit pattern.
    Raw(f32),
    /// NaN, the infinities and other edge values.
    Special(u8),
}

#[derive(Arbitrary, Debug)]
enum EndIn {
    AfterLast(u32),
    BeforeLast(u32),
    /// Seconds since the epoch.
    Raw(i64),
}

#[derive(Arbitrary, Debug)]
struct EventIn {
    gap: Gap,
    values: [Value; MAX_FEATURES],
}

#[derive(Arbitrary, Debug)]
struct Input {
    spec: SpecIn,
    centering: CenteringIn,
    step_std: bool,
    log_step_std: bool,
    n_features: u8,
    base: BaseIn,
    events: Vec<EventIn>,
    /// One event (index modulo the count) gets this many feature values instead.
    ragged: Option<(u16, u8)>,
    end: Option<EndIn>,
}

fuzz_target!(|input: Input| {
    let Some(spec) = spec(&input) else {
        return;
    };
    let n_features = usize::from(input.n_features) % (MAX_FEATURES + 1);
    let Some(events) = events(&input, n_features) else {
        return;
    };
    let end = match (&input.end, events.last()) {
        (None, _) => None,
        (Some(end), last) => match end_time(end, last.map(|e| e.timestamp)) {
            Some(end) => Some(end),
            None => return,
        },
    };
    match bin_events(&events, n_features, &spec, end) {
        Ok(window) => check_window(&window, &events, n_features, &spec, end),
        Err(error) => check_error(&error, &events, &spec),
    }
});

fn spec(input: &Input) -> Option<WindowSpec> {
    let (length_secs, step_secs) = match input.spec {
        SpecIn::Steps {
            step_secs,
            steps,
            short,
        } => {
            let step = 1 + i64::from(step_secs) % (2 * 86_400);
            let steps = 1 + i64::from(steps) % MAX_FUZZ_STEPS as i64;
            (step * steps - i64::from(short) % step, step)
        }
        SpecIn::Daily { divisor, days } => {
            let per_day = DAY_DIVISORS[usize::from(divisor) % DAY_DIVISORS.len()];
            let days = 1 + i64::from(days) % (MAX_FUZZ_STEPS as i64 / per_day).max(1);
            (days * 86_400, 86_400 / per_day)
        }
        SpecIn::Raw {
            length_secs,
            step_secs,
        } => (length_secs, step_secs),
    };
    let spec = WindowSpec {
        length_secs,
        step_secs,
        centering: match input.centering {
            CenteringIn::None => Centering::None,
            CenteringIn::MedianMad => Centering::MedianMad,
            CenteringIn::DailyMedianMad => Centering::DailyMedianMad,
        },
        step_std: input.step_std,
        log_step_std: input.log_step_std,
    };
    if spec.validate().is_ok() && spec.max_steps() > MAX_FUZZ_STEPS {
        return None;
    }
    Some(spec)
}

fn value(value: Value) -> f32 {
    const SPECIAL: [f32; 12] = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        0.0,
        -0.0,
        1e30,
        -1e30,
        16_777_217.0,
    ];
    match value {
        Value::Small(x) => f32::from(x) / 64.0,
        Value::Raw(x) => x,
        Value::Special(i) => SPECIAL[usize::from(i) % SPECIAL.len()],
    }
}

/// The events, timestamps advancing by each gap; `None` when the base time is out of range.
/// Events stop where a timestamp would leave chrono's range.
fn events(input: &Input, n_features: usize) -> Option<Vec<Event>> {
    let mut time = match input.base {
        BaseIn::Recent(secs) => DateTime::from_timestamp(1_600_000_000 + i64::from(secs), 0)?,
        BaseIn::Raw(secs, nanos) => DateTime::from_timestamp(secs, nanos % 1_000_000_000)?,
    };
    let mut out = Vec::with_capacity(input.events.len());
    for (i, event) in input.events.iter().enumerate() {
        if i > 0 {
            let gap = match event.gap {
                Gap::Nanos(n) => Duration::nanoseconds(i64::from(n)),
                Gap::Seconds(s) => Duration::seconds(i64::from(s)),
                Gap::Minutes(m) => Duration::minutes(i64::from(m)),
                Gap::Hours(h) => Duration::hours(i64::from(h)),
                Gap::Days(d) => Duration::days(i64::from(d)),
                Gap::Same => Duration::zero(),
                Gap::BackSeconds(s) => -Duration::seconds(i64::from(s)),
            };
            match time.checked_add_signed(gap) {
                Some(next) => time = next,
                None => break,
            }
        }
        let mut features: Vec<f32> = event.values[..n_features]
            .iter()
            .map(|&v| value(v))
            .collect();
        if let Some((at, len)) = input.ragged
            && usize::from(at) % input.events.len() == i
        {
            features.resize(usize::from(len) % (MAX_FEATURES + 2), 0.5);
        }
        out.push(Event {
            timestamp: time,
            features,
        });
    }
    Some(out)
}

fn end_time(end: &EndIn, last: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match *end {
        EndIn::AfterLast(secs) => last?.checked_add_signed(Duration::seconds(i64::from(secs))),
        EndIn::BeforeLast(secs) => last?.checked_sub_signed(Duration::seconds(i64::from(secs))),
        EndIn::Raw(secs) => DateTime::from_timestamp(secs, 0),
    }
}

fn strictly_sorted(events: &[Event]) -> bool {
    events.windows(2).all(|w| w[0].timestamp < w[1].timestamp)
}

fn check_error(error: &WindowError, events: &[Event], spec: &WindowSpec) {
    drop(error.to_string());
    match error {
        WindowError::Spec(_) => {}
        _ => assert!(spec.validate().is_ok()),
    }
    match error {
        WindowError::Empty => assert!(events.is_empty()),
        WindowError::Unsorted { index } => {
            assert!(events[*index].timestamp <= events[*index - 1].timestamp)
        }
        WindowError::FeatureCount { index, got, .. } => {
            assert_eq!(events[*index].features.len(), *got)
        }
        WindowError::NonFinite { index, feature } => {
            assert!(!events[*index].features[*feature].is_finite())
        }
        WindowError::NoEventsInWindow { .. } | WindowError::Spec(_) => {}
    }
}

fn check_window(
    window: &BinnedWindow,
    events: &[Event],
    n_features: usize,
    spec: &WindowSpec,
    end: Option<DateTime<Utc>>,
) {
    assert!(spec.validate().is_ok());
    assert!(strictly_sorted(events));
    let end = end.unwrap_or(events.last().unwrap().timestamp);
    assert_eq!(window.end, end);
    let window_start = end - Duration::seconds(spec.length_secs);
    assert!(window.start >= window_start && window.start <= end);
    let inside: Vec<&Event> = events
        .iter()
        .filter(|e| e.timestamp >= window_start && e.timestamp <= end)
        .collect();
    assert_eq!(window.events_used, inside.len());
    assert!(window.events_used >= 1);

    let channels = window.channels;
    assert_eq!(channels, spec.channel_count(n_features));
    assert!(window.len >= 1 && window.len <= spec.max_steps());
    assert_eq!(window.data.len(), window.len * channels);
    if let Some(at) = window.data.iter().position(|v| !v.is_finite()) {
        panic!(
            "non-finite output {} at step {} channel {} for finite inputs",
            window.data[at],
            at / channels,
            at % channels
        );
    }
    // The empty flag is kept by centring; the first step holds the first event inside.
    for t in 0..window.len {
        let empty = window.step(t)[n_features + 1];
        assert!(empty == 0.0 || empty == 1.0);
    }
    assert_eq!(window.step(0)[n_features + 1], 0.0);

    if spec.centering != Centering::None {
        return;
    }
    let mut counted = 0.0f64;
    for t in 0..window.len {
        let step = window.step(t);
        for k in 0..n_features {
            let (lo, hi) = inside
                .iter()
                .map(|e| e.features[k])
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            assert!(step[k] >= lo && step[k] <= hi, "mean outside [{lo}, {hi}]");
            if spec.step_std && spec.log_step_std {
                // ln(std / floor + 1) with floor = 1 % of the mean std: at least 0 and finite.
                let v = step[n_features + 2 + k];
                assert!(v.is_finite() && v >= 0.0, "log step std {v}");
            } else if spec.step_std {
                let std = f64::from(step[n_features + 2 + k]);
                let half_range = (f64::from(hi) - f64::from(lo)) / 2.0;
                assert!(std >= 0.0 && std <= half_range * (1.0 + 1e-6) + 1e-30);
            }
        }
        let count = f64::from(step[n_features]).exp_m1();
        assert!(count >= -1e-3);
        counted += count.round();
    }
    assert_eq!(counted as usize, window.events_used);
}

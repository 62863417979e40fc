//! Property tests of `bin_events` against the definition in its doc comment.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use telltale_core::window::bin_events;
use telltale_core::{BinnedWindow, Event, WindowError, WindowSpec};

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 3, 1, 0, 0, 0).unwrap()
}

/// A spec, events (sorted, unique, spread before, inside and after the window) and an end.
fn case() -> impl Strategy<Value = (WindowSpec, usize, Vec<Event>, Option<DateTime<Utc>>)> {
    (1i64..100, 1i64..40, 0i64..100, 1usize..4).prop_flat_map(|(step, steps, cut, n_features)| {
        let length = (step * steps - cut % step).max(step);
        let spec = WindowSpec {
            length_secs: length,
            step_secs: step,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        };
        let offsets = proptest::collection::btree_set(-length..2 * length, 1..60);
        let values = proptest::collection::vec(-1000.0f32..1000.0, 60 * n_features);
        let end = proptest::option::of(0..2 * length);
        (Just(spec), Just(n_features), offsets, values, end).prop_map(
            |(spec, n_features, offsets, values, end)| {
                let events = offsets
                    .into_iter()
                    .enumerate()
                    .map(|(i, secs)| Event {
                        timestamp: base() + Duration::seconds(secs),
                        features: values[i * n_features..(i + 1) * n_features].to_vec(),
                    })
                    .collect();
                (
                    spec,
                    n_features,
                    events,
                    end.map(|s| base() + Duration::seconds(s)),
                )
            },
        )
    })
}

/// Events that step `k` of the full window covers, by the doc comment's definition.
fn events_of_step<'a>(
    events: &'a [Event],
    spec: &WindowSpec,
    end: DateTime<Utc>,
    k: usize,
) -> Vec<&'a Event> {
    let window_start = end - Duration::seconds(spec.length_secs);
    let from = window_start + Duration::seconds(k as i64 * spec.step_secs);
    let to = from + Duration::seconds(spec.step_secs);
    let last = k + 1 == spec.max_steps();
    events
        .iter()
        .filter(|e| e.timestamp >= from && e.timestamp <= end && (e.timestamp < to || last))
        .collect()
}

fn check(w: &BinnedWindow, spec: &WindowSpec, n: usize, events: &[Event], end: DateTime<Utc>) {
    let max = spec.max_steps();
    assert!(w.len >= 1 && w.len <= max, "len {} of {max}", w.len);
    assert_eq!(w.channels, n + 2);
    assert_eq!(w.data.len(), w.len * w.channels);
    assert!(w.data.iter().all(|v| v.is_finite()));
    assert_eq!(w.step(0)[n + 1], 0.0, "the first step is never empty");
    let window_start = end - Duration::seconds(spec.length_secs);
    let inside = events
        .iter()
        .filter(|e| e.timestamp >= window_start && e.timestamp <= end);
    assert_eq!(w.events_used, inside.count());
    let counted: f64 = (0..w.len).map(|t| f64::from(w.step(t)[n]).exp_m1()).sum();
    assert!((counted - w.events_used as f64).abs() < 1e-3 * w.events_used as f64);
    let first = max - w.len;
    assert_eq!(
        w.start,
        window_start + Duration::seconds(first as i64 * spec.step_secs)
    );
    assert!((0..first).all(|k| events_of_step(events, spec, end, k).is_empty()));
    for t in 0..w.len {
        let in_step = events_of_step(events, spec, end, first + t);
        let step = w.step(t);
        assert_eq!(step[n] as f64, (in_step.len() as f64).ln_1p() as f32 as f64);
        assert_eq!(step[n + 1], if in_step.is_empty() { 1.0 } else { 0.0 });
        if in_step.is_empty() {
            assert_eq!(step[..n], w.step(t - 1)[..n], "carried forward");
        }
        if !in_step.is_empty() {
            for (f, &value) in step[..n].iter().enumerate() {
                let mean = in_step
                    .iter()
                    .map(|e| f64::from(e.features[f]))
                    .sum::<f64>()
                    / in_step.len() as f64;
                assert!(
                    (f64::from(value) - mean).abs() <= 1e-3,
                    "step {t} feature {f}"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn binning_follows_its_definition((spec, n, events, end) in case()) {
        let effective_end = end.unwrap_or(events.last().unwrap().timestamp);
        match bin_events(&events, n, &spec, end) {
            Ok(w) => {
                prop_assert_eq!(w.end, effective_end);
                check(&w, &spec, n, &events, effective_end);
            }
            Err(WindowError::NoEventsInWindow { end }) => {
                let window_start = end - Duration::seconds(spec.length_secs);
                prop_assert!(events.iter().all(|e| e.timestamp < window_start || e.timestamp > end));
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn events_after_the_end_change_nothing((spec, n, events, end) in case(), extra in 1i64..1000) {
        let end = end.unwrap_or(events.last().unwrap().timestamp);
        let mut longer = events.clone();
        let after = longer.last().unwrap().timestamp.max(end) + Duration::seconds(extra);
        longer.push(Event { timestamp: after, features: vec![f32::NAN; n] });
        prop_assert_eq!(bin_events(&events, n, &spec, Some(end)), bin_events(&longer, n, &spec, Some(end)));
    }

    #[test]
    fn unsorted_input_is_refused((spec, n, mut events, end) in case(), i in 0usize..60, j in 0usize..60) {
        prop_assume!(events.len() >= 2);
        let (i, j) = (i % events.len(), j % events.len());
        prop_assume!(i < j);
        events.swap(i, j);
        let got = bin_events(&events, n, &spec, end);
        prop_assert!(matches!(got, Err(WindowError::Unsorted { index }) if index <= j), "{:?}", got);
    }
}

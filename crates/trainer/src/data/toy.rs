//! Small synthetic data for tests, examples and benchmarks: sensors with a daily cycle and noise,
//! anomalous ones with a level shift in their last hours. Not a substitute for `synth`, which
//! models the product's anomaly kinds; this only needs to be learnable and fast.

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use telltale_core::{BinnedWindow, Event, EventsFile, SensorWindow};

use super::Prepared;

/// Events of `sensors` sensors (two features), one window each, about one event per hour over
/// `hours` hours (some sensors start later: shorter history). Every `positive_every`-th sensor is
/// labelled anomalous and has its first feature shifted by +3 over its last 8 hours.
pub fn events_file(sensors: usize, positive_every: usize, hours: i64, seed: u64) -> EventsFile {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let origin = Utc
        .with_ymd_and_hms(2021, 6, 1, 0, 0, 0)
        .single()
        .expect("valid date");
    let windows = (0..sensors)
        .map(|s| {
            let positive = positive_every > 0 && s % positive_every == positive_every - 1;
            let phase: f32 = rng.random_range(0.0..std::f32::consts::TAU);
            let start_hour = if s % 5 == 0 { hours / 2 } else { 0 };
            let mut events = Vec::new();
            for h in start_hour..hours {
                let seconds = h * 3600 + rng.random_range(0..3000);
                let t = h as f32 / 24.0 * std::f32::consts::TAU + phase;
                let shift = if positive && h >= hours - 8 { 3.0 } else { 0.0 };
                events.push(Event {
                    timestamp: origin + Duration::seconds(seconds),
                    features: vec![
                        t.sin() + shift + rng.random_range(-0.1..0.1),
                        0.5 * t.cos() + rng.random_range(-0.1..0.1),
                    ],
                });
            }
            SensorWindow {
                sensor_id: format!("s{s:03}"),
                window_id: None,
                label: Some(positive),
                events,
            }
        })
        .collect();
    EventsFile {
        feature_names: vec!["feature_1".into(), "feature_2".into()],
        label_column: Some("10_days_alert_label".into()),
        windows,
        report: Default::default(),
    }
}

/// Already binned and normalised-looking windows (`channels` sinusoids with noise and random
/// phase), all normal: for stage-level tests and the training speed benchmark.
pub fn prepared(count: usize, steps: usize, channels: usize, seed: u64) -> Vec<Prepared> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = Utc.timestamp_opt(0, 0).single().expect("epoch");
    (0..count)
        .map(|i| {
            let phase: f32 = rng.random_range(0.0..std::f32::consts::TAU);
            let mut data = Vec::with_capacity(steps * channels);
            for t in 0..steps {
                for c in 0..channels {
                    let base = (t as f32 * 0.1 * (c + 1) as f32 + phase).sin();
                    data.push(base + rng.random_range(-0.1..0.1));
                }
            }
            Prepared {
                sensor_id: format!("w{i}"),
                label: Some(false),
                window: BinnedWindow {
                    len: steps,
                    channels,
                    data,
                    start,
                    end: start,
                    events_used: steps,
                },
            }
        })
        .collect()
}

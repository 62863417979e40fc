//! Simulating one sensor: its event times and its feature values, with the anomaly (if any)
//! applied. See [`super::profile`] for the model of a normal sensor and [`super::anomaly`] for
//! what each kind changes.

use rand::Rng;

use super::anomaly::{Anomaly, AnomalyKind, uniform};
use super::profile::{FeatureProfile, GLITCH_STD, SensorProfile, normal};

/// Keep offline periods at least this far (seconds) from an anomaly, so a quiet period never hides
/// the segment that carries the label.
const OFFLINE_CLEARANCE_SECS: f64 = 3600.0;

/// One simulated sensor: event times and feature values.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorSeries {
    /// Milliseconds from the window start, strictly increasing.
    pub times_ms: Vec<i64>,
    /// Row-major values, `n_features` per event.
    pub values: Vec<f64>,
    pub n_features: usize,
}

impl SensorSeries {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.times_ms.len()
    }

    /// Whether the sensor produced no event at all.
    pub fn is_empty(&self) -> bool {
        self.times_ms.is_empty()
    }
}

/// Where and how the simulation runs.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Window length, seconds.
    pub window_secs: f64,
    /// Time of day of the window start, seconds after midnight UTC.
    pub start_tod_secs: f64,
}

/// Simulate one sensor. Offline periods that come near the anomaly are dropped first.
pub fn simulate<R: Rng>(
    rng: &mut R,
    profile: &SensorProfile,
    anomaly: Option<&Anomaly>,
    clock: Clock,
) -> SensorSeries {
    let mut profile = profile.clone();
    if let Some(a) = anomaly {
        profile.offline.retain(|&(s, e)| {
            e + OFFLINE_CLEARANCE_SECS <= a.start || s >= a.end + OFFLINE_CLEARANCE_SECS
        });
    }
    let times = event_times(rng, &profile, anomaly, clock);
    let values = feature_values(rng, &profile, anomaly, clock, &times);
    SensorSeries {
        times_ms: times,
        values,
        n_features: profile.features.len(),
    }
}

/// A non-homogeneous Poisson process by thinning: candidates at the highest possible rate, each
/// kept with probability `rate(t) / max rate`. Times are truncated to milliseconds; an event that
/// lands on the same millisecond as the previous one is dropped.
fn event_times<R: Rng>(
    rng: &mut R,
    profile: &SensorProfile,
    anomaly: Option<&Anomaly>,
    clock: Clock,
) -> Vec<i64> {
    let boost = anomaly.map_or(1.0, |a| a.rate_factor.max(1.0));
    let max_rate = profile.rate * (1.0 + profile.daily_rate_amplitude) * boost;
    let expected = profile.rate * clock.window_secs * boost;
    let mut times = Vec::with_capacity(expected as usize + 16);
    let mut t = 0.0;
    let mut last_ms = -1_i64;
    loop {
        // Exponential gap: -ln(1 - u) / rate, u in [0, 1).
        t += -(-rng.random::<f64>()).ln_1p() / max_rate;
        if t >= clock.window_secs {
            break;
        }
        if profile.is_offline(t) {
            continue;
        }
        let mut rate = profile.daily_rate(clock.start_tod_secs + t);
        if let Some(a) = anomaly.filter(|a| a.contains(t)) {
            rate *= a.rate_factor;
        }
        if rng.random::<f64>() * max_rate >= rate {
            continue;
        }
        let ms = (t * 1000.0).floor() as i64;
        if ms > last_ms {
            times.push(ms);
            last_ms = ms;
        }
    }
    if times.is_empty() {
        // Every sensor reports at least once, so each id has a window (only matters for windows a
        // few mean gaps long).
        times.push((rng.random::<f64>() * clock.window_secs * 1000.0) as i64);
    }
    times
}

/// The running state of one feature's random parts.
#[derive(Debug, Clone, Copy)]
struct Noise {
    ar: f64,
}

impl Noise {
    fn new<R: Rng>(rng: &mut R) -> Self {
        Noise { ar: normal(rng) }
    }

    /// Advance by `dt` seconds and return the noise value (AR(1) + white), in the feature's units.
    fn step<R: Rng>(&mut self, rng: &mut R, f: &FeatureProfile, dt: f64) -> f64 {
        let phi = (-dt / f.tau_secs).exp();
        self.ar = phi * self.ar + (1.0 - phi * phi).sqrt() * normal(rng);
        f.ar_std * self.ar + f.white_std * normal(rng)
    }
}

/// Feature values at `times`, row-major.
fn feature_values<R: Rng>(
    rng: &mut R,
    profile: &SensorProfile,
    anomaly: Option<&Anomaly>,
    clock: Clock,
    times: &[i64],
) -> Vec<f64> {
    let n = profile.features.len();
    let first = &profile.features[0];
    let mut noise: Vec<Noise> = (0..n).map(|_| Noise::new(rng)).collect();
    // Extra processes that only anomalies use: independent noise for a variance burst, and the
    // stand-in for feature 1 that a broken correlation follows: same amplitude and noise (so the
    // same marginal mean and std), independent noise, and a daily cycle shifted by 90°–270° so the
    // seasonal part does not keep the correlation alive either.
    let mut burst: Vec<Noise> = (0..n).map(|_| Noise::new(rng)).collect();
    let mut stand_in_noise = Noise::new(rng);
    let stand_in = FeatureProfile {
        phase: first.phase + std::f64::consts::PI * uniform(rng, (0.5, 1.5)),
        phase2: std::f64::consts::TAU * rng.random::<f64>(),
        ..first.clone()
    };
    let stds: Vec<f64> = profile.features.iter().map(FeatureProfile::std).collect();
    let mut frozen: Vec<Option<f64>> = vec![None; n];

    let mut values = Vec::with_capacity(times.len() * n);
    let mut row = vec![0.0; n];
    let mut prev_t = f64::NEG_INFINITY;
    for &ms in times {
        let t = ms as f64 / 1000.0;
        let dt = t - prev_t;
        prev_t = t;
        let tod = clock.start_tod_secs + t;
        let progress = t / clock.window_secs - 0.5;
        let active = anomaly.filter(|a| a.contains(t));

        // Feature 1's own signal drives the others; a broken correlation swaps in the stand-in.
        let own_first = first.seasonal(tod) + noise[0].step(rng, first, dt);
        let stand_in_value = match active {
            Some(a) if a.kind == AnomalyKind::BrokenCorrelation => {
                stand_in.seasonal(tod) + stand_in_noise.step(rng, &stand_in, dt)
            }
            _ => own_first,
        };
        for (k, f) in profile.features.iter().enumerate() {
            let hit = active.and_then(|a| a.magnitude_of(k).map(|m| (a, m)));
            let mut value = if k == 0 {
                f.base + own_first
            } else {
                let broken = hit.is_some_and(|(a, _)| a.kind == AnomalyKind::BrokenCorrelation);
                let driver = if broken { stand_in_value } else { own_first };
                let own = f.seasonal(tod) + noise[k].step(rng, f, dt);
                f.base
                    + f.coupling * (stds[k] / stds[0]) * driver
                    + (1.0 - f.coupling * f.coupling).sqrt() * own
            };
            value += f.trend * stds[k] * progress;
            if rng.random_bool(profile.glitch_probability) {
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                value += sign * stds[k] * uniform(rng, GLITCH_STD);
            }
            let Some((a, m)) = hit else {
                frozen[k] = None;
                row[k] = value;
                continue;
            };
            row[k] = match a.kind {
                AnomalyKind::LevelShift => value + m * stds[k],
                AnomalyKind::Drift => value + m * stds[k] * (t - a.start) / (a.end - a.start),
                AnomalyKind::VarianceBurst => {
                    // Total noise std becomes m × its normal value: add independent noise of the
                    // same shape with std √(m² − 1) × that value.
                    let unit = burst[k].step(rng, f, dt) / f.noise_std();
                    value + (m * m - 1.0).sqrt() * observed_noise_std(profile, k, &stds) * unit
                }
                // `row` still holds the last value before the segment (unless this is the very
                // first event, which then freezes at its own value).
                AnomalyKind::Stuck => {
                    let last = if values.is_empty() { value } else { row[k] };
                    *frozen[k].get_or_insert(last)
                }
                AnomalyKind::BrokenCorrelation | AnomalyKind::Frequency => value,
            };
        }
        values.extend_from_slice(&row);
    }
    values
}

/// Std of the noise part of feature `k` as observed: its own noise plus feature 1's, through the
/// coupling.
fn observed_noise_std(profile: &SensorProfile, k: usize, stds: &[f64]) -> f64 {
    let f = &profile.features[k];
    if k == 0 {
        return f.noise_std();
    }
    let from_first = f.coupling * stds[k] / stds[0] * profile.features[0].noise_std();
    let own = (1.0 - f.coupling * f.coupling).sqrt() * f.noise_std();
    from_first.hypot(own)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const DAY: f64 = 86_400.0;

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    fn std(xs: &[f64]) -> f64 {
        let m = mean(xs);
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
    }

    fn column(series: &SensorSeries, k: usize) -> Vec<f64> {
        series
            .values
            .iter()
            .skip(k)
            .step_by(series.n_features)
            .copied()
            .collect()
    }

    #[test]
    fn a_normal_sensor_follows_its_profile() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let clock = Clock {
            window_secs: 60.0 * DAY,
            start_tod_secs: 0.0,
        };
        for _ in 0..5 {
            let mut profile = SensorProfile::draw(&mut rng, 2, clock.window_secs, 300.0);
            profile.offline.clear();
            profile.features.iter_mut().for_each(|f| f.trend = 0.0);
            let series = simulate(&mut rng, &profile, None, clock);
            let expected = profile.rate * clock.window_secs;
            let ratio = series.len() as f64 / expected;
            assert!(
                (0.9..1.1).contains(&ratio),
                "{} events, expected {expected}",
                series.len()
            );
            assert!(series.times_ms.windows(2).all(|w| w[0] < w[1]));
            for (k, f) in profile.features.iter().enumerate() {
                let values = column(&series, k);
                let ratio = std(&values) / f.std();
                assert!(
                    (0.8..1.25).contains(&ratio),
                    "feature {k}: std ratio {ratio}"
                );
                let offset = (mean(&values) - f.base).abs() / f.std();
                assert!(offset < 0.25, "feature {k}: mean off by {offset} std");
            }
            let c = profile.features[1].coupling;
            let (a, b) = (column(&series, 0), column(&series, 1));
            let (ma, mb) = (mean(&a), mean(&b));
            let cov = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - ma) * (y - mb))
                .sum::<f64>();
            let r = cov / (a.len() as f64 * std(&a) * std(&b));
            assert!((r - c).abs() < 0.15, "correlation {r}, coupling {c}");
        }
    }

    #[test]
    fn stuck_repeats_the_last_value_and_frequency_changes_the_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let clock = Clock {
            window_secs: 10.0 * DAY,
            start_tod_secs: 3600.0,
        };
        let profile = SensorProfile::draw(&mut rng, 2, clock.window_secs, 300.0);
        let (start, end) = (3.0 * DAY, 4.0 * DAY);
        let stuck = Anomaly {
            kind: AnomalyKind::Stuck,
            start,
            end,
            features: vec![1],
            magnitudes: vec![],
            rate_factor: 1.0,
        };
        let series = simulate(&mut rng, &profile, Some(&stuck), clock);
        let inside: Vec<usize> = (0..series.len())
            .filter(|&i| stuck.contains(series.times_ms[i] as f64 / 1e3))
            .collect();
        assert!(inside.len() > 50);
        let before = inside[0] - 1;
        let (feature_1, feature_2) = (column(&series, 0), column(&series, 1));
        assert!(inside.iter().all(|&i| feature_2[i] == feature_2[before]));
        assert!(std(&inside.iter().map(|&i| feature_1[i]).collect::<Vec<_>>()) > 0.0);

        let slow = Anomaly {
            kind: AnomalyKind::Frequency,
            features: vec![],
            rate_factor: 0.2,
            ..stuck
        };
        let series = simulate(&mut rng, &profile, Some(&slow), clock);
        let count = |lo: f64, hi: f64| {
            let n = series
                .times_ms
                .iter()
                .filter(|&&t| (lo..hi).contains(&(t as f64 / 1e3)))
                .count();
            n as f64
        };
        // Same time of day one day later, outside the segment.
        let ratio = count(start, end) / count(end, end + DAY);
        assert!(ratio < 0.4, "rate ratio {ratio}");
    }
}

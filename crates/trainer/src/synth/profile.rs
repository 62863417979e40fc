//! What makes one synthetic sensor different from the next: its event rate, daily rhythm, quiet
//! periods, and for every feature a level, scale, seasonal cycle, noise and coupling to
//! `feature_1`. All of it is drawn per sensor, so "normal" covers a wide family of behaviours and a
//! detector cannot simply learn one reference sensor.
//!
//! Feature model (seconds `t` from the window start, `ω = 2π / 1 day`):
//!
//! * own signal `o_k(t) = A_k (sin(ω t + φ_k) + h_k sin(2ω t + ψ_k)) + a_k e_k(t) + w_k ε`, where
//!   `e_k` is an Ornstein–Uhlenbeck process (AR(1) for irregular gaps, unit variance, time constant
//!   `τ_k`) and `ε` white noise. Its std is [`FeatureProfile::std`].
//! * `feature_1 = b_1 + o_1(t)`; `feature_k = b_k + c_k (σ_k / σ_1) o_1(t) + √(1 − c_k²) o_k(t)`,
//!   so feature k follows feature 1 with correlation `c_k` and keeps its own std `σ_k`.
//! * plus a slow linear trend over the window and rare single-event glitches, both normal.

use std::f64::consts::TAU;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::anomaly::uniform;

/// Std of a sensor's base level, in units of its scale (levels differ a lot between sensors).
pub const BASE_LEVEL_STD: f64 = 2.0;
/// Std of `ln(scale)`: sensors differ in overall scale by a factor ~3 either way.
pub const SCALE_LOG_STD: f64 = 0.5;
/// Amplitude of the daily cycle, in units of the scale.
pub const SEASONAL_AMPLITUDE: (f64, f64) = (0.2, 1.2);
/// Relative strength of the second (12 h) harmonic.
pub const SECOND_HARMONIC: (f64, f64) = (0.0, 0.4);
/// Std of the AR(1) noise, in units of the scale.
pub const AR_STD: (f64, f64) = (0.3, 1.0);
/// Std of the white measurement noise, in units of the scale.
pub const WHITE_STD: (f64, f64) = (0.05, 0.3);
/// AR(1) time constant, hours.
pub const AR_TAU_HOURS: (f64, f64) = (0.5, 4.0);
/// |correlation| of feature k ≥ 2 with feature 1 (random sign).
pub const COUPLING: (f64, f64) = (0.4, 0.9);
/// Std of the normal linear trend over the whole window, in std of the feature.
pub const TREND_STD: f64 = 0.3;
/// Std of `ln(rate / nominal rate)`: sensors report at different paces.
pub const RATE_LOG_STD: f64 = 0.3;
/// Relative amplitude of the daily event-rate cycle (busier by day).
pub const DAILY_RATE_AMPLITUDE: (f64, f64) = (0.2, 0.7);
/// Hour of day (UTC) at which a sensor is busiest.
pub const BUSY_PEAK_HOUR: (f64, f64) = (10.0, 16.0);
/// Per-sensor probability, for each day, of one offline (quiet) period.
pub const OFFLINE_PER_DAY: (f64, f64) = (0.0, 0.25);
/// Length of an offline period, hours.
pub const OFFLINE_HOURS: (f64, f64) = (1.0, 4.0);
/// Per-sensor probability that one event of one feature is a glitch.
pub const GLITCH_PROBABILITY: (f64, f64) = (0.0, 0.002);
/// Size of a glitch, in std of the feature (random sign).
pub const GLITCH_STD: (f64, f64) = (2.0, 4.0);

const SECS_PER_DAY: f64 = 86_400.0;

/// The parameters of one feature of one sensor (see the module docs for the model).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureProfile {
    pub base: f64,
    pub amplitude: f64,
    pub harmonic: f64,
    pub phase: f64,
    pub phase2: f64,
    pub ar_std: f64,
    pub white_std: f64,
    pub tau_secs: f64,
    /// Correlation with feature 1 (0 for feature 1 itself).
    pub coupling: f64,
    /// Change over the whole window, in std of the feature.
    pub trend: f64,
}

impl FeatureProfile {
    /// Standard deviation of the feature's own signal (seasonal cycle + noise), which is also the
    /// marginal std of the observed feature.
    pub fn std(&self) -> f64 {
        let seasonal =
            self.amplitude * self.amplitude * (1.0 + self.harmonic * self.harmonic) / 2.0;
        (seasonal + self.ar_std * self.ar_std + self.white_std * self.white_std).sqrt()
    }

    /// Std of the noise part only (AR(1) + white).
    pub fn noise_std(&self) -> f64 {
        self.ar_std.hypot(self.white_std)
    }

    /// The daily cycle at absolute time of day `tod_secs` (any offset; only the phase matters).
    pub fn seasonal(&self, tod_secs: f64) -> f64 {
        let x = TAU * tod_secs / SECS_PER_DAY;
        self.amplitude * ((x + self.phase).sin() + self.harmonic * (2.0 * x + self.phase2).sin())
    }
}

/// The parameters of one sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorProfile {
    /// Mean events per second over a day.
    pub rate: f64,
    /// Relative amplitude of the daily rate cycle.
    pub daily_rate_amplitude: f64,
    /// Time of day of the busiest moment, seconds after midnight UTC.
    pub busy_peak_secs: f64,
    /// Offline periods `[start, end)`, seconds from the window start, sorted, non-overlapping.
    pub offline: Vec<(f64, f64)>,
    /// Probability that one feature value of one event is a glitch.
    pub glitch_probability: f64,
    pub features: Vec<FeatureProfile>,
}

impl SensorProfile {
    /// Draw a sensor for a window of `window_secs` with nominal mean gap `mean_gap_secs`.
    pub fn draw<R: Rng>(
        rng: &mut R,
        n_features: usize,
        window_secs: f64,
        mean_gap_secs: f64,
    ) -> SensorProfile {
        let rate = (RATE_LOG_STD * normal(rng)).exp() / mean_gap_secs;
        let daily_rate_amplitude = uniform(rng, DAILY_RATE_AMPLITUDE);
        let busy_peak_secs = uniform(rng, BUSY_PEAK_HOUR) * 3600.0;

        let offline_probability = uniform(rng, OFFLINE_PER_DAY);
        let mut offline = Vec::new();
        let days = (window_secs / SECS_PER_DAY).ceil() as usize;
        for day in 0..days {
            if rng.random_bool(offline_probability) {
                let start = (day as f64 + rng.random::<f64>()) * SECS_PER_DAY;
                let end = start + uniform(rng, OFFLINE_HOURS) * 3600.0;
                let start = start.max(offline.last().map_or(0.0, |&(_, e)| e));
                if start < window_secs && start < end {
                    offline.push((start, end.min(window_secs)));
                }
            }
        }
        let glitch_probability = uniform(rng, GLITCH_PROBABILITY);

        let features = (0..n_features)
            .map(|k| {
                let scale = (SCALE_LOG_STD * normal(rng)).exp();
                let coupling = if k == 0 {
                    0.0
                } else {
                    let c = uniform(rng, COUPLING);
                    if rng.random_bool(0.5) { c } else { -c }
                };
                FeatureProfile {
                    base: BASE_LEVEL_STD * scale * normal(rng),
                    amplitude: scale * uniform(rng, SEASONAL_AMPLITUDE),
                    harmonic: uniform(rng, SECOND_HARMONIC),
                    phase: TAU * rng.random::<f64>(),
                    phase2: TAU * rng.random::<f64>(),
                    ar_std: scale * uniform(rng, AR_STD),
                    white_std: scale * uniform(rng, WHITE_STD),
                    tau_secs: uniform(rng, AR_TAU_HOURS) * 3600.0,
                    coupling,
                    trend: TREND_STD * normal(rng),
                }
            })
            .collect();
        SensorProfile {
            rate,
            daily_rate_amplitude,
            busy_peak_secs,
            offline,
            glitch_probability,
            features,
        }
    }

    /// Events per second at absolute time of day `tod_secs`, ignoring offline periods.
    pub fn daily_rate(&self, tod_secs: f64) -> f64 {
        let x = TAU * (tod_secs - self.busy_peak_secs) / SECS_PER_DAY;
        self.rate * (1.0 + self.daily_rate_amplitude * x.cos())
    }

    /// Whether the sensor is offline at `t` (seconds from the window start).
    pub fn is_offline(&self, t: f64) -> bool {
        self.offline.iter().any(|&(s, e)| t >= s && t < e)
    }
}

/// One standard normal draw.
pub(crate) fn normal<R: Rng>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn seasonal_variance_matches_the_std_formula() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let profile = SensorProfile::draw(&mut rng, 1, 864_000.0, 300.0);
        let f = &profile.features[0];
        let n = 86_400;
        let values: Vec<f64> = (0..n).map(|s| f.seasonal(f64::from(s))).collect();
        let mean = values.iter().sum::<f64>() / f64::from(n);
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / f64::from(n);
        let expected = f.std().powi(2) - f.noise_std().powi(2);
        assert!(
            mean.abs() < 1e-9,
            "a full day of the cycle averages to zero, got {mean}"
        );
        assert!(
            (var - expected).abs() < 1e-6 * expected.max(1.0),
            "{var} vs {expected}"
        );
    }

    #[test]
    fn offline_periods_are_sorted_and_inside_the_window() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..300 {
            let window = 10.0 * SECS_PER_DAY;
            let p = SensorProfile::draw(&mut rng, 2, window, 300.0);
            for pair in p.offline.windows(2) {
                assert!(pair[0].1 <= pair[1].0);
            }
            for &(s, e) in &p.offline {
                assert!(0.0 <= s && s < e && e <= window);
            }
            assert!(p.features[0].coupling == 0.0);
            assert!((COUPLING.0..=COUPLING.1).contains(&p.features[1].coupling.abs()));
        }
    }
}

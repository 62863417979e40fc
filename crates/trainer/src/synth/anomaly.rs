//! The anomaly kinds `synth` plants in alerting sensors, and how strong they are.
//!
//! Every alerting sensor gets exactly one anomaly: one kind, one contiguous segment of 6–48 h at a
//! random place inside its window, affecting one or two features (none for `frequency`, which acts
//! on the event times). Magnitudes are deliberately moderate — a few of the feature's own standard
//! deviations at most, over a small part of the window — so that plain per-window summary
//! statistics do not give them away, while a model that reads the sequence can. The constants below
//! are the knobs to turn when the evaluation says the task is too easy or too hard.
//!
//! "Std" below always means the affected feature's *marginal* standard deviation on that sensor
//! (seasonal cycle + noise + coupling to `feature_1`), see [`super::profile::FeatureProfile`].

use rand::Rng;
use rand::seq::index;

/// Length of an anomaly segment, in hours (uniform).
pub const DURATION_HOURS: (f64, f64) = (6.0, 48.0);
/// A segment never starts or ends closer than this fraction of the window to either edge.
pub const EDGE_MARGIN: f64 = 0.03;
/// Probability that an anomaly affects two features instead of one (when two are available).
pub const SECOND_FEATURE_PROBABILITY: f64 = 0.35;
/// `level_shift`: offset added during the segment, in std (uniform, random sign).
pub const LEVEL_SHIFT_STD: (f64, f64) = (1.5, 3.0);
/// `variance_burst`: factor on the feature's noise during the segment (uniform).
pub const VARIANCE_BURST_FACTOR: (f64, f64) = (2.5, 4.0);
/// `drift`: offset reached at the end of the segment, in std (uniform, random sign). The offset
/// grows linearly from zero and disappears when the segment ends (the fault is reset).
pub const DRIFT_STD: (f64, f64) = (2.5, 4.0);
/// `frequency`: the event rate is multiplied or divided (even odds) by this factor (uniform).
pub const FREQUENCY_FACTOR: (f64, f64) = (4.0, 8.0);

/// The kinds of anomaly `synth` knows. Command-line and truth-file names are snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// The feature jumps by [`LEVEL_SHIFT_STD`] std for the segment, then returns.
    LevelShift,
    /// The feature's noise grows by [`VARIANCE_BURST_FACTOR`]; its mean and seasonal cycle stay.
    VarianceBurst,
    /// A linear ramp reaching [`DRIFT_STD`] std at the end of the segment, then reset.
    Drift,
    /// A feature that normally follows `feature_1` follows an independent process with the same
    /// marginal mean and std instead. Needs at least two features; never affects `feature_1`.
    BrokenCorrelation,
    /// The feature repeats its last value before the segment for the whole segment.
    Stuck,
    /// The event rate changes by [`FREQUENCY_FACTOR`] (up or down); feature values are untouched.
    Frequency,
}

impl AnomalyKind {
    /// Every kind, in declaration order.
    pub const ALL: [AnomalyKind; 6] = [
        AnomalyKind::LevelShift,
        AnomalyKind::VarianceBurst,
        AnomalyKind::Drift,
        AnomalyKind::BrokenCorrelation,
        AnomalyKind::Stuck,
        AnomalyKind::Frequency,
    ];

    /// The snake_case name used on the command line and in the truth file.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::LevelShift => "level_shift",
            AnomalyKind::VarianceBurst => "variance_burst",
            AnomalyKind::Drift => "drift",
            AnomalyKind::BrokenCorrelation => "broken_correlation",
            AnomalyKind::Stuck => "stuck",
            AnomalyKind::Frequency => "frequency",
        }
    }

    /// Smallest number of features the kind can be planted in.
    pub fn min_features(self) -> usize {
        match self {
            AnomalyKind::BrokenCorrelation => 2,
            _ => 1,
        }
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One planted anomaly. Times are seconds from the start of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub start: f64,
    pub end: f64,
    /// Affected features, 0-based and ascending; empty for `frequency`.
    pub features: Vec<usize>,
    /// One value per affected feature: the signed offset in std (`level_shift`, `drift`) or the
    /// noise factor (`variance_burst`); empty for the other kinds.
    pub magnitudes: Vec<f64>,
    /// Factor on the event rate inside the segment (1 except for `frequency`).
    pub rate_factor: f64,
}

impl Anomaly {
    /// Draw an anomaly of one of `kinds` (all must fit `n_features`) for a window of
    /// `window_secs` seconds.
    pub fn draw<R: Rng>(
        rng: &mut R,
        kinds: &[AnomalyKind],
        n_features: usize,
        window_secs: f64,
    ) -> Anomaly {
        let kind = kinds[rng.random_range(0..kinds.len())];
        let lo = window_secs * EDGE_MARGIN;
        let span = window_secs * (1.0 - 2.0 * EDGE_MARGIN);
        let wanted = uniform(rng, DURATION_HOURS) * 3600.0;
        let duration = wanted.min(span * 0.5);
        let start = lo + rng.random::<f64>() * (span - duration);
        let end = start + duration;

        let candidates: Vec<usize> = match kind {
            AnomalyKind::Frequency => Vec::new(),
            AnomalyKind::BrokenCorrelation => (1..n_features).collect(),
            _ => (0..n_features).collect(),
        };
        let count = match candidates.len() {
            0 => 0,
            1 => 1,
            _ if rng.random_bool(SECOND_FEATURE_PROBABILITY) => 2,
            _ => 1,
        };
        let mut features: Vec<usize> = index::sample(rng, candidates.len(), count)
            .into_iter()
            .map(|i| candidates[i])
            .collect();
        features.sort_unstable();

        let mut magnitudes = Vec::new();
        let mut rate_factor = 1.0;
        for _ in &features {
            match kind {
                AnomalyKind::LevelShift => magnitudes.push(signed(rng, LEVEL_SHIFT_STD)),
                AnomalyKind::Drift => magnitudes.push(signed(rng, DRIFT_STD)),
                AnomalyKind::VarianceBurst => magnitudes.push(uniform(rng, VARIANCE_BURST_FACTOR)),
                _ => {}
            }
        }
        if kind == AnomalyKind::Frequency {
            let factor = uniform(rng, FREQUENCY_FACTOR);
            rate_factor = if rng.random_bool(0.5) {
                factor
            } else {
                1.0 / factor
            };
        }
        Anomaly {
            kind,
            start,
            end,
            features,
            magnitudes,
            rate_factor,
        }
    }

    /// Whether `t` (seconds from the window start) lies inside the segment `[start, end)`.
    pub fn contains(&self, t: f64) -> bool {
        t >= self.start && t < self.end
    }

    /// The magnitude applied to `feature`, if the anomaly affects it.
    pub fn magnitude_of(&self, feature: usize) -> Option<f64> {
        let slot = self.features.iter().position(|&f| f == feature)?;
        Some(self.magnitudes.get(slot).copied().unwrap_or(0.0))
    }
}

/// A uniform draw from `[lo, hi)`.
pub(crate) fn uniform<R: Rng>(rng: &mut R, (lo, hi): (f64, f64)) -> f64 {
    lo + rng.random::<f64>() * (hi - lo)
}

/// A uniform draw from `[lo, hi)` with a random sign.
fn signed<R: Rng>(rng: &mut R, range: (f64, f64)) -> f64 {
    let value = uniform(rng, range);
    if rng.random_bool(0.5) { value } else { -value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn drawn_anomalies_respect_their_ranges() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let window = 10.0 * 86_400.0;
        for _ in 0..2_000 {
            let a = Anomaly::draw(&mut rng, &AnomalyKind::ALL, 3, window);
            let hours = (a.end - a.start) / 3600.0;
            assert!(
                (DURATION_HOURS.0..=DURATION_HOURS.1).contains(&hours),
                "{a:?}"
            );
            assert!(a.start >= window * EDGE_MARGIN && a.end <= window * (1.0 - EDGE_MARGIN));
            match a.kind {
                AnomalyKind::Frequency => {
                    assert!(a.features.is_empty());
                    let f = a.rate_factor.max(1.0 / a.rate_factor);
                    assert!((FREQUENCY_FACTOR.0..=FREQUENCY_FACTOR.1).contains(&f));
                }
                AnomalyKind::BrokenCorrelation => assert!(!a.features.contains(&0)),
                AnomalyKind::LevelShift => {
                    for m in &a.magnitudes {
                        assert!((LEVEL_SHIFT_STD.0..=LEVEL_SHIFT_STD.1).contains(&m.abs()));
                    }
                }
                _ => {}
            }
            if a.kind != AnomalyKind::Frequency {
                assert!((1..=2).contains(&a.features.len()), "{a:?}");
                assert_eq!(a.rate_factor, 1.0);
            }
        }
    }

    #[test]
    fn short_windows_still_fit_the_segment() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let window = 4.0 * 3600.0;
        for _ in 0..200 {
            let a = Anomaly::draw(&mut rng, &[AnomalyKind::Drift], 1, window);
            assert!(a.start > 0.0 && a.start < a.end && a.end < window);
        }
    }
}

//! Per-channel normalisation fitted on normal training windows (DESIGN §1).

use serde::{Deserialize, Serialize};

use crate::window::BinnedWindow;

/// `(x - mean) / std` per channel. `std` is floored so constant channels do not divide by zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Standard deviation per channel (1.0 for constant channels).
    pub std: Vec<f32>,
}

/// A standard deviation below this counts as zero: the channel is constant and gets std 1.0, so
/// it normalises to 0 instead of being blown up.
pub const MIN_STD: f32 = 1e-6;

impl Normalizer {
    /// Fit on every step of every window (all must have the same channel count). The `empty` flag
    /// and count channels are normalised like the others. Population statistics (divide by n).
    ///
    /// No windows gives an empty normaliser (zero channels).
    ///
    /// # Panics
    /// When windows disagree on their channel count.
    pub fn fit<'a>(windows: impl IntoIterator<Item = &'a BinnedWindow>) -> Self {
        // Sums of (x - shift) and its square, shifted by the first step's values so that large
        // offsets do not cancel the variance out.
        let mut shift: Vec<f64> = Vec::new();
        let mut sum: Vec<f64> = Vec::new();
        let mut sum_sq: Vec<f64> = Vec::new();
        let mut count = 0u64;
        let mut channels = None;
        for window in windows {
            let c = *channels.get_or_insert(window.channels);
            assert_eq!(
                window.channels, c,
                "Normalizer::fit: windows disagree on channel count"
            );
            for t in 0..window.len {
                let step = window.step(t);
                if shift.is_empty() {
                    shift = step.iter().map(|&v| f64::from(v)).collect();
                    sum = vec![0.0; c];
                    sum_sq = vec![0.0; c];
                }
                for ch in 0..c {
                    let d = f64::from(step[ch]) - shift[ch];
                    sum[ch] += d;
                    sum_sq[ch] += d * d;
                }
                count += 1;
            }
        }
        if sum.is_empty() {
            // No steps seen: normalising changes nothing (zero channels without any window).
            let c = channels.unwrap_or(0);
            return Self {
                mean: vec![0.0; c],
                std: vec![1.0; c],
            };
        }
        let n = count as f64;
        let mut mean = Vec::with_capacity(sum.len());
        let mut std = Vec::with_capacity(sum.len());
        for ch in 0..sum.len() {
            let m = sum[ch] / n;
            let var = (sum_sq[ch] / n - m * m).max(0.0);
            mean.push((shift[ch] + m) as f32);
            let s = var.sqrt() as f32;
            std.push(if s < MIN_STD { 1.0 } else { s });
        }
        Self { mean, std }
    }

    /// Normalise `window` in place: `(x - mean) / std` per channel.
    ///
    /// # Panics
    /// When the window's channel count differs from the normaliser's.
    pub fn apply(&self, window: &mut BinnedWindow) {
        assert_eq!(
            window.channels,
            self.mean.len(),
            "Normalizer::apply: window has {} channels, the normaliser {}",
            window.channels,
            self.mean.len()
        );
        self.apply_steps(&mut window.data[..window.len * window.channels]);
    }

    /// Normalise row-major `[steps, channels]` data in place (any number of whole steps).
    pub fn apply_steps(&self, data: &mut [f32]) {
        let channels = self.mean.len();
        if channels == 0 {
            return;
        }
        for step in data.chunks_exact_mut(channels) {
            for ((x, m), s) in step.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - m) / s;
            }
        }
    }

    /// Number of channels the normaliser was fitted on.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn window(steps: &[[f32; 3]]) -> BinnedWindow {
        BinnedWindow {
            len: steps.len(),
            channels: 3,
            data: steps.iter().flatten().copied().collect(),
            start: DateTime::<Utc>::UNIX_EPOCH,
            end: DateTime::<Utc>::UNIX_EPOCH,
            events_used: steps.len(),
        }
    }

    #[test]
    fn fit_uses_every_step_of_every_window() {
        // Channel 0: 1, 2, 3, 6 → mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5.
        let a = window(&[[1.0, 5.0, 1e6], [2.0, 5.0, 1e6 + 2.0]]);
        let b = window(&[[3.0, 5.0, 1e6], [6.0, 5.0, 1e6 + 2.0]]);
        let n = Normalizer::fit([&a, &b]);
        assert_eq!(n.mean, [3.0, 5.0, 1e6 + 1.0]);
        assert!((n.std[0] - 3.5f32.sqrt()).abs() < 1e-6);
        assert_eq!(n.std[1], 1.0, "a constant channel keeps std 1");
        assert!(
            (n.std[2] - 1.0).abs() < 1e-6,
            "a large offset does not swamp the variance"
        );
        assert_eq!(n.channels(), 3);
    }

    #[test]
    fn applying_the_fit_standardises_the_training_data() {
        let mut a = window(&[[1.0, 5.0, -2.0], [2.0, 5.0, 0.0], [4.0, 5.0, 8.0]]);
        let n = Normalizer::fit([&a]);
        n.apply(&mut a);
        for c in 0..3 {
            let column: Vec<f32> = (0..a.len).map(|t| a.step(t)[c]).collect();
            let mean = column.iter().sum::<f32>() / 3.0;
            let var = column.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 3.0;
            assert!(mean.abs() < 1e-6, "channel {c} mean {mean}");
            let expected_var = if c == 1 { 0.0 } else { 1.0 };
            assert!((var - expected_var).abs() < 1e-5, "channel {c} var {var}");
        }
        assert_eq!(a.step(0)[1], 0.0, "constant channel becomes 0");
    }

    #[test]
    fn no_windows_give_an_empty_normaliser_that_round_trips() {
        let empty = Normalizer::fit(std::iter::empty());
        assert_eq!(empty.channels(), 0);
        let n = Normalizer {
            mean: vec![1.0, -2.5],
            std: vec![0.5, 3.0],
        };
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<Normalizer>(&text).unwrap(), n);
    }

    #[test]
    #[should_panic(expected = "channels")]
    fn applying_to_the_wrong_channel_count_panics() {
        let n = Normalizer {
            mean: vec![0.0; 2],
            std: vec![1.0; 2],
        };
        n.apply(&mut window(&[[1.0, 2.0, 3.0]]));
    }
}

//! `baseline_summary`: a non-neural yardstick for the LSTM scorers.
//!
//! Each binned, normalised window is reduced to six summary statistics per channel — mean, standard
//! deviation, minimum, maximum, least-squares slope over the step index, and the mean of the last
//! 10 % of steps ("tail mean"). The baseline is fitted on normal training windows by storing the
//! mean and standard deviation of every statistic; a window's score is the **standardised Euclidean
//! distance** (a Mahalanobis distance with a diagonal covariance) from that normal mean, divided by
//! the number of statistics so the scale does not depend on the channel count:
//!
//! `score = sqrt( mean_j ((s_j − μ_j) / σ_j)² )`
//!
//! We chose this over k-nearest-neighbour distance because it needs no stored training windows, is
//! deterministic and costs O(statistics) per window. Whatever the LSTM scorers reach beyond this
//! number is what sequence modelling adds over "are the window's plain statistics unusual?".

use anyhow::{Context, bail};
use telltale_core::BinnedWindow;

/// Statistics per channel, in the order they appear in [`summary_features`].
pub const STATISTICS: [&str; 6] = ["mean", "std", "min", "max", "slope", "tail_mean"];

/// Fraction of the window's steps averaged for the `tail_mean` statistic (at least one step).
pub const TAIL_FRACTION: f64 = 0.1;

/// Smallest standard deviation a statistic is divided by, so a statistic that is constant on the
/// normal windows (e.g. the `empty` flag of a sensor that reports every step) does not divide by
/// zero. Windows are normalised, so 1e-3 is small against the unit scale of the channels.
pub const STD_FLOOR: f64 = 1e-3;

/// The six statistics of every channel of `window`, channel-major: `[c0.mean, c0.std, …,
/// c0.tail_mean, c1.mean, …]`, length `6 × channels`. An empty window gives zeros.
pub fn summary_features(window: &BinnedWindow) -> Vec<f64> {
    let channels = window.channels;
    let len = window.len;
    let mut out = Vec::with_capacity(channels * STATISTICS.len());
    let tail_steps = ((len as f64 * TAIL_FRACTION).ceil() as usize).clamp(1, len.max(1));
    let t_mean = (len as f64 - 1.0) / 2.0;
    let t_var: f64 = (0..len).map(|t| (t as f64 - t_mean).powi(2)).sum();
    for c in 0..channels {
        if len == 0 {
            out.extend([0.0; 6]);
            continue;
        }
        let value = |t: usize| f64::from(window.data[t * channels + c]);
        let mean = (0..len).map(value).sum::<f64>() / len as f64;
        let var = (0..len).map(|t| (value(t) - mean).powi(2)).sum::<f64>() / len as f64;
        let min = (0..len).map(value).fold(f64::INFINITY, f64::min);
        let max = (0..len).map(value).fold(f64::NEG_INFINITY, f64::max);
        let slope = if t_var > 0.0 {
            (0..len)
                .map(|t| (t as f64 - t_mean) * (value(t) - mean))
                .sum::<f64>()
                / t_var
        } else {
            0.0
        };
        let tail = (len - tail_steps..len).map(value).sum::<f64>() / tail_steps as f64;
        out.extend([mean, var.sqrt(), min, max, slope, tail]);
    }
    out
}

/// The fitted baseline: mean and (floored) standard deviation of each summary statistic over the
/// normal windows it was fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryBaseline {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// How many windows it was fitted on.
    pub fitted_on: usize,
}

impl SummaryBaseline {
    /// Fit on normal windows (all with the same channel count). Fails on an empty set or mixed
    /// channel counts.
    pub fn fit<'a>(windows: impl IntoIterator<Item = &'a BinnedWindow>) -> anyhow::Result<Self> {
        let mut sum: Vec<f64> = Vec::new();
        let mut sum_sq: Vec<f64> = Vec::new();
        let mut count = 0usize;
        let mut channels = None;
        for window in windows {
            match channels {
                None => channels = Some(window.channels),
                Some(c) if c != window.channels => bail!(
                    "baseline: windows have {c} and {} channels; all must match",
                    window.channels
                ),
                Some(_) => {}
            }
            let features = summary_features(window);
            if sum.is_empty() {
                sum = vec![0.0; features.len()];
                sum_sq = vec![0.0; features.len()];
            }
            for (j, f) in features.iter().enumerate() {
                sum[j] += f;
                sum_sq[j] += f * f;
            }
            count += 1;
        }
        if count == 0 {
            bail!("baseline: no normal windows to fit on");
        }
        let n = count as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| (sq / n - m * m).max(0.0).sqrt().max(STD_FLOOR))
            .collect();
        Ok(Self {
            mean,
            std,
            fitted_on: count,
        })
    }

    /// Standardised Euclidean distance of the window's statistics from the normal mean (higher =
    /// more anomalous). Fails when the channel count differs from the fitted windows'.
    pub fn score(&self, window: &BinnedWindow) -> anyhow::Result<f32> {
        let features = summary_features(window);
        if features.len() != self.mean.len() {
            bail!(
                "baseline: window has {} channels, the baseline was fitted on {}",
                window.channels,
                self.mean.len() / STATISTICS.len()
            );
        }
        let sum: f64 = features
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(f, (m, s))| ((f - m) / s).powi(2))
            .sum();
        Ok((sum / features.len() as f64).sqrt() as f32)
    }

    /// Scores of many windows.
    pub fn score_all<'a>(
        &self,
        windows: impl IntoIterator<Item = &'a BinnedWindow>,
    ) -> anyhow::Result<Vec<f32>> {
        windows
            .into_iter()
            .enumerate()
            .map(|(i, w)| self.score(w).with_context(|| format!("window {i}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn window(channels: usize, rows: &[&[f32]]) -> BinnedWindow {
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        BinnedWindow {
            len: rows.len(),
            channels,
            data: rows.iter().flat_map(|r| r.iter().copied()).collect(),
            start: t0,
            end: t0,
            events_used: rows.len(),
        }
    }

    #[test]
    fn statistics_of_a_ramp() {
        // One channel rising 0..9 (slope 1), another constant 5.
        let rows: Vec<[f32; 2]> = (0..10).map(|t| [t as f32, 5.0]).collect();
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let f = summary_features(&window(2, &refs));
        assert_eq!(f.len(), 12);
        let (mean, std, min, max, slope, tail) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        assert!((mean - 4.5).abs() < 1e-9);
        assert!((std - 8.25f64.sqrt()).abs() < 1e-9);
        assert_eq!((min, max), (0.0, 9.0));
        assert!((slope - 1.0).abs() < 1e-9);
        assert!(
            (tail - 9.0).abs() < 1e-9,
            "tail mean is the last 10 % = last step"
        );
        assert_eq!(&f[6..], &[5.0, 0.0, 5.0, 5.0, 0.0, 5.0]);
    }

    #[test]
    fn single_step_window_has_zero_slope() {
        let f = summary_features(&window(1, &[&[3.0]]));
        assert_eq!(f, vec![3.0, 0.0, 3.0, 3.0, 0.0, 3.0]);
    }

    #[test]
    fn shifted_window_scores_higher_than_normal_ones() {
        let normal: Vec<BinnedWindow> = (0..20)
            .map(|i| {
                let rows: Vec<[f32; 1]> = (0..12).map(|t| [((t + i) % 3) as f32 * 0.1]).collect();
                let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
                window(1, &refs)
            })
            .collect();
        let baseline = SummaryBaseline::fit(&normal).unwrap();
        assert_eq!(baseline.fitted_on, 20);
        let typical = baseline.score(&normal[3]).unwrap();
        let rows: Vec<[f32; 1]> = (0..12).map(|t| [2.0 + (t % 3) as f32 * 0.1]).collect();
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let shifted = baseline.score(&window(1, &refs)).unwrap();
        assert!(
            shifted > 10.0 * typical.max(0.1),
            "shifted {shifted} vs typical {typical}"
        );
    }

    #[test]
    fn mismatched_channels_and_empty_fit_are_errors() {
        assert!(SummaryBaseline::fit(std::iter::empty()).is_err());
        let a = window(1, &[&[1.0]]);
        let b = window(2, &[&[1.0, 2.0]]);
        assert!(SummaryBaseline::fit([&a, &b]).is_err());
        let fitted = SummaryBaseline::fit([&a]).unwrap();
        let err = fitted.score(&b).unwrap_err().to_string();
        assert!(err.contains("2 channels"), "{err}");
    }
}

//! Per-window centring of binned values (part of the binning contract, [`super::bin_events`]):
//! the model reads each window's departure from its own typical level (and day), not how unusual
//! the sensor's level is among all sensors.

use serde::{Deserialize, Serialize};

/// What [`bin_events`](super::bin_events) does to a window's values after binning, before the
/// global normaliser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Centering {
    /// Keep the binned values.
    #[default]
    None,
    /// Each feature channel (and step std channel) minus its median over the window's steps,
    /// divided by its robust scale there (1.4826 × median absolute deviation); the
    /// `log1p(count)` channel minus its median. The model then sees each sensor's shape, not
    /// how unusual its level is.
    MedianMad,
    /// Like `MedianMad`, but the median is taken per time of day (steps a whole day apart
    /// share one median), so a daily cycle is removed with the level and what remains is the
    /// window's departure from its own typical day. Needs a step that divides a day into at
    /// least two steps and a window of at least two days; otherwise it acts as `MedianMad`.
    DailyMedianMad,
}

/// Factor that turns a median absolute deviation into a standard deviation for normal data.
pub const MAD_TO_STD: f64 = 1.4826;

/// Steps per day for [`Centering::DailyMedianMad`], or 1 (one median for the whole window) when
/// the step does not divide a day into at least two steps or the window holds under two days.
pub fn daily_period(step_secs: i64, len: usize) -> usize {
    const DAY: i64 = 86_400;
    if step_secs <= 0 || DAY % step_secs != 0 {
        return 1;
    }
    let period = (DAY / step_secs) as usize;
    if period < 2 || len < 2 * period {
        1
    } else {
        period
    }
}

/// Centre row-major `[steps, channels]` data laid out as [`bin_events`](super::bin_events)
/// writes it (`n_features` features, `log1p(count)`, `empty`, then any step std channels): each
/// feature, count and step std channel minus its median over the steps of the same phase
/// (`t % period`; `period` 1 means one median for the window), and each feature and step std
/// channel divided by the robust scale (1.4826 × median absolute value) of what is left. The
/// `empty` flag is kept. A channel whose robust scale is zero (or tiny next to its level) is
/// only centred, so a constant channel becomes 0, never NaN. A result beyond the range of `f32`
/// (far apart extreme values, or a large departure over a small scale) is held at `±f32::MAX`, so
/// finite values stay finite.
pub fn center_window(data: &mut [f32], channels: usize, n_features: usize, period: usize) {
    if channels == 0 || data.is_empty() {
        return;
    }
    let period = period.max(1);
    let steps = data.len() / channels;
    let mut column = Vec::with_capacity(steps);
    let mut medians = vec![0.0f64; period];
    // Features and count, then the step std channels (if any) after the `empty` flag.
    let centred = (0..(n_features + 1).min(channels)).chain(n_features + 2..channels);
    for c in centred {
        let scaled = c < n_features || c >= n_features + 2;
        let mut level = 0.0f64;
        for (p, median) in medians.iter_mut().enumerate() {
            column.clear();
            column.extend(
                (p..steps)
                    .step_by(period)
                    .map(|t| f64::from(data[t * channels + c])),
            );
            *median = median_of(&mut column);
            level = level.max(median.abs());
        }
        column.clear();
        column.extend((0..steps).map(|t| f64::from(data[t * channels + c]) - medians[t % period]));
        let scale = if scaled {
            column.iter_mut().for_each(|v| *v = v.abs());
            let s = MAD_TO_STD * median_of(&mut column);
            if s > 1e-6 * level.max(1.0) { s } else { 1.0 }
        } else {
            1.0
        };
        for t in 0..steps {
            let v = &mut data[t * channels + c];
            *v = saturate((f64::from(*v) - medians[t % period]) / scale);
        }
    }
}

/// `x` as `f32`, held to the finite range instead of overflowing to an infinity.
fn saturate(x: f64) -> f32 {
    let max = f64::from(f32::MAX);
    x.clamp(-max, max) as f32
}

/// Median of `values` (reorders them); the mean of the middle two for an even count.
fn median_of(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

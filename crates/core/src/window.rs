//! Binning irregular events into fixed time steps (DESIGN §1).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::events::Event;

mod center;

pub use center::{Centering, MAD_TO_STD, center_window, daily_period};

/// Longest window a spec may describe (100 years), so time arithmetic cannot overflow.
pub const MAX_LENGTH_SECS: i64 = 100 * 366 * 24 * 3600;

/// Most steps a window may have, so one window cannot exhaust memory.
pub const MAX_STEPS: usize = 1_000_000;

/// How a window is cut into steps. Stored in the model manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Window length in seconds (default 10 days).
    pub length_secs: i64,
    /// Step length in seconds (default 1 hour → 240 steps).
    pub step_secs: i64,
    /// Per-window centring applied after binning (absent in older manifests: none).
    #[serde(default)]
    pub centering: Centering,
    /// Add, per feature, the standard deviation of its events within each step (after the
    /// `empty` flag): variance bursts and stuck values barely move a step's mean but show here.
    /// Absent in older manifests: no such channels.
    #[serde(default)]
    pub step_std: bool,
    /// With `step_std`: store each step std as `ln(std + floor)`, where `floor` is 1 % of the
    /// feature's mean step std over the window (the channel is 0 when that mean is 0). A spread
    /// that collapses (a stuck sensor repeating one value) then stands out by about
    /// `ln(100)` ≈ 4.6 instead of vanishing among small spreads, and the channel no longer depends
    /// on the feature's units. Absent in older manifests: plain std.
    #[serde(default)]
    pub log_step_std: bool,
}

impl Default for WindowSpec {
    fn default() -> Self {
        Self {
            length_secs: 10 * 24 * 3600,
            step_secs: 3600,
            centering: Centering::None,
            step_std: false,
            log_step_std: false,
        }
    }
}

impl WindowSpec {
    /// Maximum number of steps T = ceil(length / step).
    /// Zero for a spec that [`validate`](Self::validate) rejects.
    pub fn max_steps(&self) -> usize {
        if self.length_secs <= 0 || self.step_secs <= 0 {
            return 0;
        }
        (self.length_secs as u64).div_ceil(self.step_secs as u64) as usize
    }

    /// Channels per step for `n_features` features without step std channels: the features,
    /// `log1p(count)`, `empty` (the default spec; see [`channel_count`](Self::channel_count)).
    pub fn channels(n_features: usize) -> usize {
        n_features + 2
    }

    /// Channels per step for `n_features` features with this spec: the features,
    /// `log1p(count)`, `empty`, then one within-step std per feature when `step_std` is set.
    pub fn channel_count(&self, n_features: usize) -> usize {
        if self.step_std {
            2 * n_features + 2
        } else {
            n_features + 2
        }
    }

    /// Reject zero/negative lengths or a step longer than the window.
    /// Also rejects windows longer than [`MAX_LENGTH_SECS`] or with more than [`MAX_STEPS`] steps.
    pub fn validate(&self) -> Result<(), WindowError> {
        let Self {
            length_secs,
            step_secs,
            ..
        } = *self;
        let problem = if length_secs <= 0 {
            format!("window length must be positive, got {length_secs} s")
        } else if step_secs <= 0 {
            format!("step length must be positive, got {step_secs} s")
        } else if step_secs > length_secs {
            format!("step ({step_secs} s) is longer than the window ({length_secs} s)")
        } else if length_secs > MAX_LENGTH_SECS {
            format!("window length {length_secs} s is longer than {MAX_LENGTH_SECS} s (100 years)")
        } else if self.max_steps() > MAX_STEPS {
            format!(
                "{} steps of {step_secs} s per window is more than the limit of {MAX_STEPS}",
                self.max_steps()
            )
        } else {
            return Ok(());
        };
        Err(WindowError::Spec(problem))
    }
}

/// A binned window: `len` steps × `channels` values, row-major (`data[t * channels + c]`).
/// Channel order: features in manifest order, then `log1p(count)`, then `empty` (1.0 / 0.0), then
/// (with [`WindowSpec::step_std`]) each feature's within-step standard deviation.
#[derive(Debug, Clone, PartialEq)]
pub struct BinnedWindow {
    /// Number of steps (1 ..= `WindowSpec::max_steps`).
    pub len: usize,
    /// Values per step: [`WindowSpec::channel_count`].
    pub channels: usize,
    /// `len * channels` values, step by step.
    pub data: Vec<f32>,
    /// Start of the first step (later than the window start for a short history).
    pub start: DateTime<Utc>,
    /// End of the window (inclusive).
    pub end: DateTime<Utc>,
    /// Events that fell inside the window.
    pub events_used: usize,
}

impl BinnedWindow {
    /// The `channels` values of step `t`.
    pub fn step(&self, t: usize) -> &[f32] {
        &self.data[t * self.channels..(t + 1) * self.channels]
    }
}

/// Why events could not be binned into a window.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
    /// No events at all.
    #[error("the window has no events")]
    Empty,
    /// Events exist, but none between the window start and `end`.
    #[error("no events fall inside the window ending at {end}")]
    NoEventsInWindow { end: DateTime<Utc> },
    /// An event (index into the input) has the wrong number of features.
    #[error("event {index} has {got} feature values, the model expects {expected}")]
    FeatureCount {
        index: usize,
        got: usize,
        expected: usize,
    },
    /// An event inside the window has a NaN or infinite feature value.
    #[error("event {index} has a non-finite value for feature {feature}")]
    NonFinite { index: usize, feature: usize },
    /// Event `index` is not later than the one before it.
    #[error("events must be sorted by timestamp with no duplicates (event {index})")]
    Unsorted { index: usize },
    /// The spec fails `WindowSpec::validate`.
    #[error("invalid window spec: {0}")]
    Spec(String),
}

/// Replace the step std channels of `data` (`[steps, channels]`, laid out as [`bin_events`] writes
/// it) by `ln(std + floor)`, `floor` = 1 % of the channel's mean std over the steps that have an
/// estimate (from `first` on). Steps before `first` take the first estimate's value; a channel
/// without any spread (or without any estimate) becomes 0.
fn log_step_stds(data: &mut [f32], channels: usize, n_features: usize, first: Option<usize>) {
    let steps = data.len() / channels;
    for c in n_features + 2..channels {
        let from = first.unwrap_or(steps);
        let estimated = steps - from;
        let mean = if estimated == 0 {
            0.0
        } else {
            (from..steps)
                .map(|t| f64::from(data[t * channels + c]))
                .sum::<f64>()
                / estimated as f64
        };
        let floor = 0.01 * mean;
        for t in 0..steps {
            let source = if t < from { from.min(steps - 1) } else { t };
            let std = f64::from(data[source * channels + c]);
            data[t * channels + c] = if floor > 0.0 && floor.is_finite() {
                ((std + floor).ln() - floor.ln()) as f32
            } else {
                0.0
            };
        }
    }
}

/// Bin events (sorted, unique timestamps) into the window that ends at `end` (default: the last
/// event's timestamp) and covers `spec.length_secs` back from it.
///
/// Step `i` of the full window covers `[end - length + i*step, end - length + (i+1)*step)`, the last
/// step also includes `end`. A sensor with less history gets a shorter sequence starting at the step
/// of its first event inside the window (never zero-padded). Per step: each feature's mean of its
/// events (carried forward from the previous step when the step is empty), `log1p(count)`, the
/// empty flag, and with `spec.step_std` each feature's population std of its events in the step
/// (carried forward when the step has fewer than two events; 0 before any such step; with
/// `spec.log_step_std` see [`WindowSpec::log_step_std`]). Events after `end` or before the window start are ignored. Last, the spec's
/// [`Centering`] is applied (see [`center_window`]).
pub fn bin_events(
    events: &[Event],
    n_features: usize,
    spec: &WindowSpec,
    end: Option<DateTime<Utc>>,
) -> Result<BinnedWindow, WindowError> {
    spec.validate()?;
    let last = events.last().ok_or(WindowError::Empty)?;
    if let Some(index) = (1..events.len()).find(|&i| events[i].timestamp <= events[i - 1].timestamp)
    {
        return Err(WindowError::Unsorted { index });
    }
    let end = end.unwrap_or(last.timestamp);
    let window_start = end
        .checked_sub_signed(Duration::seconds(spec.length_secs))
        .ok_or_else(|| WindowError::Spec(format!("window ending at {end} starts before year 0")))?;
    let lo = events.partition_point(|e| e.timestamp < window_start);
    let hi = events.partition_point(|e| e.timestamp <= end);
    if lo >= hi {
        return Err(WindowError::NoEventsInWindow { end });
    }
    let inside = &events[lo..hi];
    for (k, event) in inside.iter().enumerate() {
        let index = lo + k;
        if event.features.len() != n_features {
            let got = event.features.len();
            return Err(WindowError::FeatureCount {
                index,
                got,
                expected: n_features,
            });
        }
        if let Some(feature) = event.features.iter().position(|v| !v.is_finite()) {
            return Err(WindowError::NonFinite { index, feature });
        }
    }

    let max_steps = spec.max_steps();
    let step_of = |t: DateTime<Utc>| {
        let secs = (t - window_start).num_seconds();
        ((secs / spec.step_secs) as usize).min(max_steps - 1)
    };
    let first_step = step_of(inside[0].timestamp);
    let len = max_steps - first_step;
    let channels = spec.channel_count(n_features);
    let mut data = vec![0.0f32; len * channels];
    let mut sums = vec![0.0f64; n_features];
    let mut squares = vec![0.0f64; n_features];
    let mut next = 0;
    // First step with a within-step std estimate (two or more events), for `log_step_std`.
    let mut first_estimate: Option<usize> = None;
    for t in 0..len {
        sums.fill(0.0);
        squares.fill(0.0);
        // Shifted by the step's first event so that a large level does not cancel the spread.
        let shift = inside.get(next).map(|e| e.features.clone());
        let mut count = 0usize;
        while next < inside.len() && step_of(inside[next].timestamp) == first_step + t {
            for (k, &value) in inside[next].features.iter().enumerate() {
                sums[k] += f64::from(value);
                if let Some(shift) = &shift {
                    let d = f64::from(value) - f64::from(shift[k]);
                    squares[k] += d * d;
                }
            }
            count += 1;
            next += 1;
        }
        let (before, row) = data.split_at_mut(t * channels);
        let row = &mut row[..channels];
        if count > 0 {
            for (out, sum) in row.iter_mut().zip(&sums) {
                *out = (sum / count as f64) as f32;
            }
        } else {
            // The first step holds the first event, so an empty step always has a previous one.
            let previous = &before[(t - 1) * channels..(t - 1) * channels + n_features];
            row[..n_features].copy_from_slice(previous);
        }
        row[n_features] = (count as f64).ln_1p() as f32;
        row[n_features + 1] = if count == 0 { 1.0 } else { 0.0 };
        if spec.step_std {
            let stds = &mut row[n_features + 2..];
            if count >= 2 {
                first_estimate.get_or_insert(t);
                for k in 0..n_features {
                    let shift = shift.as_ref().map_or(0.0, |s| f64::from(s[k]));
                    let mean = sums[k] / count as f64 - shift;
                    let var = (squares[k] / count as f64 - mean * mean).max(0.0);
                    stds[k] = var.sqrt() as f32;
                }
            } else if t > 0 {
                // Fewer than two events: the spread is unknown, so it is carried forward.
                let previous = &before[(t - 1) * channels + n_features + 2..t * channels];
                stds.copy_from_slice(previous);
            }
        }
    }
    if spec.step_std && spec.log_step_std {
        log_step_stds(&mut data, channels, n_features, first_estimate);
    }
    match spec.centering {
        Centering::None => {}
        Centering::MedianMad => center_window(&mut data, channels, n_features, 1),
        Centering::DailyMedianMad => {
            let period = daily_period(spec.step_secs, len);
            center_window(&mut data, channels, n_features, period);
        }
    }
    let start = window_start + Duration::seconds(first_step as i64 * spec.step_secs);
    Ok(BinnedWindow {
        len,
        channels,
        data,
        start,
        end,
        events_used: inside.len(),
    })
}

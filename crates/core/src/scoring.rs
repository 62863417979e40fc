//! Pure scoring math shared by the scorer (serving, evaluation) and the trainer (calibration).

use serde::{Deserialize, Serialize};

mod coupling;

pub use coupling::coupling_channels;

/// Added to an error before its logarithm, so a perfect reconstruction stays finite.
pub const LOG_EPS: f64 = 1e-8;
/// Floor of a log-error standard deviation.
pub const MIN_LOG_STD: f32 = 1e-6;
/// Floor of a latent dimension's variance.
pub const MIN_SCALE: f32 = 1e-6;
/// Steps of the moving average behind [`SequenceErrors::peak`]: one day at the default 1 h step.
/// Long enough that the noise of single steps averages out, short enough that a sustained
/// departure of a few hours still moves it, and a whole day so that what is left of a daily
/// cycle cancels (measured against 6, 12, 36 and 48 steps and a multi-width scan on `synth`).
pub const PEAK_STEPS: usize = 24;

/// Which raw score the calibrated `score` and the threshold are based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScorerKind {
    /// Variance-scaled squared error of the latent decoder's reconstruction of the context.
    Latent,
    /// Masked mean squared error of the sequence decoder's reconstruction of the window.
    Sequence,
    /// Mean of the standardised log latent and log sequence errors.
    Combined,
    /// Probability from the supervised head (only when labels were used).
    Head,
    /// [`SequenceErrors::peak`]: the largest sustained local departure of any channel from its
    /// reconstruction, so a local anomaly is not diluted by the rest of the window.
    Peak,
    /// The same scan as `Peak` over the prepared window itself ([`window_peak`]: a zero
    /// reconstruction, the LSTM left out). Training makes it the default only when it beats
    /// `Peak` on labelled validation windows, i.e. when the reconstruction hides more of the
    /// anomalies than of the normal variation.
    PeakNoDecoder,
}

/// Mean and standard deviation of `ln(error + 1e-8)` on normal validation windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogStats {
    /// Mean of the log errors.
    pub mean: f32,
    /// Standard deviation of the log errors (floored at 1e-6 when used).
    pub std: f32,
}

/// Everything needed to turn raw errors into the calibrated `score` in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The scorer whose raw value becomes `score`.
    pub default_scorer: ScorerKind,
    /// Log statistics of the latent error.
    pub latent_log: LogStats,
    /// Log statistics of the sequence error.
    pub sequence_log: LogStats,
    /// Raw values of `default_scorer` on normal validation windows at evenly spaced quantiles
    /// 0, 1/(n-1), …, 1 (ascending). `score` = interpolated rank among them.
    pub normal_quantiles: Vec<f32>,
    /// Whether [`SequenceErrors::peak`] also scans the cross-feature coupling channels
    /// ([`coupling_channels`]). Absent in older manifests: no, so their quantiles keep meaning
    /// what they were computed for.
    #[serde(default)]
    pub peak_coupling: bool,
}

/// `(ln(latent) z-score + ln(sequence) z-score) / 2`.
pub fn combined_raw(latent_error: f32, sequence_error: f32, calibration: &Calibration) -> f32 {
    (log_z(latent_error, calibration.latent_log) + log_z(sequence_error, calibration.sequence_log))
        / 2.0
}

/// The raw value of `kind` (`head` must be `Some` for `ScorerKind::Head`): the latent or sequence
/// error itself, [`combined_raw`], or the head probability. `None` for `Head` without a
/// probability and for `Peak` and `PeakNoDecoder`, which need the per-step values: use
/// [`raw_value`] for them.
pub fn raw_score(
    kind: ScorerKind,
    latent_error: f32,
    sequence_error: f32,
    head_probability: Option<f32>,
    calibration: &Calibration,
) -> Option<f32> {
    match kind {
        ScorerKind::Latent => Some(latent_error),
        ScorerKind::Sequence => Some(sequence_error),
        ScorerKind::Combined => Some(combined_raw(latent_error, sequence_error, calibration)),
        ScorerKind::Head => head_probability,
        ScorerKind::Peak | ScorerKind::PeakNoDecoder => None,
    }
}

/// Every raw error of one window, the inputs of [`raw_value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawErrors {
    /// Variance-scaled latent error.
    pub latent: f32,
    /// Mean squared sequence error ([`SequenceErrors::total`]).
    pub sequence: f32,
    /// Peak local sequence error ([`SequenceErrors::peak`]).
    pub peak: f32,
    /// The same scan of the prepared window ([`window_peak`]).
    pub peak_no_decoder: f32,
    /// Head probability, when the model has a head.
    pub head: Option<f32>,
}

/// The raw value of `kind` for a window: like [`raw_score`], plus `Peak` and `PeakNoDecoder`.
pub fn raw_value(kind: ScorerKind, errors: &RawErrors, calibration: &Calibration) -> Option<f32> {
    match kind {
        ScorerKind::Peak => Some(errors.peak),
        ScorerKind::PeakNoDecoder => Some(errors.peak_no_decoder),
        _ => raw_score(
            kind,
            errors.latent,
            errors.sequence,
            errors.head,
            calibration,
        ),
    }
}

/// Percentile of `raw` among the normal quantiles, in [0, 1], monotone non-decreasing in `raw`.
///
/// `normal_quantiles` must be ascending. Below the first → 0, above the last → 1; in between the
/// rank `i / (n - 1)` is interpolated linearly between neighbouring quantiles, and a value equal to
/// a run of equal quantiles gets the middle of their ranks. NaN for a NaN `raw` or no quantiles.
pub fn calibrate(raw: f32, normal_quantiles: &[f32]) -> f32 {
    let n = normal_quantiles.len();
    if raw.is_nan() || n == 0 {
        return f32::NAN;
    }
    // The quantiles equal to `raw` are q[lo..above] (none when above == lo).
    let lo = normal_quantiles.partition_point(|&q| q < raw);
    let above = normal_quantiles.partition_point(|&q| q <= raw);
    if above == 0 {
        return 0.0;
    }
    if lo == n {
        return 1.0;
    }
    if n == 1 {
        return 0.5;
    }
    let last = (n - 1) as f64;
    let rank = if above > lo {
        // On a run of equal quantiles: the middle of its ranks.
        (lo + above - 1) as f64 / 2.0
    } else {
        // Strictly between q[lo - 1] and q[lo], which therefore differ.
        let (a, b) = (
            f64::from(normal_quantiles[lo - 1]),
            f64::from(normal_quantiles[lo]),
        );
        (lo - 1) as f64 + (f64::from(raw) - a) / (b - a)
    };
    (rank / last).clamp(0.0, 1.0) as f32
}

/// Errors of the sequence decoder's reconstruction of one window (normalised units).
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceErrors {
    /// Mean squared error over the valid steps and all channels.
    pub total: f32,
    /// Mean squared error of each feature channel over the valid steps (features only, manifest
    /// order): "which feature says so".
    pub per_feature: Vec<f32>,
    /// Mean squared error over channels at each valid step: "when in the window".
    pub per_step: Vec<f32>,
    /// Largest square of the mean signed error (input − reconstruction) of one channel over any
    /// run of [`PEAK_STEPS`] consecutive valid steps (all of them when the window is shorter), over
    /// every channel but the `empty` flag (short quiet periods are normal). A sustained shift of
    /// one channel shows here while the noise of single steps averages out. With
    /// [`Calibration::peak_coupling`] the scan also covers the [`coupling_channels`].
    pub peak: f32,
    /// Each feature's own part of the peak scan (manifest order): the largest value of `peak`'s
    /// statistic over the feature's channels (its mean, its step spread and, with coupling, its
    /// coupling residual). The count channel belongs to no feature.
    pub peak_per_feature: Vec<f32>,
    /// The steps `[from, to)` of the moving-average run that gave `peak` ("when in the window");
    /// `None` for an empty window.
    pub peak_steps: Option<(usize, usize)>,
}

/// What the peak scan found in one window: the peak, each feature's own part of it and where it
/// is (see [`SequenceErrors::peak`], [`SequenceErrors::peak_per_feature`] and
/// [`SequenceErrors::peak_steps`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PeakScan {
    pub peak: f32,
    pub per_feature: Vec<f32>,
    pub steps: Option<(usize, usize)>,
}

/// Compare a window `x` with its reconstruction `recon` (both `[steps, channels]` row-major with at
/// least `len` steps; steps from `len` on are ignored). The first `n_features` channels are the
/// features. With `len == 0` the means are NaN and `per_step` is empty.
///
/// # Panics
/// When `x` or `recon` holds fewer than `len * channels` values or `n_features > channels`.
pub fn sequence_errors(
    x: &[f32],
    recon: &[f32],
    len: usize,
    channels: usize,
    n_features: usize,
) -> SequenceErrors {
    sequence_errors_with(x, recon, len, channels, n_features, false)
}

/// Compare a window with its reconstruction like [`sequence_errors`]; with `coupling` (and at
/// least two features) [`SequenceErrors::peak`] also scans the [`coupling_channels`] of the
/// signed errors, so a feature that stops following the others shows even when each feature
/// alone looks normal.
///
/// # Panics
/// As [`sequence_errors`].
pub fn sequence_errors_with(
    x: &[f32],
    recon: &[f32],
    len: usize,
    channels: usize,
    n_features: usize,
    coupling: bool,
) -> SequenceErrors {
    let Layout {
        used,
        empty_flag,
        peak_channels,
    } = Layout::checked("sequence_errors", &[x, recon], len, channels, n_features);
    // With step std channels (`2 * n_features + 2`), a feature's error covers its mean channel
    // and its std channel.
    let std_channels = channels == 2 * n_features + 2 && n_features > 0;
    let mut per_feature = vec![0.0f64; n_features];
    let mut per_step = Vec::with_capacity(len);
    // Signed errors of the peak's channels (all but the `empty` flag), step-major.
    let mut local = Vec::with_capacity(len * peak_channels);
    let mut total = 0.0f64;
    for (xs, rs) in x[..used]
        .chunks_exact(channels)
        .zip(recon[..used].chunks_exact(channels))
    {
        let mut step = 0.0f64;
        for (c, (&a, &b)) in xs.iter().zip(rs).enumerate() {
            let d = f64::from(a) - f64::from(b);
            let sq = d * d;
            step += sq;
            if c < n_features {
                per_feature[c] += sq;
            } else if std_channels && c > empty_flag {
                per_feature[c - n_features - 2] += sq;
            }
            if c != empty_flag {
                local.push(d);
            }
        }
        total += step;
        per_step.push((step / channels as f64) as f32);
    }
    let per_feature_steps = if std_channels { 2.0 } else { 1.0 } * len as f64;
    let scan = peak_with_coupling(&local, len, peak_channels, n_features, coupling);
    SequenceErrors {
        total: (total / used as f64) as f32,
        per_feature: per_feature
            .into_iter()
            .map(|e| (e / per_feature_steps) as f32)
            .collect(),
        per_step,
        peak: scan.peak,
        peak_per_feature: scan.per_feature,
        peak_steps: scan.steps,
    }
}

/// [`SequenceErrors::peak`] and [`SequenceErrors::peak_per_feature`] of a window against a zero
/// reconstruction: the same moving-average
/// scan (and, with `coupling`, the same [`coupling_channels`]) over the prepared values themselves.
/// Window preparation already centres each feature on its own daily profile, so this is what the
/// peak would be without the sequence decoder. Arguments as [`sequence_errors`].
///
/// # Panics
/// As [`sequence_errors`].
pub fn window_peak(
    x: &[f32],
    len: usize,
    channels: usize,
    n_features: usize,
    coupling: bool,
) -> PeakScan {
    let layout = Layout::checked("window_peak", &[x], len, channels, n_features);
    let local: Vec<f64> = x[..layout.used]
        .chunks_exact(channels)
        .flat_map(|row| {
            row.iter()
                .enumerate()
                .filter(|&(c, _)| c != layout.empty_flag)
                .map(|(_, &v)| f64::from(v))
        })
        .collect();
    peak_with_coupling(&local, len, layout.peak_channels, n_features, coupling)
}

/// How a window's `[len, channels]` values are laid out for the error and peak computations.
struct Layout {
    /// Values the `len` steps take.
    used: usize,
    /// Index of the `empty` flag channel, which the peak does not scan.
    empty_flag: usize,
    /// Channels the peak scans: all but the `empty` flag.
    peak_channels: usize,
}

impl Layout {
    /// The layout, after checking that `n_features <= channels` and that every slice of
    /// `values` holds the `len` steps; panics naming `what` otherwise.
    fn checked(
        what: &str,
        values: &[&[f32]],
        len: usize,
        channels: usize,
        n_features: usize,
    ) -> Self {
        assert!(
            n_features <= channels,
            "{what}: {n_features} features > {channels} channels"
        );
        let used = len * channels;
        let got: Vec<usize> = values.iter().map(|v| v.len()).collect();
        assert!(
            got.iter().all(|&n| n >= used),
            "{what}: need {used} values for {len} steps, got {got:?}"
        );
        let empty_flag = n_features + 1;
        Self {
            used,
            empty_flag,
            peak_channels: if channels > empty_flag {
                channels - 1
            } else {
                channels
            },
        }
    }
}

/// The peak scan of the signed errors `local` (`[len, channels]`: the features, the count, then
/// each feature's step spread when there are `2 * n_features + 1` channels); with `coupling` and at
/// least two features, the [`coupling_channels`] of the features too.
fn peak_with_coupling(
    local: &[f64],
    len: usize,
    channels: usize,
    n_features: usize,
    coupling: bool,
) -> PeakScan {
    let own = channel_peaks(local, len, channels, PEAK_STEPS);
    let top = strongest(&own);
    let mut peak = top.map_or(f32::NAN, |p| p.value);
    let mut steps = top.map(|p| p.steps());
    let spread_of = |k: usize| (channels == 2 * n_features + 1).then(|| n_features + 1 + k);
    let mut per_feature: Vec<f32> = (0..n_features)
        .map(|k| {
            let spread = spread_of(k).map_or(f32::NEG_INFINITY, |c| own[c].value);
            own.get(k).map_or(f32::NAN, |p| p.value.max(spread))
        })
        .collect();
    if !coupling || n_features < 2 || len == 0 {
        return PeakScan {
            peak,
            per_feature,
            steps,
        };
    }
    let features: Vec<f64> = local
        .chunks_exact(channels)
        .flat_map(|row| row[..n_features].iter().copied())
        .collect();
    let linked = channel_peaks(
        &coupling_channels(&features, len, n_features),
        len,
        n_features,
        PEAK_STEPS,
    );
    if let Some(top) = strongest(&linked)
        && (top.value > peak || peak.is_nan())
    {
        peak = top.value;
        steps = Some(top.steps());
    }
    for (p, l) in per_feature.iter_mut().zip(&linked) {
        *p = p.max(l.value);
    }
    PeakScan {
        peak,
        per_feature,
        steps,
    }
}

/// One channel's largest squared moving average and the run of steps it averages.
#[derive(Debug, Clone, Copy)]
struct ChannelPeak {
    value: f32,
    from: usize,
    width: usize,
}

impl ChannelPeak {
    fn steps(&self) -> (usize, usize) {
        (self.from, self.from + self.width)
    }
}

/// The first of the channel peaks with the largest value (values are never NaN); `None` when
/// there are none.
fn strongest(peaks: &[ChannelPeak]) -> Option<ChannelPeak> {
    peaks
        .iter()
        .copied()
        .reduce(|best, p| if p.value > best.value { p } else { best })
}

/// For each channel of the signed errors `d` (`[len, channels]` row-major), its largest squared
/// moving average (`width` steps, or all `len` when fewer) and the first run that reaches it.
/// Empty when `len` or `channels` is zero.
fn channel_peaks(d: &[f64], len: usize, channels: usize, width: usize) -> Vec<ChannelPeak> {
    if len == 0 {
        return Vec::new();
    }
    let width = width.clamp(1, len);
    (0..channels)
        .map(|c| {
            let at = |t: usize| d[t * channels + c];
            let mut sum: f64 = (0..width).map(at).sum();
            let (mut best, mut from) = (0.0f64.max(sum.abs()), 0);
            for t in width..len {
                sum += at(t) - at(t - width);
                if sum.abs() > best {
                    (best, from) = (sum.abs(), t + 1 - width);
                }
            }
            ChannelPeak {
                value: (best / width as f64).powi(2) as f32,
                from,
                width,
            }
        })
        .collect()
}

/// `mean_d (ĉ_d − c_d)² / scale_d` — the latent decoder's error with each context dimension scaled
/// by its variance on normal data (`scale` floored at 1e-6). NaN for an empty context.
///
/// # Panics
/// When the three slices differ in length.
pub fn latent_error(context: &[f32], reconstruction: &[f32], scale: &[f32]) -> f32 {
    assert!(
        context.len() == reconstruction.len() && context.len() == scale.len(),
        "latent_error: context {}, reconstruction {} and scale {} differ in length",
        context.len(),
        reconstruction.len(),
        scale.len()
    );
    if context.is_empty() {
        return f32::NAN;
    }
    let sum: f64 = context
        .iter()
        .zip(reconstruction)
        .zip(scale)
        .map(|((&c, &r), &s)| {
            let d = f64::from(r) - f64::from(c);
            d * d / f64::from(s.max(MIN_SCALE))
        })
        .sum();
    (sum / context.len() as f64) as f32
}

/// `ln(error + 1e-8)` standardised by `stats`: the head's error inputs and the combined score's
/// terms. Negative errors count as 0; `stats.std` is floored at 1e-6.
pub fn log_z(error: f32, stats: LogStats) -> f32 {
    let log = (f64::from(error.max(0.0)) + LOG_EPS).ln();
    ((log - f64::from(stats.mean)) / f64::from(stats.std.max(MIN_LOG_STD))) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn calibration() -> Calibration {
        Calibration {
            default_scorer: ScorerKind::Combined,
            latent_log: LogStats {
                mean: 1.0,
                std: 2.0,
            },
            sequence_log: LogStats {
                mean: -1.0,
                std: 0.5,
            },
            normal_quantiles: vec![0.0, 1.0, 2.0],
            peak_coupling: false,
        }
    }

    #[test]
    fn log_z_standardises_the_log_error() {
        let e = std::f32::consts::E.powi(3);
        let z = log_z(
            e,
            LogStats {
                mean: 1.0,
                std: 2.0,
            },
        );
        assert!((z - 1.0).abs() < 1e-5, "(3 - 1) / 2, got {z}");
        let zero = log_z(
            0.0,
            LogStats {
                mean: 0.0,
                std: 1.0,
            },
        );
        assert!((zero - 1e-8f64.ln() as f32).abs() < 1e-4);
        assert_eq!(
            log_z(
                -5.0,
                LogStats {
                    mean: 0.0,
                    std: 1.0
                }
            ),
            zero,
            "negative counts as 0"
        );
        let floored = log_z(
            1.0,
            LogStats {
                mean: -1.0,
                std: 0.0,
            },
        );
        assert!(
            (floored - 1e6).abs() < 1.0,
            "std floored at 1e-6, got {floored}"
        );
    }

    #[test]
    fn combined_is_the_mean_of_both_z_scores() {
        let c = calibration();
        let (latent, sequence) = (std::f32::consts::E.powi(5), 1.0f32);
        // latent: (5 - 1) / 2 = 2; sequence: (0 + 1) / 0.5 = 2.
        let combined = combined_raw(latent, sequence, &c);
        assert!((combined - 2.0).abs() < 1e-5, "{combined}");
        assert_eq!(
            raw_score(ScorerKind::Combined, latent, sequence, None, &c),
            Some(combined)
        );
        assert_eq!(
            raw_score(ScorerKind::Latent, latent, sequence, None, &c),
            Some(latent)
        );
        assert_eq!(
            raw_score(ScorerKind::Sequence, latent, sequence, None, &c),
            Some(sequence)
        );
        assert_eq!(
            raw_score(ScorerKind::Head, latent, sequence, Some(0.3), &c),
            Some(0.3)
        );
        assert_eq!(
            raw_score(ScorerKind::Head, latent, sequence, None, &c),
            None
        );
    }

    #[test]
    fn calibrate_interpolates_ranks() {
        let q = [0.0, 1.0, 2.0, 4.0, 8.0];
        assert_eq!(calibrate(-1.0, &q), 0.0);
        assert_eq!(calibrate(0.0, &q), 0.0);
        assert_eq!(calibrate(0.5, &q), 0.125);
        assert_eq!(calibrate(3.0, &q), 0.625);
        assert_eq!(calibrate(8.0, &q), 1.0);
        assert_eq!(calibrate(100.0, &q), 1.0);
        assert!(calibrate(f32::NAN, &q).is_nan());
        assert!(calibrate(1.0, &[]).is_nan());
        assert_eq!(calibrate(1.0, &[1.0]), 0.5);
        assert_eq!(calibrate(2.0, &[1.0]), 1.0);
    }

    #[test]
    fn calibrate_handles_runs_of_equal_quantiles() {
        // Ranks 0..4 over 4 gaps; q[1..=3] are equal.
        let q = [0.0, 1.0, 1.0, 1.0, 2.0];
        assert_eq!(calibrate(1.0, &q), 0.5, "middle of ranks 1..=3");
        assert_eq!(calibrate(0.5, &q), 0.125);
        assert_eq!(calibrate(1.5, &q), 0.875);
        let flat = [3.0; 5];
        assert_eq!(calibrate(3.0, &flat), 0.5);
        assert_eq!(calibrate(2.9, &flat), 0.0);
        assert_eq!(calibrate(3.1, &flat), 1.0);
    }

    #[test]
    fn sequence_errors_by_hand() {
        // 3 steps × 3 channels (2 features); the third step is padding and ignored.
        let x = [1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 9.0, 9.0, 9.0];
        let r = [0.0, 2.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let e = sequence_errors(&x, &r, 2, 3, 2);
        // Squared differences: step 0 = [1, 0, 1], step 1 = [4, 0, 0].
        assert_eq!(e.per_step, [2.0 / 3.0, 4.0 / 3.0]);
        assert_eq!(e.per_feature, [2.5, 0.0]);
        assert_eq!(e.total, 1.0);
        // Two steps < PEAK_STEPS: the peak averages both. Signed errors: channel 0 (1 − 2) / 2,
        // channel 2 (−1 + 0) / 2 (no `empty` flag among 3 channels for 2 features).
        assert_eq!(e.peak, 0.25);
        let empty = sequence_errors(&x, &r, 0, 3, 2);
        assert!(empty.total.is_nan() && empty.per_step.is_empty());
    }

    #[test]
    fn peak_finds_a_sustained_shift_and_ignores_noise_and_the_empty_flag() {
        // 96 steps × 3 channels (1 feature, count, empty); the reconstruction is all zeros.
        let (len, channels) = (96, 3);
        let mut x = vec![0.0f32; len * channels];
        for t in 40..40 + PEAK_STEPS {
            x[t * channels] = 2.0; // a shift of the feature lasting one peak width
        }
        x[5 * channels] = 10.0; // a single-step glitch
        for t in 0..len {
            // Alternating noise on the count channel averages out.
            x[t * channels + 1] = if t % 2 == 0 { 3.0 } else { -3.0 };
        }
        for t in 60..90 {
            x[t * channels + 2] = 5.0; // a long quiet period: the `empty` flag is not scored
        }
        let recon = vec![0.0f32; len * channels];
        let e = sequence_errors(&x, &recon, len, channels, 1);
        assert!((e.peak - 4.0).abs() < 1e-6, "{}", e.peak);
        assert!(
            e.total > e.peak,
            "the mean squared error is dominated by noise: {}",
            e.total
        );
        let errors = RawErrors {
            latent: 0.0,
            sequence: e.total,
            peak: e.peak,
            peak_no_decoder: 1.5,
            head: None,
        };
        let c = calibration();
        assert_eq!(raw_value(ScorerKind::Peak, &errors, &c), Some(e.peak));
        assert_eq!(raw_value(ScorerKind::PeakNoDecoder, &errors, &c), Some(1.5));
        assert_eq!(
            raw_score(ScorerKind::PeakNoDecoder, 0.0, e.total, None, &c),
            None
        );
        assert_eq!(raw_value(ScorerKind::Sequence, &errors, &c), Some(e.total));
        assert_eq!(raw_score(ScorerKind::Peak, 0.0, e.total, None, &c), None);
    }

    #[test]
    fn step_std_channels_count_towards_their_feature_and_the_peak() {
        // 2 features with std channels: [f0, f1, count, empty, std0, std1]; 30 steps.
        let (len, channels, n) = (30, 6, 2);
        let mut x = vec![0.0f32; len * channels];
        for t in 0..len {
            x[t * channels + 5] = 1.0; // feature 1's std channel is off by 1 everywhere
        }
        let recon = vec![0.0f32; len * channels];
        let e = sequence_errors(&x, &recon, len, channels, n);
        assert_eq!(
            e.per_feature,
            [0.0, 0.5],
            "mean of the mean and std channels"
        );
        assert_eq!(e.peak, 1.0);
    }

    #[test]
    fn peak_per_feature_names_the_feature_whose_channels_moved() {
        // 2 features with std channels: [f0, f1, count, empty, std0, std1]; 72 steps.
        let (len, channels, n) = (72, 6, 2);
        let scan = |x: &[f32], coupling: bool| window_peak(x, len, channels, n, coupling);
        let quiet = |t: usize, c: usize| ((t * 7 + c * 3) % 5) as f32 * 0.1 - 0.2;
        let base: Vec<f32> = (0..len * channels)
            .map(|i| quiet(i / channels, i % channels))
            .collect();

        // A sustained shift of feature 1's mean.
        let mut x = base.clone();
        (30..54).for_each(|t| x[t * channels + 1] += 2.0);
        let s = scan(&x, false);
        assert!(s.per_feature[1] > 3.0 && s.per_feature[0] < 0.1, "{s:?}");
        assert_eq!(s.peak, s.per_feature[1]);
        assert_eq!(s.steps, Some((30, 54)), "when: the shifted stretch");

        // Feature 0's spread collapses (std channel): it counts for feature 0.
        let mut x = base.clone();
        (10..40).for_each(|t| x[t * channels + 4] = -3.0);
        let s = scan(&x, false);
        assert!(s.per_feature[0] > 8.0 && s.per_feature[1] < 0.1, "{s:?}");

        // The count channel moves the peak but belongs to no feature.
        let mut x = base.clone();
        (0..30).for_each(|t| x[t * channels + 2] = 3.0);
        let s = scan(&x, false);
        assert!(s.peak > 8.0, "{s:?}");
        assert!(s.per_feature.iter().all(|&p| p < 0.1), "{s:?}");
        assert_eq!(
            s.steps,
            Some((0, 24)),
            "the first run that reaches the peak"
        );

        // Without std channels only the mean channels count.
        let narrow: Vec<f32> = (0..len * 4).map(|i| quiet(i / 4, i % 4)).collect();
        let mut x = narrow.clone();
        (30..54).for_each(|t| x[t * 4] -= 2.0);
        let s = window_peak(&x, len, 4, n, false);
        assert!(s.per_feature[0] > 3.0 && s.per_feature[1] < 0.1, "{s:?}");
    }

    #[test]
    fn latent_error_scales_each_dimension() {
        let e = latent_error(&[1.0, 1.0, 0.0], &[3.0, 0.0, 0.0], &[4.0, 0.5, 0.0]);
        // (4 / 4 + 1 / 0.5 + 0 / 1e-6) / 3 = 1.
        assert!((e - 1.0).abs() < 1e-6, "{e}");
        assert!(latent_error(&[], &[], &[]).is_nan());
    }

    #[test]
    fn calibration_round_trips_through_json() {
        let c = calibration();
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"default_scorer\":\"combined\""), "{text}");
        assert_eq!(serde_json::from_str::<Calibration>(&text).unwrap(), c);
    }

    proptest! {
        #[test]
        fn window_peak_is_the_peak_against_a_zero_reconstruction(
            n_features in 1usize..4,
            std_channels in any::<bool>(),
            len in 1usize..60,
            coupling in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let channels = if std_channels { 2 * n_features + 2 } else { n_features + 2 };
            // A cheap deterministic pseudo-random window with a few large values.
            let mut state = seed | 1;
            let x: Vec<f32> = (0..len * channels)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state % 2001) as f32 - 1000.0) / 250.0
                })
                .collect();
            let zeros = vec![0.0f32; x.len()];
            let expected = sequence_errors_with(&x, &zeros, len, channels, n_features, coupling);
            let got = window_peak(&x, len, channels, n_features, coupling);
            prop_assert_eq!(got.peak.to_bits(), expected.peak.to_bits());
            prop_assert_eq!(&got.per_feature, &expected.peak_per_feature);
            prop_assert_eq!(got.steps, expected.peak_steps);
            prop_assert_eq!(got.per_feature.len(), n_features);
            let (from, to) = got.steps.unwrap();
            prop_assert!(to <= len && to - from == PEAK_STEPS.min(len), "{:?}", got.steps);
            // A feature's part is one of the values the peak is the largest of.
            for &p in &got.per_feature {
                prop_assert!(p.is_finite() && p <= got.peak, "{} > {}", p, got.peak);
            }
        }

        #[test]
        fn calibrate_is_monotone_and_bounded(
            mut q in proptest::collection::vec(-100.0f32..100.0, 1..30),
            repeat in 0usize..5,
            a in -150.0f32..150.0,
            b in -150.0f32..150.0,
        ) {
            // Repeat some quantiles to create runs of equal values.
            let extra: Vec<f32> = q.iter().take(repeat).copied().collect();
            q.extend(extra);
            q.sort_by(f32::total_cmp);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (s_lo, s_hi) = (calibrate(lo, &q), calibrate(hi, &q));
            prop_assert!((0.0..=1.0).contains(&s_lo) && (0.0..=1.0).contains(&s_hi));
            prop_assert!(s_lo <= s_hi, "calibrate({lo}) = {s_lo} > calibrate({hi}) = {s_hi}");
            // Every quantile itself and points just around it keep the order too.
            for &v in &q {
                let below = calibrate(v - 1e-3, &q);
                let at = calibrate(v, &q);
                let above = calibrate(v + 1e-3, &q);
                prop_assert!(below <= at && at <= above, "{below} {at} {above} around {v}");
            }
        }
    }
}

//! Batch of windows → scores, attribution, calibration and the threshold decision.
//!
//! The math lives in `telltale_core::scoring`; this file only runs the graphs and feeds their
//! outputs to it, so evaluation, calibration and serving can never compute a score differently.

use std::path::Path;

use chrono::{DateTime, Utc};
use ndarray::{Array2, Array3, s};
use telltale_core::scoring::{self, SequenceErrors};
use telltale_core::{BinnedWindow, Event, Manifest, ScorerKind, WindowError};

use crate::{ModelGraphs, RuntimeOptions, ScorerError};

/// Everything the product reports about one window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowScores {
    /// Calibrated score in [0, 1]: percentile among normal validation windows.
    pub score: f32,
    /// `score >= manifest.threshold.score`.
    pub is_anomaly: bool,
    /// Variance-scaled squared error of the latent decoder's reconstruction of the context.
    pub latent_error: f32,
    /// Mean squared error of the sequence decoder's reconstruction (0 without one).
    pub sequence_error: f32,
    /// Head probability when the model has a head.
    pub alert_probability: Option<f32>,
    /// Each feature's part in the score, manifest feature order: for the `peak` and
    /// `peak_no_decoder` scorers the feature's own part of the scan
    /// ([`SequenceErrors::peak_per_feature`]), otherwise its mean squared reconstruction error
    /// (empty without a sequence decoder).
    pub feature_errors: Vec<f32>,
    /// Per-step reconstruction error over the window's valid steps.
    pub step_errors: Vec<f32>,
    /// For the `peak` and `peak_no_decoder` scorers: the stretch of the window (start of its first
    /// step, end of its last, at most the window's end) whose moving average gave the score —
    /// "when in the window". `None` for the other scorers.
    pub peak_span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// [`WindowScores`] plus every raw error of the window, for calibration and evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailedScores {
    /// What the product reports.
    pub scores: WindowScores,
    /// Every raw error, including the peak local sequence error (NaN without a sequence decoder)
    /// and the same scan of the prepared window.
    pub raw: scoring::RawErrors,
}

/// Largest magnitude of a normalised input value (in training standard deviations).
const MAX_NORMALISED: f32 = 1e4;

fn all_finite(s: &WindowScores) -> bool {
    s.score.is_finite()
        && s.latent_error.is_finite()
        && s.sequence_error.is_finite()
        && s.alert_probability.is_none_or(f32::is_finite)
        && s.feature_errors.iter().all(|e| e.is_finite())
        && s.step_errors.iter().all(|e| e.is_finite())
}

/// A model directory ready to score windows: its manifest and its graphs.
pub struct Scorer {
    manifest: Manifest,
    graphs: ModelGraphs,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer")
            .field("model_id", &self.manifest.model_id)
            .field("graphs", &self.graphs)
            .finish_non_exhaustive()
    }
}

impl Scorer {
    /// Load `dir/manifest.json` and its graphs.
    pub fn open(dir: &Path, options: &RuntimeOptions) -> Result<Self, ScorerError> {
        let manifest = Manifest::load(dir)?;
        Self::with_manifest(dir, manifest, options)
    }

    /// Use an in-memory manifest (the trainer calibrates before it writes the final manifest).
    pub fn with_manifest(
        dir: &Path,
        manifest: Manifest,
        options: &RuntimeOptions,
    ) -> Result<Self, ScorerError> {
        manifest
            .check()
            .map_err(|message| ScorerError::Incompatible {
                dir: dir.display().to_string(),
                message: format!("inconsistent manifest: {message}"),
            })?;
        let graphs = ModelGraphs::open(dir, &manifest, options)?;
        Ok(Self { manifest, graphs })
    }

    /// The manifest the scores are computed with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The underlying graphs.
    pub fn graphs(&mut self) -> &mut ModelGraphs {
        &mut self.graphs
    }

    /// Bin events with the manifest's window spec and normalise them.
    pub fn prepare(
        &self,
        events: &[Event],
        end: Option<DateTime<Utc>>,
    ) -> Result<BinnedWindow, WindowError> {
        let m = &self.manifest;
        let mut window =
            telltale_core::window::bin_events(events, m.feature_names.len(), &m.window, end)?;
        m.normalizer.apply(&mut window);
        // Readings far outside anything seen in training (e.g. ±3.4e38 placeholders) would
        // overflow the squared errors to infinity; clamped, they score as the anomalies they are.
        for v in &mut window.data {
            *v = v.clamp(-MAX_NORMALISED, MAX_NORMALISED);
        }
        Ok(window)
    }

    /// Score prepared (binned and normalised) windows in one call per graph. The batch is padded
    /// to its longest window; every window's result is the same as when scored alone.
    /// A window whose scores are not finite is an input error: nothing non-finite is reported or
    /// stored.
    pub fn score(&mut self, windows: &[BinnedWindow]) -> Result<Vec<WindowScores>, ScorerError> {
        let scores: Vec<WindowScores> = self
            .score_detailed(windows)?
            .into_iter()
            .map(|d| d.scores)
            .collect();
        if let Some(bad) = scores.iter().find(|s| !all_finite(s)) {
            return Err(ScorerError::Input(format!(
                "the events' values are too far outside the training data to score (score {}, \
                 sequence error {}); check for placeholder readings such as ±3.4e38",
                bad.score, bad.sequence_error
            )));
        }
        Ok(scores)
    }

    /// Like [`score`](Self::score), with every raw error of each window as well.
    pub fn score_detailed(
        &mut self,
        windows: &[BinnedWindow],
    ) -> Result<Vec<DetailedScores>, ScorerError> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let channels = self.manifest.shape.channels;
        let (x, lengths) = pad_batch(windows, channels)?;
        let context = self.graphs.encode(x.view(), &lengths)?;
        let latent_recon = self.graphs.decode_latent(context.view())?;
        let sequence_recon = self
            .graphs
            .decode_sequence(context.view(), x.view(), &lengths)?;

        let m = &self.manifest;
        let n_features = m.feature_names.len();
        let mut partial = Vec::with_capacity(windows.len());
        for (b, window) in windows.iter().enumerate() {
            let ctx = row(&context, b);
            let latent = scoring::latent_error(&ctx, &row(&latent_recon, b), &m.latent_scale);
            let sequence = match &sequence_recon {
                Some(recon) => {
                    let valid = recon
                        .slice(s![b, ..window.len, ..])
                        .iter()
                        .copied()
                        .collect::<Vec<_>>();
                    scoring::sequence_errors_with(
                        &window.data,
                        &valid,
                        window.len,
                        channels,
                        n_features,
                        m.calibration.peak_coupling,
                    )
                }
                None => SequenceErrors {
                    total: 0.0,
                    per_feature: Vec::new(),
                    per_step: Vec::new(),
                    peak: f32::NAN,
                    peak_per_feature: Vec::new(),
                    peak_steps: None,
                },
            };
            let plain = scoring::window_peak(
                &window.data,
                window.len,
                channels,
                n_features,
                m.calibration.peak_coupling,
            );
            partial.push((latent, sequence, plain));
        }

        let probabilities = if self.graphs.has_head() {
            let cal = &m.calibration;
            let hidden = m.shape.hidden;
            let mut features = Array2::<f32>::zeros((windows.len(), hidden + 2));
            for (b, (latent, sequence, _)) in partial.iter().enumerate() {
                let mut r = features.row_mut(b);
                r.slice_mut(s![..hidden]).assign(&context.row(b));
                r[hidden] = scoring::log_z(*latent, cal.latent_log);
                r[hidden + 1] = scoring::log_z(sequence.total, cal.sequence_log);
            }
            self.graphs.head(features.view())?
        } else {
            None
        };

        let m = &self.manifest;
        let cal = &m.calibration;
        partial
            .into_iter()
            .enumerate()
            .map(|(b, (latent, sequence, plain))| {
                let probability = probabilities.as_ref().map(|p| p[b]);
                let errors = scoring::RawErrors {
                    latent,
                    sequence: sequence.total,
                    peak: sequence.peak,
                    peak_no_decoder: plain.peak,
                    head: probability,
                };
                let raw =
                    scoring::raw_value(cal.default_scorer, &errors, cal).ok_or_else(|| {
                        ScorerError::Incompatible {
                            dir: self.graphs.dir().display().to_string(),
                            message: format!(
                                "scorer {:?} has no value for this model",
                                cal.default_scorer
                            ),
                        }
                    })?;
                let score = scoring::calibrate(raw, &cal.normal_quantiles);
                // "Which feature says so", in the terms of the score: a peak scorer's own
                // per-feature parts, else the mean squared reconstruction error per feature.
                let (feature_errors, steps) = match cal.default_scorer {
                    ScorerKind::Peak => (sequence.peak_per_feature, sequence.peak_steps),
                    ScorerKind::PeakNoDecoder => (plain.per_feature, plain.steps),
                    _ => (sequence.per_feature, None),
                };
                let window = &windows[b];
                let at = |i: usize| {
                    window.start + chrono::Duration::seconds(m.window.step_secs * i as i64)
                };
                let peak_span = steps.map(|(from, to)| (at(from), at(to).min(window.end)));
                let scores = WindowScores {
                    score,
                    is_anomaly: score >= m.threshold.score,
                    latent_error: latent,
                    sequence_error: sequence.total,
                    alert_probability: probability,
                    feature_errors,
                    step_errors: sequence.per_step,
                    peak_span,
                };
                Ok(DetailedScores {
                    scores,
                    raw: errors,
                })
            })
            .collect()
    }
}

fn row(a: &Array2<f32>, b: usize) -> Vec<f32> {
    a.row(b).to_vec()
}

/// Stack windows into `[batch, longest, channels]`, zero beyond each window's length, checking
/// each window's size and values.
fn pad_batch(
    windows: &[BinnedWindow],
    channels: usize,
) -> Result<(Array3<f32>, Vec<i32>), ScorerError> {
    for (i, w) in windows.iter().enumerate() {
        if w.channels != channels {
            return Err(ScorerError::Input(format!(
                "window {i} has {} channels, the model expects {channels}",
                w.channels
            )));
        }
        if w.len == 0 {
            return Err(ScorerError::Input(format!("window {i} has no steps")));
        }
        if w.data.len() < w.len * channels {
            return Err(ScorerError::Input(format!(
                "window {i} has {} values for {} steps of {channels} channels",
                w.data.len(),
                w.len
            )));
        }
        if let Some(pos) = w.data[..w.len * channels]
            .iter()
            .position(|v| !v.is_finite())
        {
            return Err(ScorerError::Input(format!(
                "window {i} has a non-finite value at step {}, channel {}",
                pos / channels,
                pos % channels
            )));
        }
        if i32::try_from(w.len).is_err() {
            return Err(ScorerError::Input(format!(
                "window {i} has too many steps ({})",
                w.len
            )));
        }
    }
    let longest = windows.iter().map(|w| w.len).max().unwrap_or(0);
    let mut x = Array3::<f32>::zeros((windows.len(), longest, channels));
    for (b, w) in windows.iter().enumerate() {
        let valid = &w.data[..w.len * channels];
        for (t, step) in valid.chunks_exact(channels).enumerate() {
            x.slice_mut(s![b, t, ..])
                .iter_mut()
                .zip(step)
                .for_each(|(d, &v)| *d = v);
        }
    }
    let lengths = windows.iter().map(|w| w.len as i32).collect();
    Ok((x, lengths))
}

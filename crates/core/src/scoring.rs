//! Pure scoring math shared by the scorer (serving, evaluation) and the trainer (calibration).
//!
//! STUB: signatures are the contract; bodies are being implemented.

use serde::{Deserialize, Serialize};

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
}

/// Mean and standard deviation of `ln(error + 1e-8)` on normal validation windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogStats {
    pub mean: f32,
    pub std: f32,
}

/// Everything needed to turn raw errors into the calibrated `score` in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub default_scorer: ScorerKind,
    pub latent_log: LogStats,
    pub sequence_log: LogStats,
    /// Raw values of `default_scorer` on normal validation windows at evenly spaced quantiles
    /// 0, 1/(n-1), …, 1 (ascending). `score` = interpolated rank among them.
    pub normal_quantiles: Vec<f32>,
}

/// `(ln(latent) z-score + ln(sequence) z-score) / 2`.
pub fn combined_raw(latent_error: f32, sequence_error: f32, calibration: &Calibration) -> f32 {
    let _ = (latent_error, sequence_error, calibration);
    todo!("core: combined_raw")
}

/// The raw value of `kind` (`head` must be `Some` for `ScorerKind::Head`).
pub fn raw_score(
    kind: ScorerKind,
    latent_error: f32,
    sequence_error: f32,
    head_probability: Option<f32>,
    calibration: &Calibration,
) -> Option<f32> {
    let _ = (kind, latent_error, sequence_error, head_probability, calibration);
    todo!("core: raw_score")
}

/// Percentile of `raw` among the normal quantiles, in [0, 1], monotone non-decreasing in `raw`.
pub fn calibrate(raw: f32, normal_quantiles: &[f32]) -> f32 {
    let _ = (raw, normal_quantiles);
    todo!("core: calibrate")
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
}

/// Compare a window `x` with its reconstruction `recon` (both `[steps, channels]` row-major with at
/// least `len` steps; steps from `len` on are ignored). The first `n_features` channels are the
/// features.
pub fn sequence_errors(
    x: &[f32],
    recon: &[f32],
    len: usize,
    channels: usize,
    n_features: usize,
) -> SequenceErrors {
    let _ = (x, recon, len, channels, n_features);
    todo!("core: sequence_errors")
}

/// `mean_d (ĉ_d − c_d)² / scale_d` — the latent decoder's error with each context dimension scaled
/// by its variance on normal data (`scale` floored at 1e-6).
pub fn latent_error(context: &[f32], reconstruction: &[f32], scale: &[f32]) -> f32 {
    let _ = (context, reconstruction, scale);
    todo!("core: latent_error")
}

/// `ln(error + 1e-8)` standardised by `stats`: the head's error inputs and the combined score's
/// terms.
pub fn log_z(error: f32, stats: LogStats) -> f32 {
    let _ = (error, stats);
    todo!("core: log_z")
}

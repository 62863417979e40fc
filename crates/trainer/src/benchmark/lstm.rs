//! The LSTM detector for SKAB: Telltale's autoencoder trained per run on the fit rows (the last
//! 20 % of them held out, in time order, for early stopping and calibration), exported, and scored
//! through the ONNX graphs with `telltale-scorer` — the same path the server uses.

use std::path::Path;

use anyhow::Context;
use telltale_core::{SensorWindow, WindowSpec};
use telltale_scorer::{RuntimeOptions, Scorer};

use super::skab::SkabArgs;
use crate::train::{Dataset, HeadMode, TrainConfig, train_and_export};

/// Which raw error of the LSTM scores a point (both are non-negative, as the threshold rule
/// "factor × quantile" assumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointScorer {
    /// Sequence reconstruction error (the classic LSTM-AE residual).
    Sequence,
    /// Latent (context) reconstruction error.
    Latent,
    /// Per-feature sequence errors, each divided by its mean over the fit windows, averaged:
    /// every sensor counts equally however noisy it is, and the count/empty channels are left out.
    Features,
}

/// Share of the fit windows used for training; the rest (the latest) validate.
const TRAIN_SHARE: f64 = 0.8;
/// Windows per ONNX Runtime call.
const BATCH: usize = 256;

/// The training settings for one run.
pub fn train_config(args: &SkabArgs) -> TrainConfig {
    TrainConfig {
        epochs: args.epochs,
        lr: args.lr,
        seed: args.seed,
        hidden: args.hidden,
        latent_dim: args.latent_dim,
        batch_size: 32,
        window: WindowSpec {
            length_secs: args.window,
            step_secs: 1,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        },
        head: HeadMode::None,
        quiet: true,
        threads: args.threads,
        onnxruntime: args.ort_dylib.clone(),
        ..TrainConfig::default()
    }
}

/// Train on the first `n_fit` windows and return the chosen error of every window. The model
/// directory is replaced if it exists.
pub fn lstm_scores(
    args: &SkabArgs,
    windows: &[SensorWindow],
    n_fit: usize,
    feature_names: &[String],
    model_dir: &Path,
) -> anyhow::Result<Vec<f32>> {
    let cut = ((n_fit as f64) * TRAIN_SHARE).round() as usize;
    let dataset = Dataset {
        feature_names: feature_names.to_vec(),
        train: windows[..cut].to_vec(),
        validation: windows[cut..n_fit].to_vec(),
        test: Vec::new(),
    };
    if model_dir.exists() {
        std::fs::remove_dir_all(model_dir)
            .with_context(|| format!("{}: cannot replace the old model", model_dir.display()))?;
    }
    train_and_export(&dataset, &train_config(args), model_dir).context("training the LSTM")?;
    let options = RuntimeOptions {
        intra_threads: args.threads.unwrap_or(0),
        ..RuntimeOptions::default()
    };
    let mut scorer = Scorer::open(model_dir, &options)?;
    let prepared = windows
        .iter()
        .map(|w| {
            scorer.prepare(&w.events, None).with_context(|| {
                format!(
                    "window ending at row {}",
                    w.window_id.as_deref().unwrap_or("?")
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut scores = Vec::with_capacity(prepared.len());
    let mut feature_errors = Vec::new();
    for chunk in prepared.chunks(BATCH) {
        for s in scorer.score(chunk)? {
            scores.push(match args.scorer {
                PointScorer::Sequence => s.sequence_error,
                PointScorer::Latent => s.latent_error,
                PointScorer::Features => 0.0,
            });
            feature_errors.push(s.feature_errors);
        }
    }
    if args.scorer == PointScorer::Features {
        scores = relative_feature_errors(&feature_errors, n_fit);
    }
    Ok(scores)
}

/// `mean_f (e_f / m_f)` where `m_f` is feature `f`'s mean error over the first `n_fit` windows.
pub fn relative_feature_errors(errors: &[Vec<f32>], n_fit: usize) -> Vec<f32> {
    let n_features = errors.first().map_or(0, Vec::len);
    let fit = &errors[..n_fit.min(errors.len())];
    let scale: Vec<f64> = (0..n_features)
        .map(|f| {
            let mean = fit.iter().map(|e| f64::from(e[f])).sum::<f64>() / fit.len().max(1) as f64;
            mean.max(1e-6)
        })
        .collect();
    errors
        .iter()
        .map(|e| {
            let sum: f64 = e.iter().zip(&scale).map(|(v, s)| f64::from(*v) / s).sum();
            (sum / n_features.max(1) as f64) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_errors_are_scaled_by_their_fit_mean() {
        // Feature 0 is ten times noisier than feature 1; both count equally after scaling.
        let errors = vec![
            vec![10.0, 1.0],
            vec![10.0, 1.0],
            vec![20.0, 1.0],
            vec![10.0, 2.0],
        ];
        let scores = relative_feature_errors(&errors, 2);
        assert_eq!(scores[..2], [1.0, 1.0]);
        assert!((scores[2] - 1.5).abs() < 1e-6);
        assert!((scores[3] - 1.5).abs() < 1e-6);
    }
}

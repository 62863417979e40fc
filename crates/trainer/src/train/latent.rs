//! Stage 2: the latent decoder on the frozen encoder's contexts. The contexts are computed once
//! and used as fixed targets (stop-gradient: "copy the LSTM output vector as the decoder
//! target"); the loss is `mean((ĉ − c)² / scale)` with `scale` the per-dimension variance of
//! the contexts of normal training windows.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::TrainConfig;
use super::history::{EarlyStopping, EpochRecord, StageHistory};
use super::progress::Progress;
use crate::data::{Batch, Prepared};
use crate::model::{Encoder, LatentDecoder, ModelConfig, tensor_values};

/// Name of the stage in `history.json`.
pub const STAGE: &str = "latent_decoder";
/// Epochs without improvement before the cheap stages (latent decoder, head) stop.
pub const CHEAP_STAGE_PATIENCE: usize = 20;
/// Smallest variance a context dimension is divided by (the same floor as the scorer's).
pub const SCALE_FLOOR: f32 = 1e-6;

/// Contexts `[n][H]` of `windows` from an untracked encoder, in order.
pub fn contexts(encoder: &Encoder, windows: &[&Prepared], batch_size: usize) -> Vec<Vec<f32>> {
    let device = Device::flex();
    let hidden = encoder.hidden_size();
    let mut out = Vec::with_capacity(windows.len());
    for chunk in windows.chunks(batch_size.max(1)) {
        let binned: Vec<_> = chunk.iter().map(|p| &p.window).collect();
        let batch = Batch::new(&binned, &device);
        let values = tensor_values(encoder.forward(&batch.steps, &batch.lengths));
        out.extend(values.chunks(hidden).map(<[f32]>::to_vec));
    }
    out
}

/// Population variance of each dimension.
pub fn variance(rows: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let n = rows.len() as f64;
    (0..first.len())
        .map(|d| {
            let mean = rows.iter().map(|r| f64::from(r[d])).sum::<f64>() / n;
            (rows
                .iter()
                .map(|r| (f64::from(r[d]) - mean).powi(2))
                .sum::<f64>()
                / n) as f32
        })
        .collect()
}

fn matrix(rows: &[&Vec<f32>], device: &Device) -> Tensor<2> {
    let width = rows.first().map_or(0, |r| r.len());
    let data: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(data, [rows.len(), width]), device)
}

/// `mean(((D(c) − c) / sqrt(scale))²)` on a block of contexts.
fn loss(decoder: &LatentDecoder, contexts: Tensor<2>, inv_std: &Tensor<2>) -> Tensor<1> {
    let [batch, hidden] = contexts.dims();
    let diff =
        (decoder.forward(contexts.clone()) - contexts) * inv_std.clone().expand([batch, hidden]);
    (diff.clone() * diff).mean()
}

fn inv_std(scale: &[f32], device: &Device) -> Tensor<2> {
    let values: Vec<f32> = scale
        .iter()
        .map(|s| 1.0 / s.max(SCALE_FLOOR).sqrt())
        .collect();
    Tensor::from_data(TensorData::new(values, [1, scale.len()]), device)
}

/// Train the latent decoder on fixed contexts; returns the best-validation weights.
pub fn train(
    config: &TrainConfig,
    model_config: &ModelConfig,
    train: &[Vec<f32>],
    validation: &[Vec<f32>],
    scale: &[f32],
    progress: Progress,
) -> anyhow::Result<(LatentDecoder, StageHistory)> {
    if train.is_empty() {
        anyhow::bail!("no normal training windows to train the latent decoder on");
    }
    let device = Device::flex().autodiff();
    let plain = Device::flex();
    let (weights_train, weights_valid) = (inv_std(scale, &device), inv_std(scale, &plain));
    let validation_rows: Vec<&Vec<f32>> = validation.iter().collect();
    let validation_tensor = (!validation.is_empty()).then(|| matrix(&validation_rows, &plain));
    let mut model = model_config.init_latent_decoder(&device);
    let mut best = model.clone();
    let mut optim = AdamConfig::new().init();
    let mut stopping = EarlyStopping::new(CHEAP_STAGE_PATIENCE);
    let mut history = StageHistory::new(STAGE);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x001a_7e47);
    for epoch in 1..=config.latent_epochs {
        let started = Instant::now();
        order.shuffle(&mut rng);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for chunk in order.chunks(config.batch_size.max(1)) {
            let rows: Vec<&Vec<f32>> = chunk.iter().map(|&i| &train[i]).collect();
            let loss = loss(&model, matrix(&rows, &device), &weights_train);
            sum += f64::from(loss.clone().into_scalar::<f32>()) * chunk.len() as f64;
            count += chunk.len();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
        }
        let train_loss = sum / count as f64;
        let validation_loss = validation_tensor.as_ref().map(|v| {
            f64::from(loss(&model.valid(), v.clone(), &weights_valid).into_scalar::<f32>())
        });
        let improved = stopping.record(epoch, validation_loss.unwrap_or(train_loss));
        if improved {
            best = model.clone();
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            seconds: started.elapsed().as_secs_f64(),
            context_variance: None,
            validation_auc_pr: None,
        };
        if epoch == 1 || improved && epoch % 10 == 0 || stopping.should_stop() {
            progress.epoch_done(STAGE, config.latent_epochs, &record, improved);
        }
        history.epochs.push(record);
        if stopping.should_stop() {
            history.stopped_early = true;
            break;
        }
    }
    history.best_epoch = stopping.best_epoch;
    Ok((best, history))
}

#[cfg(test)]
mod tests {
    use super::variance;

    #[test]
    fn variance_is_per_dimension_population_variance() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        assert_eq!(variance(&rows), vec![1.0, 0.0]);
    }
}

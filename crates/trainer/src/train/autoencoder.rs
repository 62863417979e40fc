//! Stage 1: encoder + sequence decoder on the normal training windows (Adam, masked MSE), early
//! stopping on the normal validation windows, best weights kept, checkpoint after every epoch.

use std::time::Instant;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rayon::prelude::*;
use telltale_core::BinnedWindow;

use super::TrainConfig;
use super::checkpoint::{CheckpointDir, StageState};
use super::history::{EarlyStopping, EpochRecord, StageHistory};
use super::progress::Progress;
use crate::data::{Batch, NormalBatcher, Prepared, masked_mse, masked_sq_sum};
use crate::model::{Autoencoder, ModelConfig};

/// Name of the stage in `history.json`.
pub const STAGE: &str = "autoencoder";

/// Adam with gradient-norm clipping (LSTMs occasionally produce large gradients).
pub fn optimizer() -> ModuleOptimizer {
    AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init()
}

/// What stage 1 hands on.
pub struct Stage1 {
    /// Weights of the best validation epoch.
    pub model: Autoencoder,
    pub history: StageHistory,
}

/// Train (or resume) stage 1. `checkpoint` is `None` for runs that keep no checkpoint.
pub fn train(
    config: &TrainConfig,
    model_config: &ModelConfig,
    train: &[Prepared],
    validation: &[Prepared],
    checkpoint: Option<&CheckpointDir>,
    progress: Progress,
) -> anyhow::Result<Stage1> {
    let device = Device::flex().autodiff();
    let batcher = NormalBatcher::new(train, config.batch_size, config.seed);
    if batcher.is_empty() {
        anyhow::bail!("the training split has no normal windows to train the autoencoder on");
    }
    let resumed = match checkpoint {
        Some(dir) if config.resume && dir.exists() => {
            Some(dir.load(model_config, optimizer(), &device)?)
        }
        _ => None,
    };
    let (mut model, mut best, mut optim, mut state) = match resumed {
        Some(c) => {
            progress.note(&format!(
                "resuming {STAGE} from {} after epoch {}",
                dir_name(checkpoint),
                c.state.epochs_completed
            ));
            (c.model, c.best, c.optimizer, c.state)
        }
        None => {
            let model = model_config.init_autoencoder(&device);
            let state = StageState {
                epochs_completed: 0,
                stopping: EarlyStopping::new(config.patience),
                history: StageHistory::new(STAGE),
            };
            (model.clone(), model, optimizer(), state)
        }
    };
    state.stopping.patience = config.patience.max(1);

    while state.epochs_completed < config.epochs && !state.history.stopped_early {
        let epoch = state.epochs_completed + 1;
        let started = Instant::now();
        let batches = batcher.epoch(state.epochs_completed);
        let bar = progress.epoch_bar(STAGE, epoch, config.epochs, batches.len());
        let (mut loss_sum, mut weight_sum) = (0.0f64, 0.0f64);
        for indices in &batches {
            let windows: Vec<_> = indices.iter().map(|&i| &train[i].window).collect();
            let (value, valid_values, grads) =
                gradients(&model, &windows, &device, shards(windows.len()));
            if !value.is_finite() {
                anyhow::bail!("{STAGE} epoch {epoch}: the loss became {value}; try a smaller --lr");
            }
            model = optim.step(config.lr, model, grads);
            loss_sum += value * valid_values as f64;
            weight_sum += valid_values as f64;
            bar.set_message(format!("{:.5}", loss_sum / weight_sum));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_loss = loss_sum / weight_sum.max(1.0);
        let validation_loss = evaluate(&model.valid(), validation, config.batch_size);
        let record = EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            seconds: started.elapsed().as_secs_f64(),
            context_variance: None,
            validation_auc_pr: None,
        };
        let improved = state
            .stopping
            .record(epoch, validation_loss.unwrap_or(train_loss));
        if improved {
            best = model.clone();
        }
        progress.epoch_done(STAGE, config.epochs, &record, improved);
        state.history.epochs.push(record);
        state.history.best_epoch = state.stopping.best_epoch;
        state.history.stopped_early = state.stopping.should_stop();
        state.epochs_completed = epoch;
        if let Some(dir) = checkpoint {
            dir.save(
                model_config,
                &state,
                &model,
                improved.then_some(&best),
                &optim,
            )?;
        }
    }
    Ok(Stage1 {
        model: best.valid(),
        history: state.history,
    })
}

/// Smallest shard worth a thread of its own.
const MIN_SHARD: usize = 8;

/// One shard per thread, none smaller than [`MIN_SHARD`] windows.
fn shards(batch: usize) -> usize {
    rayon::current_num_threads().min(batch / MIN_SHARD).max(1)
}

/// Loss and gradients of one batch, computed in `shards` parts in parallel. Each shard runs
/// forward and backward on its own fork of the model (its own autodiff graph), with its squared
/// errors divided by the WHOLE batch's valid values, so the shards' gradients add up to the
/// batch gradient. The split depends only on the batch and the shard count (the thread count),
/// so runs are reproducible.
pub fn gradients(
    model: &Autoencoder,
    windows: &[&BinnedWindow],
    device: &Device,
    shards: usize,
) -> (f64, usize, GradientsParams) {
    let valid_values: usize = windows.iter().map(|w| w.len * w.channels).sum();
    let per_shard = windows.len().div_ceil(shards.max(1));
    let results: Vec<(f64, GradientsParams)> = windows
        .par_chunks(per_shard)
        .map(|shard| {
            let local = model.clone().fork(device);
            let batch = Batch::new(shard, device);
            let (_, reconstruction) = local.forward(&batch.steps, &batch.lengths);
            let loss = masked_sq_sum(reconstruction, &batch).div_scalar(valid_values.max(1) as f32);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            (value, GradientsParams::from_grads(loss.backward(), &local))
        })
        .collect();
    let mut total = 0.0;
    let mut accumulator = GradientsAccumulator::<Autoencoder>::new();
    for (value, grads) in results {
        total += value;
        accumulator.accumulate(model, grads);
    }
    (total, valid_values, accumulator.grads())
}

fn dir_name(checkpoint: Option<&CheckpointDir>) -> String {
    checkpoint
        .map(|c| c.path.display().to_string())
        .unwrap_or_default()
}

/// Masked MSE over the normal windows of `windows` (value-weighted), `None` when there are none.
pub fn evaluate(model: &Autoencoder, windows: &[Prepared], batch_size: usize) -> Option<f64> {
    let device = Device::flex();
    let batcher = NormalBatcher::new(windows, batch_size, 0);
    if batcher.is_empty() {
        return None;
    }
    let (mut sum, mut count) = (0.0f64, 0.0f64);
    for indices in batcher.in_order() {
        let batch_windows: Vec<_> = indices.iter().map(|&i| &windows[i].window).collect();
        let batch = Batch::new(&batch_windows, &device);
        let (_, reconstruction) = model.forward(&batch.steps, &batch.lengths);
        let loss = f64::from(masked_mse(reconstruction, &batch).into_scalar::<f32>());
        sum += loss * batch.valid_values as f64;
        count += batch.valid_values as f64;
    }
    Some(sum / count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy;

    #[test]
    fn sharded_gradients_add_up_to_the_batch_gradient() {
        let windows = toy::prepared(20, 10, 3, 1);
        let binned: Vec<_> = windows.iter().map(|p| &p.window).collect();
        let device = Device::flex().autodiff();
        let model = ModelConfig::new(3).with_hidden(6).init_autoencoder(&device);
        let (loss_one, valid, one) = gradients(&model, &binned, &device, 1);
        let (loss_three, _, three) = gradients(&model, &binned, &device, 3);
        assert_eq!(valid, 20 * 10 * 3);
        assert!(
            (loss_one - loss_three).abs() < 1e-6,
            "{loss_one} vs {loss_three}"
        );
        let id = model.encoder.layers[0].recurrent.id;
        let a = crate::model::tensor_values(one.get::<2>(id).unwrap());
        let b = crate::model::tensor_values(three.get::<2>(id).unwrap());
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff < 1e-5 && a.iter().any(|v| *v != 0.0),
            "max diff {diff}"
        );
    }
}

//! The `--latent-joint` ablation: the seed's literal proposal. A fresh encoder and the latent
//! decoder are trained TOGETHER on `‖D(E(x)) − E(x)‖²`, with gradients flowing through both the
//! reconstruction and its target (no stop-gradient). Nothing stops the encoder from mapping every
//! window to one vector that the decoder reproduces exactly; each epoch records the contexts'
//! variance so the collapse shows in `history.json`.

use std::time::Instant;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;

use super::TrainConfig;
use super::history::{EarlyStopping, EpochRecord, StageHistory};
use super::latent::variance;
use super::progress::Progress;
use crate::data::{Batch, NormalBatcher, Prepared};
use crate::model::{JointLatent, ModelConfig, tensor_values};

/// Name of the stage in `history.json`.
pub const STAGE: &str = "latent_joint";

fn joint_loss(model: &JointLatent, batch: &Batch) -> (Tensor<1>, Tensor<2>) {
    let context = model.encoder.forward(&batch.steps, &batch.lengths);
    let diff = model.latent.forward(context.clone()) - context.clone();
    ((diff.clone() * diff).mean(), context)
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64
}

/// Train the ablation on the normal training windows; early stopping on the normal validation
/// windows' loss (which a collapsed model drives to zero as well).
pub fn train(
    config: &TrainConfig,
    model_config: &ModelConfig,
    train: &[Prepared],
    validation: &[Prepared],
    progress: Progress,
) -> anyhow::Result<(JointLatent, StageHistory)> {
    let device = Device::flex().autodiff();
    let batcher = NormalBatcher::new(train, config.batch_size, config.seed ^ 0x101_0107);
    if batcher.is_empty() {
        anyhow::bail!("the training split has no normal windows for the latent-joint ablation");
    }
    let hidden = model_config.hidden;
    let mut model = model_config.init_joint(&device);
    let mut best = model.clone();
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    let mut stopping = EarlyStopping::new(config.patience);
    let mut history = StageHistory::new(STAGE);
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let batches = batcher.epoch(epoch - 1);
        let bar = progress.epoch_bar(STAGE, epoch, config.epochs, batches.len());
        let (mut sum, mut count) = (0.0f64, 0usize);
        let mut contexts: Vec<Vec<f32>> = Vec::new();
        for indices in &batches {
            let windows: Vec<_> = indices.iter().map(|&i| &train[i].window).collect();
            let batch = Batch::new(&windows, &device);
            let (loss, context) = joint_loss(&model, &batch);
            contexts.extend(
                tensor_values(context.detach())
                    .chunks(hidden)
                    .map(<[f32]>::to_vec),
            );
            let value = f64::from(loss.clone().into_scalar::<f32>());
            sum += value * batch.len() as f64;
            count += batch.len();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
            bar.set_message(format!("{:.6}", sum / count as f64));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_loss = sum / count.max(1) as f64;
        let validation_loss = evaluate(&model.valid(), validation, config.batch_size);
        let improved = stopping.record(epoch, validation_loss.unwrap_or(train_loss));
        if improved {
            best = model.clone();
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            seconds: started.elapsed().as_secs_f64(),
            context_variance: Some(mean(&variance(&contexts))),
            validation_auc_pr: None,
        };
        progress.epoch_done(STAGE, config.epochs, &record, improved);
        history.epochs.push(record);
        if stopping.should_stop() {
            history.stopped_early = true;
            break;
        }
    }
    history.best_epoch = stopping.best_epoch;
    Ok((best.valid(), history))
}

fn evaluate(model: &JointLatent, windows: &[Prepared], batch_size: usize) -> Option<f64> {
    let batcher = NormalBatcher::new(windows, batch_size, 0);
    if batcher.is_empty() {
        return None;
    }
    let device = Device::flex();
    let (mut sum, mut count) = (0.0f64, 0usize);
    for indices in batcher.in_order() {
        let binned: Vec<_> = indices.iter().map(|&i| &windows[i].window).collect();
        let batch = Batch::new(&binned, &device);
        sum += f64::from(joint_loss(model, &batch).0.into_scalar::<f32>()) * batch.len() as f64;
        count += batch.len();
    }
    Some(sum / count as f64)
}

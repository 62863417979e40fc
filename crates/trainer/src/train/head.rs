//! Stage 3: the supervised head on `[context, log_z(latent error), log_z(sequence error)]`, with
//! class-weighted cross-entropy or balanced resampling for the rare positive class; `auto` trains
//! both and keeps the one with the better validation AUC-PR.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use telltale_core::metrics::average_precision;

use super::config::{HeadMode, TrainConfig};
use super::history::{EarlyStopping, EpochRecord, StageHistory};
use super::latent::CHEAP_STAGE_PATIENCE;
use super::progress::Progress;
use crate::model::{Head, ModelConfig, tensor_values};

/// Head inputs and labels of one split.
#[derive(Debug, Clone, Default)]
pub struct HeadData {
    /// `[n][H + 2]`
    pub features: Vec<Vec<f32>>,
    pub labels: Vec<bool>,
}

impl HeadData {
    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|&&l| l).count()
    }

    /// Both classes present (AUC-PR is defined).
    pub fn has_both_classes(&self) -> bool {
        let p = self.positives();
        p > 0 && p < self.labels.len()
    }
}

/// A trained head and how it was trained.
pub struct TrainedHead {
    pub head: Head,
    pub mode: HeadMode,
    pub history: StageHistory,
    /// Validation AUC-PR of the kept weights (NaN without validation positives).
    pub validation_auc_pr: f64,
}

fn rows_tensor(data: &HeadData, idx: &[usize], device: &Device) -> (Tensor<2>, Tensor<1>) {
    let width = data.features.first().map_or(0, Vec::len);
    let x: Vec<f32> = idx
        .iter()
        .flat_map(|&i| data.features[i].iter().copied())
        .collect();
    let y: Vec<f32> = idx
        .iter()
        .map(|&i| if data.labels[i] { 1.0 } else { 0.0 })
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [idx.len(), width]), device),
        Tensor::from_data(TensorData::new(y, [idx.len()]), device),
    )
}

/// Per-example binary cross-entropy from logits, numerically stable:
/// `max(z, 0) − z·y + ln(1 + e^{−|z|})`.
fn bce(logits: Tensor<1>, labels: Tensor<1>) -> Tensor<1> {
    relu(logits.clone()) - logits.clone() * labels + logits.abs().neg().exp().log1p()
}

/// Probabilities of every row of `data` from an untracked head.
pub fn predict(head: &Head, data: &HeadData) -> Vec<f32> {
    if data.features.is_empty() {
        return Vec::new();
    }
    let idx: Vec<usize> = (0..data.features.len()).collect();
    let (x, _) = rows_tensor(data, &idx, &Device::flex());
    tensor_values(head.probability(x))
}

/// Train the head(s) `mode` asks for and return the kept one. Requires positives in `train`.
pub fn train(
    config: &TrainConfig,
    model_config: &ModelConfig,
    mode: HeadMode,
    train: &HeadData,
    validation: &HeadData,
    progress: Progress,
) -> anyhow::Result<(TrainedHead, Vec<StageHistory>)> {
    let modes: &[HeadMode] = match mode {
        HeadMode::Auto => &[HeadMode::Weighted, HeadMode::Resample],
        HeadMode::Weighted => &[HeadMode::Weighted],
        HeadMode::Resample => &[HeadMode::Resample],
        HeadMode::None => anyhow::bail!("no head was asked for"),
    };
    let mut histories = Vec::new();
    let mut kept: Option<TrainedHead> = None;
    for (variant, &m) in modes.iter().enumerate() {
        let trained = train_one(
            config,
            model_config,
            m,
            variant as u64,
            train,
            validation,
            progress,
        );
        histories.push(trained.history.clone());
        // A NaN AUC-PR (no validation positives) never beats a number; the first mode wins ties.
        let better = kept
            .as_ref()
            .is_none_or(|k| trained.validation_auc_pr > k.validation_auc_pr);
        if better {
            kept = Some(trained);
        }
    }
    let kept = kept.ok_or_else(|| anyhow::anyhow!("no head was trained"))?;
    Ok((kept, histories))
}

fn train_one(
    config: &TrainConfig,
    model_config: &ModelConfig,
    mode: HeadMode,
    variant: u64,
    train: &HeadData,
    validation: &HeadData,
    progress: Progress,
) -> TrainedHead {
    let stage = match mode {
        HeadMode::Resample => "head_resample",
        _ => "head_weighted",
    };
    let device = Device::flex().autodiff();
    let n = train.labels.len();
    let positives: Vec<usize> = (0..n).filter(|&i| train.labels[i]).collect();
    let negatives: Vec<usize> = (0..n).filter(|&i| !train.labels[i]).collect();
    let pos_weight = negatives.len().max(1) as f32 / positives.len().max(1) as f32;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ (0x4ead + variant));
    let mut model = model_config.init_head(variant, &device);
    let mut best = model.clone();
    let mut optim = AdamConfig::new().init();
    let mut stopping = EarlyStopping::new(CHEAP_STAGE_PATIENCE);
    let mut history = StageHistory::new(stage);
    let use_auc = validation.has_both_classes();
    for epoch in 1..=config.head_epochs {
        let started = Instant::now();
        let order: Vec<usize> = match mode {
            HeadMode::Resample => (0..n)
                .map(|i| {
                    let pool = if i % 2 == 0 { &positives } else { &negatives };
                    pool[rng.random_range(0..pool.len())]
                })
                .collect(),
            _ => {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                order
            }
        };
        let (mut sum, mut count) = (0.0f64, 0usize);
        for chunk in order.chunks(config.batch_size.max(1)) {
            let (x, y) = rows_tensor(train, chunk, &device);
            let per_example = bce(model.logits(x), y.clone());
            let loss = match mode {
                HeadMode::Resample => per_example.mean(),
                _ => {
                    let weights = y.mul_scalar(pos_weight - 1.0).add_scalar(1.0);
                    (per_example * weights.clone()).sum() / weights.sum()
                }
            };
            sum += f64::from(loss.clone().into_scalar::<f32>()) * chunk.len() as f64;
            count += chunk.len();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
        }
        let valid = model.valid();
        let validation_loss = (!validation.labels.is_empty()).then(|| {
            let idx: Vec<usize> = (0..validation.labels.len()).collect();
            let (x, y) = rows_tensor(validation, &idx, &Device::flex());
            f64::from(bce(valid.logits(x), y).mean().into_scalar::<f32>())
        });
        let auc =
            use_auc.then(|| average_precision(&predict(&valid, validation), &validation.labels));
        let train_loss = sum / count.max(1) as f64;
        // Lower is better: negative AUC-PR when it is defined, else the loss.
        let criterion = auc.map_or(validation_loss.unwrap_or(train_loss), |a| -a);
        let improved = stopping.record(epoch, criterion);
        if improved {
            best = model.clone();
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            seconds: started.elapsed().as_secs_f64(),
            context_variance: None,
            validation_auc_pr: auc,
        };
        if epoch == 1 || stopping.should_stop() || epoch == config.head_epochs {
            progress.epoch_done(stage, config.head_epochs, &record, improved);
        }
        history.epochs.push(record);
        if stopping.should_stop() {
            history.stopped_early = true;
            break;
        }
    }
    history.best_epoch = stopping.best_epoch;
    let validation_auc_pr = if use_auc {
        -stopping.best_loss
    } else {
        f64::NAN
    };
    TrainedHead {
        head: best.valid(),
        mode,
        history,
        validation_auc_pr,
    }
}

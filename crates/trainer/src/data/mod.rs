//! From sensor windows to training batches: bin each window once, normalise with statistics of
//! the normal training windows, and assemble batches of step tensors, lengths, reversed targets
//! and masks.

pub mod toy;

use std::collections::BTreeMap;

use anyhow::Context;
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use telltale_core::window::bin_events;
use telltale_core::{BinnedWindow, EventsFile, Normalizer, SensorWindow, WindowSpec};

/// Windows split by sensor: a sensor's windows are all in one split.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub feature_names: Vec<String>,
    pub train: Vec<SensorWindow>,
    pub validation: Vec<SensorWindow>,
    pub test: Vec<SensorWindow>,
}

/// Sensor ids per split, written as `split.json` so `evaluate` can score the untouched test
/// sensors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRecord {
    pub train: Vec<String>,
    pub validation: Vec<String>,
    pub test: Vec<String>,
}

impl Dataset {
    /// The sensor ids of each split (sorted, unique).
    pub fn split_record(&self) -> SplitRecord {
        let ids = |windows: &[SensorWindow]| {
            let mut ids: Vec<String> = windows.iter().map(|w| w.sensor_id.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        SplitRecord {
            train: ids(&self.train),
            validation: ids(&self.validation),
            test: ids(&self.test),
        }
    }
}

/// A window counts as normal unless it is labelled anomalous (unlabelled data is all normal).
pub fn is_normal(window: &SensorWindow) -> bool {
    window.label != Some(true)
}

/// Split by sensor, stratified by whether a sensor has any positive window so that validation
/// (and test) get their share of positives. Deterministic for a seed. Each split that is asked
/// for (fraction > 0) gets at least one sensor of a stratum with at least two sensors.
pub fn split_by_sensor(
    file: EventsFile,
    validation_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Dataset {
    let mut by_sensor: BTreeMap<String, Vec<SensorWindow>> = BTreeMap::new();
    let mut order = Vec::new();
    for window in file.windows {
        if !by_sensor.contains_key(&window.sensor_id) {
            order.push(window.sensor_id.clone());
        }
        by_sensor
            .entry(window.sensor_id.clone())
            .or_default()
            .push(window);
    }
    let (mut positive, mut negative): (Vec<String>, Vec<String>) = order
        .into_iter()
        .partition(|id| by_sensor[id].iter().any(|w| w.label == Some(true)));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    positive.shuffle(&mut rng);
    negative.shuffle(&mut rng);

    let mut dataset = Dataset {
        feature_names: file.feature_names,
        ..Dataset::default()
    };
    for stratum in [positive, negative] {
        let n = stratum.len();
        let take = |fraction: f64| -> usize {
            if fraction <= 0.0 || n < 2 {
                return 0;
            }
            ((fraction * n as f64).round() as usize).max(1)
        };
        let n_val = take(validation_fraction).min(n.saturating_sub(1));
        let n_test = take(test_fraction).min(n.saturating_sub(1 + n_val));
        for (i, id) in stratum.into_iter().enumerate() {
            let windows = by_sensor.remove(&id).unwrap_or_default();
            let split = if i < n_val {
                &mut dataset.validation
            } else if i < n_val + n_test {
                &mut dataset.test
            } else {
                &mut dataset.train
            };
            split.extend(windows);
        }
    }
    dataset
}

/// A binned window with its label; `data` is normalised once [`normalize_all`] ran.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub sensor_id: String,
    pub label: Option<bool>,
    pub window: BinnedWindow,
}

impl Prepared {
    pub fn is_normal(&self) -> bool {
        self.label != Some(true)
    }
}

/// Bin every window once. An error names the sensor (and window id) that could not be binned.
pub fn bin_all(
    windows: &[SensorWindow],
    n_features: usize,
    spec: &WindowSpec,
) -> anyhow::Result<Vec<Prepared>> {
    windows
        .iter()
        .map(|w| {
            let window = bin_events(&w.events, n_features, spec, None).with_context(|| match &w
                .window_id
            {
                Some(id) => format!("sensor {} window {id}: cannot bin its events", w.sensor_id),
                None => format!("sensor {}: cannot bin its events", w.sensor_id),
            })?;
            Ok(Prepared {
                sensor_id: w.sensor_id.clone(),
                label: w.label,
                window,
            })
        })
        .collect()
}

/// Fit the normaliser on the normal windows of `train` (all of them when none is normal).
pub fn fit_normalizer(train: &[Prepared]) -> Normalizer {
    let normal: Vec<&BinnedWindow> = train
        .iter()
        .filter(|p| p.is_normal())
        .map(|p| &p.window)
        .collect();
    if normal.is_empty() {
        Normalizer::fit(train.iter().map(|p| &p.window))
    } else {
        Normalizer::fit(normal)
    }
}

/// Normalise every window in place.
pub fn normalize_all(windows: &mut [Prepared], normalizer: &Normalizer) {
    for p in windows {
        normalizer.apply(&mut p.window);
    }
}

/// Yields shuffled batches of the NORMAL windows of a set only: the autoencoders never see a
/// window labelled anomalous.
#[derive(Debug, Clone)]
pub struct NormalBatcher {
    normal: Vec<usize>,
    batch_size: usize,
    seed: u64,
}

impl NormalBatcher {
    pub fn new(windows: &[Prepared], batch_size: usize, seed: u64) -> Self {
        let normal = windows
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_normal())
            .map(|(i, _)| i)
            .collect();
        Self {
            normal,
            batch_size: batch_size.max(1),
            seed,
        }
    }

    /// Number of normal windows.
    pub fn len(&self) -> usize {
        self.normal.len()
    }

    pub fn is_empty(&self) -> bool {
        self.normal.is_empty()
    }

    /// Batches (indices into the set) of one epoch; the order depends only on seed and epoch, so
    /// a resumed run sees the same batches as an uninterrupted one.
    pub fn epoch(&self, epoch: usize) -> Vec<Vec<usize>> {
        let mut order = self.normal.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed ^ (epoch as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
        );
        order.shuffle(&mut rng);
        order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Batches in the set's order (evaluation).
    pub fn in_order(&self) -> Vec<Vec<usize>> {
        self.normal
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }
}

/// A batch as tensors. `steps[t]` is `[batch, C]`; windows are zero-padded after their length
/// (the encoder reads the context at each window's own last step, so padding never reaches it).
#[derive(Debug, Clone)]
pub struct Batch {
    pub steps: Vec<Tensor<2>>,
    pub lengths: Vec<usize>,
    /// Window in reverse order, `target[b, t] = x[b, len_b − 1 − t]`, zero after the length.
    pub target: Tensor<3>,
    /// 1 where `t < len_b`, else 0, `[batch, T, C]`.
    pub mask: Tensor<3>,
    /// Number of valid values (Σ len_b · C), the loss's denominator.
    pub valid_values: usize,
}

impl Batch {
    pub fn new(windows: &[&BinnedWindow], device: &Device) -> Self {
        let batch = windows.len();
        let channels = windows[0].channels;
        let steps = windows.iter().map(|w| w.len).max().unwrap_or(1).max(1);
        let lengths: Vec<usize> = windows.iter().map(|w| w.len.max(1)).collect();
        let mut step_data = vec![vec![0.0f32; batch * channels]; steps];
        let mut target = vec![0.0f32; batch * steps * channels];
        let mut mask = vec![0.0f32; batch * steps * channels];
        for (b, w) in windows.iter().enumerate() {
            for (t, step) in step_data.iter_mut().enumerate().take(w.len) {
                let row = w.step(t);
                step[b * channels..(b + 1) * channels].copy_from_slice(row);
                let r = w.len - 1 - t;
                let at = (b * steps + r) * channels;
                target[at..at + channels].copy_from_slice(row);
                mask[at..at + channels].fill(1.0);
            }
        }
        let valid_values = windows.iter().map(|w| w.len * channels).sum();
        Self {
            steps: step_data
                .into_iter()
                .map(|d| Tensor::from_data(TensorData::new(d, [batch, channels]), device))
                .collect(),
            lengths,
            target: Tensor::from_data(TensorData::new(target, [batch, steps, channels]), device),
            mask: Tensor::from_data(TensorData::new(mask, [batch, steps, channels]), device),
            valid_values,
        }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }
}

/// Masked mean squared error of a reverse-order reconstruction (the stage-1 loss).
pub fn masked_mse(reconstruction: Tensor<3>, batch: &Batch) -> Tensor<1> {
    masked_sq_sum(reconstruction, batch).div_scalar(batch.valid_values.max(1) as f32)
}

/// Sum of squared errors over the valid steps of a reverse-order reconstruction.
pub fn masked_sq_sum(reconstruction: Tensor<3>, batch: &Batch) -> Tensor<1> {
    let diff = (reconstruction - batch.target.clone()) * batch.mask.clone();
    (diff.clone() * diff).sum()
}

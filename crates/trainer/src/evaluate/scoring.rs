//! Running windows through `telltale-scorer` (the exported ONNX graphs, as the server does) in
//! batches, and collecting every raw score the report compares.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array3;
use telltale_core::scoring::combined_raw;
use telltale_core::{BinnedWindow, Event, SensorWindow};
use telltale_scorer::Scorer;

/// For each model feature (manifest order), the column of the events file that holds it. Extra
/// columns of the file are ignored; a missing model feature is an error naming it.
pub fn align_features(
    file_features: &[String],
    model_features: &[String],
    source: &str,
) -> anyhow::Result<Vec<usize>> {
    model_features
        .iter()
        .map(|name| {
            file_features.iter().position(|f| f == name).with_context(|| {
                format!(
                    "{source}: the model was trained on feature `{name}`, which this file lacks \
                     (it has: {})",
                    file_features.join(", ")
                )
            })
        })
        .collect()
}

/// Bin and normalise windows with the scorer's manifest, reordering feature values to the model's
/// order first. The error names the sensor whose window could not be prepared.
pub fn prepare_windows(
    scorer: &Scorer,
    windows: &[&SensorWindow],
    columns: &[usize],
) -> anyhow::Result<Vec<BinnedWindow>> {
    let identity = columns.iter().enumerate().all(|(i, c)| i == *c);
    windows
        .iter()
        .map(|w| {
            let prepared = if identity {
                scorer.prepare(&w.events, None)
            } else {
                let events: Vec<Event> = w
                    .events
                    .iter()
                    .map(|e| Event {
                        timestamp: e.timestamp,
                        features: columns.iter().map(|&c| e.features[c]).collect(),
                    })
                    .collect();
                scorer.prepare(&events, None)
            };
            prepared.with_context(|| format!("sensor `{}`: cannot build its window", w.sensor_id))
        })
        .collect()
}

/// Raw scores of one model for every window, in window order.
#[derive(Debug, Clone, Default)]
pub struct ModelOutputs {
    pub latent: Vec<f32>,
    /// Present when the model has a sequence decoder.
    pub sequence: Option<Vec<f32>>,
    /// Present when the model has a sequence decoder (it needs both errors).
    pub combined: Option<Vec<f32>>,
    /// Peak local sequence error; present when the model has a sequence decoder.
    pub peak: Option<Vec<f32>>,
    /// The same peak scan against a zero reconstruction (the decoder left out); present with
    /// `peak`.
    pub peak_no_decoder: Option<Vec<f32>>,
    /// Present when the model has a head.
    pub head: Option<Vec<f32>>,
    /// The calibrated score the server reports, and its threshold decision.
    pub calibrated: Vec<f32>,
    pub is_anomaly: Vec<bool>,
    /// Per-feature errors (empty without a sequence decoder).
    pub feature_errors: Vec<Vec<f32>>,
    /// Where each window lies and, for a peak default scorer, the stretch behind its score.
    pub located: Vec<Located>,
}

/// A window's time span and the stretch its peak score came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located {
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub peak: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

fn progress(total: usize, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} windows ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Score `windows` in batches of `batch` through the scorer (a progress bar unless `quiet`).
pub fn score_windows(
    scorer: &mut Scorer,
    windows: &[BinnedWindow],
    batch: usize,
    what: &str,
    quiet: bool,
) -> anyhow::Result<ModelOutputs> {
    if batch == 0 {
        bail!("--batch-size must be at least 1");
    }
    let manifest = scorer.manifest().clone();
    let has_sequence = manifest.graphs.sequence_decoder.is_some();
    let has_head = manifest.graphs.head.is_some();
    let mut out = ModelOutputs {
        sequence: has_sequence.then(Vec::new),
        combined: has_sequence.then(Vec::new),
        peak: has_sequence.then(Vec::new),
        peak_no_decoder: has_sequence.then(Vec::new),
        head: has_head.then(Vec::new),
        ..ModelOutputs::default()
    };
    let bar = progress(windows.len(), what, quiet);
    for (b, chunk) in windows.chunks(batch).enumerate() {
        let scores = scorer.score_detailed(chunk).with_context(|| {
            format!("scoring windows {}..{}", b * batch, b * batch + chunk.len())
        })?;
        if scores.len() != chunk.len() {
            bail!(
                "the scorer returned {} results for {} windows",
                scores.len(),
                chunk.len()
            );
        }
        for (detailed, window) in scores.into_iter().zip(chunk) {
            out.located.push(Located {
                window: (window.start, window.end),
                peak: detailed.scores.peak_span,
            });
            if let Some(v) = out.peak.as_mut() {
                v.push(detailed.raw.peak);
            }
            if let Some(v) = out.peak_no_decoder.as_mut() {
                v.push(detailed.raw.peak_no_decoder);
            }
            let s = detailed.scores;
            out.latent.push(s.latent_error);
            if let Some(v) = out.sequence.as_mut() {
                v.push(s.sequence_error);
            }
            if let Some(v) = out.combined.as_mut() {
                v.push(combined_raw(
                    s.latent_error,
                    s.sequence_error,
                    &manifest.calibration,
                ));
            }
            if let Some(v) = out.head.as_mut() {
                let p = s
                    .alert_probability
                    .context("the model has a head but gave no probability")?;
                v.push(p);
            }
            out.calibrated.push(s.score);
            out.is_anomaly.push(s.is_anomaly);
            out.feature_errors.push(s.feature_errors);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Stack windows into the encoder's input: `x` `[batch, max_len, C]` (zeros past each length) and
/// the lengths.
pub fn batch_tensor(windows: &[BinnedWindow]) -> (Array3<f32>, Vec<i32>) {
    let steps = windows.iter().map(|w| w.len).max().unwrap_or(0).max(1);
    let channels = windows.first().map_or(0, |w| w.channels);
    let mut x = Array3::<f32>::zeros((windows.len(), steps, channels));
    for (b, w) in windows.iter().enumerate() {
        for t in 0..w.len {
            for (c, v) in w.step(t).iter().enumerate() {
                x[[b, t, c]] = *v;
            }
        }
    }
    (x, windows.iter().map(|w| w.len as i32).collect())
}

/// Mean over context dimensions of the variance of the encoder's context across `windows`: near
/// zero when the encoder maps every window to the same vector (collapse).
pub fn context_variance(
    scorer: &mut Scorer,
    windows: &[BinnedWindow],
    batch: usize,
) -> anyhow::Result<f64> {
    let mut sum: Vec<f64> = Vec::new();
    let mut sum_sq: Vec<f64> = Vec::new();
    let mut n = 0usize;
    for chunk in windows.chunks(batch.max(1)) {
        let (x, lengths) = batch_tensor(chunk);
        let context = scorer
            .graphs()
            .encode(x.view(), &lengths)
            .context("running the encoder")?;
        if sum.is_empty() {
            sum = vec![0.0; context.ncols()];
            sum_sq = vec![0.0; context.ncols()];
        }
        for row in context.rows() {
            for (d, v) in row.iter().enumerate() {
                sum[d] += f64::from(*v);
                sum_sq[d] += f64::from(*v) * f64::from(*v);
            }
            n += 1;
        }
    }
    if n < 2 {
        return Ok(f64::NAN);
    }
    let nf = n as f64;
    let var: f64 = sum
        .iter()
        .zip(&sum_sq)
        .map(|(s, sq)| (sq / nf - (s / nf).powi(2)).max(0.0))
        .sum();
    Ok(var / sum.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn features_are_matched_by_name() {
        let file = vec!["b".to_string(), "x".to_string(), "a".to_string()];
        let model = vec!["a".to_string(), "b".to_string()];
        assert_eq!(align_features(&file, &model, "f.csv").unwrap(), vec![2, 0]);
        let err = align_features(&file, &["c".to_string()], "f.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.csv") && err.contains("`c`"), "{err}");
    }

    #[test]
    fn batch_tensor_pads_with_zeros_and_keeps_lengths() {
        let w = |len: usize, v: f32| BinnedWindow {
            len,
            channels: 2,
            data: vec![v; len * 2],
            start: Utc::now(),
            end: Utc::now(),
            events_used: len,
        };
        let (x, lengths) = batch_tensor(&[w(1, 3.0), w(3, 1.0)]);
        assert_eq!(x.shape(), &[2, 3, 2]);
        assert_eq!(lengths, vec![1, 3]);
        assert_eq!(x[[0, 0, 1]], 3.0);
        assert_eq!(x[[0, 2, 0]], 0.0);
        assert_eq!(x[[1, 2, 1]], 1.0);
    }
}

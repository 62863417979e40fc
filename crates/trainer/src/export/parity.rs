//! The export check: every written graph, run through ONNX Runtime, must agree with the burn
//! model's own forward pass on real windows (several lengths, batch sizes 1, 7 and 32) to within
//! [`TOLERANCE`]; otherwise the export fails and no manifest is written.

use burn::prelude::*;
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};
use telltale_core::BinnedWindow;
use telltale_scorer::ModelGraphs;

use crate::data::Batch;
use crate::model::{Encoder, Head, LatentDecoder, SequenceDecoder, tensor_values};

/// Largest allowed absolute difference between ONNX Runtime and burn.
pub const TOLERANCE: f32 = 1e-4;
/// Batch sizes every graph is checked with.
pub const BATCH_SIZES: [usize; 3] = [1, 7, 32];

/// Largest absolute difference per graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParityReport {
    pub encoder: f32,
    pub latent_decoder: f32,
    pub sequence_decoder: Option<f32>,
    pub head: Option<f32>,
    /// Windows compared (over all batches).
    pub windows: usize,
    /// Shortest and longest window length compared.
    pub min_length: usize,
    pub max_length: usize,
}

/// The first `len` steps of a window.
fn truncated(window: &BinnedWindow, len: usize) -> BinnedWindow {
    let len = len.clamp(1, window.len.max(1));
    BinnedWindow {
        len,
        data: window.data[..len * window.channels].to_vec(),
        ..window.clone()
    }
}

/// Batches of sizes 1, 7 and 32 cycling through `windows`, every third one shortened so short
/// windows (down to one step) are always covered.
pub fn parity_batches(windows: &[&BinnedWindow]) -> Vec<Vec<BinnedWindow>> {
    let mut k = 0usize;
    BATCH_SIZES
        .iter()
        .map(|&size| {
            (0..size)
                .map(|_| {
                    let w = windows[k % windows.len()];
                    k += 1;
                    match k % 3 {
                        0 => truncated(w, 1 + (k * 7) % w.len.max(1)),
                        1 if k % 2 == 1 => truncated(w, 1),
                        _ => w.clone(),
                    }
                })
                .collect()
        })
        .collect()
}

/// `x [batch, T, C]` (zero-padded) and lengths of a batch, for ONNX Runtime.
pub fn pack(windows: &[BinnedWindow]) -> (Array3<f32>, Vec<i32>) {
    let channels = windows[0].channels;
    let steps = windows.iter().map(|w| w.len).max().unwrap_or(1);
    let mut x = Array3::<f32>::zeros((windows.len(), steps, channels));
    for (b, w) in windows.iter().enumerate() {
        for t in 0..w.len {
            for (c, &v) in w.step(t).iter().enumerate() {
                x[[b, t, c]] = v;
            }
        }
    }
    (x, windows.iter().map(|w| w.len as i32).collect())
}

fn max_diff(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| {
            if x.is_nan() || y.is_nan() {
                f32::INFINITY
            } else {
                (x - y).abs()
            }
        })
        .fold(0.0, f32::max)
}

fn fail_if_over(graph: &str, diff: f32) -> anyhow::Result<f32> {
    if diff <= TOLERANCE {
        Ok(diff)
    } else {
        anyhow::bail!(
            "export check failed: {graph}.onnx differs from the trained model by {diff:.3e} \
             (allowed {TOLERANCE:.0e}); no manifest was written"
        )
    }
}

fn to_array2(rows: usize, cols: usize, values: Vec<f32>) -> Array2<f32> {
    Array2::from_shape_vec((rows, cols), values).expect("shape matches the values")
}

/// Compare encoder, latent decoder and (when given) sequence decoder graphs with burn.
pub fn check_graphs(
    graphs: &mut ModelGraphs,
    encoder: &Encoder,
    latent: &LatentDecoder,
    sequence: Option<&SequenceDecoder>,
    windows: &[&BinnedWindow],
) -> anyhow::Result<ParityReport> {
    anyhow::ensure!(
        !windows.is_empty(),
        "export check: no windows to compare the graphs on"
    );
    let device = Device::flex();
    let hidden = encoder.hidden_size();
    let mut report = ParityReport {
        min_length: usize::MAX,
        ..ParityReport::default()
    };
    let mut seq_diff = 0.0f32;
    for batch_windows in parity_batches(windows) {
        let refs: Vec<&BinnedWindow> = batch_windows.iter().collect();
        let batch = Batch::new(&refs, &device);
        let (x, lengths) = pack(&batch_windows);
        let n = batch_windows.len();
        let context = encoder.forward(&batch.steps, &batch.lengths);
        let context_values = tensor_values(context.clone());
        let onnx_context = graphs.encode(x.view(), &lengths)?;
        report.encoder = report.encoder.max(max_diff(
            onnx_context.iter().copied(),
            context_values.iter().copied(),
        ));

        let burn_context = to_array2(n, hidden, context_values);
        let burn_latent = tensor_values(latent.forward(context.clone()));
        let onnx_latent = graphs.decode_latent(burn_context.view())?;
        report.latent_decoder = report
            .latent_decoder
            .max(max_diff(onnx_latent.iter().copied(), burn_latent));

        if let Some(sequence) = sequence {
            let steps = batch.steps.len();
            let channels = batch_windows[0].channels;
            let reversed = tensor_values(sequence.forward(context, steps));
            let onnx = graphs
                .decode_sequence(burn_context.view(), x.view(), &lengths)?
                .ok_or_else(|| {
                    anyhow::anyhow!("export check: the sequence decoder graph is missing")
                })?;
            for (b, w) in batch_windows.iter().enumerate() {
                for t in 0..w.len {
                    let r = w.len - 1 - t;
                    let ours =
                        &reversed[(b * steps + r) * channels..(b * steps + r + 1) * channels];
                    let theirs = (0..channels).map(|c| onnx[[b, t, c]]);
                    seq_diff = seq_diff.max(max_diff(theirs, ours.iter().copied()));
                }
            }
        }
        report.windows += n;
        for w in &batch_windows {
            report.min_length = report.min_length.min(w.len);
            report.max_length = report.max_length.max(w.len);
        }
    }
    fail_if_over("encoder", report.encoder)?;
    fail_if_over("latent_decoder", report.latent_decoder)?;
    if sequence.is_some() {
        report.sequence_decoder = Some(fail_if_over("sequence_decoder", seq_diff)?);
    }
    Ok(report)
}

/// Compare the head graph with burn on real head inputs (batch sizes 1, 7, 32).
pub fn check_head(
    graphs: &mut ModelGraphs,
    head: &Head,
    features: &[Vec<f32>],
) -> anyhow::Result<f32> {
    anyhow::ensure!(
        !features.is_empty(),
        "export check: no head inputs to compare the head graph on"
    );
    let device = Device::flex();
    let width = features[0].len();
    let mut diff = 0.0f32;
    let mut k = 0usize;
    for size in BATCH_SIZES {
        let rows: Vec<f32> = (0..size)
            .flat_map(|_| {
                k += 1;
                features[(k - 1) % features.len()].iter().copied()
            })
            .collect();
        let input = to_array2(size, width, rows.clone());
        let ours = tensor_values(head.probability(Tensor::from_data(
            TensorData::new(rows, [size, width]),
            &device,
        )));
        let theirs = graphs
            .head(input.view())?
            .ok_or_else(|| anyhow::anyhow!("export check: the head graph is missing"))?;
        diff = diff.max(max_diff(theirs.iter().copied(), ours));
    }
    fail_if_over("head", diff)
}

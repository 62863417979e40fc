//! The written graphs, run by ONNX Runtime through `telltale_scorer::ModelGraphs`, agree with the
//! reference forward pass: random weights, batches of windows with different lengths (1 … full),
//! garbage beyond each length (the graphs must ignore it), 1 and 2 encoder layers.

mod common;

use ndarray::{Array2, Array3, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use telltale_core::manifest::{Graphs, ModelShape};
use telltale_onnx::{ModelWeights, fixture::random_weights, reference};
use telltale_scorer::{ModelGraphs, RuntimeOptions};

const CHANNELS: usize = 4;
const HIDDEN: usize = 8;
const LATENT: usize = 3;
const STEPS: usize = 12;
const TOLERANCE: f32 = 1e-4;

fn open(dir: &std::path::Path, weights: &ModelWeights, layers: usize) -> ModelGraphs {
    telltale_scorer::init_runtime(Some(common::ort_dylib())).expect("load ONNX Runtime");
    let files = telltale_onnx::write_graphs(dir, weights).expect("write graphs");
    let graphs = Graphs {
        encoder: files.encoder,
        latent_decoder: files.latent_decoder,
        sequence_decoder: files.sequence_decoder,
        head: files.head,
    };
    let shape = ModelShape {
        channels: CHANNELS,
        hidden: HIDDEN,
        layers,
        latent_dim: LATENT,
    };
    ModelGraphs::open_graphs(dir, &graphs, shape, &RuntimeOptions::default()).expect("open graphs")
}

fn max_diff(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Largest |ONNX Runtime − reference| per graph: encoder, latent decoder, sequence decoder, head.
fn parity(layers: usize, lengths: &[i32], seed: u64) -> [f32; 4] {
    let weights = random_weights(CHANNELS, HIDDEN, layers, LATENT, true, seed);
    let dir = tempfile::tempdir().unwrap();
    let mut graphs = open(dir.path(), &weights, layers);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
    let batch = lengths.len();

    let mut x = Array3::<f32>::zeros((batch, STEPS, CHANNELS));
    for (b, &len) in lengths.iter().enumerate() {
        for t in 0..STEPS {
            for c in 0..CHANNELS {
                // Beyond the length: large garbage the graphs must not read.
                x[[b, t, c]] = if t < len as usize {
                    rng.random_range(-2.0..2.0)
                } else {
                    100.0 + c as f32
                };
            }
        }
    }
    let window = |b: usize| x.slice(s![b, .., ..]).iter().copied().collect::<Vec<f32>>();

    let context = graphs.encode(x.view(), lengths).expect("encode");
    let expected_context: Vec<f32> = (0..batch)
        .flat_map(|b| reference::encode(&weights.encoder, &window(b), lengths[b] as usize))
        .collect();
    let encoder = max_diff(context.iter().copied(), expected_context.iter().copied());

    // Downstream graphs get the reference context, so each graph is measured on its own.
    let ctx = Array2::from_shape_vec((batch, HIDDEN), expected_context).unwrap();
    let latent = graphs.decode_latent(ctx.view()).expect("latent decoder");
    let expected_latent: Vec<f32> = (0..batch)
        .flat_map(|b| reference::decode_latent(&weights.latent_decoder, &ctx.row(b).to_vec()))
        .collect();
    let latent_diff = max_diff(latent.iter().copied(), expected_latent);

    let recon = graphs
        .decode_sequence(ctx.view(), x.view(), lengths)
        .unwrap()
        .expect("decoder");
    assert_eq!(recon.dim(), (batch, STEPS, CHANNELS));
    let mut sequence = 0.0f32;
    for (b, &len) in lengths.iter().enumerate() {
        let len = len as usize;
        let expected =
            reference::decode_sequence(&weights.sequence_decoder, &ctx.row(b).to_vec(), len);
        let got = recon
            .slice(s![b, ..len, ..])
            .iter()
            .copied()
            .collect::<Vec<_>>();
        sequence = sequence.max(max_diff(got, expected));
    }

    let features = Array2::from_shape_fn((batch, HIDDEN + 2), |_| rng.random_range(-2.0f32..2.0));
    let probability = graphs.head(features.view()).unwrap().expect("head");
    let head_weights = weights.head.as_ref().unwrap();
    let expected_probability =
        (0..batch).map(|b| reference::head(head_weights, &features.row(b).to_vec()));
    let head = max_diff(probability.iter().copied(), expected_probability);

    let diffs = [encoder, latent_diff, sequence, head];
    eprintln!(
        "layers={layers} lengths={lengths:?}: max |ort - reference| encoder {:.2e}, latent \
         decoder {:.2e}, sequence decoder {:.2e}, head {:.2e}",
        diffs[0], diffs[1], diffs[2], diffs[3]
    );
    diffs
}

fn assert_parity(layers: usize, lengths: &[i32], seed: u64) {
    let diffs = parity(layers, lengths, seed);
    let names = ["encoder", "latent decoder", "sequence decoder", "head"];
    for (name, diff) in names.iter().zip(diffs) {
        assert!(
            diff <= TOLERANCE,
            "{name}: max abs diff {diff} > {TOLERANCE} (lengths {lengths:?})"
        );
    }
}

#[test]
fn one_layer_single_windows_match_reference() {
    assert_parity(1, &[STEPS as i32], 1);
    assert_parity(1, &[1], 2);
}

#[test]
fn one_layer_mixed_length_batch_matches_reference() {
    assert_parity(1, &[1, STEPS as i32, 5, 7, 3], 3);
}

#[test]
fn two_layers_single_windows_match_reference() {
    assert_parity(2, &[STEPS as i32], 4);
    assert_parity(2, &[1], 5);
}

#[test]
fn two_layers_mixed_length_batch_matches_reference() {
    assert_parity(2, &[7, 1, STEPS as i32, 2, 11], 6);
}

#[test]
fn reference_actually_depends_on_the_weights() {
    // Guard against a vacuous comparison: different seeds give different contexts.
    let a = random_weights(CHANNELS, HIDDEN, 1, LATENT, false, 1);
    let b = random_weights(CHANNELS, HIDDEN, 1, LATENT, false, 2);
    let x = vec![0.5f32; STEPS * CHANNELS];
    let (ca, cb) = (
        reference::encode(&a.encoder, &x, STEPS),
        reference::encode(&b.encoder, &x, STEPS),
    );
    assert!(max_diff(ca.iter().copied(), cb.iter().copied()) > 1e-3);
    assert!(
        ca.iter().all(|v| v.abs() < 1.0),
        "hidden states are bounded by tanh"
    );
}

//! The export check on a tiny trained model: the ONNX graphs run by ONNX Runtime agree with the
//! burn forward pass (batch sizes 1, 7, 32, short windows included), the burn model agrees with
//! the ONNX crate's plain reference, and graphs of other weights are caught and named.

use burn::prelude::*;
use telltale_core::manifest::ModelShape;
use telltale_core::{Normalizer, WindowSpec};
use telltale_onnx::reference;
use telltale_scorer::{ModelGraphs, RuntimeOptions};
use telltale_trainer::data::{Batch, Prepared, toy};
use telltale_trainer::export::manifest::{ManifestParts, UNIT_LOG_STATS, provisional};
use telltale_trainer::export::parity::{TOLERANCE, check_graphs, check_head};
use telltale_trainer::export::write_graphs;
use telltale_trainer::model::weights::to_weights;
use telltale_trainer::model::{Autoencoder, LatentDecoder, ModelConfig, tensor_values};
use telltale_trainer::train::progress::Progress;
use telltale_trainer::train::{TrainConfig, autoencoder, latent};

const CHANNELS: usize = 4;
const HIDDEN: usize = 8;

fn trained(seed: u64, layers: usize) -> (ModelConfig, Autoencoder, LatentDecoder, Vec<Prepared>) {
    let windows = toy::prepared(40, 30, CHANNELS, seed);
    let model_config = ModelConfig::new(CHANNELS)
        .with_hidden(HIDDEN)
        .with_layers(layers)
        .with_latent_dim(3)
        .with_seed(seed);
    let config = TrainConfig {
        epochs: 2,
        batch_size: 8,
        latent_epochs: 2,
        quiet: true,
        ..TrainConfig::default()
    };
    let quiet = Progress::new(true);
    let stage = autoencoder::train(&config, &model_config, &windows, &[], None, quiet).unwrap();
    let refs: Vec<&Prepared> = windows.iter().collect();
    let contexts = latent::contexts(&stage.model.encoder, &refs, 16);
    let scale = latent::variance(&contexts);
    let (decoder, _) =
        latent::train(&config, &model_config, &contexts, &[], &scale, quiet).unwrap();
    (model_config, stage.model, decoder, windows)
}

fn parts(graphs: telltale_core::manifest::Graphs, layers: usize) -> ManifestParts {
    ManifestParts {
        feature_names: (0..CHANNELS - 2).map(|i| format!("f{i}")).collect(),
        window: WindowSpec::default(),
        normalizer: Normalizer {
            mean: vec![0.0; CHANNELS],
            std: vec![1.0; CHANNELS],
        },
        shape: ModelShape {
            channels: CHANNELS,
            hidden: HIDDEN,
            layers,
            latent_dim: 3,
        },
        latent_scale: vec![1.0; HIDDEN],
        graphs,
    }
}

#[test]
fn exported_graphs_match_the_burn_model() {
    for layers in [1, 2] {
        let (model_config, model, decoder, windows) = trained(1, layers);
        let head = model_config.init_head(0, &Device::flex());
        let tmp = tempfile::tempdir().unwrap();
        let graphs = write_graphs(tmp.path(), &to_weights(&model, &decoder, Some(&head))).unwrap();
        let manifest = provisional(&parts(graphs, layers), UNIT_LOG_STATS, UNIT_LOG_STATS);
        let mut onnx =
            ModelGraphs::open(tmp.path(), &manifest, &RuntimeOptions::default()).unwrap();
        let binned: Vec<_> = windows.iter().map(|p| &p.window).collect();
        let report = check_graphs(
            &mut onnx,
            &model.encoder,
            &decoder,
            Some(&model.decoder),
            &binned,
        )
        .unwrap();
        let features: Vec<Vec<f32>> = (0..10)
            .map(|i| {
                (0..HIDDEN + 2)
                    .map(|j| ((i * 7 + j) as f32 * 0.37).sin())
                    .collect()
            })
            .collect();
        let head_diff = check_head(&mut onnx, &head, &features).unwrap();
        eprintln!("layers {layers}: parity {report:?}, head {head_diff:.2e}");
        assert!(report.encoder <= TOLERANCE && report.latent_decoder <= TOLERANCE);
        assert!(report.sequence_decoder.unwrap() <= TOLERANCE && head_diff <= TOLERANCE);
        assert_eq!(
            (report.windows, report.min_length, report.max_length),
            (40, 1, 30)
        );
    }
}

#[test]
fn the_burn_model_computes_the_documented_architecture() {
    let (_, model, decoder, windows) = trained(2, 2);
    let weights = to_weights(&model, &decoder, None);
    let device = Device::flex();
    // Windows of different lengths in one padded batch.
    let mut shortened = windows[0].window.clone();
    shortened.len = 5;
    shortened.data.truncate(5 * CHANNELS);
    let batch_windows = [&windows[1].window, &shortened, &windows[2].window];
    let batch = Batch::new(&batch_windows, &device);
    let context = model.encoder.forward(&batch.steps, &batch.lengths);
    let contexts = tensor_values(context.clone());
    let steps = batch.steps.len();
    let reversed = tensor_values(model.decoder.forward(context.clone(), steps));
    let latent = tensor_values(decoder.forward(context));
    let mut worst = 0.0f32;
    for (b, w) in batch_windows.iter().enumerate() {
        let ours = &contexts[b * HIDDEN..(b + 1) * HIDDEN];
        let theirs = reference::encode(&weights.encoder, &w.data, w.len);
        worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(worst, f32::max);
        let recon = reference::decode_sequence(&weights.sequence_decoder, ours, w.len);
        for t in 0..w.len {
            let r = w.len - 1 - t;
            for c in 0..CHANNELS {
                let a = reversed[(b * steps + r) * CHANNELS + c];
                worst = worst.max((a - recon[t * CHANNELS + c]).abs());
            }
        }
        let lat = reference::decode_latent(&weights.latent_decoder, ours);
        worst = latent[b * HIDDEN..(b + 1) * HIDDEN]
            .iter()
            .zip(&lat)
            .map(|(a, b)| (a - b).abs())
            .fold(worst, f32::max);
    }
    assert!(
        worst <= 1e-5,
        "burn and the reference forward pass differ by {worst}"
    );
}

#[test]
fn graphs_of_other_weights_fail_the_check_naming_the_graph() {
    let (_, model_a, decoder_a, windows) = trained(3, 1);
    let (_, model_b, _, _) = trained(4, 1);
    let tmp = tempfile::tempdir().unwrap();
    let graphs = write_graphs(tmp.path(), &to_weights(&model_b, &decoder_a, None)).unwrap();
    let manifest = provisional(&parts(graphs, 1), UNIT_LOG_STATS, UNIT_LOG_STATS);
    let mut onnx = ModelGraphs::open(tmp.path(), &manifest, &RuntimeOptions::default()).unwrap();
    let binned: Vec<_> = windows.iter().map(|p| &p.window).collect();
    let err = check_graphs(
        &mut onnx,
        &model_a.encoder,
        &decoder_a,
        Some(&model_a.decoder),
        &binned,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("encoder.onnx") && message.contains("no manifest"),
        "{message}"
    );
}

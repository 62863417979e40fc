//! The burn model (DESIGN §2): LSTM encoder, sequence decoder (reverse-order reconstruction),
//! latent decoder (the seed's bottleneck on the context) and the supervised head.
//!
//! The architecture is exactly the one `telltale_onnx::weights` documents; [`weights`] converts
//! the trained modules into those plain weights for the ONNX writer.

pub mod fused;
mod init;
pub mod lstm;
pub mod weights;

use burn::module::Module;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use lstm::Lstm;

/// A float tensor's values, row-major.
pub fn tensor_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .try_into_vec_as::<f32>()
        .expect("reading a float tensor from the CPU backend")
}

/// Sizes and seed of every part of the model; saved as `config.json` beside the checkpoints.
#[derive(Config, Debug)]
pub struct ModelConfig {
    /// Channels per step, C = features + 2.
    pub channels: usize,
    /// Encoder hidden size H (= context size).
    #[config(default = 64)]
    pub hidden: usize,
    /// Stacked encoder LSTM layers (1 or 2).
    #[config(default = 1)]
    pub layers: usize,
    /// Latent decoder bottleneck k.
    #[config(default = 8)]
    pub latent_dim: usize,
    /// Hidden units of the supervised head.
    #[config(default = 16)]
    pub head_units: usize,
    /// Seed of the weight initialisation.
    #[config(default = 0)]
    pub seed: u64,
}

impl ModelConfig {
    fn rng(&self, part: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(
            self.seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(part),
        )
    }

    /// Encoder + sequence decoder (stage 1).
    pub fn init_autoencoder(&self, device: &Device) -> Autoencoder {
        let mut rng = self.rng(1);
        Autoencoder {
            encoder: Encoder::init(self.channels, self.hidden, self.layers, &mut rng, device),
            decoder: SequenceDecoder::init(self.hidden, self.channels, &mut rng, device),
        }
    }

    /// Latent decoder (stage 2).
    pub fn init_latent_decoder(&self, device: &Device) -> LatentDecoder {
        let mut rng = self.rng(2);
        LatentDecoder {
            down: init::uniform_linear(self.hidden, self.latent_dim, &mut rng, device),
            up: init::uniform_linear(self.latent_dim, self.hidden, &mut rng, device),
        }
    }

    /// Supervised head on `[context, log_z(latent), log_z(sequence)]` (stage 3). `variant`
    /// separates the initialisations of heads trained side by side.
    pub fn init_head(&self, variant: u64, device: &Device) -> Head {
        let mut rng = self.rng(3 + variant);
        Head {
            hidden: init::uniform_linear(self.hidden + 2, self.head_units, &mut rng, device),
            output: init::uniform_linear(self.head_units, 1, &mut rng, device),
        }
    }

    /// The `--latent-joint` ablation: a fresh encoder and latent decoder trained together.
    pub fn init_joint(&self, device: &Device) -> JointLatent {
        let mut rng = self.rng(10);
        JointLatent {
            encoder: Encoder::init(self.channels, self.hidden, self.layers, &mut rng, device),
            latent: LatentDecoder {
                down: init::uniform_linear(self.hidden, self.latent_dim, &mut rng, device),
                up: init::uniform_linear(self.latent_dim, self.hidden, &mut rng, device),
            },
        }
    }
}

/// Stacked LSTMs; the context is the top layer's hidden state at each window's last valid step.
#[derive(Module, Debug)]
pub struct Encoder {
    pub layers: Vec<Lstm>,
}

impl Encoder {
    fn init(
        channels: usize,
        hidden: usize,
        layers: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let layers = (0..layers.max(1))
            .map(|l| Lstm::init(if l == 0 { channels } else { hidden }, hidden, rng, device))
            .collect();
        Self { layers }
    }

    /// Hidden size H.
    pub fn hidden_size(&self) -> usize {
        self.layers[0].hidden_size()
    }

    /// `steps[t]` is the batch's input at step `t` (`[batch, C]`, untracked data); windows
    /// shorter than `steps.len()` are zero-padded at the end and `lengths` (≥ 1) says where each
    /// one ends. Returns the context `[batch, H]`.
    ///
    /// Each layer projects all steps with one product and runs its recurrence as one fused
    /// operation; the next layer reads the whole hidden sequence.
    pub fn forward(&self, steps: &[Tensor<2>], lengths: &[usize]) -> Tensor<2> {
        let device = steps[0].device();
        let batch = lengths.len();
        let hidden = self.hidden_size();
        let mut sequence: Tensor<3> = Tensor::stack(steps.to_vec(), 0);
        for layer in &self.layers {
            let projected = layer.project_sequence(sequence);
            sequence = layer.sequence(projected, Tensor::zeros([batch, 2 * hidden], &device));
        }
        last_valid(sequence, lengths)
    }
}

/// The hidden state at each window's last valid step, `[batch, H]`, from the hidden sequence
/// `[steps, batch, H]`: one slice when all lengths agree, else a sum over steps with an untracked
/// one-hot mask `[steps, batch, 1]`.
fn last_valid(sequence: Tensor<3>, lengths: &[usize]) -> Tensor<2> {
    let [steps, batch, hidden] = sequence.dims();
    let last: Vec<usize> = lengths.iter().map(|&l| l.clamp(1, steps) - 1).collect();
    if last.iter().all(|&t| t == last[0]) {
        return sequence.narrow(0, last[0], 1).reshape([batch, hidden]);
    }
    let mut mask = vec![0.0f32; steps * batch];
    for (b, &t) in last.iter().enumerate() {
        mask[t * batch + b] = 1.0;
    }
    let mask = Tensor::<3>::from_data(TensorData::new(mask, [steps, batch, 1]), &sequence.device());
    (sequence * mask).sum_dim(0).reshape([batch, hidden])
}

/// LSTM H → H started from the context (cell zero) with the context as input at every step, then
/// `Linear(H, C)`. Output step `t` reconstructs input step `len − 1 − t`.
#[derive(Module, Debug)]
pub struct SequenceDecoder {
    pub lstm: Lstm,
    pub output: Linear,
}

impl SequenceDecoder {
    fn init(hidden: usize, channels: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        Self {
            lstm: Lstm::init(hidden, hidden, rng, device),
            output: init::uniform_linear(hidden, channels, rng, device),
        }
    }

    /// Reconstruction in reverse order, `[batch, steps, C]`.
    pub fn forward(&self, context: Tensor<2>, steps: usize) -> Tensor<3> {
        let [batch, hidden] = context.dims();
        let channels = self.output.weight.dims()[1];
        // The input is the context at every step: project it once and broadcast it over the
        // steps (a view the fused sequence reads in place; the broadcast's backward sums the
        // gradient over the steps).
        let projected = self
            .lstm
            .project(context.clone())
            .unsqueeze_dim::<3>(0)
            .expand([steps, batch, 4 * hidden]);
        let zeros = Tensor::zeros([batch, hidden], &context.device());
        let state = Tensor::cat(vec![context, zeros], 1);
        let states = self.lstm.sequence(projected, state);
        self.output
            .forward(states.reshape([steps * batch, hidden]))
            .reshape([steps, batch, channels])
            .swap_dims(0, 1)
    }
}

/// Stage 1: encoder + sequence decoder.
#[derive(Module, Debug)]
pub struct Autoencoder {
    pub encoder: Encoder,
    pub decoder: SequenceDecoder,
}

impl Autoencoder {
    /// Context `[batch, H]` and reverse-order reconstruction `[batch, steps, C]`.
    pub fn forward(&self, steps: &[Tensor<2>], lengths: &[usize]) -> (Tensor<2>, Tensor<3>) {
        let context = self.encoder.forward(steps, lengths);
        let reconstruction = self.decoder.forward(context.clone(), steps.len());
        (context, reconstruction)
    }
}

/// The seed's architecture: `Linear(H, k) → tanh → Linear(k, H)` on the context.
#[derive(Module, Debug)]
pub struct LatentDecoder {
    pub down: Linear,
    pub up: Linear,
}

impl LatentDecoder {
    pub fn forward(&self, context: Tensor<2>) -> Tensor<2> {
        self.up.forward(tanh(self.down.forward(context)))
    }
}

/// `Linear(H + 2, units) → relu → Linear(units, 1)`; the exported graph adds the sigmoid.
#[derive(Module, Debug)]
pub struct Head {
    pub hidden: Linear,
    pub output: Linear,
}

impl Head {
    /// Logits `[batch]`.
    pub fn logits(&self, features: Tensor<2>) -> Tensor<1> {
        let hidden = burn::tensor::activation::relu(self.hidden.forward(features));
        let out: Tensor<2> = self.output.forward(hidden);
        out.flatten(0, 1)
    }

    /// Probabilities `[batch]`.
    pub fn probability(&self, features: Tensor<2>) -> Tensor<1> {
        sigmoid(self.logits(features))
    }
}

/// The `--latent-joint` ablation: encoder and latent decoder trained together on
/// `‖D(E(x)) − E(x)‖²` with gradients through both sides.
#[derive(Module, Debug)]
pub struct JointLatent {
    pub encoder: Encoder,
    pub latent: LatentDecoder,
}

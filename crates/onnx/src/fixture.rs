//! Random weights for tests of this and other crates (seeded, so tests are reproducible).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::weights::{
    EncoderWeights, HeadWeights, LatentDecoderWeights, LinearWeights, LstmWeights, ModelWeights,
    SequenceDecoderWeights,
};

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// A random LSTM layer, values uniform in ±1/√hidden (PyTorch's initialisation range).
pub fn random_lstm(rng: &mut ChaCha8Rng, input: usize, hidden: usize) -> LstmWeights {
    let bound = 1.0 / (hidden as f32).sqrt();
    LstmWeights {
        input,
        hidden,
        w_ih: uniform(rng, 4 * hidden * input, bound),
        w_hh: uniform(rng, 4 * hidden * hidden, bound),
        b_ih: uniform(rng, 4 * hidden, bound),
        b_hh: uniform(rng, 4 * hidden, bound),
    }
}

/// A random linear layer, values uniform in ±1/√input.
pub fn random_linear(rng: &mut ChaCha8Rng, input: usize, output: usize) -> LinearWeights {
    let bound = 1.0 / (input as f32).sqrt();
    LinearWeights {
        input,
        output,
        weight: uniform(rng, input * output, bound),
        bias: uniform(rng, output, bound),
    }
}

/// Random weights for a whole model: `layers` encoder layers C → H, a sequence decoder, a
/// latent decoder with `latent_dim` units and, when `head`, a head with `hidden` hidden units.
pub fn random_weights(
    channels: usize,
    hidden: usize,
    layers: usize,
    latent_dim: usize,
    head: bool,
    seed: u64,
) -> ModelWeights {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let encoder = EncoderWeights {
        layers: (0..layers)
            .map(|i| random_lstm(&mut rng, if i == 0 { channels } else { hidden }, hidden))
            .collect(),
    };
    let sequence_decoder = SequenceDecoderWeights {
        lstm: random_lstm(&mut rng, hidden, hidden),
        output: random_linear(&mut rng, hidden, channels),
    };
    let latent_decoder = LatentDecoderWeights {
        down: random_linear(&mut rng, hidden, latent_dim),
        up: random_linear(&mut rng, latent_dim, hidden),
    };
    let head = head.then(|| HeadWeights {
        hidden: random_linear(&mut rng, hidden + 2, hidden),
        output: random_linear(&mut rng, hidden, 1),
    });
    ModelWeights {
        encoder,
        sequence_decoder,
        latent_decoder,
        head,
    }
}

//! Seeded parameter initialisation, independent of burn's global RNG so that the same seed gives
//! the same weights even when several models are built at once (tests run in parallel).

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// `n` values uniform in `[-bound, bound)`.
pub fn uniform_values(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// A `Linear` with the given row-major `[input, output]` weight and bias.
pub fn linear_from(
    weight: Vec<f32>,
    bias: Vec<f32>,
    input: usize,
    output: usize,
    device: &Device,
) -> Linear {
    Linear {
        weight: Param::from_data(TensorData::new(weight, [input, output]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [output]), device)),
    }
}

/// PyTorch's default `Linear` initialisation: weight and bias uniform in `±1/sqrt(input)`.
pub fn uniform_linear(
    input: usize,
    output: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Linear {
    let bound = 1.0 / (input as f32).sqrt();
    let weight = uniform_values(rng, input * output, bound);
    let bias = uniform_values(rng, output, bound);
    linear_from(weight, bias, input, output, device)
}

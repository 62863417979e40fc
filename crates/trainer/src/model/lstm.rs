//! A hand-written LSTM layer for burn: one input projection for all steps (gate blocks i, f, g,
//! o) and the whole recurrence as one fused operation ([`super::fused::lstm_sequence`]).
//!
//! `burn::nn::Lstm` writes every step into a preallocated output with `slice_assign`, which makes
//! its backward pass quadratic in the sequence length, and a per-step graph costs autodiff
//! bookkeeping at every step. Here the sequence is one autodiff node with a hand-written backward
//! pass through time.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;

use super::fused;
use super::init::{linear_from, uniform_values};
use rand_chacha::ChaCha8Rng;

/// One LSTM layer: `gates = x W_ih + b_ih + h W_hh` with `W` stored `[in, 4H]` (burn's layout).
/// The exported `b_hh` is zero: one bias is enough and saves an addition per step.
///
/// The parameters hold the g block (the third `H` columns) of `W_ih`, `b_ih` and `W_hh` at TWICE
/// its value: `tanh(g) = 2σ(2g) − 1`, so the fused step runs one `sigmoid` over all `4H`
/// pre-activations and gets g as `2s − 1`. [`G_SCALE`] is divided out again when the weights are
/// exported, so the ONNX graphs use the standard parameterisation.
#[derive(Module, Debug)]
pub struct Lstm {
    /// `x → 4H` gate pre-activations, with bias (`b_ih`).
    pub input: Linear,
    /// `h → 4H` gate pre-activations, `[H, 4H]`, no bias.
    pub recurrent: Param<Tensor<2>>,
}

/// Factor the g block's parameters are stored with (see [`Lstm`]).
pub const G_SCALE: f32 = 2.0;

/// Multiply the g block (columns `2H..3H`) of row-major `[rows, 4H]` values by `factor`.
pub fn scale_g_block(values: &mut [f32], hidden: usize, factor: f32) {
    for row in values.chunks_mut(4 * hidden) {
        for v in &mut row[2 * hidden..3 * hidden] {
            *v *= factor;
        }
    }
}

impl Lstm {
    /// PyTorch-style initialisation: every weight and bias uniform in `±1/sqrt(H)`, plus 1 on the
    /// forget gate's bias so early training keeps the memory.
    pub fn init(input: usize, hidden: usize, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let bound = 1.0 / (hidden as f32).sqrt();
        let mut w_ih = uniform_values(rng, input * 4 * hidden, bound);
        let mut b_ih = uniform_values(rng, 4 * hidden, bound);
        for v in &mut b_ih[hidden..2 * hidden] {
            *v += 1.0;
        }
        let mut w_hh = uniform_values(rng, hidden * 4 * hidden, bound);
        for values in [&mut w_ih, &mut b_ih, &mut w_hh] {
            scale_g_block(values, hidden, G_SCALE);
        }
        Self {
            input: linear_from(w_ih, b_ih, input, 4 * hidden, device),
            recurrent: Param::from_data(TensorData::new(w_hh, [hidden, 4 * hidden]), device),
        }
    }

    /// Hidden size H.
    pub fn hidden_size(&self) -> usize {
        self.recurrent.dims()[0]
    }

    /// Input size.
    pub fn input_size(&self) -> usize {
        self.input.weight.dims()[0]
    }

    /// The input projection `x W_ih + b_ih` of one step (`x`: `[batch, in]`).
    pub fn project(&self, x: Tensor<2>) -> Tensor<2> {
        self.input.forward(x)
    }

    /// The input projection of every step at once (`x`: `[steps, batch, in]`), one product over
    /// all `steps · batch` rows: `[steps, batch, 4H]`.
    pub fn project_sequence(&self, x: Tensor<3>) -> Tensor<3> {
        let [steps, batch, input] = x.dims();
        let projected = self.input.forward(x.reshape([steps * batch, input]));
        projected.reshape([steps, batch, 4 * self.hidden_size()])
    }

    /// Hidden states `[steps, batch, H]` of the whole sequence from its input projections
    /// (`[steps, batch, 4H]`, see [`Lstm::project_sequence`]) and the initial state `[h | c]`
    /// (`[batch, 2H]`), as one fused operation ([`fused::lstm_sequence`]).
    pub fn sequence(&self, projected: Tensor<3>, state: Tensor<2>) -> Tensor<3> {
        fused::lstm_sequence(projected, state, self.recurrent.val())
    }
}

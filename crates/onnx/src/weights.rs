//! Plain weights of every exported graph: the contract between the burn model (`model.rs`), the
//! ONNX writer (`onnx/`) and the reference forward pass used in tests.
//!
//! ## Architecture (DESIGN §2) — burn model, ONNX graphs and reference must all compute this
//! - **Encoder**: `layers` stacked LSTMs (first C → H, then H → H), zero initial states. The
//!   context is the top layer's hidden state at each window's last valid step (`lengths[b] - 1`).
//! - **Sequence decoder**: one LSTM H → H whose input at every step is the context and whose initial
//!   hidden state is the context (cell state zero); a linear layer H → C maps each output step. Output
//!   step `t` reconstructs input step `len - 1 - t` (reverse order, EncDec-AD); the ONNX graph
//!   reverses it back (`ReverseSequence`) so its `reconstruction` is in the original order.
//! - **Latent decoder**: `Linear(H, k)` → `tanh` → `Linear(k, H)`.
//! - **Head**: `Linear(H + 2, hidden)` → `relu` → `Linear(hidden, 1)` → `sigmoid`, on
//!   `[context, log_z(latent error), log_z(sequence error)]`.
//!
//! ## LSTM cell (gate order i, f, g, o as in PyTorch; ONNX wants i, o, f, c — the writer reorders)
//! `gates = W_ih x + b_ih + W_hh h + b_hh`; `i = σ(g_i)`, `f = σ(g_f)`, `g = tanh(g_g)`,
//! `o = σ(g_o)`; `c' = f ⊙ c + i ⊙ g`; `h' = o ⊙ tanh(c')`.

use serde::{Deserialize, Serialize};

/// One LSTM layer, row-major matrices, gate blocks in order i, f, g, o.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmWeights {
    /// Input size.
    pub input: usize,
    /// Hidden (and cell) state size H.
    pub hidden: usize,
    /// `[4H, input]`
    pub w_ih: Vec<f32>,
    /// `[4H, H]`
    pub w_hh: Vec<f32>,
    /// `[4H]`
    pub b_ih: Vec<f32>,
    /// `[4H]`
    pub b_hh: Vec<f32>,
}

/// `y = x W + b` with `W` stored `[input, output]` row-major (burn's layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearWeights {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub output: usize,
    /// `[input, output]`
    pub weight: Vec<f32>,
    /// `[output]`
    pub bias: Vec<f32>,
}

/// The encoder's stacked LSTM layers, bottom first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderWeights {
    /// First C → H, then H → H.
    pub layers: Vec<LstmWeights>,
}

/// The sequence decoder: an LSTM H → H and its per-step output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceDecoderWeights {
    /// H → H, fed the context at every step, started from it.
    pub lstm: LstmWeights,
    /// H → C.
    pub output: LinearWeights,
}

/// The latent decoder's bottleneck MLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentDecoderWeights {
    /// H → k.
    pub down: LinearWeights,
    /// k → H.
    pub up: LinearWeights,
}

/// The supervised head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadWeights {
    /// H + 2 → hidden units.
    pub hidden: LinearWeights,
    /// hidden units → 1.
    pub output: LinearWeights,
}

/// All graphs of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelWeights {
    pub encoder: EncoderWeights,
    pub sequence_decoder: SequenceDecoderWeights,
    pub latent_decoder: LatentDecoderWeights,
    /// Present only when labels were used.
    pub head: Option<HeadWeights>,
}

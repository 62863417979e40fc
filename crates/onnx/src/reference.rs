//! Reference forward pass in plain loops (f64 inside, f32 at the boundaries), exactly the
//! architecture documented in [`crate::weights`]. The ONNX graphs, ONNX Runtime and the burn model
//! are all checked against it. One window at a time; windows are row-major `[steps, channels]`.
//!
//! # Panics
//! Every function asserts that its slices have the sizes the weights imply; call
//! [`ModelWeights::check`](crate::ModelWeights::check) first for weights from outside.

use crate::weights::{
    EncoderWeights, HeadWeights, LatentDecoderWeights, LinearWeights, LstmWeights,
    SequenceDecoderWeights,
};

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Run one LSTM layer over `steps` inputs (`[steps, w.input]`) from `h0` (zeros when `None`) and
/// a zero cell state; returns the hidden state at every step, `[steps, w.hidden]`.
fn lstm_f64(w: &LstmWeights, inputs: &[f64], steps: usize, h0: Option<&[f64]>) -> Vec<f64> {
    let (n_in, n_h) = (w.input, w.hidden);
    assert!(
        inputs.len() >= steps * n_in,
        "LSTM input has fewer than {steps} x {n_in} values"
    );
    let mut h = h0.map_or_else(|| vec![0.0; n_h], <[f64]>::to_vec);
    assert_eq!(h.len(), n_h, "initial hidden state must have {n_h} values");
    let mut c = vec![0.0; n_h];
    let mut out = Vec::with_capacity(steps * n_h);
    let mut gates = vec![0.0; 4 * n_h];
    for t in 0..steps {
        let x = &inputs[t * n_in..(t + 1) * n_in];
        for (r, gate) in gates.iter_mut().enumerate() {
            let mut acc = f64::from(w.b_ih[r]) + f64::from(w.b_hh[r]);
            let w_row = &w.w_ih[r * n_in..(r + 1) * n_in];
            acc += w_row
                .iter()
                .zip(x)
                .map(|(&a, &b)| f64::from(a) * b)
                .sum::<f64>();
            let r_row = &w.w_hh[r * n_h..(r + 1) * n_h];
            acc += r_row
                .iter()
                .zip(&h)
                .map(|(&a, &b)| f64::from(a) * b)
                .sum::<f64>();
            *gate = acc;
        }
        for j in 0..n_h {
            let i = sigmoid(gates[j]);
            let f = sigmoid(gates[n_h + j]);
            let g = gates[2 * n_h + j].tanh();
            let o = sigmoid(gates[3 * n_h + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * c[j].tanh();
        }
        out.extend_from_slice(&h);
    }
    out
}

fn linear_f64(w: &LinearWeights, x: &[f64]) -> Vec<f64> {
    assert_eq!(x.len(), w.input, "linear layer expects {} inputs", w.input);
    (0..w.output)
        .map(|o| {
            let dot: f64 = x
                .iter()
                .enumerate()
                .map(|(i, &v)| v * f64::from(w.weight[i * w.output + o]))
                .sum();
            dot + f64::from(w.bias[o])
        })
        .collect()
}

/// One LSTM layer over `steps` rows of `inputs`; `h0` defaults to zeros, the cell state starts
/// at zero. Returns every step's hidden state, `[steps, hidden]`.
pub fn lstm(w: &LstmWeights, inputs: &[f32], steps: usize, h0: Option<&[f32]>) -> Vec<f32> {
    let h0 = h0.map(to_f64);
    to_f32(&lstm_f64(w, &to_f64(inputs), steps, h0.as_deref()))
}

/// `y = x W + b`.
pub fn linear(w: &LinearWeights, x: &[f32]) -> Vec<f32> {
    to_f32(&linear_f64(w, &to_f64(x)))
}

/// The context of one window: the top encoder layer's hidden state at step `len - 1`. `x` holds
/// at least `len` steps of `channels` values; steps from `len` on are ignored.
pub fn encode(w: &EncoderWeights, x: &[f32], len: usize) -> Vec<f32> {
    assert!(len >= 1, "a window needs at least one step");
    let mut seq = to_f64(&x[..len * w.channels()]);
    for layer in &w.layers {
        seq = lstm_f64(layer, &seq, len, None);
    }
    to_f32(&seq[(len - 1) * w.hidden()..])
}

/// The sequence decoder's reconstruction of a window of `len` steps, `[len, C]`, in the original
/// order (the decoder itself emits it reversed).
pub fn decode_sequence(w: &SequenceDecoderWeights, context: &[f32], len: usize) -> Vec<f32> {
    let ctx = to_f64(context);
    let repeated: Vec<f64> = (0..len).flat_map(|_| ctx.iter().copied()).collect();
    let states = lstm_f64(&w.lstm, &repeated, len, Some(&ctx));
    let (n_h, n_c) = (w.lstm.hidden, w.output.output);
    let mut out = vec![0.0f32; len * n_c];
    for t in 0..len {
        let y = linear_f64(&w.output, &states[t * n_h..(t + 1) * n_h]);
        let target = len - 1 - t;
        out[target * n_c..(target + 1) * n_c].copy_from_slice(&to_f32(&y));
    }
    out
}

/// The latent decoder's reconstruction of a context: `Linear(H, k)` → `tanh` → `Linear(k, H)`.
pub fn decode_latent(w: &LatentDecoderWeights, context: &[f32]) -> Vec<f32> {
    let z: Vec<f64> = linear_f64(&w.down, &to_f64(context))
        .into_iter()
        .map(f64::tanh)
        .collect();
    to_f32(&linear_f64(&w.up, &z))
}

/// The head's probability for `features` = `[context, log_z(latent), log_z(sequence)]`.
pub fn head(w: &HeadWeights, features: &[f32]) -> f32 {
    let hidden: Vec<f64> = linear_f64(&w.hidden, &to_f64(features))
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    sigmoid(linear_f64(&w.output, &hidden)[0]) as f32
}

//! One [`LstmWeights`] layer as a standard ONNX `LSTM` node.
//!
//! `LstmWeights` keeps PyTorch's gate blocks i, f, g, o; ONNX's `W`, `R` and `B` want i, o, f, c
//! (c = the cell candidate g). `W` is `[1, 4H, in]`, `R` `[1, 4H, H]`, `B` `[1, 8H]` (input
//! biases, then recurrent biases). Default activations (sigmoid, tanh, tanh) and no peepholes
//! give exactly the cell documented in `weights.rs`.

use crate::builder::{GraphBuilder, attr_int, attr_string};
use crate::weights::LstmWeights;

/// Source block (i, f, g, o numbering) of each ONNX block (i, o, f, c).
const ONNX_FROM_TORCH: [usize; 4] = [0, 3, 1, 2];

/// Reorder the four gate blocks of a `[4H, cols]` matrix (or `[4H]` vector when `cols == 1`).
pub(crate) fn reorder_gates(data: &[f32], hidden: usize, cols: usize) -> Vec<f32> {
    let block = hidden * cols;
    ONNX_FROM_TORCH
        .iter()
        .flat_map(|&src| &data[src * block..(src + 1) * block])
        .copied()
        .collect()
}

/// Names of a written LSTM node's outputs.
pub(crate) struct LstmOutputs {
    /// `Y`: `[T, 1, B, H]`, zero past each sequence's length.
    pub y: String,
    /// `Y_h`: `[1, B, H]`, each sequence's hidden state at its last valid step.
    pub y_h: String,
}

/// Inputs of one LSTM node (names of values already in the graph).
pub(crate) struct LstmInputs<'a> {
    /// `[T, B, in]`
    pub x: &'a str,
    /// int32 `[B]`
    pub sequence_lens: &'a str,
    /// `[1, B, H]`, or `None` for zeros.
    pub initial_h: Option<&'a str>,
}

/// Add `w`'s initializers (named `{prefix}.W/R/B`) and an `LSTM` node over `inputs`.
pub(crate) fn add_lstm(
    g: &mut GraphBuilder,
    prefix: &str,
    w: &LstmWeights,
    inputs: &LstmInputs<'_>,
    doc: &str,
) -> LstmOutputs {
    let h = w.hidden;
    let w_name = g.weight(
        &format!("{prefix}.W"),
        &[1, 4 * h, w.input],
        &reorder_gates(&w.w_ih, h, w.input),
        "input weights, gate blocks i, o, f, c",
    );
    let r_name = g.weight(
        &format!("{prefix}.R"),
        &[1, 4 * h, h],
        &reorder_gates(&w.w_hh, h, h),
        "recurrent weights, gate blocks i, o, f, c",
    );
    let mut bias = reorder_gates(&w.b_ih, h, 1);
    bias.extend(reorder_gates(&w.b_hh, h, 1));
    let b_name = g.weight(
        &format!("{prefix}.B"),
        &[1, 8 * h],
        &bias,
        "input biases then recurrent biases, gate blocks i, o, f, c",
    );
    let outputs = LstmOutputs {
        y: format!("{prefix}.Y"),
        y_h: format!("{prefix}.Y_h"),
    };
    let mut node_inputs = vec![inputs.x, &w_name, &r_name, &b_name, inputs.sequence_lens];
    if let Some(initial_h) = inputs.initial_h {
        node_inputs.push(initial_h);
    }
    g.node(
        "LSTM",
        &node_inputs,
        &[&outputs.y, &outputs.y_h],
        vec![
            attr_int("hidden_size", h as i64),
            attr_string("direction", "forward"),
        ],
        doc,
    );
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_blocks_move_from_ifgo_to_iofc() {
        // hidden 1, two columns: blocks are [i0 i1] [f0 f1] [g0 g1] [o0 o1].
        let torch = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0, 1000.0, 2000.0];
        let onnx = reorder_gates(&torch, 1, 2);
        assert_eq!(
            onnx,
            vec![1.0, 2.0, 1000.0, 2000.0, 10.0, 20.0, 100.0, 200.0]
        );
        let bias = reorder_gates(&[1.0, 2.0, 3.0, 4.0], 1, 1);
        assert_eq!(bias, vec![1.0, 4.0, 2.0, 3.0]);
    }
}

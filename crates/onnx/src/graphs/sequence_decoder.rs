//! `sequence_decoder.onnx`: `context` f32 `[batch, H]`, `x` f32 `[batch, time, C]` (read only for
//! its time axis), `lengths` i32 `[batch]` → `reconstruction` f32 `[batch, time, C]` in the
//! original time order (values at steps ≥ length are unspecified).

use crate::builder::{BATCH, Dim, GraphBuilder, TIME, attr_int, attr_ints};
use crate::check::WeightsError;
use crate::lstm::{LstmInputs, add_lstm};
use crate::proto::{ModelProto, data_type};
use crate::weights::SequenceDecoderWeights;

/// Build the sequence decoder graph: the context repeated along x's time axis feeds an `LSTM`
/// whose initial hidden state is the context (cell state zero); `MatMul` + `Add` map each step to
/// C channels; the decoder emits the window in reverse (step t ↔ input step len − 1 − t), so
/// `ReverseSequence` over each window's length puts it back in the original order.
pub fn sequence_decoder_model(w: &SequenceDecoderWeights) -> Result<ModelProto, WeightsError> {
    w.check()?;
    let (hidden, channels) = (w.lstm.hidden, w.output.output);
    let mut g = GraphBuilder::new(
        "telltale_sequence_decoder",
        "EncDec-AD style decoder: reconstructs each window from its context",
    );
    g.input(
        "context",
        data_type::FLOAT,
        &[BATCH, Dim::Fixed(hidden)],
        "encoder context",
    );
    g.input(
        "x",
        data_type::FLOAT,
        &[BATCH, TIME, Dim::Fixed(channels)],
        "the encoder's input; only its time axis is used",
    );
    g.input(
        "lengths",
        data_type::INT32,
        &[BATCH],
        "valid steps of each window (>= 1)",
    );
    g.output(
        "reconstruction",
        data_type::FLOAT,
        &[BATCH, TIME, Dim::Fixed(channels)],
        "reconstructed window in the original order; steps >= length are unspecified",
    );

    let axis0 = g.int64s("axis_0", &[0]);
    let axis1 = g.int64s("axis_1", &[1]);
    let shape_attrs = vec![attr_int("start", 1), attr_int("end", 2)];
    g.node("Shape", &["x"], &["time_len"], shape_attrs, "[T]");
    g.node("Shape", &["context"], &["batch_hidden"], vec![], "[B, H]");
    g.node(
        "Concat",
        &["time_len", "batch_hidden"],
        &["repeat_shape"],
        vec![attr_int("axis", 0)],
        "[T, B, H]",
    );
    g.node(
        "Unsqueeze",
        &["context", &axis0],
        &["context_1bh"],
        vec![],
        "[1, B, H]",
    );
    g.node(
        "Expand",
        &["context_1bh", "repeat_shape"],
        &["context_tbh"],
        vec![],
        "the context as input at every step",
    );
    let inputs = LstmInputs {
        x: "context_tbh",
        sequence_lens: "lengths",
        initial_h: Some("context_1bh"),
    };
    let out = add_lstm(
        &mut g,
        "sequence_decoder.lstm",
        &w.lstm,
        &inputs,
        "decoder LSTM",
    );
    g.node(
        "Squeeze",
        &[&out.y, &axis1],
        &["decoded_tbh"],
        vec![],
        "drop the direction axis",
    );
    let weight = g.weight(
        "sequence_decoder.output.weight",
        &[hidden, channels],
        &w.output.weight,
        "[H, C]",
    );
    let bias = g.weight(
        "sequence_decoder.output.bias",
        &[channels],
        &w.output.bias,
        "[C]",
    );
    g.node(
        "MatMul",
        &["decoded_tbh", &weight],
        &["projected"],
        vec![],
        "H -> C",
    );
    g.node(
        "Add",
        &["projected", &bias],
        &["reversed_tbc"],
        vec![],
        "bias; reverse order",
    );
    g.node(
        "Cast",
        &["lengths"],
        &["lengths_i64"],
        vec![attr_int("to", i64::from(data_type::INT64))],
        "ReverseSequence wants int64 lengths",
    );
    g.node(
        "ReverseSequence",
        &["reversed_tbc", "lengths_i64"],
        &["restored_tbc"],
        vec![attr_int("time_axis", 0), attr_int("batch_axis", 1)],
        "undo the decoder's reverse order within each window's length",
    );
    g.node(
        "Transpose",
        &["restored_tbc"],
        &["reconstruction"],
        vec![attr_ints("perm", &[1, 0, 2])],
        "to [B, T, C]",
    );
    Ok(g.finish(
        "Telltale sequence decoder (DESIGN §2): context [batch, H], x [batch, time, C], \
         lengths [batch] -> reconstruction [batch, time, C]",
        &[
            ("telltale.channels", channels.to_string()),
            ("telltale.hidden", hidden.to_string()),
        ],
    ))
}

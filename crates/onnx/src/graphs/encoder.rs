//! `encoder.onnx`: `x` f32 `[batch, time, C]`, `lengths` i32 `[batch]` → `context` f32
//! `[batch, H]`, the top LSTM layer's hidden state at each window's last valid step.

use crate::builder::{BATCH, Dim, GraphBuilder, TIME, attr_ints};
use crate::check::WeightsError;
use crate::lstm::{LstmInputs, add_lstm};
use crate::proto::{ModelProto, data_type};
use crate::weights::EncoderWeights;

/// Build the encoder graph: `Transpose` to time-major (ORT's CPU LSTM rejects `layout = 1`),
/// one `LSTM` per layer (each layer reads the previous one's `Y` with its direction axis
/// squeezed), and the top layer's `Y_h` (which honours `sequence_lens`) as the context.
pub fn encoder_model(w: &EncoderWeights) -> Result<ModelProto, WeightsError> {
    w.check()?;
    let (channels, hidden) = (w.channels(), w.hidden());
    let mut g = GraphBuilder::new(
        "telltale_encoder",
        "LSTM encoder: the context is the top layer's hidden state at each window's last valid step",
    );
    g.input(
        "x",
        data_type::FLOAT,
        &[BATCH, TIME, Dim::Fixed(channels)],
        "binned and normalised windows, zero beyond each length",
    );
    g.input(
        "lengths",
        data_type::INT32,
        &[BATCH],
        "valid steps of each window (>= 1)",
    );
    g.output(
        "context",
        data_type::FLOAT,
        &[BATCH, Dim::Fixed(hidden)],
        "context vector c",
    );

    g.node(
        "Transpose",
        &["x"],
        &["x_tbc"],
        vec![attr_ints("perm", &[1, 0, 2])],
        "to [T, B, C]",
    );
    let axis1 = g.int64s("axis_1", &[1]);
    let axis0 = g.int64s("axis_0", &[0]);
    let mut layer_input = "x_tbc".to_owned();
    let mut last_h = String::new();
    for (i, layer) in w.layers.iter().enumerate() {
        let inputs = LstmInputs {
            x: &layer_input,
            sequence_lens: "lengths",
            initial_h: None,
        };
        let out = add_lstm(
            &mut g,
            &format!("encoder.lstm{i}"),
            layer,
            &inputs,
            "encoder layer",
        );
        if i + 1 < w.layers.len() {
            let next = format!("encoder.lstm{i}.Y_tbh");
            g.node(
                "Squeeze",
                &[&out.y, &axis1],
                &[&next],
                vec![],
                "drop the direction axis",
            );
            layer_input = next;
        }
        last_h = out.y_h;
    }
    g.node(
        "Squeeze",
        &[&last_h, &axis0],
        &["context"],
        vec![],
        "[1, B, H] to [B, H]",
    );
    Ok(g.finish(
        "Telltale encoder (DESIGN §2): x [batch, time, C], lengths [batch] -> context [batch, H]",
        &[
            ("telltale.channels", channels.to_string()),
            ("telltale.hidden", hidden.to_string()),
            ("telltale.layers", w.layers.len().to_string()),
        ],
    ))
}

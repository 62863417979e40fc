//! `head.onnx`: `features` f32 `[batch, H + 2]` (context, log-z latent error, log-z sequence
//! error) → `probability` f32 `[batch]`.

use crate::builder::{BATCH, Dim, GraphBuilder};
use crate::check::WeightsError;
use crate::proto::{ModelProto, data_type};
use crate::weights::HeadWeights;

/// Build the supervised head graph: `Linear(H + 2, n)` → `Relu` → `Linear(n, 1)` → `Sigmoid`,
/// with the trailing unit axis squeezed away.
pub fn head_model(w: &HeadWeights) -> Result<ModelProto, WeightsError> {
    w.check()?;
    let (inputs, hidden) = (w.hidden.input, w.hidden.output);
    let mut g = GraphBuilder::new(
        "telltale_head",
        "alert probability from the context and the two standardised log errors",
    );
    g.input(
        "features",
        data_type::FLOAT,
        &[BATCH, Dim::Fixed(inputs)],
        "[context, log_z(latent error), log_z(sequence error)]",
    );
    g.output(
        "probability",
        data_type::FLOAT,
        &[BATCH],
        "alert probability",
    );
    let axis1 = g.int64s("axis_1", &[1]);
    let w1 = g.weight(
        "head.hidden.weight",
        &[inputs, hidden],
        &w.hidden.weight,
        "[H + 2, n]",
    );
    let b1 = g.weight("head.hidden.bias", &[hidden], &w.hidden.bias, "[n]");
    let w2 = g.weight(
        "head.output.weight",
        &[hidden, 1],
        &w.output.weight,
        "[n, 1]",
    );
    let b2 = g.weight("head.output.bias", &[1], &w.output.bias, "[1]");
    g.node("MatMul", &["features", &w1], &["hidden_mm"], vec![], "");
    g.node("Add", &["hidden_mm", &b1], &["hidden_pre"], vec![], "");
    g.node("Relu", &["hidden_pre"], &["hidden"], vec![], "");
    g.node("MatMul", &["hidden", &w2], &["logit_mm"], vec![], "");
    g.node("Add", &["logit_mm", &b2], &["logit"], vec![], "");
    g.node("Sigmoid", &["logit"], &["probability_b1"], vec![], "");
    g.node(
        "Squeeze",
        &["probability_b1", &axis1],
        &["probability"],
        vec![],
        "[B, 1] to [B]",
    );
    Ok(g.finish(
        "Telltale head (DESIGN §2): features [batch, H + 2] -> probability [batch]",
        &[
            ("telltale.inputs", inputs.to_string()),
            ("telltale.head_hidden", hidden.to_string()),
        ],
    ))
}

//! `latent_decoder.onnx`: `context` f32 `[batch, H]` → `reconstruction` f32 `[batch, H]`.

use crate::builder::{BATCH, Dim, GraphBuilder};
use crate::check::WeightsError;
use crate::proto::{ModelProto, data_type};
use crate::weights::LatentDecoderWeights;

/// Build the latent decoder graph: `Linear(H, k)` → `Tanh` → `Linear(k, H)`.
pub fn latent_decoder_model(w: &LatentDecoderWeights) -> Result<ModelProto, WeightsError> {
    w.check()?;
    let (hidden, latent) = (w.down.input, w.down.output);
    let mut g = GraphBuilder::new(
        "telltale_latent_decoder",
        "bottleneck MLP that reconstructs the context through k latent units",
    );
    g.input(
        "context",
        data_type::FLOAT,
        &[BATCH, Dim::Fixed(hidden)],
        "encoder context c",
    );
    g.output(
        "reconstruction",
        data_type::FLOAT,
        &[BATCH, Dim::Fixed(hidden)],
        "reconstructed context",
    );
    let down_w = g.weight(
        "latent_decoder.down.weight",
        &[hidden, latent],
        &w.down.weight,
        "[H, k]",
    );
    let down_b = g.weight("latent_decoder.down.bias", &[latent], &w.down.bias, "[k]");
    let up_w = g.weight(
        "latent_decoder.up.weight",
        &[latent, hidden],
        &w.up.weight,
        "[k, H]",
    );
    let up_b = g.weight("latent_decoder.up.bias", &[hidden], &w.up.bias, "[H]");
    g.node(
        "MatMul",
        &["context", &down_w],
        &["down_mm"],
        vec![],
        "H -> k",
    );
    g.node("Add", &["down_mm", &down_b], &["down"], vec![], "");
    g.node("Tanh", &["down"], &["latent"], vec![], "latent code z");
    g.node("MatMul", &["latent", &up_w], &["up_mm"], vec![], "k -> H");
    g.node("Add", &["up_mm", &up_b], &["reconstruction"], vec![], "");
    Ok(g.finish(
        "Telltale latent decoder (DESIGN §2): context [batch, H] -> reconstruction [batch, H]",
        &[
            ("telltale.hidden", hidden.to_string()),
            ("telltale.latent_dim", latent.to_string()),
        ],
    ))
}

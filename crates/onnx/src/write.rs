//! Writing models to disk: one file per graph in a model directory.

use std::io;
use std::path::Path;

use prost::Message;

use crate::graphs::{encoder_model, head_model, latent_decoder_model, sequence_decoder_model};
use crate::proto::ModelProto;
use crate::weights::ModelWeights;

/// File name of the encoder graph.
pub const ENCODER_FILE: &str = "encoder.onnx";
/// File name of the latent decoder graph.
pub const LATENT_DECODER_FILE: &str = "latent_decoder.onnx";
/// File name of the sequence decoder graph.
pub const SEQUENCE_DECODER_FILE: &str = "sequence_decoder.onnx";
/// File name of the head graph.
pub const HEAD_FILE: &str = "head.onnx";

/// File names (relative to the model directory) of the graphs [`write_graphs`] wrote; the same
/// shape as `telltale_core::manifest::Graphs`, without depending on the core crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFiles {
    pub encoder: String,
    pub latent_decoder: String,
    pub sequence_decoder: Option<String>,
    pub head: Option<String>,
}

/// Serialise a model to protobuf bytes.
pub fn encode_model(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// Write one model file.
pub fn write_model(path: &Path, model: &ModelProto) -> io::Result<()> {
    std::fs::write(path, encode_model(model))
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Write every graph of `weights` into `dir` (created when missing): encoder, latent decoder,
/// sequence decoder and, when present, the head. Weights with inconsistent sizes are an
/// `InvalidInput` error naming the tensor; nothing is written then.
pub fn write_graphs(dir: &Path, weights: &ModelWeights) -> io::Result<GraphFiles> {
    let invalid = |e: crate::WeightsError| io::Error::new(io::ErrorKind::InvalidInput, e);
    weights.check().map_err(invalid)?;
    let encoder = encoder_model(&weights.encoder).map_err(invalid)?;
    let latent = latent_decoder_model(&weights.latent_decoder).map_err(invalid)?;
    let sequence = sequence_decoder_model(&weights.sequence_decoder).map_err(invalid)?;
    let head = weights
        .head
        .as_ref()
        .map(head_model)
        .transpose()
        .map_err(invalid)?;

    std::fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    write_model(&dir.join(ENCODER_FILE), &encoder)?;
    write_model(&dir.join(LATENT_DECODER_FILE), &latent)?;
    write_model(&dir.join(SEQUENCE_DECODER_FILE), &sequence)?;
    if let Some(head) = &head {
        write_model(&dir.join(HEAD_FILE), head)?;
    }
    Ok(GraphFiles {
        encoder: ENCODER_FILE.into(),
        latent_decoder: LATENT_DECODER_FILE.into(),
        sequence_decoder: Some(SEQUENCE_DECODER_FILE.into()),
        head: head.map(|_| HEAD_FILE.into()),
    })
}

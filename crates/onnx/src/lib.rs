//! Telltale's ONNX writer: plain weights ([`weights`]) → ONNX `ModelProto` files that use the
//! standard `LSTM` operator, plus a reference forward pass ([`mod@reference`]) that proves the
//! graphs (and the trainer's burn model) right.
//!
//! It lives apart from the trainer so it builds and tests without burn, and it does not depend
//! on `telltale-core`. The graphs' inputs and outputs follow the graph contract documented in
//! `telltale-scorer`.

mod builder;
mod check;
pub mod fixture;
mod graphs;
mod lstm;
pub mod proto;
pub mod reference;
pub mod weights;
mod write;

pub use builder::{IR_VERSION, OPSET_VERSION, PRODUCER};
pub use check::WeightsError;
pub use graphs::{encoder_model, head_model, latent_decoder_model, sequence_decoder_model};
pub use proto::ModelProto;
pub use weights::*;
pub use write::{
    ENCODER_FILE, GraphFiles, HEAD_FILE, LATENT_DECODER_FILE, SEQUENCE_DECODER_FILE, encode_model,
    write_graphs, write_model,
};

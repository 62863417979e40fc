//! One builder per exported graph (see the graph contract in `telltale-scorer`).

mod encoder;
mod head;
mod latent_decoder;
mod sequence_decoder;

pub use encoder::encoder_model;
pub use head::head_model;
pub use latent_decoder::latent_decoder_model;
pub use sequence_decoder::sequence_decoder_model;

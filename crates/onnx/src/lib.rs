//! Telltale's ONNX writer: plain weights (`weights`) → ONNX `ModelProto` files using the standard
//! `LSTM` operator, plus a reference forward pass used to prove the graphs right.
//!
//! It lives apart from the trainer so it builds and tests without burn. STUB: being implemented.

pub mod weights;

pub use weights::*;

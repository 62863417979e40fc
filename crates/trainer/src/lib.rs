//! Telltale's trainer as a library, so tests can call each stage directly.

pub mod benchmark;
pub mod evaluate;
pub mod synth;
pub mod train;

//! Telltale's trainer as a library, so tests can call each stage directly.

pub mod baseline;
pub mod benchmark;
pub mod data;
pub mod evaluate;
pub mod export;
pub mod model;
pub mod report;
pub mod synth;
pub mod train;

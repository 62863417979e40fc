//! Per-channel normalisation fitted on normal training windows (DESIGN §1).
//!
//! STUB: signatures are the contract; bodies are being implemented.

use serde::{Deserialize, Serialize};

use crate::window::BinnedWindow;

/// `(x - mean) / std` per channel. `std` is floored so constant channels do not divide by zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalizer {
    /// Fit on every step of every window (all must have the same channel count). The `empty` flag
    /// and count channels are normalised like the others.
    pub fn fit<'a>(windows: impl IntoIterator<Item = &'a BinnedWindow>) -> Self {
        let _ = windows;
        todo!("core: Normalizer::fit")
    }

    pub fn apply(&self, window: &mut BinnedWindow) {
        let _ = window;
        todo!("core: Normalizer::apply")
    }
}

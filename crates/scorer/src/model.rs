//! A model directory opened with ONNX Runtime: the manifest and one session per graph.
//!
//! STUB: signatures are the contract; bodies are being implemented.

use std::path::Path;

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3};
use telltale_core::Manifest;

use crate::{RuntimeOptions, ScorerError};

/// Raw access to the graphs (parity tests, benchmarks). `Scorer` builds on it.
pub struct ModelGraphs {
    // sessions live here
}

impl ModelGraphs {
    /// Open the graphs named by `manifest.graphs` inside `dir`, checking their input and output
    /// names and shapes against the manifest.
    pub fn open(dir: &Path, manifest: &Manifest, options: &RuntimeOptions) -> Result<Self, ScorerError> {
        let _ = (dir, manifest, options);
        todo!("scorer: ModelGraphs::open")
    }

    pub fn encode(&mut self, x: ArrayView3<f32>, lengths: &[i32]) -> Result<Array2<f32>, ScorerError> {
        let _ = (x, lengths);
        todo!()
    }

    pub fn decode_latent(&mut self, context: ArrayView2<f32>) -> Result<Array2<f32>, ScorerError> {
        let _ = context;
        todo!()
    }

    pub fn decode_sequence(
        &mut self,
        context: ArrayView2<f32>,
        x: ArrayView3<f32>,
        lengths: &[i32],
    ) -> Result<Array3<f32>, ScorerError> {
        let _ = (context, x, lengths);
        todo!()
    }

    /// `None` when the model has no head.
    pub fn head(&mut self, features: ArrayView2<f32>) -> Result<Option<Array1<f32>>, ScorerError> {
        let _ = features;
        todo!()
    }
}

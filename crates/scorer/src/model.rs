//! A model directory opened with ONNX Runtime: one session per graph, checked against the graph
//! contract (see the crate docs) when it is opened.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Ix1, Ix2, Ix3};
use ort::session::Session;
use ort::value::TensorRef;
use telltale_core::Manifest;
use telltale_core::manifest::{Graphs, ModelShape};

use crate::contract::{self, Expected};
use crate::session::open_session;
use crate::{RuntimeOptions, ScorerError};

/// Raw access to the graphs (parity tests, benchmarks). `Scorer` builds on it.
pub struct ModelGraphs {
    dir: PathBuf,
    shape: ModelShape,
    encoder: Session,
    latent_decoder: Session,
    sequence_decoder: Option<Session>,
    head: Option<Session>,
}

impl std::fmt::Debug for ModelGraphs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelGraphs")
            .field("dir", &self.dir)
            .field("shape", &self.shape)
            .field("sequence_decoder", &self.sequence_decoder.is_some())
            .field("head", &self.head.is_some())
            .finish_non_exhaustive()
    }
}

fn inference(graph: &str) -> impl Fn(ort::Error) -> ScorerError + '_ {
    move |e| ScorerError::Inference(format!("{graph}: {e}"))
}

impl ModelGraphs {
    /// Open the graphs named by `manifest.graphs` inside `dir`, checking their input and output
    /// names and shapes against the manifest.
    pub fn open(
        dir: &Path,
        manifest: &Manifest,
        options: &RuntimeOptions,
    ) -> Result<Self, ScorerError> {
        Self::open_graphs(dir, &manifest.graphs, manifest.shape, options)
    }

    /// Like [`ModelGraphs::open`], from the graph file names and sizes alone (no full manifest).
    pub fn open_graphs(
        dir: &Path,
        graphs: &Graphs,
        shape: ModelShape,
        options: &RuntimeOptions,
    ) -> Result<Self, ScorerError> {
        let env = crate::runtime::environment()?;
        let open = |file: &str, expected: &Expected| -> Result<Session, ScorerError> {
            let session = open_session(&env, &dir.join(file), options)?;
            contract::check(dir, file, &session, expected)?;
            Ok(session)
        };
        let (c, h) = (shape.channels, shape.hidden);
        let encoder = open(&graphs.encoder, &contract::encoder(c, h))?;
        let latent_decoder = open(&graphs.latent_decoder, &contract::latent_decoder(h))?;
        let sequence_decoder = match &graphs.sequence_decoder {
            Some(file) => Some(open(file, &contract::sequence_decoder(c, h))?),
            None => None,
        };
        let head = match &graphs.head {
            Some(file) => Some(open(file, &contract::head(h))?),
            None => None,
        };
        Ok(Self {
            dir: dir.to_owned(),
            shape,
            encoder,
            latent_decoder,
            sequence_decoder,
            head,
        })
    }

    /// The model directory the graphs were opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sizes the graphs were opened with.
    pub fn shape(&self) -> ModelShape {
        self.shape
    }

    /// Whether a sequence decoder graph is loaded.
    pub fn has_sequence_decoder(&self) -> bool {
        self.sequence_decoder.is_some()
    }

    /// Whether a head graph is loaded.
    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }

    /// Contexts `[batch, H]` of windows `x` `[batch, time, C]` with `lengths` valid steps each.
    pub fn encode(
        &mut self,
        x: ArrayView3<f32>,
        lengths: &[i32],
    ) -> Result<Array2<f32>, ScorerError> {
        self.check_windows(x, lengths)?;
        let x = x.as_standard_layout();
        let graph = "encoder";
        let outputs = self
            .encoder
            .run(ort::inputs![
                "x" => TensorRef::from_array_view(&x).map_err(inference(graph))?,
                "lengths" => TensorRef::from_array_view(([lengths.len()], lengths)).map_err(inference(graph))?,
            ])
            .map_err(inference(graph))?;
        extract::<Ix2>(&outputs, "context", graph)
    }

    /// The latent decoder's reconstructions `[batch, H]` of contexts `[batch, H]`.
    pub fn decode_latent(&mut self, context: ArrayView2<f32>) -> Result<Array2<f32>, ScorerError> {
        self.check_context(context)?;
        let context = context.as_standard_layout();
        let outputs = self
            .latent_decoder
            .run(ort::inputs!["context" => TensorRef::from_array_view(&context).map_err(inference("latent_decoder"))?])
            .map_err(inference("latent_decoder"))?;
        extract::<Ix2>(&outputs, "reconstruction", "latent_decoder")
    }

    /// Reconstructions `[batch, time, C]` (original time order) of windows `x` from their
    /// contexts. `None` when the model has no sequence decoder (the `latent_joint` ablation).
    pub fn decode_sequence(
        &mut self,
        context: ArrayView2<f32>,
        x: ArrayView3<f32>,
        lengths: &[i32],
    ) -> Result<Option<Array3<f32>>, ScorerError> {
        self.check_windows(x, lengths)?;
        self.check_context(context)?;
        if context.nrows() != x.dim().0 {
            return Err(ScorerError::Input(format!(
                "{} contexts for {} windows",
                context.nrows(),
                x.dim().0
            )));
        }
        let Some(session) = self.sequence_decoder.as_mut() else {
            return Ok(None);
        };
        let (context, x) = (context.as_standard_layout(), x.as_standard_layout());
        let graph = "sequence_decoder";
        let outputs = session
            .run(ort::inputs![
                "context" => TensorRef::from_array_view(&context).map_err(inference(graph))?,
                "x" => TensorRef::from_array_view(&x).map_err(inference(graph))?,
                "lengths" => TensorRef::from_array_view(([lengths.len()], lengths)).map_err(inference(graph))?,
            ])
            .map_err(inference(graph))?;
        extract::<Ix3>(&outputs, "reconstruction", graph).map(Some)
    }

    /// Alert probabilities `[batch]` for head inputs `[batch, H + 2]`. `None` when the model has
    /// no head.
    pub fn head(&mut self, features: ArrayView2<f32>) -> Result<Option<Array1<f32>>, ScorerError> {
        let expected = self.shape.hidden + 2;
        if features.ncols() != expected || features.nrows() == 0 {
            return Err(ScorerError::Input(format!(
                "head features must be [batch >= 1, {expected}], got {:?}",
                features.dim()
            )));
        }
        let Some(session) = self.head.as_mut() else {
            return Ok(None);
        };
        let features = features.as_standard_layout();
        let outputs = session
            .run(ort::inputs!["features" => TensorRef::from_array_view(&features).map_err(inference("head"))?])
            .map_err(inference("head"))?;
        extract::<Ix1>(&outputs, "probability", "head").map(Some)
    }

    fn check_windows(&self, x: ArrayView3<f32>, lengths: &[i32]) -> Result<(), ScorerError> {
        let (batch, time, channels) = x.dim();
        if batch == 0 || time == 0 {
            return Err(ScorerError::Input(format!(
                "empty batch of windows {:?}",
                x.dim()
            )));
        }
        if channels != self.shape.channels {
            return Err(ScorerError::Input(format!(
                "windows have {channels} channels, the model expects {}",
                self.shape.channels
            )));
        }
        if lengths.len() != batch {
            return Err(ScorerError::Input(format!(
                "{} lengths for {batch} windows",
                lengths.len()
            )));
        }
        if let Some((i, len)) = lengths
            .iter()
            .enumerate()
            .find(|&(_, &l)| l < 1 || l as usize > time)
        {
            return Err(ScorerError::Input(format!(
                "window {i} has length {len}; lengths must be in 1..={time}"
            )));
        }
        Ok(())
    }

    fn check_context(&self, context: ArrayView2<f32>) -> Result<(), ScorerError> {
        if context.ncols() != self.shape.hidden || context.nrows() == 0 {
            return Err(ScorerError::Input(format!(
                "contexts must be [batch >= 1, {}], got {:?}",
                self.shape.hidden,
                context.dim()
            )));
        }
        Ok(())
    }
}

/// Copy output `name` of a run out as an owned array of rank `D`.
fn extract<D: ndarray::Dimension>(
    outputs: &ort::session::SessionOutputs<'_>,
    name: &str,
    graph: &str,
) -> Result<ndarray::Array<f32, D>, ScorerError> {
    let value = outputs
        .get(name)
        .ok_or_else(|| ScorerError::Inference(format!("{graph}: no output `{name}`")))?;
    let view = value.try_extract_array::<f32>().map_err(inference(graph))?;
    view.into_dimensionality::<D>()
        .map(|v| v.to_owned())
        .map_err(|e| ScorerError::Inference(format!("{graph}: output `{name}` has rank {e}")))
}

//! `DIR/checkpoint/`: the autoencoder stage's state after every epoch (current and best weights,
//! the optimiser, the epoch, early-stopping state and loss history), so `--resume` continues where
//! a run stopped and reaches the same weights an uninterrupted run would.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::history::{EarlyStopping, StageHistory};
use crate::model::{Autoencoder, ModelConfig};

const CONFIG: &str = "config.json";
const MODEL: &str = "autoencoder.bpk";
const BEST: &str = "best_autoencoder.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";

/// Progress of the autoencoder stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    /// Epochs finished so far.
    pub epochs_completed: usize,
    pub stopping: EarlyStopping,
    pub history: StageHistory,
}

/// Everything a resumed run needs.
pub struct Checkpoint {
    pub state: StageState,
    pub model: Autoencoder,
    pub best: Autoencoder,
    pub optimizer: ModuleOptimizer,
}

/// The checkpoint folder of a model directory.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    pub path: PathBuf,
}

fn record_error(path: &Path, e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{}: {e:?}", path.display())
}

impl CheckpointDir {
    pub fn new(model_dir: &Path) -> Self {
        Self {
            path: model_dir.join("checkpoint"),
        }
    }

    pub fn exists(&self) -> bool {
        self.path.join(STATE).is_file()
    }

    /// Write the state of a finished epoch. `best` is written only when it changed.
    pub fn save(
        &self,
        config: &ModelConfig,
        state: &StageState,
        model: &Autoencoder,
        best: Option<&Autoencoder>,
        optimizer: &ModuleOptimizer,
    ) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.path).with_context(|| {
            format!(
                "{}: cannot create the checkpoint folder",
                self.path.display()
            )
        })?;
        let at = |name: &str| self.path.join(name);
        config
            .save(at(CONFIG))
            .with_context(|| format!("{}: cannot write", at(CONFIG).display()))?;
        model
            .clone()
            .save_file(at(MODEL))
            .map_err(|e| record_error(&at(MODEL), e))?;
        if let Some(best) = best {
            best.clone()
                .save_file(at(BEST))
                .map_err(|e| record_error(&at(BEST), e))?;
        }
        optimizer
            .to_record()
            .save(at(OPTIMIZER))
            .map_err(|e| record_error(&at(OPTIMIZER), e))?;
        // The state goes last: a checkpoint is only trusted once its state names the epoch.
        let text = serde_json::to_string_pretty(state)?;
        let tmp = at("state.json.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
        std::fs::rename(&tmp, at(STATE))
            .with_context(|| format!("{}: cannot write", at(STATE).display()))
    }

    /// Load a checkpoint written by [`save`](Self::save) for a model of `config`'s sizes.
    pub fn load(
        &self,
        config: &ModelConfig,
        fresh_optimizer: ModuleOptimizer,
        device: &Device,
    ) -> anyhow::Result<Checkpoint> {
        let at = |name: &str| self.path.join(name);
        let saved = ModelConfig::load(at(CONFIG))
            .map_err(|e| anyhow::anyhow!("{}: not a model config: {e:?}", at(CONFIG).display()))?;
        let sizes = |c: &ModelConfig| (c.channels, c.hidden, c.layers);
        if sizes(&saved) != sizes(config) {
            anyhow::bail!(
                "{}: the checkpoint has channels/hidden/layers {:?} but this run asks for {:?}; \
                 use the same settings or another --out",
                self.path.display(),
                sizes(&saved),
                sizes(config)
            );
        }
        let text = std::fs::read_to_string(at(STATE))
            .with_context(|| format!("{}: cannot read", at(STATE).display()))?;
        let state: StageState = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a checkpoint state", at(STATE).display()))?;
        let load = |name: &str| {
            config
                .init_autoencoder(device)
                .try_load_file(at(name))
                .map_err(|e| record_error(&at(name), e))
        };
        let model = load(MODEL)?;
        let best = if at(BEST).is_file() {
            load(BEST)?
        } else {
            model.clone()
        };
        let record =
            OptimizerRecord::load(at(OPTIMIZER)).map_err(|e| record_error(&at(OPTIMIZER), e))?;
        Ok(Checkpoint {
            state,
            model,
            best,
            optimizer: fresh_optimizer.load_record(record),
        })
    }
}

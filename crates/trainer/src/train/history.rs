//! Loss curves of every training stage, written as `history.json` (the report plots them).
//!
//! ```json
//! {"stages": [{"name": "autoencoder", "best_epoch": 7, "stopped_early": true,
//!              "epochs": [{"epoch": 1, "train_loss": 0.91, "validation_loss": 0.88,
//!                          "seconds": 4.2}, …]}, …]}
//! ```
//! Stage names: `autoencoder` (stage 1, masked MSE), `latent_decoder` (stage 2, variance-scaled
//! MSE), `head_weighted` / `head_resample` (stage 3, BCE), `latent_joint` (the ablation, plain MSE;
//! its epochs also carry `context_variance`, the mean per-dimension variance of the contexts).

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One epoch of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    /// `None` when the stage had no validation windows to measure on.
    pub validation_loss: Option<f64>,
    pub seconds: f64,
    /// Mean per-dimension variance of the contexts seen this epoch (`latent_joint` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_variance: Option<f64>,
    /// Validation AUC-PR (head stages only, when validation has positives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_auc_pr: Option<f64>,
}

/// All epochs of one stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageHistory {
    pub name: String,
    pub epochs: Vec<EpochRecord>,
    /// Epoch whose weights were kept (1-based; 0 when no epoch ran).
    pub best_epoch: usize,
    pub stopped_early: bool,
}

impl StageHistory {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Every stage of a run, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub stages: Vec<StageHistory>,
}

impl History {
    pub fn stage(&self, name: &str) -> Option<&StageHistory> {
        self.stages.iter().find(|s| s.name == name)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("{}: cannot write", path.display()))
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a training history", path.display()))
    }
}

/// Keeps the best validation loss and says when `patience` epochs passed without improvement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub patience: usize,
    pub best_loss: f64,
    /// 1-based epoch of the best loss (0 before the first epoch).
    pub best_epoch: usize,
    pub epochs_without_improvement: usize,
}

impl EarlyStopping {
    pub fn new(patience: usize) -> Self {
        Self {
            patience: patience.max(1),
            best_loss: f64::INFINITY,
            best_epoch: 0,
            epochs_without_improvement: 0,
        }
    }

    /// Record an epoch's loss; `true` when it is the best so far.
    pub fn record(&mut self, epoch: usize, loss: f64) -> bool {
        if loss < self.best_loss || self.best_epoch == 0 {
            self.best_loss = loss;
            self.best_epoch = epoch;
            self.epochs_without_improvement = 0;
            true
        } else {
            self.epochs_without_improvement += 1;
            false
        }
    }

    pub fn should_stop(&self) -> bool {
        self.epochs_without_improvement >= self.patience
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_stopping_keeps_the_best_and_stops_after_patience() {
        let mut stop = EarlyStopping::new(2);
        assert!(stop.record(1, 1.0));
        assert!(stop.record(2, 0.5));
        assert!(!stop.record(3, 0.6));
        assert!(!stop.should_stop());
        assert!(!stop.record(4, 0.7));
        assert!(stop.should_stop());
        assert_eq!((stop.best_epoch, stop.best_loss), (2, 0.5));
    }
}

//! Progress output: an indicatif bar per epoch (batches, loss, ETA) and one line per finished
//! epoch; `--quiet` turns both off.

use indicatif::{ProgressBar, ProgressStyle};

use super::history::EpochRecord;

/// Where progress goes.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    quiet: bool,
}

impl Progress {
    pub const fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// A bar over the batches of one epoch.
    pub fn epoch_bar(
        &self,
        stage: &str,
        epoch: usize,
        epochs: usize,
        batches: usize,
    ) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(batches as u64);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} batches, loss {msg} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{stage} epoch {epoch}/{epochs}"));
        bar
    }

    /// The line printed after an epoch.
    pub fn epoch_done(&self, stage: &str, epochs: usize, record: &EpochRecord, best: bool) {
        if self.quiet {
            return;
        }
        let validation = record
            .validation_loss
            .map_or_else(|| "n/a".to_string(), |v| format!("{v:.5}"));
        let extra = record
            .context_variance
            .map(|v| format!(", context variance {v:.5}"))
            .unwrap_or_default();
        let auc = record
            .validation_auc_pr
            .map(|v| format!(", val AUC-PR {v:.3}"))
            .unwrap_or_default();
        eprintln!(
            "{stage} epoch {}/{epochs}: train loss {:.5}, val loss {validation}{extra}{auc}, {:.1}s{}",
            record.epoch,
            record.train_loss,
            record.seconds,
            if best { " *" } else { "" }
        );
    }

    /// A free-form status line.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

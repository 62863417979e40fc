//! `telltale-trainer benchmark`: published benchmark protocols.

pub mod detectors;
pub mod lstm;
pub mod skab;
pub mod skab_args;
pub mod skab_report;
pub mod skab_runs;

pub use skab::{SkabArgs, SkabReport};

/// `telltale-trainer benchmark <protocol>`
#[derive(Debug, clap::Subcommand)]
pub enum BenchmarkCommand {
    /// The SKAB outlier-detection protocol: per run, fit on the first 400 rows, score every
    /// remaining row, pool all runs; F1, FAR and MAR next to the published table.
    Skab(SkabArgs),
}

/// Run a benchmark command.
pub fn run(command: &BenchmarkCommand) -> anyhow::Result<()> {
    match command {
        BenchmarkCommand::Skab(args) => skab::run(args),
    }
}

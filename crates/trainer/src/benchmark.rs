//! STUB: being implemented.

#[derive(Debug, clap::Subcommand)]
pub enum BenchmarkCommand {
    /// The SKAB outlier-detection protocol.
    Skab {},
}

pub fn run(command: &BenchmarkCommand) -> anyhow::Result<()> {
    let _ = command;
    anyhow::bail!("`benchmark` is not implemented yet")
}

//! STUB: being implemented.

/// `telltale-trainer train`
#[derive(Debug, clap::Args)]
pub struct TrainArgs {}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("`train` is not implemented yet")
}

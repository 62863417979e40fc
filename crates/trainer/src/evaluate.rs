//! STUB: being implemented.

/// `telltale-trainer evaluate`
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("`evaluate` is not implemented yet")
}

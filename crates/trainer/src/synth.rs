//! STUB: being implemented.

/// `telltale-trainer synth`
#[derive(Debug, clap::Args)]
pub struct SynthArgs {}

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("`synth` is not implemented yet")
}

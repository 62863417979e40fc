//! Times stage-1 training epochs (encoder + sequence decoder) on synthetic windows, for
//! `scripts/bench/train_vs_pytorch.sh`. Prints one JSON line per epoch and a final summary line.

use clap::Parser;
use telltale_trainer::data::toy;
use telltale_trainer::model::ModelConfig;
use telltale_trainer::train::TrainConfig;
use telltale_trainer::train::autoencoder;
use telltale_trainer::train::progress::Progress;

/// Time the autoencoder stage on random sinusoid windows.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 1600)]
    windows: usize,
    #[arg(long, default_value_t = 240)]
    steps: usize,
    #[arg(long, default_value_t = 4)]
    channels: usize,
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    #[arg(long, default_value_t = 1)]
    layers: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long)]
    quiet: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()?;
    let train = toy::prepared(args.windows, args.steps, args.channels, 7);
    let config = TrainConfig {
        epochs: args.epochs,
        hidden: args.hidden,
        layers: args.layers,
        batch_size: args.batch_size,
        patience: args.epochs + 1,
        ..TrainConfig::default()
    };
    let model_config = ModelConfig::new(args.channels)
        .with_hidden(args.hidden)
        .with_layers(args.layers)
        .with_seed(config.seed);
    let stage = autoencoder::train(
        &config,
        &model_config,
        &train,
        &[],
        None,
        Progress::new(args.quiet),
    )?;
    let mut seconds: Vec<f64> = stage.history.epochs.iter().map(|e| e.seconds).collect();
    for e in &stage.history.epochs {
        println!(
            "{{\"epoch\": {}, \"seconds\": {:.3}, \"loss\": {:.6}}}",
            e.epoch, e.seconds, e.train_loss
        );
    }
    seconds.sort_by(f64::total_cmp);
    println!("median_epoch_seconds={:.3}", seconds[seconds.len() / 2]);
    Ok(())
}

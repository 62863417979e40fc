//! `telltale-trainer`: synthesise data, train, export, evaluate and benchmark.

use clap::{Parser, Subcommand};

/// Train Telltale's LSTM autoencoder and write a model directory the server can load.
#[derive(Debug, Parser)]
#[command(name = "telltale-trainer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write synthetic seed-format sensor events with known anomalies.
    Synth(telltale_trainer::synth::SynthArgs),
    /// Train the autoencoder (and head, when labels exist) and export a model directory.
    Train(telltale_trainer::train::TrainArgs),
    /// Score an events file with an exported model and write report.json + report.md.
    Evaluate(telltale_trainer::evaluate::EvaluateArgs),
    /// Run a published benchmark protocol.
    #[command(subcommand)]
    Benchmark(telltale_trainer::benchmark::BenchmarkCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(args) => telltale_trainer::synth::run(&args),
        Command::Train(args) => telltale_trainer::train::run(&args),
        Command::Evaluate(args) => telltale_trainer::evaluate::run(&args),
        Command::Benchmark(cmd) => telltale_trainer::benchmark::run(&cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

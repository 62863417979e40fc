//! Raw ONNX Runtime throughput, the reference of `scripts/bench/serve.sh`: the window of a
//! `/score` request body, prepared as the server prepares it, copied into batches that run in a
//! tight loop with no HTTP, queue or JSON. Prints one JSON object:
//! `encoder_latent` (encoder + latent decoder, windows/s) and `scorer` (every graph the server
//! runs per window, through `Scorer::score`, windows/s).
//!
//! `cargo run -p telltale-server --example raw_limit -- --model DIR --body FILE [--batch 32]`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ndarray::Array3;
use telltale_scorer::{RuntimeOptions, Scorer};
use telltale_server::schema::ScoreRequest;
use telltale_server::validate::{Errors, FeatureReader, Order};

#[derive(Parser)]
struct Args {
    /// Model directory.
    #[arg(long)]
    model: PathBuf,
    /// A `/score` request body (JSON).
    #[arg(long)]
    body: PathBuf,
    /// Windows per ONNX Runtime call.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Seconds to run each measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Intra-op threads per session (0 = ONNX Runtime's default, as the server).
    #[arg(long, default_value_t = 0)]
    intra_threads: usize,
}

/// Run `step` (which scores `per_call` windows) until `seconds` pass; windows per second.
fn measure(
    seconds: f64,
    per_call: usize,
    mut step: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    for _ in 0..3 {
        step()?;
    }
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < budget {
        step()?;
        calls += 1;
    }
    Ok((calls as f64 * per_call as f64) / started.elapsed().as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    telltale_scorer::init_runtime(None)?;
    let options = RuntimeOptions {
        intra_threads: args.intra_threads,
        ..RuntimeOptions::default()
    };
    let mut scorer = Scorer::open(&args.model, &options)?;
    let text =
        std::fs::read_to_string(&args.body).with_context(|| args.body.display().to_string())?;
    let request: ScoreRequest = serde_json::from_str(&text)?;
    let features = scorer.manifest().feature_names.clone();
    let mut errors = Errors::default();
    let events =
        FeatureReader::new(&features).events(&request.events, "events", Order::Strict, &mut errors);
    errors.finish(()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let window = scorer.prepare(&events, None)?;
    let batch = args.batch.max(1);

    let mut x = Array3::<f32>::zeros((batch, window.len, window.channels));
    for b in 0..batch {
        for t in 0..window.len {
            for (c, v) in window.step(t).iter().enumerate() {
                x[[b, t, c]] = *v;
            }
        }
    }
    let lengths = vec![window.len as i32; batch];
    let encoder_latent = measure(args.seconds, batch, || {
        let context = scorer.graphs().encode(x.view(), &lengths)?;
        scorer.graphs().decode_latent(context.view())?;
        Ok(())
    })?;
    let windows = vec![window.clone(); batch];
    let full = measure(args.seconds, batch, || {
        scorer.score(&windows)?;
        Ok(())
    })?;
    println!(
        "{}",
        serde_json::json!({
            "batch": batch,
            "steps": window.len,
            "encoder_latent": encoder_latent,
            "scorer": full,
        })
    );
    Ok(())
}

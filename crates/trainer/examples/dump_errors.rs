//! Research aid: write every window's normalised input and sequence-decoder reconstruction,
//! step by step, so score aggregations can be compared offline without retraining.
//!
//! `cargo run -p telltale-trainer --example dump_errors -- MODEL_DIR EVENTS_CSV OUT_PREFIX`
//! writes OUT_PREFIX.meta.csv (sensor_id,label,len,channels per window) and OUT_PREFIX.f32
//! (per window: len*channels inputs then len*channels reconstructions, little-endian f32).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use telltale_core::events::{ReadOptions, read_events_csv};
use telltale_scorer::{RuntimeOptions, Scorer, init_runtime};
use telltale_trainer::evaluate::scoring::batch_tensor;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, events, out] = args.as_slice() else {
        anyhow::bail!("usage: dump_errors MODEL_DIR EVENTS_CSV OUT_PREFIX");
    };
    init_runtime(None)?;
    let mut scorer = Scorer::open(&PathBuf::from(model), &RuntimeOptions::default())?;
    let file = read_events_csv(&PathBuf::from(events), &ReadOptions::default())?;
    let mut meta = std::fs::File::create(format!("{out}.meta.csv"))?;
    let mut data = std::io::BufWriter::new(std::fs::File::create(format!("{out}.f32"))?);
    writeln!(meta, "sensor_id,label,len,channels")?;
    for chunk in file.windows.chunks(64) {
        let binned: Vec<_> = chunk
            .iter()
            .map(|w| scorer.prepare(&w.events, None))
            .collect::<Result<_, _>>()
            .context("prepare")?;
        let (x, lengths) = batch_tensor(&binned);
        let graphs = scorer.graphs();
        let context = graphs.encode(x.view(), &lengths)?;
        let recon = graphs
            .decode_sequence(context.view(), x.view(), &lengths)?
            .context("no sequence decoder")?;
        for (b, (w, bw)) in chunk.iter().zip(&binned).enumerate() {
            let label = w.label.map_or(-1, i32::from);
            writeln!(meta, "{},{},{},{}", w.sensor_id, label, bw.len, bw.channels)?;
            for v in &bw.data {
                data.write_all(&v.to_le_bytes())?;
            }
            for t in 0..bw.len {
                for c in 0..bw.channels {
                    data.write_all(&recon[[b, t, c]].to_le_bytes())?;
                }
            }
        }
    }
    Ok(())
}

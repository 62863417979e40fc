//! Simulating every sensor (in parallel, deterministically) and writing the events and truth files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::format::{TimestampWriter, push_fixed, push_u64, timestamp_string};
use super::profile::SensorProfile;
use super::sensor::{self, Clock, SensorSeries};
use super::{Anomaly, AnomalyKind, LABEL_COLUMN, SynthArgs, TRUTH_HEADER, TruthRow};

/// Sensors simulated per parallel batch (bounds memory: a batch is held in memory before writing).
const BATCH: usize = 256;

/// Everything a worker needs to simulate any sensor.
pub(super) struct Job<'a> {
    pub(super) args: &'a SynthArgs,
    pub(super) kinds: &'a [AnomalyKind],
    pub(super) clock: Clock,
    pub(super) start_ms: i64,
    pub(super) alerting: &'a [bool],
}

/// One simulated sensor, formatted.
struct SensorOutput {
    bytes: Vec<u8>,
    rows: u64,
    truth: Option<TruthRow>,
}

/// Simulate sensor `id` (1-based) from its own random stream and format its rows.
fn simulate_sensor(job: &Job<'_>, id: usize) -> SensorOutput {
    let mut rng = ChaCha8Rng::seed_from_u64(job.args.seed);
    rng.set_stream(id as u64);
    let n_features = job.args.features;
    let profile = SensorProfile::draw(
        &mut rng,
        n_features,
        job.clock.window_secs,
        job.args.mean_gap_secs,
    );
    let is_alerting = job.alerting[id - 1];
    let anomaly =
        is_alerting.then(|| Anomaly::draw(&mut rng, job.kinds, n_features, job.clock.window_secs));
    let series = sensor::simulate(&mut rng, &profile, anomaly.as_ref(), job.clock);
    let bytes = format_rows(id as u64, is_alerting, job.start_ms, &series);
    SensorOutput {
        bytes,
        rows: series.len() as u64,
        truth: anomaly.map(|anomaly| TruthRow {
            sensor_id: id as u64,
            anomaly,
        }),
    }
}

/// The CSV rows of one sensor.
fn format_rows(id: u64, label: bool, start_ms: i64, series: &SensorSeries) -> Vec<u8> {
    let mut prefix = Vec::new();
    push_u64(&mut prefix, id);
    prefix.push(b',');
    let suffix: &[u8] = if label { b",1\n" } else { b",0\n" };
    let row_len = prefix.len() + 24 + series.n_features * 12 + suffix.len();
    let mut buf = Vec::with_capacity(series.len() * row_len);
    let mut timestamps = TimestampWriter::default();
    for (i, &ms) in series.times_ms.iter().enumerate() {
        buf.extend_from_slice(&prefix);
        timestamps.push(&mut buf, start_ms + ms);
        for &value in &series.values[i * series.n_features..(i + 1) * series.n_features] {
            buf.push(b',');
            push_fixed(&mut buf, value);
        }
        buf.extend_from_slice(suffix);
    }
    buf
}

/// Simulate all sensors (in parallel batches) and write the events file; returns the row count and
/// the truth rows in sensor order.
pub(super) fn write_events(job: &Job<'_>, path: &Path) -> anyhow::Result<(u64, Vec<TruthRow>)> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut header = String::from("sensor_id,timestamp");
    for k in 1..=job.args.features {
        header.push_str(&format!(",feature_{k}"));
    }
    header.push(',');
    header.push_str(LABEL_COLUMN);
    header.push('\n');
    out.write_all(header.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;

    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(16);
    let mut rows = 0;
    let mut truth = Vec::new();
    let n = job.args.sensors;
    for batch_start in (1..=n).step_by(BATCH) {
        let batch_end = (batch_start + BATCH).min(n + 1);
        let mut outputs: Vec<(usize, SensorOutput)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|w| {
                    scope.spawn(move || {
                        (batch_start + w..batch_end)
                            .step_by(threads)
                            .map(|id| (id, simulate_sensor(job, id)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("a synth worker panicked"))
                .collect()
        });
        outputs.sort_unstable_by_key(|(id, _)| *id);
        for (_, output) in outputs {
            out.write_all(&output.bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            rows += output.rows;
            truth.extend(output.truth);
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot flush {}", path.display()))?;
    Ok((rows, truth))
}

/// Write the truth sidecar.
pub(super) fn write_truth(truth: &[TruthRow], start_ms: i64, path: &Path) -> anyhow::Result<()> {
    let mut text = String::from(TRUTH_HEADER);
    text.push('\n');
    for row in truth {
        let a = &row.anomaly;
        let features: Vec<String> = a
            .features
            .iter()
            .map(|k| format!("feature_{}", k + 1))
            .collect();
        let magnitude: Vec<String> = if a.kind == AnomalyKind::Frequency {
            vec![format!("{:.3}", a.rate_factor)]
        } else {
            a.magnitudes.iter().map(|m| format!("{m:.3}")).collect()
        };
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            row.sensor_id,
            a.kind,
            timestamp_string(start_ms + (a.start * 1000.0).floor() as i64),
            timestamp_string(start_ms + (a.end * 1000.0).floor() as i64),
            features.join(";"),
            magnitude.join(";"),
        ));
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

//! `telltale-trainer synth`: synthetic sensor events in the seed's format, with known anomalies.
//!
//! Writes `sensor_id,timestamp,feature_1,…,feature_F,10_days_alert_label` — one window per sensor,
//! rows grouped by sensor (ids `1..=N`) and sorted by time — plus a ground-truth sidecar
//! `sensor_id,kind,start,end,features,magnitude` with one row per alerting sensor: `start`/`end`
//! bound the anomalous segment (same timestamp format), `features` lists the affected columns
//! (`;`-separated, empty for `frequency`), `magnitude` gives per affected feature the signed offset
//! in std (`level_shift`, `drift`) or the noise factor (`variance_burst`), the event-rate factor for
//! `frequency`, and is empty for `stuck` and `broken_correlation`.
//!
//! Exactly `round(N × alert_rate)` sensors alert. Each sensor is simulated from its own
//! [`ChaCha8Rng`] stream derived from `(seed, sensor_id)`, so sensors are generated in parallel and
//! the same arguments always give the same bytes. Normal behaviour is described in [`profile`],
//! the anomaly kinds and their magnitudes in [`anomaly`].

pub mod anomaly;
pub mod format;
pub mod profile;
pub mod sensor;
mod write;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

pub use anomaly::{Anomaly, AnomalyKind};
use sensor::Clock;
use write::{Job, write_events, write_truth};

/// Header of the label column (the seed's name, whatever `--days` is).
pub const LABEL_COLUMN: &str = "10_days_alert_label";
/// Header of the truth sidecar.
pub const TRUTH_HEADER: &str = "sensor_id,kind,start,end,features,magnitude";

/// `telltale-trainer synth`
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Number of sensors (one window each, ids 1..=N).
    #[arg(long, default_value_t = 1000)]
    pub sensors: usize,
    /// Window length in days.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    pub days: f64,
    /// Number of feature columns.
    #[arg(long, default_value_t = 2)]
    pub features: usize,
    /// Share of sensors that alert; exactly round(sensors × rate) of them do.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alert_rate: f64,
    /// Random seed; the same arguments and seed give the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Events CSV to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Ground-truth CSV to write (default: `<out without .csv>.truth.csv`).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Nominal mean gap between events, seconds (each sensor varies around it).
    #[arg(long, default_value_t = 300.0, allow_negative_numbers = true)]
    pub mean_gap_secs: f64,
    /// Start of every window (RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]` as UTC).
    #[arg(long, default_value = "2020-12-20T00:00:00Z", value_parser = parse_start)]
    pub start: DateTime<Utc>,
    /// Anomaly kinds to plant, comma-separated (default: all that fit the feature count).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kinds: Vec<AnomalyKind>,
}

/// What one run wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    pub rows: u64,
    pub sensors: usize,
    pub alerting: usize,
    pub out: PathBuf,
    pub truth: PathBuf,
}

/// One row of the truth sidecar.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRow {
    pub sensor_id: u64,
    pub anomaly: Anomaly,
}

/// Run `synth`: validate, generate, write both files, print one summary line to stderr.
pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let summary = generate(args)?;
    eprintln!(
        "synth: {} rows, {} sensors, {} alerting -> {} (truth: {}) in {:.2} s",
        summary.rows,
        summary.sensors,
        summary.alerting,
        summary.out.display(),
        summary.truth.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Validate `args`, then write the events file and the truth file (each through `FILE.tmp` and a
/// rename, so an interrupted run never leaves a half-written file).
pub fn generate(args: &SynthArgs) -> anyhow::Result<SynthSummary> {
    let kinds = args.validate()?;
    let truth_path = args.truth_path();
    let window_secs = args.days * 86_400.0;
    let start_ms = args.start.timestamp_millis();
    let clock = Clock {
        window_secs,
        start_tod_secs: start_ms.rem_euclid(86_400_000) as f64 / 1e3,
    };

    let n_alerting = (args.sensors as f64 * args.alert_rate).round() as usize;
    let mut alerting = vec![false; args.sensors];
    let mut master = ChaCha8Rng::seed_from_u64(args.seed);
    for i in index::sample(&mut master, args.sensors, n_alerting.min(args.sensors)) {
        alerting[i] = true;
    }
    let job = Job {
        args,
        kinds: &kinds,
        clock,
        start_ms,
        alerting: &alerting,
    };

    let out_tmp = tmp_path(&args.out);
    let truth_tmp = tmp_path(&truth_path);
    let result = (|| {
        let (rows, truth) = write_events(&job, &out_tmp)?;
        write_truth(&truth, start_ms, &truth_tmp)?;
        std::fs::rename(&truth_tmp, &truth_path).with_context(|| {
            format!(
                "cannot rename {} to {}",
                truth_tmp.display(),
                truth_path.display()
            )
        })?;
        std::fs::rename(&out_tmp, &args.out).with_context(|| {
            format!(
                "cannot rename {} to {}",
                out_tmp.display(),
                args.out.display()
            )
        })?;
        anyhow::Ok(SynthSummary {
            rows,
            sensors: args.sensors,
            alerting: truth.len(),
            out: args.out.clone(),
            truth: truth_path.clone(),
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&out_tmp);
        let _ = std::fs::remove_file(&truth_tmp);
    }
    result
}

impl SynthArgs {
    /// Check the arguments; returns the anomaly kinds to draw from.
    pub fn validate(&self) -> anyhow::Result<Vec<AnomalyKind>> {
        if self.sensors < 1 {
            bail!("--sensors must be at least 1 (got {})", self.sensors);
        }
        if self.features < 1 {
            bail!("--features must be at least 1 (got {})", self.features);
        }
        if !(self.days.is_finite() && self.days > 0.0) {
            bail!("--days must be a positive number (got {})", self.days);
        }
        if self.days > 3650.0 {
            bail!("--days must be at most 3650 (got {})", self.days);
        }
        if !(0.0..=1.0).contains(&self.alert_rate) {
            bail!(
                "--alert-rate must be between 0 and 1 (got {})",
                self.alert_rate
            );
        }
        if !(self.mean_gap_secs.is_finite() && self.mean_gap_secs > 0.0) {
            bail!(
                "--mean-gap-secs must be a positive number (got {})",
                self.mean_gap_secs
            );
        }
        if self.days * 86_400.0 < 10.0 * self.mean_gap_secs {
            bail!(
                "a window of --days {} holds fewer than 10 events at --mean-gap-secs {}; \
                 lengthen the window or shorten the gap",
                self.days,
                self.mean_gap_secs
            );
        }
        let expected_rows = self.sensors as f64 * self.days * 86_400.0 / self.mean_gap_secs;
        if expected_rows > 2e9 {
            bail!(
                "about {expected_rows:.0} rows would be written; lower --sensors or --days, or raise --mean-gap-secs"
            );
        }
        if self.truth_path() == self.out {
            bail!(
                "--truth and --out must be different files ({})",
                self.out.display()
            );
        }
        let requested: Vec<AnomalyKind> = if self.kinds.is_empty() {
            AnomalyKind::ALL.to_vec()
        } else {
            self.kinds.clone()
        };
        if let Some(kind) = self.kinds.iter().find(|k| k.min_features() > self.features) {
            bail!(
                "--kinds {kind} needs --features >= {} (got {})",
                kind.min_features(),
                self.features
            );
        }
        let mut kinds: Vec<AnomalyKind> = requested
            .into_iter()
            .filter(|k| k.min_features() <= self.features)
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        Ok(kinds)
    }

    /// The truth file: `--truth`, or `<out without .csv>.truth.csv`.
    pub fn truth_path(&self) -> PathBuf {
        if let Some(path) = &self.truth {
            return path.clone();
        }
        let name = self
            .out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.strip_suffix(".csv").unwrap_or(&name);
        self.out.with_file_name(format!("{stem}.truth.csv"))
    }
}

/// Parse `--start`: RFC 3339, or a naive `YYYY-MM-DD HH:MM:SS[.fff]` / `YYYY-MM-DDTHH:MM:SS[.fff]`
/// taken as UTC. Sub-millisecond digits are dropped.
fn parse_start(text: &str) -> Result<DateTime<Utc>, String> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
                .map(|t| t.and_utc())
        });
    let t = parsed.map_err(|_| {
        format!("expected a time like 2020-12-20T00:00:00Z or 2020-12-20 00:00:00, got {text:?}")
    })?;
    let year = chrono::Datelike::year(&t);
    if !(1900..=9000).contains(&year) {
        return Err(format!(
            "the start year must be between 1900 and 9000, got {year}"
        ));
    }
    DateTime::from_timestamp_millis(t.timestamp_millis())
        .ok_or_else(|| format!("{text:?} is out of range"))
}

/// `FILE.tmp` next to `FILE`.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SynthArgs,
    }

    fn args(extra: &[&str]) -> SynthArgs {
        let mut all = vec!["synth", "--out", "dir/data.csv"];
        all.extend_from_slice(extra);
        Cli::try_parse_from(all).unwrap().args
    }

    #[test]
    fn truth_path_defaults_next_to_the_output() {
        assert_eq!(args(&[]).truth_path(), PathBuf::from("dir/data.truth.csv"));
        assert_eq!(
            args(&["--truth", "t.csv"]).truth_path(),
            PathBuf::from("t.csv")
        );
        let mut a = args(&[]);
        a.out = PathBuf::from("events");
        assert_eq!(a.truth_path(), PathBuf::from("events.truth.csv"));
    }

    #[test]
    fn start_accepts_both_timestamp_styles() {
        let rfc = args(&["--start", "2021-03-01T06:30:00.250Z"]).start;
        let naive = args(&["--start", "2021-03-01 06:30:00.250"]).start;
        assert_eq!(rfc, naive);
        assert_eq!(rfc.timestamp_millis() % 1000, 250);
        assert!(
            parse_start("01/03/2021")
                .unwrap_err()
                .contains("01/03/2021")
        );
    }

    #[test]
    fn validation_names_the_bad_argument() {
        let cases: [(&[&str], &str); 6] = [
            (&["--sensors", "0"], "--sensors"),
            (&["--days", "-1"], "--days"),
            (&["--alert-rate", "NaN"], "--alert-rate"),
            (&["--mean-gap-secs", "inf"], "--mean-gap-secs"),
            (&["--days", "0.01"], "fewer than 10 events"),
            (&["--truth", "dir/data.csv"], "different files"),
        ];
        for (extra, needle) in cases {
            let message = args(extra).validate().unwrap_err().to_string();
            assert!(message.contains(needle), "{extra:?}: {message}");
        }
    }

    #[test]
    fn kinds_default_to_those_that_fit_the_features() {
        let one = args(&["--features", "1"]).validate().unwrap();
        assert!(!one.contains(&AnomalyKind::BrokenCorrelation) && one.len() == 5);
        assert_eq!(args(&[]).validate().unwrap(), AnomalyKind::ALL.to_vec());
        let some = args(&["--kinds", "stuck,drift,stuck"]).validate().unwrap();
        assert_eq!(some, vec![AnomalyKind::Drift, AnomalyKind::Stuck]);
    }
}

//! Every training hyper-parameter (`TrainConfig`, the library API) and the `train` command line
//! (`TrainArgs`), whose defaults are the same.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use telltale_core::WindowSpec;

/// How the supervised head deals with the rare positive class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum HeadMode {
    /// Train both variants and keep the one with the better validation AUC-PR.
    Auto,
    /// Binary cross-entropy with positives weighted by negatives / positives.
    Weighted,
    /// Balanced batches: positives and negatives drawn equally often (with replacement).
    Resample,
    /// No head, even when labels exist.
    None,
}

/// All settings of one training run. `Default` gives the command line's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Maximum epochs of stage 1 (and of the `latent_joint` ablation).
    pub epochs: usize,
    pub seed: u64,
    /// Encoder hidden size H.
    pub hidden: usize,
    /// Encoder LSTM layers.
    pub layers: usize,
    /// Latent decoder bottleneck k.
    pub latent_dim: usize,
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Epochs without validation improvement before stage 1 stops.
    pub patience: usize,
    pub validation_fraction: f64,
    pub test_fraction: f64,
    pub window: WindowSpec,
    /// Also train the seed's literal proposal (encoder + latent decoder trained jointly).
    pub latent_joint: bool,
    pub head: HeadMode,
    /// Hidden units of the head.
    pub head_units: usize,
    /// False-alarm rate for the threshold when validation has no positives.
    pub target_far: f64,
    /// Maximum epochs of stage 2 (latent decoder) and of each head; they stop after 20 epochs
    /// without improvement.
    pub latent_epochs: usize,
    pub head_epochs: usize,
    /// Threads for burn (rayon) and ONNX Runtime; `None` = all cores.
    pub threads: Option<usize>,
    /// Continue from `DIR/checkpoint/` instead of refusing an existing directory.
    pub resume: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// ONNX Runtime library for the export check (`None`: `ORT_DYLIB_PATH` or the repo's `.venv`).
    pub onnxruntime: Option<PathBuf>,
    /// The events file the data came from, recorded in the manifest's `data_summary`.
    pub events: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            seed: 42,
            hidden: 64,
            layers: 1,
            latent_dim: 8,
            batch_size: 64,
            lr: 1e-3,
            patience: 5,
            validation_fraction: 0.2,
            test_fraction: 0.0,
            // `WindowSpec::default()` is the format of the first models (what a manifest without
            // these fields means); new models get the command line's window preparation.
            window: WindowSpec {
                centering: telltale_core::window::Centering::DailyMedianMad,
                step_std: true,
                log_step_std: true,
                ..WindowSpec::default()
            },
            latent_joint: false,
            head: HeadMode::Auto,
            head_units: 16,
            target_far: 0.01,
            latent_epochs: 200,
            head_epochs: 200,
            threads: None,
            resume: false,
            quiet: false,
            onnxruntime: None,
            events: None,
        }
    }
}

impl TrainConfig {
    /// Reject settings that cannot train, naming the flag.
    pub fn validate(&self) -> anyhow::Result<()> {
        let check = |ok: bool, message: &str| {
            if ok {
                Ok(())
            } else {
                Err(anyhow::anyhow!("{message}"))
            }
        };
        check(self.epochs >= 1, "--epochs must be at least 1")?;
        check(self.hidden >= 1, "--hidden must be at least 1")?;
        check((1..=2).contains(&self.layers), "--layers must be 1 or 2")?;
        check(self.latent_dim >= 1, "--latent-dim must be at least 1")?;
        check(self.batch_size >= 1, "--batch-size must be at least 1")?;
        check(
            self.lr.is_finite() && self.lr > 0.0,
            "--lr must be a positive number",
        )?;
        check(self.patience >= 1, "--patience must be at least 1")?;
        check(
            (0.0..1.0).contains(&self.validation_fraction)
                && (0.0..1.0).contains(&self.test_fraction)
                && self.validation_fraction + self.test_fraction < 1.0,
            "--validation-fraction and --test-fraction must be in [0, 1) and leave windows to train on",
        )?;
        check(
            self.target_far > 0.0 && self.target_far < 1.0,
            "--target-far must be in (0, 1)",
        )?;
        check(self.threads != Some(0), "--threads must be at least 1")?;
        self.window
            .validate()
            .map_err(|e| anyhow::anyhow!("--window/--step: {e}"))
    }
}

/// Parse `10d`, `1h`, `30m`, `60s` or a plain number of seconds.
pub fn parse_duration_secs(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (expected e.g. 10d, 1h, 30m, 60s)"))?;
    let unit_secs = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use s, m, h or d)"
            ));
        }
    };
    let secs = (value * unit_secs).round();
    if !(1.0..1e12).contains(&secs) {
        return Err(format!("`{text}` must be at least one second"));
    }
    Ok(secs as i64)
}

/// `telltale-trainer train`: train the autoencoder (and the head when labels exist) and export
/// a model directory.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Events CSV in the seed's format (sensor_id, timestamp, features…, label).
    #[arg(long)]
    pub events: PathBuf,
    /// Model directory to write (must not exist unless --resume).
    #[arg(long)]
    pub out: PathBuf,
    /// Maximum epochs of the autoencoder stage.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Encoder hidden size (context size).
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Encoder LSTM layers (1 or 2).
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Latent decoder bottleneck size.
    #[arg(long, default_value_t = 8)]
    pub latent_dim: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Epochs without validation improvement before early stopping.
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// Share of sensors held out for early stopping, calibration and the threshold.
    #[arg(long, default_value_t = 0.2)]
    pub validation_fraction: f64,
    /// Share of sensors held out untouched for `evaluate` (listed in split.json).
    #[arg(long, default_value_t = 0.0)]
    pub test_fraction: f64,
    /// Window length (e.g. 10d).
    #[arg(long, default_value = "10d", value_parser = parse_duration_secs)]
    pub window: i64,
    /// Step length (e.g. 1h).
    #[arg(long, default_value = "1h", value_parser = parse_duration_secs)]
    pub step: i64,
    /// Per-window centring of the binned values before the global normaliser (`median-mad`:
    /// each feature minus its window median over its robust scale, so the model reads shape, not
    /// level; `none`: raw binned values).
    #[arg(long, value_enum, default_value_t = CenteringArg::DailyMedianMad)]
    pub centering: CenteringArg,
    /// Leave out the per-feature within-step standard deviation channels (on by default: they
    /// reveal variance bursts and stuck values that a step's mean hides).
    #[arg(long)]
    pub no_step_std: bool,
    /// Keep the step std channels as plain standard deviations instead of `ln(std + 1 % of the
    /// window's mean std)` (the log form makes a collapsed spread, such as a stuck sensor, stand
    /// out; plain std is the format of models trained before it).
    #[arg(long)]
    pub linear_step_std: bool,
    /// Also train the encoder and latent decoder jointly (the seed's literal proposal) as an
    /// ablation, exported to DIR/ablation_latent_joint/.
    #[arg(long)]
    pub latent_joint: bool,
    /// Supervised head on labelled windows.
    #[arg(long, value_enum, default_value_t = HeadMode::Auto)]
    pub head: HeadMode,
    /// Target false-alarm rate for the threshold when validation has no positives.
    #[arg(long, default_value_t = 0.01)]
    pub target_far: f64,
    /// Threads for training and ONNX Runtime (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Continue from DIR/checkpoint/.
    #[arg(long)]
    pub resume: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Label column (default: the column ending in `alert_label`, else `label`).
    #[arg(long)]
    pub label_column: Option<String>,
    /// Drop rows with bad values (counted) instead of failing on the first one.
    #[arg(long)]
    pub drop_bad_rows: bool,
    /// ONNX Runtime shared library used by the export check (the same flag as `evaluate` and
    /// the server; `--onnxruntime` is accepted too).
    #[arg(
        long = "ort-dylib",
        alias = "onnxruntime",
        value_name = "ORT_DYLIB",
        env = "ORT_DYLIB_PATH"
    )]
    pub onnxruntime: Option<PathBuf>,
}

/// `--centering` values (see [`telltale_core::window::Centering`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CenteringArg {
    /// Keep the binned values.
    None,
    /// Median / robust-scale centring per window.
    MedianMad,
    /// Per-time-of-day median / robust-scale centring per window.
    DailyMedianMad,
}

impl From<CenteringArg> for telltale_core::window::Centering {
    fn from(arg: CenteringArg) -> Self {
        match arg {
            CenteringArg::None => Self::None,
            CenteringArg::MedianMad => Self::MedianMad,
            CenteringArg::DailyMedianMad => Self::DailyMedianMad,
        }
    }
}

impl TrainArgs {
    /// The library configuration these flags describe.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            seed: self.seed,
            hidden: self.hidden,
            layers: self.layers,
            latent_dim: self.latent_dim,
            batch_size: self.batch_size,
            lr: self.lr,
            patience: self.patience,
            validation_fraction: self.validation_fraction,
            test_fraction: self.test_fraction,
            window: WindowSpec {
                length_secs: self.window,
                step_secs: self.step,
                centering: self.centering.into(),
                step_std: !self.no_step_std,
                log_step_std: !self.no_step_std && !self.linear_step_std,
            },
            latent_joint: self.latent_joint,
            head: self.head,
            target_far: self.target_far,
            threads: self.threads,
            resume: self.resume,
            quiet: self.quiet,
            onnxruntime: self.onnxruntime.clone(),
            events: Some(self.events.clone()),
            ..TrainConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_secs("10d"), Ok(864_000));
        assert_eq!(parse_duration_secs("1h"), Ok(3600));
        assert_eq!(parse_duration_secs("30m"), Ok(1800));
        assert_eq!(parse_duration_secs("45"), Ok(45));
        assert!(
            parse_duration_secs("1w")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration_secs("abc").is_err());
        assert!(parse_duration_secs("0s").is_err());
    }

    #[test]
    fn defaults_are_valid_and_bad_values_name_the_flag() {
        TrainConfig::default().validate().unwrap();
        let bad = TrainConfig {
            layers: 3,
            ..TrainConfig::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("--layers"));
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    #[test]
    fn library_defaults_are_the_command_lines() {
        use clap::Parser;
        let cli = Cli::try_parse_from(["train", "--events", "e.csv", "--out", "m"]).unwrap();
        let from_flags = TrainConfig {
            events: None,
            // Read from ORT_DYLIB_PATH when the test environment sets it.
            onnxruntime: None,
            ..cli.train.config()
        };
        assert_eq!(from_flags, TrainConfig::default());
    }
}

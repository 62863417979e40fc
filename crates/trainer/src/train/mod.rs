//! `telltale-trainer train`: the training stages (DESIGN §2) and the export of a model directory
//! (DESIGN §3).
//!
//! Library entry points: [`split_by_sensor`] and [`train_and_export`]; the command line is
//! [`TrainArgs`] + [`run`].

mod ablation;
pub mod autoencoder;
pub mod calibrate;
pub mod checkpoint;
pub mod config;
pub mod head;
pub mod history;
pub mod joint;
pub mod latent;
mod pipeline;
pub mod progress;

pub use crate::data::{Dataset, SplitRecord, split_by_sensor};
pub use ablation::{AblationOutcome, DIR_NAME as ABLATION_DIR};
pub use config::{HeadMode, TrainArgs, TrainConfig, parse_duration_secs};
pub use history::{EpochRecord, History, StageHistory};
pub use pipeline::{TrainOutcome, train_and_export};

use telltale_core::events::{ReadOptions, read_events_csv};

/// Run `telltale-trainer train`: read the events, split by sensor, train, export.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let config = args.config();
    config.validate()?;
    let options = ReadOptions {
        label_column: args.label_column.clone(),
        drop_bad_rows: args.drop_bad_rows,
    };
    let file = read_events_csv(&args.events, &options)?;
    let progress = progress::Progress::new(config.quiet);
    let report = &file.report;
    progress.note(&format!(
        "{}: {} rows, {} windows, features {:?}, label column {}",
        args.events.display(),
        report.rows,
        file.windows.len(),
        file.feature_names,
        file.label_column
            .as_deref()
            .unwrap_or("(none: all windows treated as normal)")
    ));
    if report.duplicate_rows > 0 {
        eprintln!(
            "warning: {} rows repeated a (sensor, timestamp); the last one was kept",
            report.duplicate_rows
        );
    }
    if report.dropped_rows > 0 {
        eprintln!(
            "warning: dropped {} rows with bad values, e.g. {:?}",
            report.dropped_rows, report.drop_examples
        );
    }
    let data = split_by_sensor(
        file,
        config.validation_fraction,
        config.test_fraction,
        config.seed,
    );
    progress.note(&format!(
        "split by sensor: {} train, {} validation, {} test windows",
        data.train.len(),
        data.validation.len(),
        data.test.len()
    ));
    train_and_export(&data, &config, &args.out)?;
    Ok(())
}

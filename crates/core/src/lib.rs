//! The Telltale data contract, shared by the trainer, the scorer and the server.
//!
//! Everything that decides what a "window of sensor events" is lives here, so training and
//! serving can never disagree about it (DESIGN §1). This crate does no I/O beyond reading CSV and
//! never depends on ONNX Runtime, burn or axum.

pub mod error;
pub mod events;
pub mod manifest;
pub mod metrics;
pub mod normalize;
pub mod scoring;
pub mod window;

pub use error::{DataError, Location};
pub use events::{
    Event, EventsFile, LongSeries, LongSeriesOptions, ReadOptions, ReadReport, SensorWindow,
    parse_timestamp, read_events, read_events_csv, read_long_series,
};
pub use manifest::{MANIFEST_FORMAT_VERSION, Manifest};
pub use normalize::Normalizer;
pub use scoring::{Calibration, LogStats, ScorerKind};
pub use window::{BinnedWindow, WindowError, WindowSpec, bin_events};

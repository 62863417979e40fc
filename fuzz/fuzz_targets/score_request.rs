//! Arbitrary bytes as a `/score` (and `/score/batch`) JSON body: deserialise the server's request
//! types with serde_json and run the validation the handlers run, then bin a validated window as
//! the inference worker does. Nothing may panic, and a window that passes validation must bin.

#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_core::window::Centering;
use telltale_core::{WindowSpec, bin_events};
use telltale_server::Limits;
use telltale_server::schema::{BatchScoreRequest, ScoreRequest};
use telltale_server::validate::{self, Errors, FeatureReader};

/// The feature names of the models the tests train (`telltale-trainer synth --features 2`).
const FEATURES: [&str; 2] = ["feature_1", "feature_2"];

fuzz_target!(|data: &[u8]| {
    let names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    let reader = FeatureReader::new(&names);
    let limits = Limits::default();
    if let Ok(request) = serde_json::from_slice::<ScoreRequest>(data) {
        check_window(&request, &reader, &limits, "");
    }
    if let Ok(batch) = serde_json::from_slice::<BatchScoreRequest>(data) {
        for (i, window) in batch.windows.iter().enumerate() {
            check_window(window, &reader, &limits, &format!("windows[{i}]"));
        }
    }
});

/// Validate one window as `POST /score` does; bin it when valid, with the default spec and with
/// the spec of a model trained with daily centring and step std channels.
fn check_window(request: &ScoreRequest, reader: &FeatureReader<'_>, limits: &Limits, path: &str) {
    let plain = WindowSpec::default();
    let mut errors = Errors::default();
    let window = validate::window(request, reader, &plain, limits, path, &mut errors);
    let valid = errors.is_empty();
    match errors.finish(window) {
        Ok(Some(window)) => {
            assert!(valid);
            let centred = WindowSpec {
                centering: Centering::DailyMedianMad,
                step_std: true,
                log_step_std: true,
                ..plain
            };
            for spec in [plain, centred] {
                match bin_events(&window.events, FEATURES.len(), &spec, window.end) {
                    Ok(binned) => {
                        assert!(binned.len >= 1 && binned.len <= spec.max_steps());
                        assert!(binned.data.iter().all(|v| v.is_finite()));
                    }
                    Err(error) => panic!("a validated window does not bin: {error}"),
                }
            }
        }
        Ok(None) => {
            panic!("validation gave neither a window nor an error (the handler answers 500)")
        }
        Err(error) => {
            assert!(!valid);
            drop(error.to_string());
        }
    }
}

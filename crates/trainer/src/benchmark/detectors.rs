//! Detectors the SKAB protocol can run. Each gets one run's windows (one per scored row, in row
//! order, the first `n_fit` of them ending inside the fit part) and returns one raw score per
//! window; the protocol turns scores into decisions.

use anyhow::Context;
use telltale_core::window::bin_events;
use telltale_core::{BinnedWindow, Normalizer, SensorWindow, WindowSpec};

use crate::baseline::SummaryBaseline;

/// Which model scores the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// Telltale's LSTM autoencoder, trained per run, scored through the exported ONNX graphs.
    Lstm,
    /// The non-neural summary-statistics baseline (`baseline_summary`).
    Summary,
}

impl std::fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Lstm => "lstm",
            Self::Summary => "summary",
        })
    }
}

/// Bin every window with `spec`. An error names the window's end row.
pub fn bin_windows(
    windows: &[SensorWindow],
    n_features: usize,
    spec: &WindowSpec,
) -> anyhow::Result<Vec<BinnedWindow>> {
    windows
        .iter()
        .map(|w| {
            bin_events(&w.events, n_features, spec, None).with_context(|| {
                format!(
                    "{}: window ending at row {}",
                    w.sensor_id,
                    w.window_id.as_deref().unwrap_or("?")
                )
            })
        })
        .collect()
}

/// `baseline_summary` on one run: normalise with statistics of the fit windows, fit the summary
/// baseline on them, score every window.
pub fn summary_scores(
    windows: &[SensorWindow],
    n_fit: usize,
    n_features: usize,
    spec: &WindowSpec,
) -> anyhow::Result<Vec<f32>> {
    let mut binned = bin_windows(windows, n_features, spec)?;
    let normalizer = Normalizer::fit(&binned[..n_fit]);
    for w in &mut binned {
        normalizer.apply(w);
    }
    let baseline = SummaryBaseline::fit(&binned[..n_fit])?;
    baseline.score_all(&binned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use telltale_core::Event;

    fn window(end: i64, level: f32) -> SensorWindow {
        let t0 = Utc.with_ymd_and_hms(2020, 3, 9, 10, 0, 0).unwrap();
        SensorWindow {
            sensor_id: "run".into(),
            window_id: Some(end.to_string()),
            label: None,
            events: (end - 4..=end)
                .map(|s| Event {
                    timestamp: t0 + Duration::seconds(s),
                    features: vec![level + (s % 2) as f32 * 0.1, 1.0],
                })
                .collect(),
        }
    }

    #[test]
    fn summary_detector_scores_a_level_shift_higher() {
        let spec = WindowSpec {
            length_secs: 5,
            step_secs: 1,
            centering: telltale_core::window::Centering::None,
            step_std: false,
            log_step_std: false,
        };
        let mut windows: Vec<SensorWindow> = (10..40).map(|e| window(e, 0.0)).collect();
        windows.push(window(40, 5.0));
        let scores = summary_scores(&windows, 30, 2, &spec).unwrap();
        assert_eq!(scores.len(), 31);
        let max_fit = scores[..30].iter().copied().fold(0.0, f32::max);
        assert!(
            scores[30] > 5.0 * max_fit.max(0.1),
            "shift {} vs fit max {max_fit}",
            scores[30]
        );
    }
}

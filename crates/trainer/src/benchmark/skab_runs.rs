//! Reading SKAB runs in place and turning scores into point decisions.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::Duration;
use telltale_core::SensorWindow;
use telltale_core::events::{LongSeriesOptions, read_long_series};
use telltale_core::metrics::Confusion;

/// Rows each run is fitted on (the protocol's number).
pub const FIT_ROWS: usize = 400;
/// Run folders, in the order runs are processed.
pub const GROUPS: [&str; 3] = ["valve1", "valve2", "other"];

/// The run files under `data`, in protocol order (valve1, valve2, other; numeric within each).
pub fn list_runs(data: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !data.is_dir() {
        bail!(
            "--data {}: no such folder (expected SKAB's data folder)",
            data.display()
        );
    }
    let mut runs = Vec::new();
    for group in GROUPS {
        let dir = data.join(group);
        let entries = std::fs::read_dir(&dir)
            .with_context(|| format!("{}: cannot list the SKAB runs", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        let key = |p: &PathBuf| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            (stem.parse::<u64>().unwrap_or(u64::MAX), stem)
        };
        files.sort_by_key(key);
        runs.extend(files);
    }
    if runs.is_empty() {
        bail!(
            "{}: no SKAB runs found in {}",
            data.display(),
            GROUPS.join(", ")
        );
    }
    Ok(runs)
}

/// `group/name` of a run file, for messages and tables.
pub fn run_name(path: &Path) -> String {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let group = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    format!("{group}/{name}")
}

/// One run's windows: one per row from the first row with a full window on; the fit part's
/// windows are unlabelled (they are normal by the protocol), the others carry their row's label.
pub struct RunWindows {
    pub windows: Vec<SensorWindow>,
    /// Row of the first window.
    pub first_row: usize,
    /// The anomaly flag of every row.
    pub labels: Vec<bool>,
    pub feature_names: Vec<String>,
}

/// Read a run and cut one window (of `window_secs`) ending at every row that has a full one.
pub fn cut_run(path: &Path, window_secs: i64) -> anyhow::Result<RunWindows> {
    let series = read_long_series(path, &LongSeriesOptions::default())?;
    if series.len() <= FIT_ROWS {
        bail!(
            "{}: {} rows; the protocol needs more than {FIT_ROWS}",
            path.display(),
            series.len()
        );
    }
    let window = Duration::seconds(window_secs);
    let full_from = series.timestamps[0] + window - Duration::seconds(1);
    let first_row = series.timestamps.partition_point(|t| *t < full_from);
    if first_row + 10 > FIT_ROWS {
        bail!(
            "{}: a {window_secs} s window leaves too few fit rows",
            path.display()
        );
    }
    let windows = (first_row..series.len())
        .map(|row| {
            let mut w = series.window_ending_at(row, window);
            w.label = (row >= FIT_ROWS).then_some(series.anomaly[row]);
            w
        })
        .collect();
    Ok(RunWindows {
        windows,
        first_row,
        labels: series.anomaly.clone(),
        feature_names: series.feature_names.clone(),
    })
}

/// Decisions for rows `FIT_ROWS..`: a row is flagged when the `agree` consecutive windows ending
/// at it all score above `threshold`. `scores[i]` belongs to row `first_row + i`.
pub fn decisions(scores: &[f32], first_row: usize, threshold: f32, agree: usize) -> Vec<bool> {
    let rows = first_row + scores.len();
    (FIT_ROWS..rows)
        .map(|row| {
            (0..agree).all(|j| row >= first_row + j && scores[row - j - first_row] > threshold)
        })
        .collect()
}

/// Count decisions against the truth.
pub fn confusion(pred: &[bool], truth: &[bool]) -> Confusion {
    let mut c = Confusion::default();
    for (p, t) in pred.iter().zip(truth) {
        match (p, t) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    c
}

/// Add `b`'s counts to `a`.
pub fn add(a: &mut Confusion, b: Confusion) {
    a.tp += b.tp;
    a.fp += b.fp;
    a.tn += b.tn;
    a.fn_ += b.fn_;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_need_agreeing_windows() {
        // Rows 395..405 scored (first_row 395): rows 400.. are decided.
        let scores = [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 2.0, 2.0, 2.0];
        assert_eq!(
            decisions(&scores, 395, 1.0, 1),
            vec![true, false, true, true, true]
        );
        assert_eq!(
            decisions(&scores, 395, 1.0, 2),
            vec![false, false, false, true, true]
        );
        assert_eq!(
            decisions(&scores, 395, 1.0, 3),
            vec![false, false, false, false, true]
        );
    }

    #[test]
    fn confusion_counts_points() {
        let c = confusion(&[true, true, false, false], &[true, false, true, false]);
        assert_eq!((c.tp, c.fp, c.fn_, c.tn), (1, 1, 1, 1));
    }
}

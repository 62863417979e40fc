//! Per-window scores of every scorer on the evaluated windows: `scores.csv`, and the data the plots
//! are drawn from.

use std::path::Path;

use anyhow::{Context, bail};

/// One column per scorer, one row per evaluated window.
#[derive(Debug, Clone, Default)]
pub struct ScoreTable {
    pub sensor_ids: Vec<String>,
    pub window_ids: Vec<Option<String>>,
    pub labels: Vec<bool>,
    /// `(scorer name, raw scores)` in report order.
    pub columns: Vec<(String, Vec<f32>)>,
    /// Each scorer's threshold on its raw scale (a stored threshold is converted), for the
    /// histograms. Same order as `columns`.
    pub raw_thresholds: Vec<f32>,
    /// The calibrated score the server returns and its decision (default scorer).
    pub calibrated: Vec<f32>,
    pub is_anomaly: Vec<bool>,
}

impl ScoreTable {
    /// Add one scorer's column; its length must match the rows.
    pub fn push(&mut self, name: &str, scores: Vec<f32>, raw_threshold: f32) -> anyhow::Result<()> {
        if scores.len() != self.labels.len() {
            bail!(
                "scorer {name}: {} scores for {} windows",
                scores.len(),
                self.labels.len()
            );
        }
        self.columns.push((name.to_string(), scores));
        self.raw_thresholds.push(raw_threshold);
        Ok(())
    }

    /// The raw scores of `name`, when present.
    pub fn column(&self, name: &str) -> Option<&[f32]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The raw-scale threshold of `name`, when present.
    pub fn raw_threshold(&self, name: &str) -> Option<f32> {
        self.columns
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| self.raw_thresholds[i])
    }

    /// Write `sensor_id,window_id,label,<scorers…>,score,is_anomaly`.
    pub fn write_csv(&self, path: &Path) -> anyhow::Result<()> {
        let mut w = csv::Writer::from_path(path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        let mut header = vec!["sensor_id".to_string(), "window_id".into(), "label".into()];
        header.extend(self.columns.iter().map(|(n, _)| n.clone()));
        header.extend(["score".to_string(), "is_anomaly".into()]);
        w.write_record(&header)?;
        for row in 0..self.labels.len() {
            let mut record = vec![
                self.sensor_ids[row].clone(),
                self.window_ids[row].clone().unwrap_or_default(),
                u8::from(self.labels[row]).to_string(),
            ];
            record.extend(self.columns.iter().map(|(_, v)| v[row].to_string()));
            record.push(self.calibrated[row].to_string());
            record.push(u8::from(self.is_anomaly[row]).to_string());
            w.write_record(&record)?;
        }
        w.flush()
            .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_one_column_per_scorer() {
        let mut t = ScoreTable {
            sensor_ids: vec!["a".into(), "b".into()],
            window_ids: vec![None, Some("w".into())],
            labels: vec![false, true],
            calibrated: vec![0.1, 0.99],
            is_anomaly: vec![false, true],
            ..ScoreTable::default()
        };
        t.push("latent", vec![0.5, 2.0], 1.0).unwrap();
        assert!(t.push("bad", vec![1.0], 1.0).is_err());
        assert_eq!(t.raw_threshold("latent"), Some(1.0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        t.write_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "sensor_id,window_id,label,latent,score,is_anomaly"
        );
        assert_eq!(lines[2], "b,w,1,2,0.99,1");
    }
}

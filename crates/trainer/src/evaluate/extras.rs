//! Extras computed from `synth`'s ground truth: detection per anomaly kind, and whether the
//! per-feature attribution points at the feature the anomaly was injected into.

use std::collections::{BTreeMap, HashMap};

use super::inputs::{TruthRow, is_normal_kind};
use super::summary::{AttributionStats, KindStats};

/// Share of windows flagged (by the default scorer's stored threshold) per ground-truth kind.
/// `synth` lists only alerting sensors, so an unlisted normal window counts as `none`; an unlisted
/// anomalous one as `unlisted`.
pub fn per_kind(
    sensor_ids: &[String],
    labels: &[bool],
    is_anomaly: &[bool],
    truth: &HashMap<String, TruthRow>,
) -> BTreeMap<String, KindStats> {
    let mut out: BTreeMap<String, KindStats> = BTreeMap::new();
    for ((id, label), flagged) in sensor_ids.iter().zip(labels).zip(is_anomaly) {
        let kind = match truth.get(id) {
            Some(t) if !is_normal_kind(&t.kind) => t.kind.as_str(),
            Some(_) => "none",
            None if *label => "unlisted",
            None => "none",
        };
        let entry = out.entry(kind.to_string()).or_insert(KindStats {
            windows: 0,
            flagged: 0,
            flagged_rate: 0.0,
        });
        entry.windows += 1;
        entry.flagged += usize::from(*flagged);
    }
    for stats in out.values_mut() {
        stats.flagged_rate = stats.flagged as f64 / stats.windows as f64;
    }
    out
}

/// Top-feature attribution accuracy over anomalous windows whose affected features are known and
/// name model features. `None` when no such window exists or the model gives no per-feature errors.
pub fn attribution(
    sensor_ids: &[String],
    labels: &[bool],
    feature_errors: &[Vec<f32>],
    feature_names: &[String],
    truth: &HashMap<String, TruthRow>,
) -> Option<AttributionStats> {
    let mut windows = 0usize;
    let mut hits = 0usize;
    for ((id, label), errors) in sensor_ids.iter().zip(labels).zip(feature_errors) {
        let Some(row) = truth.get(id) else { continue };
        if !*label || is_normal_kind(&row.kind) || errors.len() != feature_names.len() {
            continue;
        }
        let affected: Vec<usize> = row
            .features
            .iter()
            .filter_map(|f| {
                feature_names.iter().position(|n| n == f).or_else(|| {
                    // Also accept 0-based indices.
                    f.parse::<usize>().ok().filter(|i| *i < feature_names.len())
                })
            })
            .collect();
        if affected.is_empty() {
            continue;
        }
        let top = errors
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)?;
        windows += 1;
        hits += usize::from(affected.contains(&top));
    }
    (windows > 0).then(|| AttributionStats {
        windows,
        top_feature_accuracy: hits as f64 / windows as f64,
        chance: 1.0 / feature_names.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> HashMap<String, TruthRow> {
        let row = |kind: &str, f: &[&str]| TruthRow {
            kind: kind.into(),
            features: f.iter().map(|s| s.to_string()).collect(),
        };
        HashMap::from([
            ("n".to_string(), row("none", &[])),
            ("s1".to_string(), row("spike", &["f2"])),
            ("s2".to_string(), row("spike", &["f1"])),
        ])
    }

    #[test]
    fn kinds_are_counted() {
        let ids: Vec<String> = ["n", "s1", "s2", "x", "y"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let labels = [false, true, true, false, true];
        let k = per_kind(&ids, &labels, &[true, true, false, false, true], &truth());
        assert_eq!((k["none"].windows, k["none"].flagged), (2, 1));
        assert_eq!(k["spike"].windows, 2);
        assert!((k["spike"].flagged_rate - 0.5).abs() < 1e-12);
        assert_eq!(k["unlisted"].windows, 1);
    }

    #[test]
    fn attribution_checks_the_top_feature() {
        let ids: Vec<String> = ["n", "s1", "s2"].iter().map(|s| s.to_string()).collect();
        let names = vec!["f1".to_string(), "f2".to_string()];
        // s1 (affected f2) has top error on f2: hit; s2 (affected f1) has top on f2: miss.
        let errors = vec![vec![1.0, 0.0], vec![0.1, 0.9], vec![0.2, 0.3]];
        let a = attribution(&ids, &[false, true, true], &errors, &names, &truth()).unwrap();
        assert_eq!(a.windows, 2);
        assert!((a.top_feature_accuracy - 0.5).abs() < 1e-12);
        assert!((a.chance - 0.5).abs() < 1e-12);
        assert!(attribution(&ids, &[false; 3], &errors, &names, &truth()).is_none());
    }
}

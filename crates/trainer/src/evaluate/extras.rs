//! Extras computed from `synth`'s ground truth: detection per anomaly kind, whether the
//! per-feature attribution points at the feature the anomaly was injected into, and whether the
//! peak stretch points at when it happened.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::inputs::{TruthRow, is_normal_kind};
use super::scoring::Located;
use super::summary::{AttributionStats, KindStats, LocalisationStats};

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

/// How often the peak stretch of an anomalous window overlaps the ground truth's segment, over
/// windows that have both. `None` when there are none (no segments in the truth, or a default
/// scorer without a peak stretch).
pub fn localisation(
    sensor_ids: &[String],
    labels: &[bool],
    located: &[Located],
    truth: &HashMap<String, TruthRow>,
) -> Option<LocalisationStats> {
    let mut windows = 0usize;
    let mut hits = 0usize;
    let mut chance = 0.0f64;
    for ((id, label), at) in sensor_ids.iter().zip(labels).zip(located) {
        let (Some(row), Some(peak)) = (truth.get(id), at.peak) else {
            continue;
        };
        let Some(segment) = row.span.filter(|_| *label && !is_normal_kind(&row.kind)) else {
            continue;
        };
        windows += 1;
        hits += usize::from(peak.0 < segment.1 && peak.1 > segment.0);
        chance += random_overlap(at.window, peak.1 - peak.0, segment);
    }
    (windows > 0).then(|| LocalisationStats {
        windows,
        peak_overlap_rate: hits as f64 / windows as f64,
        chance: chance / windows as f64,
    })
}

/// Probability that a stretch of `length` placed uniformly inside `window` overlaps `segment`.
fn random_overlap(
    window: (DateTime<Utc>, DateTime<Utc>),
    length: chrono::Duration,
    segment: (DateTime<Utc>, DateTime<Utc>),
) -> f64 {
    let secs = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
    let room = secs(window.1 - window.0) - secs(length);
    if room <= 0.0 {
        return 1.0;
    }
    // Starts s in [window.0, window.1 - length] overlap when segment.0 - length < s < segment.1.
    let lo = secs(segment.0 - window.0) - secs(length);
    let hi = secs(segment.1 - window.0);
    ((hi.min(room) - lo.max(0.0)) / room).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> HashMap<String, TruthRow> {
        let row = |kind: &str, f: &[&str]| TruthRow {
            kind: kind.into(),
            features: f.iter().map(|s| s.to_string()).collect(),
            span: None,
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

    #[test]
    fn localisation_checks_overlap_against_chance() {
        use chrono::TimeZone;
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let h = |n: i64| t0 + chrono::Duration::hours(n);
        let mut truth = truth();
        for id in ["s1", "s2"] {
            truth.get_mut(id).unwrap().span = Some((h(100), h(124)));
        }
        let ids: Vec<String> = ["n", "s1", "s2", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let at = |peak: Option<(i64, i64)>| Located {
            window: (h(0), h(240)),
            peak: peak.map(|(a, b)| (h(a), h(b))),
        };
        let located = [
            at(Some((110, 134))), // normal: not counted
            at(Some((120, 144))), // overlaps 100..124
            at(Some((124, 148))), // touches the end only: a miss
            at(Some((0, 24))),    // not in the truth: not counted
        ];
        let labels = [false, true, true, true];
        let l = localisation(&ids, &labels, &located, &truth).unwrap();
        assert_eq!(l.windows, 2);
        assert!((l.peak_overlap_rate - 0.5).abs() < 1e-12);
        // A 24 h stretch in 240 h overlaps 100..124 when it starts in (76, 124): 48 of 216 h.
        assert!((l.chance - 48.0 / 216.0).abs() < 1e-9, "{}", l.chance);
        // No peak stretches (another default scorer): nothing to report.
        let none = [at(None), at(None), at(None), at(None)];
        assert!(localisation(&ids, &labels, &none, &truth).is_none());
        // Edges: a segment at the window's start, and a stretch as long as the window.
        let edge = random_overlap((h(0), h(240)), chrono::Duration::hours(24), (h(0), h(6)));
        assert!((edge - 6.0 / 216.0).abs() < 1e-9, "{edge}");
        let whole = random_overlap((h(0), h(24)), chrono::Duration::hours(24), (h(3), h(4)));
        assert_eq!(whole, 1.0);
    }
}

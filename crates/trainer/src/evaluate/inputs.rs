//! Files `evaluate` reads beside the events and the model: the split (`split.json`), the synthetic
//! ground truth (`<events>.truth.csv`) and the choice of data the summary baseline is fitted on.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::Value;
use telltale_core::events::parse_timestamp;

/// File name of the split the trainer writes into the model directory.
pub const SPLIT_FILE: &str = "split.json";

/// Which part of the model's split a window's sensor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Train,
    Validation,
    Test,
    /// Not named by the split (another file, or no split known).
    Outside,
}

/// Sensor ids per split, as the trainer recorded them.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub train: HashSet<String>,
    pub validation: HashSet<String>,
    pub test: HashSet<String>,
}

impl Split {
    /// Read `model_dir/split.json`; `Ok(None)` when the file does not exist. Accepts
    /// `{"train": [...], "validation"|"val": [...], "test": [...]}` with string or numeric ids.
    pub fn load(model_dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = model_dir.join(SPLIT_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the split", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not valid JSON", path.display()))?;
        let ids = |keys: &[&str]| -> anyhow::Result<HashSet<String>> {
            let Some(list) = keys.iter().find_map(|k| value.get(*k)) else {
                return Ok(HashSet::new());
            };
            let Some(items) = list.as_array() else {
                bail!(
                    "{}: `{}` must be a list of sensor ids",
                    path.display(),
                    keys[0]
                );
            };
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => bail!("{}: sensor id {other} is not a string", path.display()),
                })
                .collect()
        };
        Ok(Some(Self {
            train: ids(&["train"])?,
            validation: ids(&["validation", "val", "valid"])?,
            test: ids(&["test"])?,
        }))
    }

    /// The role of `sensor_id` in this split.
    pub fn role(&self, sensor_id: &str) -> Role {
        if self.test.contains(sensor_id) {
            Role::Test
        } else if self.validation.contains(sensor_id) {
            Role::Validation
        } else if self.train.contains(sensor_id) {
            Role::Train
        } else {
            Role::Outside
        }
    }
}

/// What the synthetic generator says about one sensor: the anomaly kind (`none` for normal ones),
/// the features the anomaly was injected into and, when the file has `start` and `end` columns,
/// when it was.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRow {
    pub kind: String,
    pub features: Vec<String>,
    pub span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Where `synth` puts the ground truth for `events`: `name.truth.csv` beside `name.csv`, or
/// `name.csv.truth.csv`. `None` when neither exists.
pub fn truth_path(events: &Path) -> Option<PathBuf> {
    let beside = events.with_extension("truth.csv");
    let mut appended = events.as_os_str().to_owned();
    appended.push(".truth.csv");
    [beside, PathBuf::from(appended)]
        .into_iter()
        .find(|p| p.is_file())
}

/// Read a ground-truth sidecar: a CSV with a `sensor_id` column, an anomaly kind column (`kind` or
/// `anomaly_kind`) and optionally the affected feature(s) (`feature`, `features`,
/// `affected_feature` or `affected_features`; several separated by `|`, `;` or spaces) and the
/// anomalous segment (`start`, `end`: timestamps as in events files; empty for normal sensors).
pub fn read_truth(path: &Path) -> anyhow::Result<HashMap<String, TruthRow>> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("{shown}: cannot read the ground truth"))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{shown}: no header"))?
        .clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let Some(id_col) = find(&["sensor_id"]) else {
        bail!("{shown}:1: the ground truth needs a `sensor_id` column");
    };
    let Some(kind_col) = find(&["kind", "anomaly_kind"]) else {
        bail!("{shown}:1: the ground truth needs a `kind` column");
    };
    let feature_col = find(&[
        "feature",
        "features",
        "affected_feature",
        "affected_features",
    ]);
    let span_cols = find(&["start"]).zip(find(&["end"]));
    let mut out = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{shown}:{}: bad CSV row", i + 2))?;
        let field = |c: usize| record.get(c).unwrap_or("").trim().to_string();
        let time = |c: usize| -> anyhow::Result<Option<DateTime<Utc>>> {
            let text = field(c);
            if text.is_empty() {
                return Ok(None);
            }
            let name = &headers[c];
            parse_timestamp(&text)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{shown}:{}: field `{name}`: {e}", i + 2))
        };
        let span = match span_cols {
            Some((s, e)) => time(s)?.zip(time(e)?),
            None => None,
        };
        let features = feature_col
            .map(|c| {
                field(c)
                    .split(['|', ';', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            field(id_col),
            TruthRow {
                kind: field(kind_col),
                features,
                span,
            },
        );
    }
    Ok(out)
}

/// Whether a ground-truth kind means "no anomaly injected".
pub fn is_normal_kind(kind: &str) -> bool {
    matches!(kind.to_ascii_lowercase().as_str(), "" | "none" | "normal")
}

/// The training events file the trainer recorded in the manifest's `data_summary`, when it names
/// one that still exists.
pub fn recorded_training_file(data_summary: &Value) -> Option<PathBuf> {
    [
        "events_file",
        "events",
        "events_path",
        "train_events",
        "path",
        "source",
    ]
    .iter()
    .filter_map(|k| data_summary.get(*k).and_then(Value::as_str))
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_accepts_val_alias_and_numeric_ids() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SPLIT_FILE),
            r#"{"train": ["a", 7], "val": ["b"], "test": ["c"]}"#,
        )
        .unwrap();
        let split = Split::load(dir.path()).unwrap().unwrap();
        assert_eq!(split.role("7"), Role::Train);
        assert_eq!(split.role("b"), Role::Validation);
        assert_eq!(split.role("c"), Role::Test);
        assert_eq!(split.role("zzz"), Role::Outside);
        assert!(Split::load(&dir.path().join("missing")).unwrap().is_none());
    }

    #[test]
    fn truth_sidecar_is_found_and_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("data.csv");
        assert!(truth_path(&events).is_none());
        let truth = dir.path().join("data.truth.csv");
        std::fs::write(
            &truth,
            "sensor_id,kind,features\ns1,none,\ns2,spike,feature_1|feature_2\n",
        )
        .unwrap();
        assert_eq!(truth_path(&events).as_deref(), Some(truth.as_path()));
        let rows = read_truth(&truth).unwrap();
        assert!(is_normal_kind(&rows["s1"].kind));
        assert_eq!(rows["s2"].features, vec!["feature_1", "feature_2"]);
    }

    #[test]
    fn truth_without_kind_column_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "sensor_id,label\ns1,0\n").unwrap();
        let err = read_truth(&path).unwrap_err().to_string();
        assert!(err.contains("t.csv:1") && err.contains("kind"), "{err}");
    }
}

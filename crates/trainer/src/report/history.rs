//! Reading the trainer's `history.json` (per-stage, per-epoch train and validation loss) for the
//! loss-curve plot. The reader accepts the shapes a per-stage history naturally takes, so the plot
//! survives small changes to the trainer's format:
//! - `{"stages": [{"name": S, "epochs": [{"train_loss": x, "val_loss": y}, …]}, …]}`
//! - `{"stages": [{"name": S, "train_loss": [...], "val_loss": [...]}]}`
//! - the same keyed by stage name (`{"sequence": {...}, "latent": [...]}`), with or without `stages`
//! - a flat list of epoch records that each carry a `stage`.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// File name of the history inside a model directory.
pub const HISTORY_FILE: &str = "history.json";

/// Loss per epoch of one training stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageHistory {
    pub name: String,
    pub train: Vec<f64>,
    /// `None` for epochs without a validation loss.
    pub val: Vec<Option<f64>>,
    /// Mean per-dimension context variance per epoch, where the stage records it (the
    /// `latent_joint` ablation); empty otherwise.
    pub context_variance: Vec<Option<f64>>,
}

const TRAIN_KEYS: [&str; 4] = ["train_loss", "train", "train_losses", "loss"];
const VAL_KEYS: [&str; 5] = [
    "val_loss",
    "val",
    "validation_loss",
    "val_losses",
    "valid_loss",
];
const NAME_KEYS: [&str; 3] = ["name", "stage", "id"];

fn first<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| v.get(*k))
}

/// An epoch record `{"train_loss": x, "val_loss": y}` → (train, val).
fn record(v: &Value) -> Option<(f64, Option<f64>)> {
    let train = first(v, &TRAIN_KEYS)?.as_f64()?;
    Some((train, first(v, &VAL_KEYS).and_then(Value::as_f64)))
}

fn stage_body(name: String, body: &Value) -> Option<StageHistory> {
    let records = match body {
        Value::Array(items) => Some(items.as_slice()),
        Value::Object(_) => body
            .get("epochs")
            .and_then(Value::as_array)
            .map(Vec::as_slice),
        _ => None,
    };
    if let Some(items) = records {
        let parsed: Vec<(f64, Option<f64>)> = items.iter().filter_map(record).collect();
        if parsed.is_empty() {
            return None;
        }
        let context_variance = if items.iter().any(|i| i.get("context_variance").is_some()) {
            items
                .iter()
                .map(|i| i.get("context_variance").and_then(Value::as_f64))
                .collect()
        } else {
            Vec::new()
        };
        let (train, val) = parsed.into_iter().unzip();
        return Some(StageHistory {
            name,
            train,
            val,
            context_variance,
        });
    }
    let train: Vec<f64> = first(body, &TRAIN_KEYS)?
        .as_array()?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let val = first(body, &VAL_KEYS)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Value::as_f64).collect())
        .unwrap_or_default();
    (!train.is_empty()).then_some(StageHistory {
        name,
        train,
        val,
        context_variance: Vec::new(),
    })
}

/// Parse a history value; stages that cannot be read are skipped.
pub fn parse_history(value: &Value) -> Vec<StageHistory> {
    let root = value.get("stages").unwrap_or(value);
    match root {
        Value::Object(map) => map
            .iter()
            .filter_map(|(name, body)| stage_body(name.clone(), body))
            .collect(),
        Value::Array(items) => {
            let is_flat = items.iter().all(|i| record(i).is_some());
            if is_flat {
                let mut stages: Vec<StageHistory> = Vec::new();
                for item in items {
                    let name = first(item, &NAME_KEYS)
                        .and_then(Value::as_str)
                        .unwrap_or("training")
                        .to_string();
                    let (train, val) = record(item).unwrap_or((f64::NAN, None));
                    match stages.iter_mut().find(|s| s.name == name) {
                        Some(s) => {
                            s.train.push(train);
                            s.val.push(val);
                        }
                        None => stages.push(StageHistory {
                            name,
                            train: vec![train],
                            val: vec![val],
                            context_variance: Vec::new(),
                        }),
                    }
                }
                stages
            } else {
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        let name = first(item, &NAME_KEYS)
                            .and_then(Value::as_str)
                            .map_or_else(|| format!("stage {}", i + 1), str::to_string);
                        stage_body(name, item)
                    })
                    .collect()
            }
        }
        _ => Vec::new(),
    }
}

/// Read `dir/history.json`; `Ok(None)` when it does not exist.
pub fn load_history(dir: &Path) -> anyhow::Result<Option<Vec<StageHistory>>> {
    let path = dir.join(HISTORY_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    Ok(Some(parse_history(&value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_with_epoch_records() {
        let v = json!({"stages": [
            {"name": "sequence", "epochs": [
                {"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "context_variance": 0.5},
                {"epoch": 2, "train_loss": 1.0, "val_loss": null, "context_variance": 0.01}]},
            {"name": "latent", "train_loss": [0.5, 0.25], "val_loss": [0.6, 0.3]}
        ]});
        let h = parse_history(&v);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].name, "sequence");
        assert_eq!(h[0].train, vec![2.0, 1.0]);
        assert_eq!(h[0].val, vec![Some(2.5), None]);
        assert_eq!(h[0].context_variance, vec![Some(0.5), Some(0.01)]);
        assert!(h[1].context_variance.is_empty());
        assert_eq!(h[1].val, vec![Some(0.6), Some(0.3)]);
    }

    #[test]
    fn keyed_by_stage_and_flat_records() {
        let keyed =
            json!({"sequence": [{"train": 1.0, "val": 1.5}], "head": {"train_loss": [0.7]}});
        let h = parse_history(&keyed);
        assert_eq!(
            h.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["head", "sequence"]
        );
        let flat = json!([
            {"stage": "a", "train_loss": 3.0}, {"stage": "a", "train_loss": 2.0},
            {"stage": "b", "train_loss": 1.0, "val_loss": 1.1}
        ]);
        let h = parse_history(&flat);
        assert_eq!(h[0].train, vec![3.0, 2.0]);
        assert_eq!(h[1].val, vec![Some(1.1)]);
        assert!(parse_history(&json!(42)).is_empty());
    }
}

//! `telltale-trainer benchmark skab` on a bounded subset of the real SKAB data (read in place from
//! the shared data folder; skipped with a notice when that folder is absent).

use std::path::PathBuf;

use clap::Parser;
use serde_json::Value;
use telltale_trainer::benchmark::{self, BenchmarkCommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: BenchmarkCommand,
}

fn skab_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/skab");
    if dir.join("valve1").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: {} is absent; skipping the SKAB benchmark test",
            dir.display()
        );
        None
    }
}

fn ort_dylib() -> String {
    std::env::var("ORT_DYLIB_PATH").unwrap_or_else(|_| {
        format!(
            "{}/../../.venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1",
            env!("CARGO_MANIFEST_DIR")
        )
    })
}

fn run(extra: &[&str]) -> Option<(Value, String)> {
    let data = skab_dir()?;
    let out = tempfile::tempdir().unwrap();
    let mut argv = vec![
        "benchmark".to_string(),
        "skab".into(),
        "--data".into(),
        data.display().to_string(),
        "--out".into(),
        out.path().display().to_string(),
        "--runs".into(),
        "2".into(),
        "--ort-dylib".into(),
        ort_dylib(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    let cli = Cli::parse_from(argv);
    benchmark::run(&cli.command).expect("benchmark skab");
    let json = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let points = std::fs::read_to_string(out.path().join("points.csv")).unwrap();
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        points.lines().count() as u64,
        report["points"].as_u64().unwrap() + 1
    );
    Some((report, md))
}

fn check_schema(report: &Value) {
    for key in ["f1", "far", "mar"] {
        let x = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number"));
        assert!((0.0..=1.0).contains(&x), "{key} = {x}");
    }
    assert_eq!(report["runs"], 2);
    // valve1/0 and valve1/1 have 1147 and 1145 rows: all but the 400 fit rows are scored.
    assert_eq!(report["points"], 747 + 745);
    assert_eq!(report["per_run"].as_array().unwrap().len(), 2);
    let anomalous: u64 = report["per_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["anomalous_points"].as_u64().unwrap())
        .sum();
    let share = report["anomalous_share"].as_f64().unwrap();
    assert!((share - anomalous as f64 / (747.0 + 745.0)).abs() < 1e-9);
    let flag_all = report["flag_all_f1"].as_f64().unwrap();
    assert!((flag_all - 2.0 * share / (1.0 + share)).abs() < 1e-9);
}

#[test]
fn lstm_on_two_runs() {
    let Some((report, md)) = run(&["--epochs", "3"]) else {
        return;
    };
    check_schema(&report);
    assert_eq!(report["detector"], "lstm");
    let baseline = report["summary_baseline"]["f1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&baseline));
    assert!(
        md.contains("Conv-AE") && md.contains("Telltale (lstm)"),
        "{md}"
    );
}

#[test]
fn summary_detector_on_two_runs() {
    let Some((report, md)) = run(&["--detector", "summary", "--agree", "2"]) else {
        return;
    };
    check_schema(&report);
    assert_eq!(report["detector"], "summary");
    assert_eq!(report["settings"]["agree"], 2);
    assert!(report.get("summary_baseline").is_none());
    assert!(md.contains("Isolation forest"));
}

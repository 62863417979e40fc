//! `telltale-trainer synth` through the real binary: file format, label share, determinism, the
//! truth sidecar, that every anomaly kind is really present in the data (and absent from normal
//! sensors), that plain summary statistics do not give the anomalies away, and argument errors.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDateTime;

const ALL_KINDS: [&str; 6] = [
    "level_shift",
    "variance_burst",
    "drift",
    "broken_correlation",
    "stuck",
    "frequency",
];

fn synth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telltale-trainer"))
        .arg("synth")
        .args(args)
        .output()
        .unwrap()
}

/// Run synth and insist it succeeded; returns (events path, truth path).
fn synth_ok(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let out = dir.join(format!("{name}.csv"));
    let mut all = vec!["--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = synth(&all);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "synth {all:?} failed: {stderr}");
    (out, dir.join(format!("{name}.truth.csv")))
}

fn ms(text: &str) -> i64 {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap_or_else(|e| panic!("bad timestamp {text:?}: {e}"))
        .and_utc()
        .timestamp_millis()
}

/// One sensor's rows as parsed from the events file.
#[derive(Debug, Default)]
struct Sensor {
    times: Vec<i64>,
    /// `values[feature][event]`
    values: Vec<Vec<f64>>,
    label: u8,
}

/// Parse the events file, checking that rows are grouped by sensor, time-sorted, one label each.
fn read_sensors(path: &Path) -> (Vec<String>, BTreeMap<u64, Sensor>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let n = header.len() - 3;
    let mut sensors: BTreeMap<u64, Sensor> = BTreeMap::new();
    let mut order = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let id: u64 = record[0].parse().unwrap();
        let t = ms(&record[1]);
        let label: u8 = record[n + 2].parse().unwrap();
        if order.last() != Some(&id) {
            assert!(
                !sensors.contains_key(&id),
                "rows of sensor {id} are not contiguous"
            );
            order.push(id);
        }
        let s = sensors.entry(id).or_insert_with(|| Sensor {
            values: vec![Vec::new(); n],
            label,
            ..Sensor::default()
        });
        assert!(
            s.times.last().is_none_or(|&last| last < t),
            "sensor {id}: times not increasing"
        );
        assert_eq!(s.label, label, "sensor {id} has two labels");
        s.times.push(t);
        for k in 0..n {
            s.values[k].push(record[k + 2].parse().unwrap());
        }
    }
    (header, sensors)
}

#[derive(Debug)]
struct Truth {
    sensor: u64,
    kind: String,
    start: i64,
    end: i64,
    features: Vec<usize>,
}

fn read_truth(path: &Path) -> Vec<Truth> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["sensor_id", "kind", "start", "end", "features", "magnitude"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let features = r[4]
                .split(';')
                .filter(|f| !f.is_empty())
                .map(|f| {
                    f.strip_prefix("feature_")
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                        - 1
                })
                .collect();
            Truth {
                sensor: r[0].parse().unwrap(),
                kind: r[1].to_string(),
                start: ms(&r[2]),
                end: ms(&r[3]),
                features,
            }
        })
        .collect()
}

#[test]
fn header_label_share_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (out, truth) = synth_ok(
        dir.path(),
        "data",
        &[
            "--sensors",
            "1000",
            "--seed",
            "1",
            "--mean-gap-secs",
            "1800",
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "sensor_id,timestamp,feature_1,feature_2,10_days_alert_label"
    );
    let second = text.lines().nth(1).unwrap();
    let fields: Vec<&str> = second.split(',').collect();
    assert_eq!(fields[0], "1");
    assert!(
        fields[1].starts_with("2020-12-20 ") && fields[1].len() == 23,
        "{second}"
    );
    assert!(
        fields[2].split('.').nth(1).is_some_and(|d| d.len() == 5),
        "{second}"
    );

    let (_, sensors) = read_sensors(&out);
    assert_eq!(
        sensors.keys().copied().collect::<Vec<_>>(),
        (1..=1000).collect::<Vec<_>>()
    );
    let labelled: BTreeSet<u64> = sensors
        .iter()
        .filter(|(_, s)| s.label == 1)
        .map(|(&id, _)| id)
        .collect();
    assert!(
        (40..=60).contains(&labelled.len()),
        "{} sensors alert",
        labelled.len()
    );
    assert_eq!(
        labelled.len(),
        50,
        "exactly round(1000 × 0.05) sensors alert"
    );
    let truth_ids: BTreeSet<u64> = read_truth(&truth).iter().map(|t| t.sensor).collect();
    assert_eq!(truth_ids, labelled);
    let window_end = ms("2020-12-30 00:00:00.000");
    for (id, s) in &sensors {
        assert!(
            s.times.len() > 100,
            "sensor {id} has only {} events",
            s.times.len()
        );
        assert!(
            ms("2020-12-20 00:00:00.000") <= s.times[0] && *s.times.last().unwrap() < window_end
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only the two output files remain: {leftovers:?}"
    );
}

#[test]
fn core_reads_the_file_back() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = synth_ok(
        dir.path(),
        "data",
        &[
            "--sensors",
            "1000",
            "--seed",
            "1",
            "--mean-gap-secs",
            "1800",
        ],
    );
    let file = telltale_core::events::read_events_csv(&out, &Default::default()).unwrap();
    assert_eq!(file.windows.len(), 1000);
    assert_eq!(file.feature_names, vec!["feature_1", "feature_2"]);
    assert_eq!(
        file.windows
            .iter()
            .filter(|w| w.label == Some(true))
            .count(),
        50
    );
    assert_eq!(file.report.duplicate_rows, 0);
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let args = |seed| {
        vec![
            "--sensors",
            "300",
            "--days",
            "2",
            "--features",
            "3",
            "--alert-rate",
            "0.2",
            "--seed",
            seed,
        ]
    };
    let (a, at) = synth_ok(dir.path(), "a", &args("5"));
    let (b, bt) = synth_ok(dir.path(), "b", &args("5"));
    let (c, ct) = synth_ok(dir.path(), "c", &args("6"));
    let read = |p: &PathBuf| std::fs::read(p).unwrap();
    assert!(
        read(&a) == read(&b) && read(&at) == read(&bt),
        "same seed must give the same bytes"
    );
    assert!(
        read(&a) != read(&c) && read(&at) != read(&ct),
        "another seed must give other bytes"
    );
}

#[test]
fn truth_rows_describe_the_alerting_sensors() {
    let dir = tempfile::tempdir().unwrap();
    let (out, truth) = synth_ok(
        dir.path(),
        "t",
        &[
            "--sensors",
            "400",
            "--alert-rate",
            "0.25",
            "--features",
            "3",
            "--seed",
            "9",
        ],
    );
    let (_, sensors) = read_sensors(&out);
    let truth = read_truth(&truth);
    assert_eq!(truth.len(), 100);
    let kinds: BTreeSet<&str> = truth.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ALL_KINDS.into_iter().collect(),
        "100 anomalies cover every kind"
    );
    for t in &truth {
        let s = &sensors[&t.sensor];
        assert_eq!(s.label, 1);
        assert!(
            s.times[0] < t.start && t.start < t.end && t.end < *s.times.last().unwrap(),
            "{t:?}"
        );
        let hours = (t.end - t.start) as f64 / 3.6e6;
        assert!((6.0..=48.0).contains(&hours), "{t:?}");
        match t.kind.as_str() {
            "frequency" => assert!(t.features.is_empty()),
            "broken_correlation" => assert!(!t.features.contains(&0) && t.features.len() <= 2),
            _ => assert!((1..=2).contains(&t.features.len()) && t.features.iter().all(|&k| k < 3)),
        }
    }
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.csv");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["--sensors", "0"], "--sensors"),
        (&["--alert-rate", "1.5"], "--alert-rate"),
        (&["--alert-rate", "-0.1"], "--alert-rate"),
        (&["--features", "0"], "--features"),
        (&["--days", "0"], "--days"),
        (&["--mean-gap-secs", "-3"], "--mean-gap-secs"),
        (
            &["--kinds", "broken_correlation", "--features", "1"],
            "--features >= 2",
        ),
        (&["--kinds", "spike"], "spike"),
        (&["--start", "yesterday"], "yesterday"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["--out", out];
        all.extend_from_slice(args);
        let output = synth(&all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr.contains(needle),
            "{args:?}: message should name {needle:?}: {stderr}"
        );
        assert!(!Path::new(out).exists() && !dir.path().join("bad.csv.tmp").exists());
    }
}

// ---- Are the anomalies really there? ----------------------------------------------------------

/// Hour of day (UTC) of a Unix-millisecond time.
fn hour(t: i64) -> usize {
    (t.rem_euclid(86_400_000) / 3_600_000) as usize
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn std(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len().max(1) as f64).sqrt()
}

fn corr(xs: &[f64], ys: &[f64]) -> f64 {
    let (mx, my) = (mean(xs), mean(ys));
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    cov / (xs.len() as f64 * std(xs) * std(ys)).max(1e-12)
}

/// Feature `k` minus the sensor's mean daily profile (hour-of-day means over `reference` events).
fn residuals(s: &Sensor, k: usize, reference: &[bool]) -> Vec<f64> {
    let (mut sum, mut count) = ([0.0; 24], [0.0; 24]);
    for (i, &t) in s.times.iter().enumerate().filter(|(i, _)| reference[*i]) {
        sum[hour(t)] += s.values[k][i];
        count[hour(t)] += 1.0;
    }
    s.times
        .iter()
        .enumerate()
        .map(|(i, &t)| s.values[k][i] - sum[hour(t)] / f64::max(count[hour(t)], 1.0))
        .collect()
}

/// How unusual segment `seg` of sensor `s` is for feature `k` (None: the kind acts on event times),
/// against the `reference` events. One statistic per kind; larger means more anomalous.
fn statistic(kind: &str, s: &Sensor, k: Option<usize>, seg: (i64, i64), reference: &[bool]) -> f64 {
    let inside: Vec<usize> = (0..s.times.len())
        .filter(|&i| seg.0 <= s.times[i] && s.times[i] < seg.1)
        .collect();
    let pick = |xs: &[f64], mask: &dyn Fn(usize) -> bool| -> Vec<f64> {
        xs.iter()
            .enumerate()
            .filter(|(i, _)| mask(*i))
            .map(|(_, &x)| x)
            .collect()
    };
    let in_seg = |i: usize| seg.0 <= s.times[i] && s.times[i] < seg.1;
    let is_ref = |i: usize| reference[i];
    let Some(k) = k else {
        // frequency: events per ms inside against the reference, on a log scale.
        let span = (s.times.last().unwrap() - s.times[0]) as f64;
        let ref_rate =
            reference.iter().filter(|&&r| r).count() as f64 / (span - (seg.1 - seg.0) as f64);
        let rate = inside.len().max(1) as f64 / (seg.1 - seg.0) as f64;
        return (rate / ref_rate).ln().abs();
    };
    let diffs = |mask: &dyn Fn(usize) -> bool| -> Vec<f64> {
        (1..s.times.len())
            .filter(|&i| mask(i) && mask(i - 1))
            .map(|i| s.values[k][i] - s.values[k][i - 1])
            .collect()
    };
    let res = residuals(s, k, reference);
    let scale = std(&pick(&res, &is_ref));
    match kind {
        "level_shift" => mean(&pick(&res, &in_seg)).abs() / scale,
        "drift" => {
            let last_third =
                |i: usize| 3 * (s.times[i] - seg.0) >= 2 * (seg.1 - seg.0) && in_seg(i);
            mean(&pick(&res, &last_third)).abs() / scale
        }
        "variance_burst" => std(&diffs(&in_seg)) / std(&diffs(&is_ref)),
        "stuck" => {
            let d = diffs(&in_seg);
            d.iter().filter(|&&x| x == 0.0).count() as f64 / d.len().max(1) as f64
        }
        "broken_correlation" => {
            let first = residuals(s, 0, reference);
            let c_ref = corr(&pick(&first, &is_ref), &pick(&res, &is_ref));
            let c_seg = corr(&pick(&first, &in_seg), &pick(&res, &in_seg));
            (c_ref - c_seg) * c_ref.signum()
        }
        other => panic!("unknown kind {other}"),
    }
}

/// Whether `seg` stands out from the other same-length segments of the sensor: its statistic
/// exceeds the 95th percentile of theirs (segments overlapping `exclude` or `seg` are skipped).
fn stands_out(
    kind: &str,
    s: &Sensor,
    features: &[usize],
    seg: (i64, i64),
    exclude: Option<(i64, i64)>,
) -> bool {
    let overlaps = |a: (i64, i64), b: (i64, i64)| a.0 < b.1 && b.0 < a.1;
    let outside = |seg: (i64, i64)| -> Vec<bool> {
        s.times
            .iter()
            .map(|&t| {
                !overlaps((t, t + 1), seg) && exclude.is_none_or(|e| !overlaps((t, t + 1), e))
            })
            .collect()
    };
    let channels: Vec<Option<usize>> = if features.is_empty() {
        vec![None]
    } else {
        features.iter().map(|&k| Some(k)).collect()
    };
    let stat = |seg: (i64, i64)| -> f64 {
        let reference = outside(seg);
        channels
            .iter()
            .map(|&k| statistic(kind, s, k, seg, &reference))
            .fold(f64::MIN, f64::max)
    };
    let length = seg.1 - seg.0;
    let mut nulls: Vec<f64> = (0..)
        .map(|j| s.times[0] + j * length / 2)
        .take_while(|&a| a + length <= *s.times.last().unwrap())
        .map(|a| (a, a + length))
        .filter(|&other| !overlaps(other, seg) && exclude.is_none_or(|e| !overlaps(other, e)))
        .map(stat)
        .collect();
    nulls.sort_by(f64::total_cmp);
    assert!(nulls.len() >= 4, "too few comparison segments");
    // The 95th percentile, or the maximum when there are fewer than 20 comparison segments.
    stat(seg) > nulls[(nulls.len() as f64 * 0.95).ceil() as usize - 1]
}

/// Plant only `kind`; returns the share of anomalies that stand out, and the share of normal
/// sensors whose same segment (same times, same features) stands out.
fn detection(kind: &str, seed: &str) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--sensors",
        "120",
        "--alert-rate",
        "0.5",
        "--kinds",
        kind,
        "--seed",
        seed,
        "--mean-gap-secs",
        "600",
    ];
    let (out, truth) = synth_ok(dir.path(), kind, &args);
    let (_, sensors) = read_sensors(&out);
    let truth = read_truth(&truth);
    assert!(truth.iter().all(|t| t.kind == kind));
    let hits = truth.iter().filter(|t| {
        let s = &sensors[&t.sensor];
        stands_out(
            kind,
            s,
            &t.features,
            (t.start, t.end),
            Some((t.start, t.end)),
        )
    });
    let hit_share = hits.count() as f64 / truth.len() as f64;
    let normals = sensors.values().filter(|s| s.label == 0);
    let false_hits = normals
        .zip(&truth)
        .filter(|(s, t)| stands_out(kind, s, &t.features, (t.start, t.end), None));
    (hit_share, false_hits.count() as f64 / truth.len() as f64)
}

fn assert_detectable(kind: &str, min_hit_share: f64) {
    let (hits, false_hits) = detection(kind, "21");
    eprintln!("{kind}: {hits:.2} of anomalies stand out, {false_hits:.2} of normal segments do");
    assert!(
        hits >= min_hit_share,
        "{kind}: only {hits:.2} of the anomalies stand out"
    );
    assert!(
        false_hits <= 0.2,
        "{kind}: {false_hits:.2} of normal segments stand out too"
    );
}

#[test]
fn level_shift_is_present() {
    assert_detectable("level_shift", 0.6);
}

#[test]
fn variance_burst_is_present() {
    assert_detectable("variance_burst", 0.6);
}

#[test]
fn drift_is_present() {
    assert_detectable("drift", 0.6);
}

#[test]
fn broken_correlation_is_present() {
    assert_detectable("broken_correlation", 0.6);
}

#[test]
fn stuck_is_present() {
    assert_detectable("stuck", 0.95);
}

#[test]
fn frequency_is_present() {
    assert_detectable("frequency", 0.6);
}

// ---- ...but not to plain summary statistics ---------------------------------------------------

/// Six statistics (mean, std, min, max, slope, mean of the last 10 %) of each hourly channel: every
/// feature's mean per hour (carried forward over empty hours), log1p(event count), and an "empty"
/// flag — the per-window summary a non-sequence baseline sees.
fn summary(s: &Sensor, start: i64, hours: usize) -> Vec<f64> {
    let n = s.values.len();
    let mut channels = vec![vec![0.0; hours]; n + 2];
    let (mut sums, mut counts) = (vec![vec![0.0; hours]; n], vec![0.0; hours]);
    for (i, &t) in s.times.iter().enumerate() {
        let h = ((t - start) / 3_600_000) as usize;
        counts[h] += 1.0;
        for (sum, values) in sums.iter_mut().zip(&s.values) {
            sum[h] += values[i];
        }
    }
    for h in 0..hours {
        for k in 0..n {
            let carried = if h > 0 {
                channels[k][h - 1]
            } else {
                s.values[k][0]
            };
            channels[k][h] = if counts[h] > 0.0 {
                sums[k][h] / counts[h]
            } else {
                carried
            };
        }
        channels[n][h] = f64::ln_1p(counts[h]);
        channels[n + 1][h] = f64::from(u8::from(counts[h] == 0.0));
    }
    let steps: Vec<f64> = (0..hours).map(|h| h as f64).collect();
    let tail = hours / 10;
    channels
        .iter()
        .flat_map(|c| {
            let slope = corr(&steps, c) * std(c) / std(&steps);
            let min = c.iter().copied().fold(f64::MAX, f64::min);
            let max = c.iter().copied().fold(f64::MIN, f64::max);
            [mean(c), std(c), min, max, slope, mean(&c[hours - tail..])]
        })
        .collect()
}

/// ROC-AUC of `scores` against `labels` (ties count half).
fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let pos: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(s, _)| *s)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| !**l)
        .map(|(s, _)| *s)
        .collect();
    let wins: f64 = pos
        .iter()
        .flat_map(|p| {
            neg.iter().map(move |n| {
                if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                }
            })
        })
        .sum();
    wins / (pos.len() * neg.len()) as f64
}

#[test]
fn summary_statistics_do_not_separate_the_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--sensors",
        "600",
        "--alert-rate",
        "0.1",
        "--seed",
        "4",
        "--mean-gap-secs",
        "600",
    ];
    let (out, truth) = synth_ok(dir.path(), "baseline", &args);
    let (_, sensors) = read_sensors(&out);
    let truth = read_truth(&truth);
    let start = ms("2020-12-20 00:00:00.000");
    let stats: Vec<Vec<f64>> = sensors.values().map(|s| summary(s, start, 240)).collect();
    let labels: Vec<bool> = sensors.values().map(|s| s.label == 1).collect();
    // Standardised distance to the normal windows' mean statistics.
    let normal: Vec<&Vec<f64>> = stats
        .iter()
        .zip(&labels)
        .filter(|(_, l)| !**l)
        .map(|(s, _)| s)
        .collect();
    let dims = stats[0].len();
    let centre: Vec<f64> = (0..dims)
        .map(|j| mean(&normal.iter().map(|s| s[j]).collect::<Vec<_>>()))
        .collect();
    let spread: Vec<f64> = (0..dims)
        .map(|j| std(&normal.iter().map(|s| s[j]).collect::<Vec<_>>()).max(1e-9))
        .collect();
    let scores: Vec<f64> = stats
        .iter()
        .map(|s| {
            (0..dims)
                .map(|j| ((s[j] - centre[j]) / spread[j]).powi(2))
                .sum::<f64>()
        })
        .collect();
    let auc = roc_auc(&scores, &labels);
    for kind in ALL_KINDS {
        let ids: BTreeSet<u64> = truth
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.sensor)
            .collect();
        let keep: Vec<bool> = sensors.keys().map(|id| ids.contains(id)).collect();
        let (s, l): (Vec<f64>, Vec<bool>) = scores
            .iter()
            .zip(&labels)
            .zip(&keep)
            .filter(|((_, l), k)| **k || !**l)
            .map(|((s, l), _)| (*s, *l))
            .unzip();
        eprintln!(
            "summary baseline ROC-AUC on {kind} ({} sensors): {:.3}",
            ids.len(),
            roc_auc(&s, &l)
        );
    }
    eprintln!("summary baseline ROC-AUC, all kinds: {auc:.3}");
    assert!(
        auc < 0.85,
        "plain summary statistics separate the anomalies too well (ROC-AUC {auc:.3})"
    );
}

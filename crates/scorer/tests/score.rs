//! `Scorer` on a real small model directory (graphs from `telltale-onnx`, hand-built manifest).

mod common;

use common::{CHANNELS, FEATURES, HIDDEN, STEPS, THRESHOLD};
use telltale_core::scoring;
use telltale_onnx::reference;
use telltale_scorer::{RuntimeOptions, Scorer, ScorerError, WindowScores};

fn open(dir: &std::path::Path) -> Scorer {
    common::init();
    Scorer::open(dir, &RuntimeOptions::default()).expect("open scorer")
}

fn close(a: f32, b: f32, tolerance: f32) -> bool {
    (a - b).abs() <= tolerance * (1.0 + a.abs().max(b.abs()))
}

fn assert_same(a: &WindowScores, b: &WindowScores, tolerance: f32) {
    let pairs = [
        ("score", a.score, b.score),
        ("latent_error", a.latent_error, b.latent_error),
        ("sequence_error", a.sequence_error, b.sequence_error),
        (
            "alert_probability",
            a.alert_probability.unwrap_or(0.0),
            b.alert_probability.unwrap_or(0.0),
        ),
    ];
    for (name, x, y) in pairs {
        assert!(close(x, y, tolerance), "{name}: {x} vs {y}");
    }
    assert_eq!(a.alert_probability.is_some(), b.alert_probability.is_some());
    assert_eq!(a.feature_errors.len(), b.feature_errors.len());
    assert_eq!(a.step_errors.len(), b.step_errors.len());
    for (x, y) in a.feature_errors.iter().zip(&b.feature_errors) {
        assert!(close(*x, *y, tolerance), "feature error {x} vs {y}");
    }
    for (x, y) in a.step_errors.iter().zip(&b.step_errors) {
        assert!(close(*x, *y, tolerance), "step error {x} vs {y}");
    }
}

#[test]
fn scores_are_finite_calibrated_and_attributed_per_feature() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, true, true);
    let mut scorer = open(dir.path());
    let mut rng = common::rng(1);
    let lengths = [1, STEPS, 5, 7, 3];
    let windows: Vec<_> = lengths
        .iter()
        .map(|&l| common::window(&mut rng, l, 0.0))
        .collect();
    let scores = scorer.score(&windows).expect("score");
    assert_eq!(scores.len(), windows.len());
    for (s, w) in scores.iter().zip(&windows) {
        assert!(
            (0.0..=1.0).contains(&s.score),
            "score {} outside [0, 1]",
            s.score
        );
        assert!(s.latent_error.is_finite() && s.latent_error >= 0.0);
        assert!(s.sequence_error.is_finite() && s.sequence_error > 0.0);
        let p = s.alert_probability.expect("model has a head");
        assert!(p > 0.0 && p < 1.0);
        assert_eq!(s.feature_errors.len(), FEATURES);
        assert!(s.feature_errors.iter().all(|e| e.is_finite() && *e >= 0.0));
        assert_eq!(s.step_errors.len(), w.len);
        assert_eq!(s.is_anomaly, s.score >= THRESHOLD);
    }
    assert!(scorer.score(&[]).unwrap().is_empty());
}

#[test]
fn batching_does_not_change_answers() {
    for (layers, head) in [(1, true), (2, false)] {
        let dir = tempfile::tempdir().unwrap();
        common::write_model(dir.path(), layers, head, true);
        let mut scorer = open(dir.path());
        let mut rng = common::rng(2);
        let windows: Vec<_> = [4, STEPS, 1, 9, 6, 2]
            .iter()
            .map(|&l| common::window(&mut rng, l, 0.3))
            .collect();
        let batch = scorer.score(&windows).unwrap();
        for (w, together) in windows.iter().zip(&batch) {
            let alone = scorer.score(std::slice::from_ref(w)).unwrap();
            assert_same(&alone[0], together, 1e-5);
        }
    }
}

#[test]
fn scores_follow_the_reference_forward_pass_and_core_math() {
    let dir = tempfile::tempdir().unwrap();
    let weights = common::write_model(dir.path(), 2, true, true);
    let mut scorer = open(dir.path());
    let manifest = scorer.manifest().clone();
    let cal = &manifest.calibration;
    let head = weights.head.as_ref().unwrap();
    let mut rng = common::rng(3);
    let windows: Vec<_> = [STEPS, 3, 1]
        .iter()
        .map(|&l| common::window(&mut rng, l, -0.2))
        .collect();
    let scores = scorer.score(&windows).unwrap();
    for (w, got) in windows.iter().zip(&scores) {
        let context = reference::encode(&weights.encoder, &w.data, w.len);
        let latent_recon = reference::decode_latent(&weights.latent_decoder, &context);
        let latent = scoring::latent_error(&context, &latent_recon, &manifest.latent_scale);
        let recon = reference::decode_sequence(&weights.sequence_decoder, &context, w.len);
        let seq = scoring::sequence_errors(&w.data, &recon, w.len, CHANNELS, FEATURES);
        let mut features = context.clone();
        features.push(scoring::log_z(latent, cal.latent_log));
        features.push(scoring::log_z(seq.total, cal.sequence_log));
        let probability = reference::head(head, &features);
        let score = scoring::calibrate(probability, &cal.normal_quantiles);
        let expected = WindowScores {
            score,
            is_anomaly: score >= THRESHOLD,
            latent_error: latent,
            sequence_error: seq.total,
            alert_probability: Some(probability),
            feature_errors: seq.per_feature,
            step_errors: seq.per_step,
            peak_span: None,
        };
        assert_same(got, &expected, 1e-4);
        assert_eq!(features.len(), HIDDEN + 2);
    }
}

#[test]
fn both_peaks_follow_core_math_and_either_can_be_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let weights = common::write_model(dir.path(), 1, false, true);
    let mut rng = common::rng(8);
    let windows: Vec<_> = [STEPS, 5]
        .iter()
        .map(|&l| common::window(&mut rng, l, 0.3))
        .collect();
    let kinds = [
        scoring::ScorerKind::PeakNoDecoder,
        scoring::ScorerKind::Peak,
    ];
    for (coupling, default) in [(false, kinds[0]), (true, kinds[0]), (true, kinds[1])] {
        let mut manifest = common::manifest(1, false, true);
        manifest.calibration.peak_coupling = coupling;
        manifest.calibration.default_scorer = default;
        manifest.calibration.normal_quantiles = vec![0.0, 0.1, 0.2, 0.4, 0.8];
        manifest.save(dir.path()).unwrap();
        let mut scorer = open(dir.path());
        let detailed = scorer.score_detailed(&windows).unwrap();
        for (w, got) in windows.iter().zip(&detailed) {
            let context = reference::encode(&weights.encoder, &w.data, w.len);
            let recon = reference::decode_sequence(&weights.sequence_decoder, &context, w.len);
            let seq =
                scoring::sequence_errors_with(&w.data, &recon, w.len, CHANNELS, FEATURES, coupling);
            let plain = scoring::window_peak(&w.data, w.len, CHANNELS, FEATURES, coupling);
            assert!(close(got.raw.peak, seq.peak, 1e-4), "{got:?} vs {seq:?}");
            assert_eq!(got.raw.peak_no_decoder, plain.peak);
            // The reconstruction is not zero, so the two peaks differ.
            assert_ne!(got.raw.peak, got.raw.peak_no_decoder);
            let q = &manifest.calibration.normal_quantiles;
            // The score and the attribution follow the default scorer.
            let (raw, parts, steps) = if default == scoring::ScorerKind::Peak {
                (got.raw.peak, &seq.peak_per_feature, seq.peak_steps)
            } else {
                (plain.peak, &plain.per_feature, plain.steps)
            };
            // "When": the run of steps behind the peak, as times.
            let (from, to) = steps.unwrap();
            let hour = chrono::Duration::hours(1);
            let expected = (w.start + hour * from as i32, w.start + hour * to as i32);
            assert_eq!(got.scores.peak_span, Some(expected));
            assert!(expected.1 <= w.end);
            assert_eq!(got.scores.score, scoring::calibrate(raw, q));
            assert_eq!(got.scores.feature_errors.len(), FEATURES);
            for (a, b) in got.scores.feature_errors.iter().zip(parts) {
                assert!(
                    close(*a, *b, 1e-4),
                    "{:?} vs {parts:?}",
                    got.scores.feature_errors
                );
            }
        }
    }
}

#[test]
fn windows_unlike_the_training_data_get_larger_errors() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    let mut scorer = open(dir.path());
    let mut rng = common::rng(4);
    let windows = [
        common::window(&mut rng, STEPS, 0.0),
        common::window(&mut rng, STEPS, 25.0),
    ];
    let s = scorer.score(&windows).unwrap();
    assert!(s[1].sequence_error > 10.0 * s[0].sequence_error, "{s:?}");
    assert!(s[1].score >= s[0].score);
    assert!(
        s[1].feature_errors
            .iter()
            .zip(&s[0].feature_errors)
            .all(|(a, b)| a > b)
    );
}

#[test]
fn latent_joint_model_scores_without_a_sequence_decoder() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, false);
    std::fs::remove_file(dir.path().join(telltale_onnx::SEQUENCE_DECODER_FILE)).unwrap();
    let mut scorer = open(dir.path());
    let mut rng = common::rng(5);
    let windows = [
        common::window(&mut rng, 4, 0.0),
        common::window(&mut rng, STEPS, 0.0),
    ];
    for s in scorer.score(&windows).unwrap() {
        assert_eq!(s.sequence_error, 0.0);
        assert!(s.feature_errors.is_empty() && s.step_errors.is_empty());
        assert!(s.latent_error > 0.0 && (0.0..=1.0).contains(&s.score));
        assert!(s.alert_probability.is_none());
    }
}

#[test]
fn prepare_bins_and_normalises_events_then_scores_them() {
    use chrono::{TimeZone, Utc};
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, true, true);
    let mut scorer = open(dir.path());
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 30, 0).unwrap();
    let events: Vec<_> = (0..STEPS as i64)
        .map(|h| telltale_core::Event {
            timestamp: start + chrono::Duration::hours(h),
            features: vec![3.0, h as f32],
        })
        .collect();
    let window = scorer.prepare(&events, None).expect("prepare");
    assert_eq!(window.channels, CHANNELS);
    assert!(window.len >= 1 && window.len <= STEPS);
    // feature_0 is always 3.0 and the manifest normalises it with mean 1, std 2.
    assert!(
        (0..window.len).all(|t| (window.step(t)[0] - 1.0).abs() < 1e-6),
        "{window:?}"
    );
    let scores = scorer.score(&[window]).unwrap();
    assert!((0.0..=1.0).contains(&scores[0].score));
    assert!(
        scorer.prepare(&[], None).is_err(),
        "no events is an error, not a panic"
    );
}

#[test]
fn malformed_windows_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, false, true);
    let mut scorer = open(dir.path());
    let mut rng = common::rng(6);
    let good = common::window(&mut rng, 3, 0.0);

    let mut nan = good.clone();
    nan.data[5] = f32::NAN;
    let err = scorer.score(&[good.clone(), nan]).unwrap_err();
    assert!(
        matches!(err, ScorerError::Input(_)) && err.to_string().contains("window 1"),
        "{err}"
    );

    let mut empty = good.clone();
    empty.len = 0;
    assert!(matches!(scorer.score(&[empty]), Err(ScorerError::Input(_))));

    let mut narrow = good.clone();
    narrow.channels = CHANNELS - 1;
    let err = scorer.score(&[narrow]).unwrap_err();
    assert!(err.to_string().contains("channels"), "{err}");

    let mut short = good;
    short.data.truncate(4);
    assert!(matches!(scorer.score(&[short]), Err(ScorerError::Input(_))));
}

#[test]
fn a_scorer_can_move_to_an_inference_thread() {
    let dir = tempfile::tempdir().unwrap();
    common::write_model(dir.path(), 1, true, true);
    let mut scorer = open(dir.path());
    let window = common::window(&mut common::rng(7), 5, 0.0);
    let here = scorer.score(std::slice::from_ref(&window)).unwrap();
    let there = std::thread::spawn(move || scorer.score(&[window]).unwrap())
        .join()
        .unwrap();
    assert_eq!(here, there);
}

//! How each scorer's threshold is chosen — never with the evaluated labels.

use telltale_core::manifest::ThresholdMethod;
use telltale_core::{Calibration, Manifest, ScorerKind};

use super::summary::{
    COMBINED, HEAD, LATENT, PEAK, PEAK_NO_DECODER, SEQUENCE, ThresholdChoice, threshold_at_far,
};

/// `snake_case` name of a scorer kind, as in the manifest.
pub fn kind_name(kind: ScorerKind) -> &'static str {
    match kind {
        ScorerKind::Latent => LATENT,
        ScorerKind::Sequence => SEQUENCE,
        ScorerKind::Combined => COMBINED,
        ScorerKind::Head => HEAD,
        ScorerKind::Peak => PEAK,
        ScorerKind::PeakNoDecoder => PEAK_NO_DECODER,
    }
}

/// The threshold stored in a manifest (on the calibrated score), described for the report.
pub fn stored_threshold(manifest: &Manifest, what: &str) -> ThresholdChoice {
    let how = match &manifest.threshold.method {
        ThresholdMethod::TargetFar { far } => {
            format!(
                "{:.1} % false-alarm rate on normal validation windows",
                far * 100.0
            )
        }
        ThresholdMethod::BestF1 { validation_f1 } => {
            format!("best F1 ({validation_f1:.3}) on labelled validation windows")
        }
    };
    ThresholdChoice {
        value: manifest.threshold.score,
        scale: "calibrated".into(),
        source: format!("stored in the {what} manifest: {how}"),
    }
}

/// Threshold for a scorer that is not the model's default: 1 % FAR on the validation windows when
/// the file holds some, else a fallback from the manifest's calibration statistics.
pub fn derived_threshold(
    name: &str,
    validation: &[f32],
    calibration: &Calibration,
) -> ThresholdChoice {
    if !validation.is_empty() {
        return threshold_at_far(validation, "validation windows of the model's split");
    }
    // z for a one-sided 1 % tail of a normal distribution.
    const Z99: f32 = 2.326;
    let lognormal = |stats: telltale_core::LogStats, what: &str| ThresholdChoice {
        value: (stats.mean + Z99 * stats.std).exp() - 1e-8,
        scale: "raw".into(),
        source: format!(
            "99th percentile of a log-normal fit to the manifest's {what} statistics on normal \
             validation windows (no validation windows in this file)"
        ),
    };
    match name {
        LATENT => lognormal(calibration.latent_log, "latent-error"),
        SEQUENCE => lognormal(calibration.sequence_log, "sequence-error"),
        COMBINED => ThresholdChoice {
            value: Z99,
            scale: "raw".into(),
            source: "z = 2.33 on the combined log-z scale (1 % tail if its spread is at most one; \
                     no validation windows in this file)"
                .into(),
        },
        PEAK | PEAK_NO_DECODER if kind_name(calibration.default_scorer) == name => {
            let q = &calibration.normal_quantiles;
            let at = ((q.len().max(1) - 1) as f64 * 0.99).round() as usize;
            ThresholdChoice {
                value: q.get(at).copied().unwrap_or(f32::MAX),
                scale: "raw".into(),
                source: format!(
                    "99th percentile of the manifest's normal quantiles of `{name}` (no \
                     validation windows in this file)"
                ),
            }
        }
        PEAK | PEAK_NO_DECODER => ThresholdChoice {
            value: f32::MAX,
            scale: "raw".into(),
            source: "none: the manifest stores no statistics of this peak and this file has no \
                     validation windows"
                .into(),
        },
        _ => ThresholdChoice {
            value: 0.5,
            scale: "raw".into(),
            source: "probability 0.5 (no validation windows in this file)".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_core::LogStats;

    #[test]
    fn without_validation_windows_only_the_default_peak_has_a_threshold() {
        let stats = LogStats {
            mean: 0.0,
            std: 1.0,
        };
        let calibration = Calibration {
            default_scorer: ScorerKind::PeakNoDecoder,
            latent_log: stats,
            sequence_log: stats,
            normal_quantiles: (0..=100).map(|i| i as f32).collect(),
            peak_coupling: true,
        };
        let chosen = derived_threshold(PEAK_NO_DECODER, &[], &calibration);
        assert_eq!(chosen.value, 99.0);
        assert!(
            chosen.source.contains("`peak_no_decoder`"),
            "{}",
            chosen.source
        );
        assert_eq!(derived_threshold(PEAK, &[], &calibration).value, f32::MAX);
        // With validation windows both come from them.
        let validation: Vec<f32> = (0..200).map(|i| i as f32).collect();
        assert!(derived_threshold(PEAK, &validation, &calibration).value < 200.0);
    }
}

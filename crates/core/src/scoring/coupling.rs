//! Cross-feature coupling channels for the peak scan: does each feature still follow the others?
//!
//! Sensors often carry features that move together (a pump's current and its flow). A fault can
//! break that link while each feature on its own keeps its usual level and spread, which no
//! per-channel statistic sees. Within one window, each feature's signed error is regressed (least
//! squares, no intercept: the errors are centred) on the other features' errors; the residual,
//! divided by its robust scale over the window, measures how far the feature is from where the
//! others put it. The channel is `(r² − 1) / 2`: about 0 on average where the link holds and
//! positive where it breaks, so a sustained break lifts the peak's moving average. The fit is per
//! window, so a link whose sign or strength differs between sensors needs no training.

use crate::window::MAD_TO_STD;

/// Ridge on the normal equations, relative to their mean diagonal, so collinear or constant
/// features give a finite fit.
const RIDGE: f64 = 1e-9;

/// Coupling channels of signed errors `d` (`[len, n_features]` row-major): one per feature, same
/// layout. A feature whose residual has no robust spread (constant, or exactly explained) gets
/// zeros. Empty for `n_features < 2`.
///
/// # Panics
/// When `d` holds fewer than `len * n_features` values.
pub fn coupling_channels(d: &[f64], len: usize, n_features: usize) -> Vec<f64> {
    if n_features < 2 {
        return Vec::new();
    }
    let d = &d[..len * n_features];
    let mut out = vec![0.0; len * n_features];
    let m = n_features - 1;
    let mut residual = vec![0.0; len];
    for k in 0..n_features {
        let others: Vec<usize> = (0..n_features).filter(|&j| j != k).collect();
        // Normal equations A β = b over the window's steps.
        let mut a = vec![0.0; m * m];
        let mut b = vec![0.0; m];
        for row in d.chunks_exact(n_features) {
            for (i, &oi) in others.iter().enumerate() {
                b[i] += row[oi] * row[k];
                for (j, &oj) in others.iter().enumerate() {
                    a[i * m + j] += row[oi] * row[oj];
                }
            }
        }
        let beta = solve(&mut a, &mut b, m);
        for (t, row) in d.chunks_exact(n_features).enumerate() {
            let fit: f64 = others.iter().zip(&beta).map(|(&j, w)| row[j] * w).sum();
            residual[t] = row[k] - fit;
        }
        let mut magnitudes: Vec<f64> = residual.iter().map(|r| r.abs()).collect();
        let scale = MAD_TO_STD * median(&mut magnitudes);
        if !(scale.is_finite() && scale > 0.0) {
            continue;
        }
        for (t, r) in residual.iter().enumerate() {
            let z = r / scale;
            out[t * n_features + k] = (z * z - 1.0) / 2.0;
        }
    }
    out
}

/// Solve `a x = b` (`m × m`, row-major) by Gaussian elimination with partial pivoting after adding
/// [`RIDGE`] × the mean diagonal to the diagonal. Zeros when the system is still singular or not
/// finite.
fn solve(a: &mut [f64], b: &mut [f64], m: usize) -> Vec<f64> {
    let mean_diagonal = (0..m).map(|i| a[i * m + i]).sum::<f64>() / m as f64;
    let ridge = RIDGE * mean_diagonal.max(f64::MIN_POSITIVE);
    for i in 0..m {
        a[i * m + i] += ridge;
    }
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&p, &q| a[p * m + col].abs().total_cmp(&a[q * m + col].abs()))
            .unwrap_or(col);
        let p = a[pivot * m + col];
        if p == 0.0 || !p.is_finite() {
            return vec![0.0; m];
        }
        if pivot != col {
            for j in 0..m {
                a.swap(pivot * m + j, col * m + j);
            }
            b.swap(pivot, col);
        }
        for r in col + 1..m {
            let f = a[r * m + col] / a[col * m + col];
            for j in col..m {
                a[r * m + j] -= f * a[col * m + j];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; m];
    for i in (0..m).rev() {
        let tail: f64 = (i + 1..m).map(|j| a[i * m + j] * x[j]).sum();
        x[i] = (b[i] - tail) / a[i * m + i];
    }
    if x.iter().all(|v| v.is_finite()) {
        x
    } else {
        vec![0.0; m]
    }
}

/// Median of `values` (reordered); NaN when empty.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features, the second following the first (`b = -0.8 a + small noise`), with an
    /// alternating-sign pseudo noise so the test needs no random generator.
    fn coupled(len: usize, broken: std::ops::Range<usize>) -> Vec<f64> {
        let mut d = Vec::with_capacity(2 * len);
        for t in 0..len {
            let a = ((t as f64) * 0.7).sin() + 0.3 * ((t as f64) * 2.3).cos();
            let noise = 0.2 * ((t as f64) * 5.1).sin();
            let b = if broken.contains(&t) {
                // Follows its own signal instead, with the same spread.
                ((t as f64) * 1.9).cos()
            } else {
                -0.8 * a + noise
            };
            d.push(a);
            d.push(b);
        }
        d
    }

    #[test]
    fn a_broken_link_lifts_the_channel_where_it_breaks() {
        let len = 200;
        let d = coupled(len, 80..120);
        let c = coupling_channels(&d, len, 2);
        assert_eq!(c.len(), 2 * len);
        let mean = |range: std::ops::Range<usize>, k: usize| {
            range.clone().map(|t| c[t * 2 + k]).sum::<f64>() / range.len() as f64
        };
        for k in 0..2 {
            let inside = mean(80..120, k);
            let outside = mean(0..80, k);
            assert!(inside > 3.0, "feature {k}: inside {inside}");
            assert!(outside < 0.5, "feature {k}: outside {outside}");
        }
    }

    #[test]
    fn the_link_may_have_either_sign_and_any_scale() {
        let len = 120;
        let base = coupling_channels(&coupled(len, 0..0), len, 2);
        // Flip the second feature's sign and scale both: the channels do not change.
        let flipped: Vec<f64> = coupled(len, 0..0)
            .chunks_exact(2)
            .flat_map(|r| [1e3 * r[0], -1e-3 * r[1]])
            .collect();
        let other = coupling_channels(&flipped, len, 2);
        for (p, q) in base.iter().zip(&other) {
            assert!((p - q).abs() < 1e-6, "{p} vs {q}");
        }
    }

    #[test]
    fn constant_or_single_features_give_zeros_not_nan() {
        let len = 30;
        let constant = vec![0.0; 2 * len];
        assert!(
            coupling_channels(&constant, len, 2)
                .iter()
                .all(|&v| v == 0.0)
        );
        assert!(coupling_channels(&[1.0, 2.0, 3.0], 3, 1).is_empty());
        // Three features, two of them identical (collinear): finite everywhere.
        let d: Vec<f64> = (0..len)
            .flat_map(|t| {
                let a = (t as f64).sin();
                [a, a, (t as f64 * 0.3).cos()]
            })
            .collect();
        assert!(coupling_channels(&d, len, 3).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn the_peak_scans_coupling_only_when_asked() {
        use crate::scoring::{sequence_errors, sequence_errors_with};
        // Two features plus count, empty and two std channels (all zero), zero reconstruction:
        // the signed errors are the inputs. The link breaks for 40 steps.
        let len = 200;
        let channels = 6;
        let d = coupled(len, 80..120);
        let mut x = vec![0.0f32; len * channels];
        for t in 0..len {
            x[t * channels] = d[t * 2] as f32;
            x[t * channels + 1] = d[t * 2 + 1] as f32;
        }
        let recon = vec![0.0f32; len * channels];
        let plain = sequence_errors(&x, &recon, len, channels, 2);
        let same = sequence_errors_with(&x, &recon, len, channels, 2, false);
        assert_eq!(plain, same);
        let with = sequence_errors_with(&x, &recon, len, channels, 2, true);
        assert!(
            with.peak > 4.0 * plain.peak,
            "{} vs {}",
            with.peak,
            plain.peak
        );
        assert_eq!(with.total, plain.total);
        assert_eq!(with.per_feature, plain.per_feature);
        // The coupling peak lies inside the break, and both features share it.
        let (from, to) = with.peak_steps.unwrap();
        assert!(from >= 80 && to <= 120, "{:?}", with.peak_steps);
        assert!(with.peak_per_feature.iter().all(|&p| p > 2.0 * plain.peak));
        // One feature: nothing to couple.
        let single = sequence_errors_with(&x, &recon, len, channels, 1, true);
        assert_eq!(single, sequence_errors(&x, &recon, len, channels, 1));
    }
}

//! The estimated fixed effects themselves (fixest's and pyfixest's `fixef()`).
//!
//! Once β is estimated, each observation's sum of fixed effects is known:
//! $d_i = \eta_i - x_i^\top\hat\beta$ (minus the offset), with $\eta_i$ the fitted mean (linear) or
//! its logarithm (Poisson). The effects solve $d_i = \sum_k \alpha_k[g_k(i)]$, found by alternating
//! projections (each effect set to its groups' mean of what the others leave), and are identified
//! as pyfixest and fixest do: every fixed effect after the first has its first level (in sorted
//! order) at zero, the first absorbing the difference — the model's intercept.

use super::demean::FixedEffectCodes;
use serde::{Deserialize, Serialize};

/// One fixed effect's estimated values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedEffectValues {
    /// The fixed effect (`la`, or `la^year`).
    pub name: String,
    /// Its levels, sorted.
    pub levels: Vec<String>,
    /// The value of each level (zero at the reference level of every fixed effect but the first).
    pub values: Vec<f64>,
}

/// The fixed effects whose sums are `d` (one per observation), for `codes`, named `names`, with
/// level labels `labels[k][code]`.
pub fn estimate(
    d: &[f64],
    codes: &FixedEffectCodes,
    names: &[String],
    labels: Vec<Vec<String>>,
) -> Vec<FixedEffectValues> {
    let k_count = codes.len();
    let sizes = codes.levels();
    let mut alpha: Vec<Vec<f64>> = sizes.iter().map(|&m| vec![0.0; m]).collect();
    let mut counts: Vec<Vec<f64>> = sizes.iter().map(|&m| vec![0.0; m]).collect();
    for (k, count) in counts.iter_mut().enumerate() {
        for &g in codes.codes(k) {
            count[g as usize] += 1.0;
        }
    }
    let scale = d.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1.0);
    let mut sums: Vec<Vec<f64>> = sizes.iter().map(|&m| vec![0.0; m]).collect();
    for _ in 0..100_000 {
        let mut change = 0.0f64;
        for k in 0..k_count {
            sums[k].iter_mut().for_each(|s| *s = 0.0);
            for (i, &di) in d.iter().enumerate() {
                let others: f64 = (0..k_count).filter(|&l| l != k).map(|l| alpha[l][codes.codes(l)[i] as usize]).sum();
                sums[k][codes.codes(k)[i] as usize] += di - others;
            }
            for (g, a) in alpha[k].iter_mut().enumerate() {
                let next = sums[k][g] / counts[k][g];
                change = change.max((next - *a).abs());
                *a = next;
            }
        }
        if change < 1e-13 * scale || k_count == 1 {
            break;
        }
    }
    // References: the first level of every fixed effect after the first.
    for k in 1..k_count {
        let shift = alpha[k][0];
        alpha[k].iter_mut().for_each(|a| *a -= shift);
        alpha[0].iter_mut().for_each(|a| *a += shift);
    }
    names
        .iter()
        .zip(labels)
        .zip(alpha)
        .map(|((name, levels), values)| FixedEffectValues { name: name.clone(), levels, values })
        .collect()
}

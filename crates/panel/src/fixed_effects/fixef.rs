//! The estimated fixed effects themselves (fixest's and pyfixest's `fixef()`).
//!
//! Once β is estimated, each observation's sum of fixed effects is known:
//! $d_i = \eta_i - x_i^\top\hat\beta$ (minus the offset), with $\eta_i$ the fitted mean (linear) or
//! its logarithm (Poisson). The effects solve $d_i = \sum_k \alpha_k[g_k(i)]$, found by alternating
//! projections on the effects (the solve behind the demeaning, `demean::Projector::solve`), and
//! are identified as pyfixest and fixest do: every fixed effect after the first has its first
//! level (in sorted order) at zero, the first absorbing the difference — the model's intercept.

use super::codes::FixedEffectCodes;
use super::demean::{Crossings, DemeanControl, Projector};
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
    let threads = strata_core::parallel::threads();
    let crossings = Crossings::new(codes, threads, false);
    let projector = Projector::new(codes, &crossings, None, threads);
    let mut alpha = projector.zeros();
    // The sums are in the span of the dummies: the projection reproduces them, and the sweeps'
    // limit only bounds the work on a pathological design.
    let control = DemeanControl { tolerance: 1e-13, max_sweeps: 100_000, threads: 1 };
    projector.solve(d, &mut alpha, &control);
    // References: the first level of every fixed effect after the first.
    for k in 1..codes.len() {
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

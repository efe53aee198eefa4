//! Standard errors of a latent class model from the observed information.
//!
//! The log-likelihood is written in log-ratio parameters, $\pi = \mathrm{softmax}(0, \alpha)$ and
//! $\rho_{jk\cdot} = \mathrm{softmax}(\beta_{jk\cdot})$ with $\beta$ zero at each indicator's base
//! level, whose analytic score is
//! $\partial\ell/\partial\alpha_k = \sum_p n_p(\tau_{pk} - \pi_k)$ and
//! $\partial\ell/\partial\beta_{jkr} = \sum_p n_p \tau_{pk}([y_{pj} = r] - \rho_{jkr})$ over patterns
//! observing $j$. The Hessian is the central difference of the score, the covariance of
//! $(\alpha, \beta)$ the inverse of its negative, and the covariances of $\pi$ and $\rho$ follow by
//! the delta method through the softmax Jacobians $\partial\pi_k/\partial\alpha_l = \pi_k(\delta_{kl} - \pi_l)$.
//! Estimates within $10^{-7}$ of 0 or 1 lie on the boundary, where the information is singular:
//! they are held fixed and given a standard error of 0 (as Mplus does).

use crate::error::{Error, Result};
use crate::indicators::Patterns;
use crate::measurement::{expectation, Parameters, Tallies};
use serde::{Deserialize, Serialize};
use strata_core::numerics::{Cholesky, Matrix};

/// Standard errors in the layout of [`Parameters`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardErrors {
    /// Of the class proportions.
    pub proportions: Vec<f64>,
    /// Of the item-response probabilities, `K × R_j` per indicator.
    pub items: Vec<Vec<f64>>,
}

const BOUNDARY: f64 = 1e-7;

/// Where each free parameter sits: α for class c, or β for (indicator, class, level).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Free {
    Proportion(usize),
    Item(usize, usize, usize),
}

pub(crate) fn free_parameters(parameters: &Parameters, patterns: &Patterns) -> Vec<Free> {
    let k = parameters.classes();
    let mut free: Vec<Free> = (1..k).filter(|&c| parameters.proportions[c] > BOUNDARY).map(Free::Proportion).collect();
    if parameters.proportions[0] <= BOUNDARY {
        free.clear();
    }
    for (j, table) in parameters.items.iter().enumerate() {
        let levels = patterns.levels[j];
        let base = patterns.base[j] as usize;
        for c in 0..k {
            let row = &table[c * levels..(c + 1) * levels];
            if row[base] <= BOUNDARY {
                continue;
            }
            free.extend((0..levels).filter(|&r| r != base && row[r] > BOUNDARY).map(|r| Free::Item(j, c, r)));
        }
    }
    free
}

/// The parameters moved by `step` along the free parameter `which` (on the log-ratio scale).
pub(crate) fn shifted(parameters: &Parameters, patterns: &Patterns, which: Free, step: f64) -> Parameters {
    let mut out = parameters.clone();
    let renormalise = |values: &mut [f64], index: usize| {
        values[index] *= step.exp();
        let total: f64 = values.iter().sum();
        for v in values.iter_mut() {
            *v /= total;
        }
    };
    match which {
        Free::Proportion(c) => renormalise(&mut out.proportions, c),
        Free::Item(j, c, r) => {
            let levels = patterns.levels[j];
            renormalise(&mut out.items[j][c * levels..(c + 1) * levels], r);
        }
    }
    out
}

/// The score with respect to the free parameters.
pub(crate) fn score(parameters: &Parameters, patterns: &Patterns, free: &[Free]) -> Vec<f64> {
    let k = parameters.classes();
    let mut posterior = Vec::new();
    expectation(parameters, patterns, &mut posterior);
    let tallies = Tallies::new(patterns, &posterior, Some(&patterns.counts), k);
    let n = patterns.n_obs();
    free.iter()
        .map(|&f| match f {
            Free::Proportion(c) => tallies.total[c] - n * parameters.proportions[c],
            Free::Item(j, c, r) => item_score(parameters, patterns, &tallies, j, c, r),
        })
        .collect()
}

/// $\partial\ell/\partial\beta_{jcr}$: class `c`'s weight of responses `r` to `j` less $\rho_{jcr}$
/// times its weight of observed responses to `j`.
pub(crate) fn item_score(
    parameters: &Parameters,
    patterns: &Patterns,
    tallies: &Tallies,
    j: usize,
    c: usize,
    r: usize,
) -> f64 {
    let levels = patterns.levels[j];
    let (counts, observed) = tallies.responses(j, levels, patterns.base[j] as usize, c);
    counts[r] - parameters.items[j][c * levels + r] * observed
}

/// The inverse observed information of `m` parameters, from the score after moving parameter
/// `i` by `step` (`score_shifted(i, step)`): the Hessian by central differences of the score,
/// symmetrised.
///
/// # Errors
/// [`Error::Singular`] when the information is not positive definite.
pub(crate) fn inverse_information(m: usize, score_shifted: impl Fn(usize, f64) -> Vec<f64> + Sync) -> Result<Matrix> {
    let step = 1e-4;
    let columns = strata_core::parallel::map_in_order(m, strata_core::parallel::threads(), |i| {
        let up = score_shifted(i, step);
        let down = score_shifted(i, -step);
        up.iter().zip(&down).map(|(u, d)| (u - d) / (2.0 * step)).collect::<Vec<f64>>()
    });
    let information = Matrix::from_fn(m, m, |a, b| -(columns[a][b] + columns[b][a]) / 2.0);
    Cholesky::new(&information).map(|c| c.inverse()).map_err(|_| {
        Error::Singular("the observed information is not positive definite (a class or response not identified)".into())
    })
}

/// Standard errors of the class proportions and item-response probabilities of `parameters`,
/// a maximum of the likelihood of `patterns`.
///
/// # Errors
/// [`Error::Singular`] when the observed information is not positive definite.
pub fn standard_errors(parameters: &Parameters, patterns: &Patterns) -> Result<StandardErrors> {
    let k = parameters.classes();
    let free = free_parameters(parameters, patterns);
    let v = inverse_information(free.len(), |i, step| {
        score(&shifted(parameters, patterns, free[i], step), patterns, &free)
    })?;
    let position = |f: Free| free.iter().position(|&g| g == f);
    // Delta method through softmax: the derivative of component a with respect to free b.
    let delta = |values: &[f64], indices: &[(usize, Option<usize>)]| -> Vec<f64> {
        (0..values.len())
            .map(|a| {
                let mut variance = 0.0;
                for &(b, pb) in indices {
                    let Some(pb) = pb else { continue };
                    let jb = values[a] * (f64::from(u8::from(a == b)) - values[b]);
                    for &(c, pc) in indices {
                        let Some(pc) = pc else { continue };
                        let jc = values[a] * (f64::from(u8::from(a == c)) - values[c]);
                        variance += jb * v[(pb, pc)] * jc;
                    }
                }
                variance.max(0.0).sqrt()
            })
            .collect()
    };
    let proportion_indices: Vec<(usize, Option<usize>)> = (1..k).map(|c| (c, position(Free::Proportion(c)))).collect();
    let proportions = delta(&parameters.proportions, &proportion_indices);
    let items = parameters
        .items
        .iter()
        .enumerate()
        .map(|(j, table)| {
            let levels = patterns.levels[j];
            let base = patterns.base[j] as usize;
            (0..k)
                .flat_map(|c| {
                    let indices: Vec<(usize, Option<usize>)> =
                        (0..levels).filter(|&r| r != base).map(|r| (r, position(Free::Item(j, c, r)))).collect();
                    delta(&table[c * levels..(c + 1) * levels], &indices)
                })
                .collect()
        })
        .collect();
    Ok(StandardErrors { proportions, items })
}

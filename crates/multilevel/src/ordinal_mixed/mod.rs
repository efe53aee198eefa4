//! Cumulative link mixed models: ordered outcomes of units nested in groups (inspections of
//! local authorities, ratings by judges), as `ordinal::clmm` with random intercepts:
//! $P(Y_i \le j \mid b) = F(\theta_j - x_i^\top\beta - \sum_f \sigma_f b_{f,g_f(i)})$,
//! $b_{f,g} \sim N(0, 1)$ for each grouping factor $f$ (nested or crossed).
//!
//! With one factor the marginal likelihood of group $g$ is $\int \exp h_g(b)\,db$ with
//! $h_g(b) = \sum_i w_i \log P_{gi}(b) + \log\varphi(b)$, concave in $b$. Its mode $\hat b_g$ is
//! found by Newton's method and the integral approximated by adaptive Gauss–Hermite quadrature
//! (Liu & Pierce 1994) centred at $\hat b_g$ with scale $s = (-h_g''(\hat b_g))^{-1/2}$:
//! $\int e^{h} \approx \sum_k w_k\, e^{h(\hat b + s z_k)}\, s / \varphi(z_k)$; one node is the
//! Laplace approximation. With several factors the integral does not split by group: the
//! Laplace approximation is taken jointly, $\ell \approx \sum_i w_i \log P_i(\hat b) -
//! \tfrac12 \hat b^\top \hat b - \tfrac12 \log\det(-\nabla^2 h(\hat b))$ at the joint mode found by
//! Newton's method (dense, up to 2,000 random effects). The log-likelihood is maximised over
//! $(\theta, \beta, \sigma)$ by
//! BOBYQA from the fixed-effects fit; standard errors come from a central-difference Hessian of
//! the approximate log-likelihood, as `clmm`'s. Checked against `ordinal::clmm` on the
//! reference case `ord_wine_clmm`.

use crate::error::{Error, Result};
use crate::quadrature::gauss_hermite;
use serde::{Deserialize, Serialize};
use strata_categorical::link::CumulativeLink;
use strata_categorical::ordinal::{fit_cumulative_link, OrdinalData};
use strata_categorical::NewtonControl;
use strata_core::numerics::{finite_difference_hessian, minimize_bobyqa, BobyqaControl, Cholesky, Matrix};

mod likelihood;
mod model;
mod summary;

use likelihood::Problem;
pub use model::{CumulativeLinkMixedFit, CumulativeLinkMixedModel, GroupingFactor};
pub use summary::OrdinalMixedSummary;

/// One grouping factor with a random intercept.
#[derive(Debug, Clone, Copy)]
pub struct RandomIntercept<'a> {
    /// The level of each observation, `0..levels`.
    pub codes: &'a [u32],
    /// Number of levels.
    pub levels: usize,
}

/// The inputs of a cumulative link mixed model, as arrays.
#[derive(Debug, Clone, Copy)]
pub struct OrdinalMixedData<'a> {
    /// The fixed part, as for a cumulative link model (no nominal effects).
    pub fixed: OrdinalData<'a>,
    /// The grouping factors, each with a random intercept.
    pub factors: &'a [RandomIntercept<'a>],
}

/// The most random effects the joint Laplace approximation (several factors) takes: it
/// factors a dense matrix of that order at every Newton step.
pub const MAX_JOINT_EFFECTS: usize = 2_000;

/// The estimates on arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrdinalMixedEstimates {
    /// Thresholds.
    pub thresholds: Vec<f64>,
    /// Fixed effects β.
    pub coefficients: Vec<f64>,
    /// θ then β, as R's `coef(clmm)` (without σ).
    pub parameters: Vec<f64>,
    /// The random intercepts' standard deviations σ_f, one per factor.
    pub sigmas: Vec<f64>,
    /// Covariance of (θ, β) from the Hessian of the approximate log-likelihood (NaN if it was
    /// not positive definite).
    pub covariance: Matrix,
    /// The maximised (approximate) log-likelihood.
    pub log_likelihood: f64,
    /// Conditional modes of the random intercepts, σ_f b̂_{f,g}, factor after factor.
    pub modes: Vec<f64>,
    /// Likelihood evaluations.
    pub evaluations: usize,
    /// Whether the optimiser met its criterion.
    pub converged: bool,
}

/// Observations of each group.
fn members(groups: &[u32], n_groups: usize) -> Vec<Vec<usize>> {
    let mut members = vec![Vec::new(); n_groups];
    for (i, &g) in groups.iter().enumerate() {
        members[g as usize].push(i);
    }
    members
}

/// Fits the cumulative link mixed model with `nagq` quadrature points (1: Laplace).
///
/// # Examples
/// ```
/// use strata_categorical::link::CumulativeLink;
/// use strata_categorical::ordinal::OrdinalData;
/// use strata_core::numerics::Matrix;
/// use strata_multilevel::ordinal_mixed::{fit_ordinal_mixed, OrdinalMixedData, RandomIntercept};
/// // Ofsted grades (0 outstanding … 3 inadequate) of 20 authorities over six inspections,
/// // worse where caseloads are higher, with each authority's own level.
/// let caseload: Vec<f64> = (0..120).map(|i| f64::from((i * 7 % 11) as u8) / 5.0).collect();
/// let la: Vec<u32> = (0..120).map(|i| i / 6).collect();
/// let grade: Vec<u32> = (0..120)
///     .map(|i| ((caseload[i] + f64::from(la[i] % 4) / 2.0 + f64::from((i * 3 % 5) as u8) / 3.0) as u32).min(3))
///     .collect();
/// let x = Matrix::from_fn(120, 1, |i, _| caseload[i]);
/// let fixed = OrdinalData { y: &grade, levels: 4, x: &x, z: None, offset: None, weights: None };
/// let factors = [RandomIntercept { codes: &la, levels: 20 }];
/// let fit = fit_ordinal_mixed(&OrdinalMixedData { fixed, factors: &factors }, CumulativeLink::Logit, 1)?;
/// assert!(fit.coefficients[0] > 0.0);
/// assert_eq!(fit.thresholds.len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Inputs of the wrong length, a fixed-effects start that fails, or an optimiser failure.
pub fn fit_ordinal_mixed(
    data: &OrdinalMixedData<'_>,
    link: CumulativeLink,
    nagq: usize,
) -> Result<OrdinalMixedEstimates> {
    let n = data.fixed.y.len();
    let factors = data.factors;
    if factors.is_empty() {
        return Err(Error::Specification("a mixed model needs at least one grouping factor".into()));
    }
    for (f, factor) in factors.iter().enumerate() {
        if factor.codes.len() != n {
            return Err(Error::Specification(format!(
                "grouping factor {} has {} codes for {n} observations",
                f + 1,
                factor.codes.len()
            )));
        }
        if factor.codes.iter().any(|&g| g as usize >= factor.levels) {
            return Err(Error::Specification(format!("a code of grouping factor {} is out of range", f + 1)));
        }
    }
    if !(1..=100).contains(&nagq) {
        return Err(Error::Specification(format!(
            "nAGQ must be from 1 (Laplace) to 100, not {nagq} (more points add nothing but time)"
        )));
    }
    let effects: usize = factors.iter().map(|f| f.levels).sum();
    if factors.len() > 1 {
        if nagq > 1 {
            return Err(Error::Specification(
                "adaptive quadrature (nAGQ > 1) needs a single grouping factor; use the Laplace approximation".into(),
            ));
        }
        if effects > MAX_JOINT_EFFECTS {
            return Err(Error::Specification(format!(
                "{effects} random effects across several grouping factors: at most {MAX_JOINT_EFFECTS} are supported"
            )));
        }
    }
    let start = fit_cumulative_link(&data.fixed, link, &NewtonControl::default())
        .map_err(|e| Error::Fit(format!("the fixed-effects start failed: {e}")))?;
    let (nodes, weights) = gauss_hermite(nagq)?;
    let problem = Problem { data: *data, link, members: members(factors[0].codes, factors[0].levels), nodes, weights };
    let k = factors.len();
    let mut psi: Vec<f64> =
        start.thresholds.iter().chain(&start.coefficients).copied().chain(std::iter::repeat_n(1.0, k)).collect();
    let m = psi.len();
    let lower: Vec<f64> = std::iter::repeat_n(f64::NEG_INFINITY, m - k).chain(std::iter::repeat_n(0.0, k)).collect();
    let upper = vec![f64::INFINITY; m];
    // Each evaluation starts the modes' searches at the last accepted modes.
    let modes_count = if k == 1 { factors[0].levels } else { effects };
    let mut starts = vec![0.0; modes_count];
    let objective = |x: &[f64]| match problem.log_likelihood(x, &starts) {
        Some((ll, modes)) => {
            starts = modes;
            -ll
        }
        None => f64::INFINITY,
    };
    let control = BobyqaControl { rho_begin: 0.5, rho_end: 1e-10, max_evaluations: 20_000 };
    let convergence = minimize_bobyqa(objective, &mut psi, &lower, &upper, &control)?;
    let (log_likelihood, modes) = problem
        .log_likelihood(&psi, &vec![0.0; modes_count])
        .ok_or_else(|| Error::Fit("the likelihood is not finite at the optimum".into()))?;
    // Standard errors of (θ, β) from the Hessian in (θ, β, σ); the block does not depend on how
    // the σ are parametrised at the optimum. Standard deviations at the boundary, zero, are
    // held there.
    let free: Vec<usize> = (0..m).filter(|&j| j < m - k || psi[j] > 1e-6).collect();
    let at = |x: &[f64]| {
        let mut full = psi.clone();
        for (&j, &v) in free.iter().zip(x) {
            full[j] = v;
        }
        problem.log_likelihood(&full, &modes).map(|(ll, _)| -ll)
    };
    let start_free: Vec<f64> = free.iter().map(|&j| psi[j]).collect();
    let fixed = m - k;
    let covariance =
        finite_difference_hessian(&at, &start_free, 1e-4).and_then(|h| Cholesky::new(&h).ok()).map_or_else(
            || Matrix::from_fn(fixed, fixed, |_, _| f64::NAN),
            |c| {
                let inverse = c.inverse();
                Matrix::from_fn(fixed, fixed, |i, j| inverse[(i, j)])
            },
        );
    let last = data.fixed.levels - 1;
    let sigmas = psi[fixed..].to_vec();
    let scaled_modes = if k == 1 {
        modes.iter().map(|b| b * sigmas[0]).collect()
    } else {
        let factor_of = factors.iter().enumerate().flat_map(|(f, factor)| std::iter::repeat_n(f, factor.levels));
        modes.iter().zip(factor_of).map(|(b, f)| b * sigmas[f]).collect()
    };
    Ok(OrdinalMixedEstimates {
        thresholds: psi[..last].to_vec(),
        coefficients: psi[last..fixed].to_vec(),
        parameters: psi[..fixed].to_vec(),
        sigmas,
        covariance,
        log_likelihood,
        modes: scaled_modes,
        evaluations: convergence.evaluations,
        converged: convergence.converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With 30 adaptive nodes the log-likelihood equals each group's integral computed by brute
    /// force (the trapezoid rule on a fine grid), and the Laplace value differs from it.
    #[test]
    fn quadrature_equals_brute_force_integration() {
        let y: Vec<u32> = vec![0, 1, 2, 1, 0, 2, 2, 1, 0, 1, 2, 2, 0, 0, 1, 2];
        let groups: Vec<u32> = vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
        let x = Matrix::from_fn(16, 1, |i, _| (i % 4) as f64 * 0.5 - 0.7);
        let factors = [RandomIntercept { codes: &groups, levels: 4 }];
        let data = OrdinalMixedData {
            fixed: OrdinalData { y: &y, levels: 3, x: &x, z: None, offset: None, weights: None },
            factors: &factors,
        };
        let psi = [-0.4, 0.9, 0.6, 1.3];
        let problem = |nagq: usize| {
            let (nodes, weights) = gauss_hermite(nagq).unwrap();
            Problem { data, link: CumulativeLink::Logit, members: members(&groups, 4), nodes, weights }
        };
        let quadrature = problem(30).log_likelihood(&psi, &[]).unwrap().0;
        let laplace = problem(1).log_likelihood(&psi, &[]).unwrap().0;
        let exact = problem(1);
        let mut brute = 0.0;
        for g in 0..4 {
            let obs = &exact.members[g];
            let eta: Vec<f64> = obs.iter().map(|&i| exact.eta(&psi[2..3], i)).collect();
            let step = 1e-3;
            let integral: f64 =
                (-8000..=8000).map(|k| exact.h(&psi[..2], psi[3], obs, &eta, f64::from(k) * step).0.exp() * step).sum();
            brute += integral.ln();
        }
        assert!((quadrature - brute).abs() < 1e-9, "{quadrature} vs {brute}");
        // The joint Laplace approximation of several factors, given one, is the groups' one.
        let joint = exact.joint(&psi[..2], &psi[2..3], &psi[3..], &[]).unwrap().0;
        assert!((joint - laplace).abs() < 1e-10, "{joint} vs {laplace}");
        assert!((laplace - brute).abs() > 1e-6, "the Laplace approximation is an approximation");
    }
}

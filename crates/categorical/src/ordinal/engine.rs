//! The cumulative link model on arrays, fitted by Newton–Raphson with the analytic gradient
//! and Hessian (Agresti 2010, ch. 3; Christensen's ordinal package uses the same).
//!
//! $\log P$ for an observation in category $c$ depends on the parameters only through its
//! bounds $a = \theta_c + z^\top\gamma_c - \eta$ and $b = \theta_{c-1} + z^\top\gamma_{c-1} - \eta$,
//! $\eta = x^\top\beta + o$, which are linear in $\psi = (\theta, \gamma, \beta)$ with gradients $u$
//! and $v$; so the score is $\sum_i w_i(\partial_a u_i + \partial_b v_i)$ and the Hessian
//! $\sum_i w_i(\partial_a^2 u u^\top + \partial_b^2 v v^\top + \partial_a\partial_b (u v^\top + v u^\top))$.
//! Nominal effects $\gamma_j$ (threshold-specific coefficients of $z$) serve the test of
//! proportional odds.

use super::likelihood::contribution;
use crate::error::{Error, Result};
use crate::link::CumulativeLink;
use crate::NewtonControl;
use strata_core::numerics::{Cholesky, Matrix};

/// The inputs of a cumulative link model, as arrays.
#[derive(Debug, Clone, Copy)]
pub struct OrdinalData<'a> {
    /// Category codes `0..levels`.
    pub y: &'a [u32],
    /// Number of categories J.
    pub levels: usize,
    /// Regressors with a common effect (no intercept: the thresholds take its place).
    pub x: &'a Matrix,
    /// Regressors with threshold-specific (nominal) effects, if any.
    pub z: Option<&'a Matrix>,
    /// An offset on η, if any.
    pub offset: Option<&'a [f64]>,
    /// Prior weights, if any.
    pub weights: Option<&'a [f64]>,
}

/// The estimates on arrays: ψ = (θ, γ, β) and their covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdinalEstimates {
    /// Thresholds θ₁ < … < θ_{J−1}.
    pub thresholds: Vec<f64>,
    /// Nominal effects γ, threshold by threshold (q each).
    pub nominal: Vec<f64>,
    /// Common effects β.
    pub coefficients: Vec<f64>,
    /// Covariance of ψ (inverse observed information).
    pub covariance: Matrix,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    /// Newton iterations.
    pub iterations: usize,
    /// The largest absolute score at the end.
    pub max_gradient: f64,
    /// Whether the score fell below the tolerance.
    pub converged: bool,
    /// The condition number of the observed information (ordinal's `cond.H`).
    pub condition: f64,
}

/// One block of rows' sums for [`OrdinalData::evaluate`].
struct Partial {
    log_likelihood: f64,
    gradient: Vec<f64>,
    hessian: Matrix,
    /// Without nominal effects, the block's β block of the Hessian, `Σ w (∂²_a + 2∂_a∂_b +
    /// ∂²_b) x xᵀ`, and `Xᵀ` times each row's multipliers of its x: the β score's, then each
    /// threshold's θβ Hessian entry's — two small matrix products over the block's rows.
    cross: Matrix,
    products: Matrix,
}

impl Partial {
    /// Zero sums over ψ of dimension `m`, with room for the Hessian when `derivatives`.
    fn new(m: usize, derivatives: bool) -> Self {
        let h = if derivatives { m } else { 0 };
        Self {
            log_likelihood: 0.0,
            gradient: vec![0.0; m],
            hessian: Matrix::zeros(h, h),
            cross: Matrix::zeros(0, 0),
            products: Matrix::zeros(0, 0),
        }
    }
}

impl OrdinalData<'_> {
    fn q(&self) -> usize {
        self.z.map_or(0, Matrix::ncols)
    }

    fn dimension(&self) -> usize {
        (self.levels - 1) * (1 + self.q()) + self.x.ncols()
    }

    /// The bound of threshold `j` for observation `i` at ψ.
    fn bound(&self, psi: &[f64], i: usize, j: usize, eta: f64) -> f64 {
        let q = self.q();
        let nominal: f64 = self.z.map_or(0.0, |z| (0..q).map(|r| z[(i, r)] * psi[self.levels - 1 + j * q + r]).sum());
        psi[j] + nominal - eta
    }

    /// The log-likelihood at ψ, with the score and Hessian if asked. Rows are taken in blocks
    /// of fixed size on as many threads as there are, and the blocks' sums added in block order:
    /// the result does not depend on the number of threads.
    fn evaluate(&self, link: CumulativeLink, psi: &[f64], derivatives: bool) -> (f64, Vec<f64>, Matrix) {
        const BLOCK: usize = 1 << 15;
        let m = self.dimension();
        let last = self.levels - 1;
        let beta_start = last * (1 + self.q());
        let p = self.x.ncols();
        let n = self.y.len();
        // η for every observation at once (column-major products).
        let mut eta = self.x.times(&psi[beta_start..]);
        if let Some(offset) = self.offset {
            for (e, o) in eta.iter_mut().zip(offset) {
                *e += o;
            }
        }
        let blocks = n.div_ceil(BLOCK);
        let partials = strata_core::parallel::map_in_order(blocks, strata_core::parallel::threads(), |b| {
            self.block(link, psi, &eta, b * BLOCK..((b + 1) * BLOCK).min(n), derivatives)
        });
        let structured = derivatives && self.z.is_none();
        let mut total = Partial::new(m, derivatives);
        let mut cross = Matrix::zeros(p, p);
        let mut products = Matrix::zeros(p, 1 + last);
        for partial in partials {
            total.log_likelihood += partial.log_likelihood;
            for (t, g) in total.gradient.iter_mut().zip(&partial.gradient) {
                *t += g;
            }
            if derivatives {
                for r in 0..m {
                    for s in 0..=r {
                        total.hessian[(r, s)] += partial.hessian[(r, s)];
                    }
                }
            }
            if structured {
                for r in 0..p {
                    for s in 0..p {
                        cross[(r, s)] += partial.cross[(r, s)];
                    }
                    for k in 0..=last {
                        products[(r, k)] += partial.products[(r, k)];
                    }
                }
            }
        }
        let mut hessian = total.hessian;
        if derivatives {
            if structured {
                for r in 0..p {
                    total.gradient[beta_start + r] = products[(r, 0)];
                    for s in 0..=r {
                        hessian[(beta_start + r, beta_start + s)] = cross[(r, s)];
                    }
                    for j in 0..last {
                        hessian[(beta_start + r, j)] = products[(r, 1 + j)];
                    }
                }
            }
            for r in 0..m {
                for s in 0..r {
                    hessian[(s, r)] = hessian[(r, s)];
                }
            }
        }
        (total.log_likelihood, total.gradient, hessian)
    }

    /// The sums over the rows of `range`: log-likelihood, score, the threshold block of the
    /// Hessian (all of its lower triangle with nominal effects), the θβ sums and each row's
    /// weight in the β block.
    fn block(
        &self,
        link: CumulativeLink,
        psi: &[f64],
        eta: &[f64],
        range: std::ops::Range<usize>,
        derivatives: bool,
    ) -> Partial {
        let m = self.dimension();
        let last = self.levels - 1;
        let rows = range.len();
        let structured = derivatives && self.z.is_none();
        let mut out = Partial::new(m, derivatives);
        // Without nominal effects: each row's weight in the β block, and its multipliers of x.
        let mut beta_weights = vec![0.0; if structured { rows } else { 0 }];
        let mut multipliers = Matrix::zeros(if structured { rows } else { 0 }, 1 + last);
        let whole = range.clone();
        let mut u = vec![0.0; if self.z.is_some() { m } else { 0 }];
        let mut v = vec![0.0; if self.z.is_some() { m } else { 0 }];
        let first = range.start;
        for i in range {
            let w = self.weights.map_or(1.0, |w| w[i]);
            if w == 0.0 {
                continue;
            }
            let c = self.y[i] as usize;
            let upper = (c < last).then(|| self.bound(psi, i, c, eta[i]));
            let lower = (c > 0).then(|| self.bound(psi, i, c - 1, eta[i]));
            let t = contribution(link, upper, lower);
            out.log_likelihood += w * t.log_p;
            if !derivatives || !t.log_p.is_finite() {
                continue;
            }
            if self.z.is_some() {
                self.dense_update(i, c, &t, w, (&mut u, &mut v), &mut out.gradient, &mut out.hessian);
                continue;
            }
            // Thresholds: a depends on θ_c, b on θ_{c−1}; both on β through −x. The terms in x
            // are multipliers of the row, summed against X after the loop.
            let local = i - first;
            if c < last {
                out.gradient[c] += w * t.da;
                out.hessian[(c, c)] += w * t.daa;
                multipliers[(local, 1 + c)] = -w * (t.daa + t.dab);
            }
            if c > 0 {
                out.gradient[c - 1] += w * t.db;
                out.hessian[(c - 1, c - 1)] += w * t.dbb;
                multipliers[(local, c)] = -w * (t.dbb + t.dab);
            }
            if c > 0 && c < last {
                out.hessian[(c, c - 1)] += w * t.dab;
            }
            multipliers[(local, 0)] = -w * (t.da + t.db);
            beta_weights[local] = w * (t.daa + 2.0 * t.dab + t.dbb);
        }
        if structured {
            (out.cross, out.products) = self.x.rows_crossprod(whole, &beta_weights, &multipliers);
        }
        out
    }

    /// The contributions of observation `i` to the score and the lower triangle of the Hessian
    /// through the full gradients u = ∂a/∂ψ and v = ∂b/∂ψ (the path with nominal effects).
    #[allow(clippy::too_many_arguments)]
    fn dense_update(
        &self,
        i: usize,
        c: usize,
        t: &super::likelihood::Contribution,
        w: f64,
        (u, v): (&mut [f64], &mut [f64]),
        gradient: &mut [f64],
        hessian: &mut Matrix,
    ) {
        let q = self.q();
        let last = self.levels - 1;
        let beta_start = last * (1 + q);
        let fill = |vector: &mut [f64], threshold: Option<usize>| {
            vector.fill(0.0);
            if let Some(j) = threshold {
                vector[j] = 1.0;
                if let Some(z) = self.z {
                    for r in 0..q {
                        vector[last + j * q + r] = z[(i, r)];
                    }
                }
                for k in 0..self.x.ncols() {
                    vector[beta_start + k] = -self.x[(i, k)];
                }
            }
        };
        fill(u, (c < last).then_some(c));
        fill(v, (c > 0).then(|| c - 1));
        for r in 0..u.len() {
            gradient[r] += w * (t.da * u[r] + t.db * v[r]);
            if u[r] == 0.0 && v[r] == 0.0 {
                continue;
            }
            for s in 0..=r {
                let value = t.daa * u[r] * u[s] + t.dbb * v[r] * v[s] + t.dab * (u[r] * v[s] + v[r] * u[s]);
                hessian[(r, s)] += w * value;
            }
        }
    }
}

/// Fits the cumulative link model with `link` to `data`.
///
/// # Examples
/// ```
/// use strata_categorical::link::CumulativeLink;
/// use strata_categorical::ordinal::{fit_cumulative_link, OrdinalData};
/// use strata_categorical::NewtonControl;
/// use strata_core::numerics::Matrix;
/// // Ofsted-like grades 0 < 1 < 2 rising with x.
/// let x = [0.1, 0.5, 0.9, 1.3, 1.7, 2.1, 2.5, 2.9, 3.3, 3.7, 0.3, 3.9];
/// let y = [0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 1, 2];
/// let data = OrdinalData { y: &y, levels: 3, x: &Matrix::from_column_major(12, 1, x.to_vec()), z: None, offset: None, weights: None };
/// let fit = fit_cumulative_link(&data, CumulativeLink::Logit, &NewtonControl::default())?;
/// assert!(fit.coefficients[0] > 0.0 && fit.thresholds[0] < fit.thresholds[1]);
/// # Ok::<(), strata_categorical::Error>(())
/// ```
///
/// # Errors
/// Inputs of the wrong length or out of range, non-finite values, or a fit whose information
/// matrix is singular (a separated or collinear design).
pub fn fit_cumulative_link(
    data: &OrdinalData<'_>,
    link: CumulativeLink,
    control: &NewtonControl,
) -> Result<OrdinalEstimates> {
    check(data)?;
    let m = data.dimension();
    let last = data.levels - 1;
    let q = data.q();
    // Start: thresholds at the link's quantiles of the cumulative proportions, effects at zero.
    let mut totals = vec![0.0; data.levels];
    for (i, &c) in data.y.iter().enumerate() {
        totals[c as usize] += data.weights.map_or(1.0, |w| w[i]);
    }
    let total: f64 = totals.iter().sum();
    let mut psi = vec![0.0; m];
    let mut cumulative = 0.0;
    for j in 0..last {
        cumulative += totals[j];
        psi[j] = link.quantile((cumulative / total).clamp(1e-6, 1.0 - 1e-6));
    }
    let (mut log_likelihood, mut gradient, mut hessian) = data.evaluate(link, &psi, true);
    let mut iterations = 0;
    let mut converged = false;
    for iteration in 1..=control.max_iterations {
        let largest = gradient.iter().fold(0.0_f64, |g, v| g.max(v.abs()));
        if largest < control.gradient_tolerance {
            converged = true;
            break;
        }
        iterations = iteration;
        let information = Matrix::from_fn(m, m, |r, s| -hessian[(r, s)]);
        let step = Cholesky::new(&information)
            .map_err(|_| {
                Error::Fit("the information matrix is singular: a covariate separates the categories or the design is collinear".into())
            })?
            .solve(&gradient);
        // The trial point is evaluated with its derivatives: accepted, they serve the next step.
        let mut scale = 1.0;
        loop {
            let trial: Vec<f64> = psi.iter().zip(&step).map(|(p, s)| p + scale * s).collect();
            let (value, trial_gradient, trial_hessian) = data.evaluate(link, &trial, true);
            if value.is_finite() && value >= log_likelihood - 1e-10 * log_likelihood.abs() {
                psi = trial;
                (log_likelihood, gradient, hessian) = (value, trial_gradient, trial_hessian);
                break;
            }
            scale /= 2.0;
            if scale < 1e-12 {
                return Err(Error::Fit("no step improves the likelihood".into()));
            }
        }
    }
    let information = Matrix::from_fn(m, m, |r, s| -hessian[(r, s)]);
    let condition = crate::diagnostics::condition_number(&information);
    let covariance = Cholesky::new(&information)
        .map_err(|_| Error::Fit("the information matrix is singular at the optimum".into()))?
        .inverse();
    let max_gradient = gradient.iter().fold(0.0_f64, |g, v| g.max(v.abs()));
    Ok(OrdinalEstimates {
        thresholds: psi[..last].to_vec(),
        nominal: psi[last..last * (1 + q)].to_vec(),
        coefficients: psi[last * (1 + q)..].to_vec(),
        covariance,
        log_likelihood,
        iterations,
        max_gradient,
        converged: converged || max_gradient < control.gradient_tolerance,
        condition,
    })
}

fn check(data: &OrdinalData<'_>) -> Result<()> {
    let n = data.y.len();
    if data.levels < 2 {
        return Err(Error::Specification("an ordinal model needs at least two categories".into()));
    }
    for (what, len) in [
        ("regressors", data.x.nrows()),
        ("nominal regressors", data.z.map_or(n, Matrix::nrows)),
        ("offset", data.offset.map_or(n, <[f64]>::len)),
        ("weights", data.weights.map_or(n, <[f64]>::len)),
    ] {
        if len != n {
            return Err(Error::Specification(format!("{what} have {len} rows for {n} observations")));
        }
    }
    if let Some(i) = data.y.iter().position(|&c| c as usize >= data.levels) {
        return Err(Error::Specification(format!(
            "category code {} at observation {} is out of range",
            data.y[i],
            i + 1
        )));
    }
    let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
    if !finite(data.x.as_slice()) || !data.z.is_none_or(|z| finite(z.as_slice())) || !data.offset.is_none_or(finite) {
        return Err(Error::Specification("the regressors and offset must be finite".into()));
    }
    if !data.weights.is_none_or(|w| w.iter().all(|v| v.is_finite() && *v >= 0.0)) {
        return Err(Error::Specification("weights must be finite and non-negative".into()));
    }
    Ok(())
}

/// The probability of each category for one observation with linear predictor `eta` and
/// nominal regressors `z` (empty without nominal effects).
pub fn category_probabilities(
    link: CumulativeLink,
    thresholds: &[f64],
    nominal: &[f64],
    z: &[f64],
    eta: f64,
) -> Vec<f64> {
    let q = z.len();
    let bound = |j: usize| thresholds[j] + (0..q).map(|r| z[r] * nominal[j * q + r]).sum::<f64>() - eta;
    let levels = thresholds.len() + 1;
    (0..levels)
        .map(|c| {
            let upper = (c < levels - 1).then(|| bound(c));
            let lower = (c > 0).then(|| bound(c - 1));
            link.interval(upper.unwrap_or(f64::INFINITY), lower.unwrap_or(f64::NEG_INFINITY)).max(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The structured score and Hessian equal the dense ones (a nominal matrix with no
    /// columns takes the dense path with the same parameters), weights and offset included.
    #[test]
    fn structured_derivatives_equal_the_dense_ones() {
        let n = 40;
        let x = Matrix::from_fn(n, 2, |i, j| ((i * (j + 3)) % 7) as f64 * 0.3 - 0.8);
        let y: Vec<u32> = (0..n).map(|i| ((i * 5 + i / 3) % 4) as u32).collect();
        let offset: Vec<f64> = (0..n).map(|i| 0.1 * (i % 3) as f64).collect();
        let weights: Vec<f64> = (0..n).map(|i| 1.0 + (i % 2) as f64).collect();
        let no_columns = Matrix::zeros(n, 0);
        let psi = [-1.1, 0.2, 1.4, 0.7, -0.4];
        for link in [CumulativeLink::Logit, CumulativeLink::Probit, CumulativeLink::Cloglog] {
            let structured =
                OrdinalData { y: &y, levels: 4, x: &x, z: None, offset: Some(&offset), weights: Some(&weights) };
            let dense = OrdinalData { z: Some(&no_columns), ..structured };
            let (l1, g1, h1) = structured.evaluate(link, &psi, true);
            let (l2, g2, h2) = dense.evaluate(link, &psi, true);
            assert!((l1 - l2).abs() < 1e-12);
            for r in 0..5 {
                assert!((g1[r] - g2[r]).abs() < 1e-12, "{link:?} score {r}");
                for s in 0..5 {
                    assert!((h1[(r, s)] - h2[(r, s)]).abs() < 1e-12, "{link:?} Hessian ({r}, {s})");
                }
            }
        }
    }
}

//! Profile-likelihood confidence intervals for linear and generalised linear mixed models
//! (Bates, Mächler, Bolker & Walker 2015, §5.1; lme4's `confint(fit, method = "profile")`).
//!
//! The parameters are profiled on the scale users read them: each random-effects term's
//! standard deviations and correlations, σ, and the fixed effects. With the ML deviance
//! $d(\psi)$ (β profiled out for the variance parameters),
//! $d(\psi) = \log|L_\theta|^2 + n\log(2\pi\sigma^2) + r^2(\theta)/\sigma^2$, the signed root
//! $$ \zeta(v) = \operatorname{sign}(v - \hat\psi_i)\sqrt{\min_{\psi: \psi_i = v} d(\psi) - d(\hat\psi)} $$
//! is found at each trial value by BOBYQA over the other parameters, and the interval is where
//! $\zeta = \pm z_{(1+\text{level})/2}$, located by bracketing and Illinois regula falsi. A fixed
//! effect held at v moves $x_j v$ into an offset, leaving the profiled ML deviance in θ. As in
//! lme4, REML fits are profiled on the ML deviance, so both give the same intervals; an interval
//! that reaches a bound (a standard deviation of zero, a correlation of ±1) stops there.
//!
//! For a GLMM the deviance is the Laplace (or quadrature) $-2\ell(\theta, \beta)$; every
//! parameter but the one held fixed — the other standard deviations and correlations and all
//! of β — is re-optimised at each trial value.

use crate::error::{Error, Result};
use crate::pls::{CrossProducts, PlsSolution};
use crate::random_effects::RandomEffects;
use serde::Serialize;
use strata_core::numerics::{minimize_bobyqa, BobyqaControl, Matrix};
use strata_core::results::normal_quantile;

/// A profile-likelihood confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileInterval {
    /// `sd_TERM|GROUP`, `cor_TERM2.TERM1|GROUP`, `sigma` or a fixed effect (lme4's
    /// `confint(..., oldNames = FALSE)` names).
    pub parameter: String,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

/// The kind of each variance parameter, for its bounds and scale.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    StdDev,
    Correlation,
    Sigma,
    Fixed,
}

/// The data and the ML optimum the profiles start from.
pub(crate) struct Profiler<'a> {
    x: &'a Matrix,
    y: &'a [f64],
    weights: Option<&'a [f64]>,
    random: &'a RandomEffects,
    control: BobyqaControl,
    /// The cross-products of the full model, formed once for every variance profile.
    system: CrossProducts,
    /// The variance parameters ψ at the ML optimum: each block's SDs then correlations, then σ.
    psi: Vec<f64>,
    kinds: Vec<Kind>,
    /// θ and β at the ML optimum.
    theta: Vec<f64>,
    beta: Vec<f64>,
    /// The minimum ML deviance.
    deviance: f64,
}

impl<'a> Profiler<'a> {
    /// Fits the model by ML from `theta` (the fit's own θ, REML or ML).
    pub(crate) fn new(
        x: &'a Matrix,
        y: &'a [f64],
        weights: Option<&'a [f64]>,
        random: &'a RandomEffects,
        theta: &[f64],
        control: BobyqaControl,
    ) -> Result<Self> {
        let system = CrossProducts::new(x, y, weights, random);
        let n = y.len();
        let mut theta = theta.to_vec();
        let upper = vec![f64::INFINITY; theta.len()];
        let objective = |t: &[f64]| system.solve(random, t).map_or(f64::INFINITY, |s| ml_profiled(&s, n));
        minimize_bobyqa(objective, &mut theta, &random.lower_bounds(), &upper, &control)?;
        let solution = system.solve(random, &theta)?;
        let sigma = (solution.pwrss / n as f64).sqrt();
        let (mut psi, mut kinds) = sd_cor(random, &theta, sigma);
        psi.push(sigma);
        kinds.push(Kind::Sigma);
        Ok(Self {
            x,
            y,
            weights,
            random,
            control,
            system,
            psi,
            kinds,
            theta,
            beta: solution.beta.clone(),
            deviance: ml_profiled(&solution, n),
        })
    }

    /// The intervals of the variance parameters, then of the fixed effects named `names`,
    /// whose Wald standard errors `std_errors` set the first steps of the search.
    pub(crate) fn intervals(
        &self,
        names: &[String],
        variance_names: &[String],
        std_errors: &[f64],
        level: f64,
    ) -> Result<Vec<ProfileInterval>> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::Specification(format!("the confidence level {level} is not in (0, 1)")));
        }
        let z = normal_quantile(0.5 + level / 2.0);
        let n = self.y.len();
        let sigma = self.psi[self.psi.len() - 1];
        let mut out = Vec::new();
        for (i, name) in variance_names.iter().enumerate() {
            let estimate = self.psi[i];
            let (bounds, step) = match self.kinds[i] {
                Kind::StdDev => {
                    let levels = self.block_levels(i) as f64;
                    ((0.0, f64::INFINITY), (estimate / (2.0 * levels).sqrt()).max(0.01 * sigma))
                }
                Kind::Correlation => ((-1.0, 1.0), 0.1),
                Kind::Sigma => ((1e-8 * sigma, f64::INFINITY), sigma / (2.0 * n as f64).sqrt()),
                Kind::Fixed => unreachable!("the variance parameters hold no fixed effects"),
            };
            let side = |target: f64, bound: f64| {
                let mut start = self.psi.clone();
                let mut zeta =
                    |v: f64| signed_root(v, estimate, self.variance_profile(i, v, &mut start), self.deviance);
                endpoint(estimate, target, bound, step, &mut zeta)
            };
            out.push(ProfileInterval { parameter: name.clone(), lower: side(-z, bounds.0), upper: side(z, bounds.1) });
        }
        for (j, name) in names.iter().enumerate() {
            let estimate = self.beta[j];
            let fixed = |direction: f64| {
                let mut start = self.theta.clone();
                let mut zeta = |v: f64| signed_root(v, estimate, self.fixed_profile(j, v, &mut start), self.deviance);
                endpoint(estimate, direction * z, direction * f64::INFINITY, std_errors[j], &mut zeta)
            };
            out.push(ProfileInterval { parameter: name.clone(), lower: fixed(-1.0), upper: fixed(1.0) });
        }
        Ok(out)
    }

    /// The number of levels of the grouping factor of variance parameter `i`.
    fn block_levels(&self, i: usize) -> usize {
        let mut k = 0;
        for block in &self.random.blocks {
            let count = block.p() * (block.p() + 1) / 2;
            if i < k + count {
                return block.levels.len();
            }
            k += count;
        }
        1
    }

    /// The ML deviance minimised over the other variance parameters with ψᵢ = v, starting from
    /// (and updating) `start`.
    fn variance_profile(&self, i: usize, v: f64, start: &mut [f64]) -> f64 {
        let n = self.y.len();
        let free: Vec<usize> = (0..self.psi.len()).filter(|&k| k != i).collect();
        let scale: Vec<f64> = free
            .iter()
            .map(|&k| match self.kinds[k] {
                Kind::Correlation => 1.0,
                _ => self.psi[k].max(0.1 * self.psi[self.psi.len() - 1]),
            })
            .collect();
        let (lower, upper): (Vec<f64>, Vec<f64>) = free
            .iter()
            .zip(&scale)
            .map(|(&k, s)| match self.kinds[k] {
                Kind::StdDev => (0.0, f64::INFINITY),
                Kind::Correlation => (-1.0, 1.0),
                Kind::Sigma => (1e-8 * self.psi[k] / s, f64::INFINITY),
                Kind::Fixed => (f64::NEG_INFINITY, f64::INFINITY),
            })
            .unzip();
        let full = |x: &[f64]| {
            let mut psi = start.to_vec();
            psi[i] = v;
            for ((&k, s), value) in free.iter().zip(&scale).zip(x) {
                psi[k] = value * s;
            }
            psi
        };
        let deviance = |x: &[f64]| self.deviance_at(&full(x), n).unwrap_or(f64::INFINITY);
        let mut x: Vec<f64> = free.iter().zip(&scale).map(|(&k, s)| start[k] / s).collect();
        for (value, (l, u)) in x.iter_mut().zip(lower.iter().zip(&upper)) {
            *value = value.clamp(*l, *u);
        }
        if minimize_bobyqa(deviance, &mut x, &lower, &upper, &self.control).is_err() {
            return f64::INFINITY;
        }
        let best = full(&x);
        start.copy_from_slice(&best);
        self.deviance_at(&best, n).unwrap_or(f64::INFINITY)
    }

    /// $d(\psi)$ with β profiled out.
    fn deviance_at(&self, psi: &[f64], n: usize) -> Option<f64> {
        let sigma = psi[psi.len() - 1];
        let theta = theta_from(self.random, &psi[..psi.len() - 1], sigma)?;
        let solution = self.system.solve(self.random, &theta).ok()?;
        let s2 = sigma * sigma;
        Some(solution.log_det_l + n as f64 * (2.0 * std::f64::consts::PI * s2).ln() + solution.pwrss / s2)
    }

    /// The ML deviance minimised over θ with $\beta_j = v$ (an offset $x_j v$).
    fn fixed_profile(&self, j: usize, v: f64, start: &mut [f64]) -> f64 {
        let (n, p) = (self.y.len(), self.x.ncols());
        let reduced = Matrix::from_fn(n, p - 1, |i, k| self.x[(i, if k < j { k } else { k + 1 })]);
        let shifted: Vec<f64> = (0..n).map(|i| self.y[i] - self.x[(i, j)] * v).collect();
        let system = CrossProducts::new(&reduced, &shifted, self.weights, self.random);
        let objective = |t: &[f64]| system.solve(self.random, t).map_or(f64::INFINITY, |s| ml_profiled(&s, n));
        let upper = vec![f64::INFINITY; start.len()];
        if minimize_bobyqa(objective, start, &self.random.lower_bounds(), &upper, &self.control).is_err() {
            return f64::INFINITY;
        }
        system.solve(self.random, start).map_or(f64::INFINITY, |s| ml_profiled(&s, n))
    }
}

/// θ from the standard deviations and correlations `psi` (each block's SDs, then its
/// correlations) on a scale σ: each block's relative factor is the Cholesky factor of its
/// covariance $DCD/\sigma^2$ (positive semi-definite allowed); `None` if the correlations are
/// not a correlation matrix.
fn theta_from(random: &RandomEffects, psi: &[f64], sigma: f64) -> Option<Vec<f64>> {
    let mut theta = Vec::with_capacity(random.n_theta());
    let mut k = 0;
    for block in &random.blocks {
        let p = block.p();
        let sd = &psi[k..k + p];
        let mut covariance = Matrix::from_fn(p, p, |a, b| if a == b { (sd[a] / sigma).powi(2) } else { 0.0 });
        let mut c = k + p;
        for a in 0..p {
            for b in a + 1..p {
                let value = psi[c] * sd[a] * sd[b] / (sigma * sigma);
                covariance[(a, b)] = value;
                covariance[(b, a)] = value;
                c += 1;
            }
        }
        let factor = semidefinite_cholesky(&covariance)?;
        for j in 0..p {
            for i in j..p {
                theta.push(factor[(i, j)]);
            }
        }
        k = c;
    }
    Some(theta)
}

/// The standard deviations and correlations of the random effects at θ on a scale σ, with
/// their kinds (an undefined correlation, of a zero standard deviation, is taken as 0).
fn sd_cor(random: &RandomEffects, theta: &[f64], sigma: f64) -> (Vec<f64>, Vec<Kind>) {
    random
        .variance_components(theta, sigma * sigma)
        .into_iter()
        .map(|c| match c.term2 {
            Some(_) => (if c.sdcor.is_finite() { c.sdcor } else { 0.0 }, Kind::Correlation),
            None => (c.sdcor, Kind::StdDev),
        })
        .unzip()
}

/// ζ at v: the signed root of the profiled deviance there above its minimum.
fn signed_root(v: f64, estimate: f64, deviance: f64, minimum: f64) -> f64 {
    (v - estimate).signum() * (deviance - minimum).max(0.0).sqrt()
}

/// The profiled ML deviance $\log|L_\theta|^2 + n(1 + \log(2\pi r^2/n))$.
fn ml_profiled(solution: &PlsSolution, n: usize) -> f64 {
    let n = n as f64;
    solution.log_det_l + n * (1.0 + (2.0 * std::f64::consts::PI * solution.pwrss / n).ln())
}

/// The lower Cholesky factor of a positive semi-definite matrix (zero pivots allowed).
fn semidefinite_cholesky(a: &Matrix) -> Option<Matrix> {
    let p = a.nrows();
    let mut l = Matrix::zeros(p, p);
    let scale = (0..p).map(|i| a[(i, i)].abs()).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    for j in 0..p {
        let pivot = a[(j, j)] - (0..j).map(|k| l[(j, k)] * l[(j, k)]).sum::<f64>();
        if pivot < -1e-10 * scale {
            return None;
        }
        let root = pivot.max(0.0).sqrt();
        l[(j, j)] = root;
        for i in j + 1..p {
            let value = a[(i, j)] - (0..j).map(|k| l[(i, k)] * l[(j, k)]).sum::<f64>();
            if root > 1e-12 * scale.sqrt() {
                l[(i, j)] = value / root;
            } else if value.abs() > 1e-8 * scale {
                return None;
            }
        }
    }
    Some(l)
}

/// Where ζ reaches `target` going from `estimate` towards `bound`: the bound itself if ζ never
/// gets there. Steps out from `step`, doubling, then Illinois regula falsi on the bracket.
fn endpoint(estimate: f64, target: f64, bound: f64, step: f64, zeta: &mut impl FnMut(f64) -> f64) -> f64 {
    let direction = target.signum();
    let beyond = |v: f64| direction * (v - bound) >= 0.0;
    let (mut a, mut za) = (estimate, 0.0);
    let mut step = if step.is_finite() && step > 0.0 { step } else { 0.1 * estimate.abs().max(1.0) };
    let (mut b, mut zb);
    let mut expansions = 0;
    loop {
        b = estimate + direction * step;
        if beyond(b) {
            b = bound;
        }
        zb = zeta(b);
        if direction * (zb - target) >= 0.0 {
            break;
        }
        if b == bound || expansions == 60 {
            return b;
        }
        (a, za) = (b, zb);
        step *= 2.0;
        expansions += 1;
    }
    // Illinois regula falsi on g(v) = ζ(v) − target, g(a) and g(b) of opposite signs.
    let (mut ga, mut gb) = (za - target, zb - target);
    for _ in 0..100 {
        let c = b - gb * (b - a) / (gb - ga);
        let gc = zeta(c) - target;
        if gc.abs() < 1e-6 || (b - a).abs() < 1e-10 * (1.0 + c.abs()) {
            return c;
        }
        if gc.signum() == gb.signum() {
            ga /= 2.0;
        } else {
            (a, ga) = (b, gb);
        }
        (b, gb) = (c, gc);
    }
    b
}

/// Profile intervals of a GLMM, whose deviance `deviance(θ, β)` (Laplace or quadrature) has
/// its minimum `minimum` at (θ, β): the random effects' standard deviations and correlations
/// (named `variance_names`), then the fixed effects (named `names`, with Wald standard errors
/// `std_errors` setting the first steps). Every parameter held at a trial value, the deviance is
/// minimised over all the others by BOBYQA, as lme4's `confint` for `glmer` fits.
#[allow(clippy::too_many_arguments)]
pub(crate) fn glmm_intervals(
    deviance: impl Fn(&[f64], &[f64]) -> Option<f64>,
    random: &RandomEffects,
    theta: &[f64],
    beta: &[f64],
    minimum: f64,
    variance_names: &[String],
    names: &[String],
    std_errors: &[f64],
    level: f64,
    control: BobyqaControl,
) -> Result<Vec<ProfileInterval>> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::Specification(format!("the confidence level {level} is not in (0, 1)")));
    }
    let z = normal_quantile(0.5 + level / 2.0);
    let (mut phi, mut kinds) = sd_cor(random, theta, 1.0);
    let n_variance = phi.len();
    phi.extend_from_slice(beta);
    kinds.extend(std::iter::repeat_n(Kind::Fixed, beta.len()));
    let scale: Vec<f64> = phi
        .iter()
        .zip(&kinds)
        .enumerate()
        .map(|(k, (&value, kind))| match kind {
            Kind::StdDev => value.max(0.1),
            Kind::Fixed => std_errors[k - n_variance].max(1e-8),
            _ => 1.0,
        })
        .collect();
    let evaluate = |phi: &[f64]| {
        theta_from(random, &phi[..n_variance], 1.0)
            .and_then(|t| deviance(&t, &phi[n_variance..]))
            .unwrap_or(f64::INFINITY)
    };
    // The deviance minimised over every parameter but i, held at v.
    let profile = |i: usize, v: f64, start: &mut Vec<f64>| {
        let free: Vec<usize> = (0..phi.len()).filter(|&k| k != i).collect();
        let (lower, upper): (Vec<f64>, Vec<f64>) = free
            .iter()
            .map(|&k| match kinds[k] {
                Kind::StdDev => (0.0, f64::INFINITY),
                Kind::Correlation => (-1.0, 1.0),
                _ => (f64::NEG_INFINITY, f64::INFINITY),
            })
            .unzip();
        let full = |x: &[f64], start: &[f64]| {
            let mut point = start.to_vec();
            point[i] = v;
            for (&k, value) in free.iter().zip(x) {
                point[k] = value * scale[k];
            }
            point
        };
        let mut x: Vec<f64> = free.iter().map(|&k| start[k] / scale[k]).collect();
        for (value, (l, u)) in x.iter_mut().zip(lower.iter().zip(&upper)) {
            *value = value.clamp(*l, *u);
        }
        let snapshot = start.clone();
        if minimize_bobyqa(|x| evaluate(&full(x, &snapshot)), &mut x, &lower, &upper, &control).is_err() {
            return f64::INFINITY;
        }
        *start = full(&x, &snapshot);
        evaluate(start)
    };
    let mut out = Vec::new();
    for (i, name) in variance_names.iter().chain(names).enumerate() {
        let estimate = phi[i];
        let (bounds, step) = match kinds[i] {
            Kind::StdDev => ((0.0, f64::INFINITY), 0.25 * estimate.max(0.1)),
            Kind::Correlation => ((-1.0, 1.0), 0.1),
            _ => ((f64::NEG_INFINITY, f64::INFINITY), scale[i]),
        };
        let side = |target: f64, bound: f64| {
            let mut start = phi.clone();
            let mut zeta = |v: f64| signed_root(v, estimate, profile(i, v, &mut start), minimum);
            endpoint(estimate, target, bound, step, &mut zeta)
        };
        out.push(ProfileInterval { parameter: name.clone(), lower: side(-z, bounds.0), upper: side(z, bounds.1) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_a_linear_and_a_bounded_profile() {
        // ζ(v) = (v − 2)/0.5: the 95% limits are 2 ± 1.96 · 0.5.
        let z = normal_quantile(0.975);
        let mut zeta = |v: f64| (v - 2.0) / 0.5;
        assert!((endpoint(2.0, z, f64::INFINITY, 0.1, &mut zeta) - (2.0 + 0.5 * z)).abs() < 1e-9);
        assert!((endpoint(2.0, -z, f64::NEG_INFINITY, 0.1, &mut zeta) - (2.0 - 0.5 * z)).abs() < 1e-9);
        // A flat profile stops at its bound, as a standard deviation's at zero.
        let mut flat = |v: f64| (v - 1.0) * 0.1;
        assert_eq!(endpoint(1.0, -z, 0.0, 0.3, &mut flat), 0.0);
    }

    #[test]
    fn semidefinite_factors_allow_perfect_correlation() {
        let a = Matrix::from_fn(2, 2, |_, _| 4.0);
        let l = semidefinite_cholesky(&a).unwrap();
        assert!((l[(0, 0)] - 2.0).abs() < 1e-15 && (l[(1, 0)] - 2.0).abs() < 1e-15 && l[(1, 1)] == 0.0);
        let not_psd = Matrix::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 1.5 });
        assert!(semidefinite_cholesky(&not_psd).is_none());
    }
}

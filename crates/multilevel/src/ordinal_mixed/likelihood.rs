//! The marginal likelihood of a cumulative link mixed model by adaptive Gauss–Hermite
//! quadrature (Laplace with one node) at each group's conditional mode.

use super::OrdinalMixedData;
use strata_categorical::link::CumulativeLink;
use strata_categorical::ordinal::likelihood::{contribution, Contribution};
use strata_core::numerics::{Cholesky, Matrix};

/// The approximate log-likelihood and its pieces for one parameter vector ψ = (θ, β, σ).
pub(super) struct Problem<'a> {
    pub(super) data: OrdinalMixedData<'a>,
    pub(super) link: CumulativeLink,
    /// The observations of each group of the first factor (the one-factor path).
    pub(super) members: Vec<Vec<usize>>,
    pub(super) nodes: Vec<f64>,
    pub(super) weights: Vec<f64>,
}

impl Problem<'_> {
    fn levels(&self) -> usize {
        self.data.fixed.levels
    }

    /// h(b) and its first two derivatives for one group whose fixed linear predictors are `eta`.
    /// Observation `i`'s prior weight and its contribution with linear predictor `shift`
    /// (fixed part plus random effects): its bounds are θ_c − shift and θ_{c−1} − shift.
    fn observation(&self, thresholds: &[f64], i: usize, shift: f64) -> (f64, Contribution) {
        let last = self.levels() - 1;
        let c = self.data.fixed.y[i] as usize;
        let upper = (c < last).then(|| thresholds[c] - shift);
        let lower = (c > 0).then(|| thresholds[c - 1] - shift);
        (self.data.fixed.weights.map_or(1.0, |w| w[i]), contribution(self.link, upper, lower))
    }

    pub(super) fn h(&self, thresholds: &[f64], sigma: f64, obs: &[usize], eta: &[f64], b: f64) -> (f64, f64, f64) {
        let (mut value, mut first, mut second) = (-0.5 * b * b - 0.5 * (2.0 * std::f64::consts::PI).ln(), -b, -1.0);
        for (&i, &e) in obs.iter().zip(eta) {
            let (w, t) = self.observation(thresholds, i, e + sigma * b);
            value += w * t.log_p;
            first -= w * sigma * (t.da + t.db);
            second += w * sigma * sigma * (t.daa + 2.0 * t.dab + t.dbb);
        }
        (value, first, second)
    }

    /// The group's log marginal likelihood and the mode b̂, Newton's search starting at `start`.
    fn group(&self, thresholds: &[f64], beta: &[f64], sigma: f64, g: usize, start: f64) -> Option<(f64, f64)> {
        let obs = &self.members[g];
        let eta: Vec<f64> = obs.iter().map(|&i| self.eta(beta, i)).collect();
        let mut b = start;
        let (mut value, mut first, mut second) = self.h(thresholds, sigma, obs, &eta, b);
        for _ in 0..100 {
            if !value.is_finite() || second >= 0.0 {
                return None;
            }
            let step = -first / second;
            let mut scale = 1.0;
            let (mut v, mut f1, mut f2);
            loop {
                (v, f1, f2) = self.h(thresholds, sigma, obs, &eta, b + scale * step);
                if v.is_finite() && v >= value - 1e-12 * value.abs() {
                    break;
                }
                scale /= 2.0;
                if scale < 1e-10 {
                    return None;
                }
            }
            b += scale * step;
            (value, first, second) = (v, f1, f2);
            if (scale * step).abs() < 1e-12 * (1.0 + b.abs()) {
                break;
            }
        }
        let s = 1.0 / (-second).sqrt();
        let log_normal = |z: f64| -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let terms: Vec<f64> = self
            .nodes
            .iter()
            .zip(&self.weights)
            .map(|(&z, &w)| {
                let at = if z == 0.0 { value } else { self.h(thresholds, sigma, obs, &eta, b + s * z).0 };
                w.ln() + at + s.ln() - log_normal(z)
            })
            .collect();
        let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_integral = top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
        log_integral.is_finite().then_some((log_integral, b))
    }

    /// The approximate log-likelihood at ψ = (θ, β, σ₁, …) and the modes b̂ (not scaled by
    /// σ), the searches starting from `starts`.
    pub(super) fn log_likelihood(&self, psi: &[f64], starts: &[f64]) -> Option<(f64, Vec<f64>)> {
        let last = self.levels() - 1;
        let factors = self.data.factors.len();
        let (thresholds, rest) = psi.split_at(last);
        let (beta, sigmas) = rest.split_at(rest.len() - factors);
        if sigmas.iter().any(|s| !(*s >= 0.0)) || thresholds.windows(2).any(|w| !(w[1] > w[0])) {
            return None;
        }
        if factors == 1 {
            self.by_group(thresholds, beta, sigmas[0], starts)
        } else {
            self.joint(thresholds, beta, sigmas, starts)
        }
    }

    /// One factor: the groups' integrals, shared among threads and added in group order, so the
    /// result does not depend on the number of threads.
    fn by_group(&self, thresholds: &[f64], beta: &[f64], sigma: f64, starts: &[f64]) -> Option<(f64, Vec<f64>)> {
        let groups = self.members.len();
        let results = strata_core::parallel::map_in_order(groups, strata_core::parallel::threads(), |g| {
            self.group(thresholds, beta, sigma, g, starts.get(g).copied().unwrap_or(0.0))
        });
        let mut total = 0.0;
        let mut modes = Vec::with_capacity(groups);
        for result in results {
            let (value, b) = result?;
            total += value;
            modes.push(b);
        }
        Some((total, modes))
    }

    /// Several factors: the joint Laplace approximation at the joint mode.
    pub(super) fn joint(
        &self,
        thresholds: &[f64],
        beta: &[f64],
        sigmas: &[f64],
        starts: &[f64],
    ) -> Option<(f64, Vec<f64>)> {
        let factors = self.data.factors;
        let offsets: Vec<usize> = factors
            .iter()
            .scan(0, |total, f| {
                let start = *total;
                *total += f.levels;
                Some(start)
            })
            .collect();
        let q: usize = factors.iter().map(|f| f.levels).sum();
        let n = self.data.fixed.y.len();
        let eta: Vec<f64> = (0..n).map(|i| self.eta(beta, i)).collect();
        // h(b) − constants, its gradient and −∇²h, dense.
        let evaluate = |b: &[f64], derivatives: bool| -> (f64, Vec<f64>, Matrix) {
            let mut value = -0.5 * b.iter().map(|v| v * v).sum::<f64>();
            let mut gradient: Vec<f64> = b.iter().map(|v| -v).collect();
            let mut information = if derivatives { Matrix::identity(q) } else { Matrix::zeros(0, 0) };
            let mut index = vec![0usize; factors.len()];
            for i in 0..n {
                for (f, factor) in factors.iter().enumerate() {
                    index[f] = offsets[f] + factor.codes[i] as usize;
                }
                let shift = eta[i] + index.iter().zip(sigmas).map(|(&k, s)| s * b[k]).sum::<f64>();
                let (w, t) = self.observation(thresholds, i, shift);
                value += w * t.log_p;
                if !derivatives || !t.log_p.is_finite() {
                    continue;
                }
                let (first, second) = (-(t.da + t.db), t.daa + 2.0 * t.dab + t.dbb);
                for f in 0..factors.len() {
                    gradient[index[f]] += w * sigmas[f] * first;
                    for g in 0..factors.len() {
                        information[(index[f], index[g])] -= w * sigmas[f] * sigmas[g] * second;
                    }
                }
            }
            (value, gradient, information)
        };
        let mut b = if starts.len() == q { starts.to_vec() } else { vec![0.0; q] };
        let (mut value, mut gradient, mut information) = evaluate(&b, true);
        for _ in 0..100 {
            if !value.is_finite() {
                return None;
            }
            let step = Cholesky::new(&information).ok()?.solve(&gradient);
            let mut scale = 1.0;
            loop {
                let trial: Vec<f64> = b.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
                let (v, _, _) = evaluate(&trial, false);
                if v.is_finite() && v >= value - 1e-12 * value.abs() {
                    b = trial;
                    break;
                }
                scale /= 2.0;
                if scale < 1e-10 {
                    return None;
                }
            }
            (value, gradient, information) = evaluate(&b, true);
            if step.iter().all(|s| (scale * s).abs() < 1e-12 * (1.0 + s.abs())) {
                break;
            }
        }
        let log_determinant = Cholesky::new(&information).ok()?.log_determinant();
        Some((value - 0.5 * log_determinant, b))
    }

    /// x'β + offset for observation i.
    pub(super) fn eta(&self, beta: &[f64], i: usize) -> f64 {
        let x = self.data.fixed.x;
        (0..x.ncols()).map(|k| x[(i, k)] * beta[k]).sum::<f64>() + self.data.fixed.offset.map_or(0.0, |o| o[i])
    }
}

//! The Laplace and adaptive Gauss–Hermite approximations of a GLMM's deviance at (θ, β): the
//! conditional mode by penalised IRLS, warm-started from the last mode found.

use super::engine::GlmmData;
use crate::error::Result;
use crate::pls::CrossProducts;
use crate::random_effects::RandomEffects;
use strata_core::family::{Family, Link};
use strata_core::numerics::Matrix;
use strata_core::parallel::{fill, sum_blocks, threads};

pub(super) struct Problem<'a> {
    pub(super) family: Family,
    pub(super) link: Link,
    pub(super) x: &'a Matrix,
    pub(super) data: &'a GlmmData,
    pub(super) random: &'a RandomEffects,
    /// The last mode found (u, β): the optimisers move in small steps, so PIRLS starts there.
    pub(super) warm: std::cell::RefCell<Option<(Vec<f64>, Vec<f64>)>>,
    /// `−2 log p(y | y)` of the saturated model.
    pub(super) saturated: f64,
}

impl<'a> Problem<'a> {
    pub(super) fn new(
        family: Family,
        link: Link,
        x: &'a Matrix,
        data: &'a GlmmData,
        random: &'a RandomEffects,
    ) -> Self {
        let saturated =
            -2.0 * family.log_likelihood(&data.y, &data.y, &data.weights, &data.trials, 0.0).unwrap_or(f64::NAN);
        Self { family, link, x, data, random, warm: std::cell::RefCell::new(None), saturated }
    }
}

/// The conditional mode at one (θ, β).
pub(super) struct Mode {
    pub(super) beta: Vec<f64>,
    pub(super) u: Vec<f64>,
    pub(super) mu: Vec<f64>,
    pub(super) weights: Vec<f64>,
    pub(super) log_det_l: f64,
    pub(super) schur_inverse: Matrix,
}

impl Problem<'_> {
    fn linear(&self, beta: &[f64], theta: &[f64], u: &[f64]) -> Vec<f64> {
        let mut eta = self.data.offset.clone();
        self.x.times_add(beta, &mut eta);
        self.random.z_times_add(&self.random.lambda_times(theta, u), &mut eta);
        eta
    }

    fn working_weights(&self, eta: &[f64], mu: &[f64]) -> Vec<f64> {
        let (link, family, prior) = (self.link, self.family, &self.data.weights);
        let mut weights = vec![0.0; eta.len()];
        fill(&mut weights, threads(), |i| {
            let d = link.mu_eta(eta[i]);
            prior[i] * d * d / family.variance(mu[i])
        });
        weights
    }

    /// The means at linear predictors `eta`, on every thread.
    fn means(&self, eta: &[f64]) -> Vec<f64> {
        let link = self.link;
        let mut mu = vec![0.0; eta.len()];
        fill(&mut mu, threads(), |i| link.inverse(eta[i]));
        mu
    }

    /// The deviance $\sum_i w_i d(y_i, \mu_i)$, summed in fixed blocks on every thread.
    fn deviance_of(&self, mu: &[f64]) -> f64 {
        let (family, y, prior) = (self.family, &self.data.y, &self.data.weights);
        sum_blocks(mu.len(), threads(), |i| prior[i] * family.unit_deviance(y[i], mu[i]))
    }

    fn penalised_deviance(&self, mu: &[f64], u: &[f64]) -> f64 {
        self.deviance_of(mu) + u.iter().map(|v| v * v).sum::<f64>()
    }

    /// PIRLS for u (and β when `beta` is `None`) at θ.
    pub(super) fn pirls(&self, theta: &[f64], beta: Option<&[f64]>) -> Result<Mode> {
        let n = self.data.y.len();
        let q = self.random.q();
        let warm = self.warm.borrow().clone();
        let (mut u, mut current_beta, mut eta) = match (beta, warm) {
            (Some(b), Some((u, _))) => {
                let eta = self.linear(b, theta, &u);
                (u, b.to_vec(), eta)
            }
            (Some(b), None) => (vec![0.0; q], b.to_vec(), self.linear(b, theta, &vec![0.0; q])),
            (None, Some((u, warm_beta))) => {
                let eta = self.linear(&warm_beta, theta, &u);
                (u, warm_beta, eta)
            }
            (None, None) => (
                vec![0.0; q],
                vec![0.0; self.x.ncols()],
                (0..n).map(|i| self.link.link(self.family.start(self.data.y[i], self.data.weights[i]))).collect(),
            ),
        };
        let mut mu = self.means(&eta);
        // From the family's starting means the first step is taken unconditionally; from any
        // other start, steps must not increase the penalised deviance.
        let cold = beta.is_none() && u.iter().all(|v| *v == 0.0) && current_beta.iter().all(|v| *v == 0.0);
        let mut previous = if cold { f64::INFINITY } else { self.penalised_deviance(&mu, &u) };
        let empty = Matrix::zeros(n, 0);
        for _ in 0..100 {
            // The working weights and response share dμ/dη: one evaluation per observation.
            let (link, family, data) = (self.link, self.family, self.data);
            let mut weights = vec![0.0; n];
            fill(&mut weights, threads(), |i| {
                let d = link.mu_eta_given(eta[i], mu[i]);
                data.weights[i] * d * d / family.variance(mu[i])
            });
            let mut z = vec![0.0; n];
            fill(&mut z, threads(), |i| {
                eta[i] - data.offset[i] + (data.y[i] - mu[i]) / link.mu_eta_given(eta[i], mu[i])
            });
            let (new_beta, new_u) = if let Some(b) = beta {
                let fixed = self.x.times(b);
                let target: Vec<f64> = z.iter().zip(&fixed).map(|(z, f)| z - f).collect();
                let solution =
                    CrossProducts::new(&empty, &target, Some(&weights), self.random).solve(self.random, theta)?;
                (b.to_vec(), solution.u)
            } else {
                let solution = CrossProducts::new(self.x, &z, Some(&weights), self.random).solve(self.random, theta)?;
                (solution.beta, solution.u)
            };
            // Step-halving on the penalised deviance.
            let mut fraction = 1.0;
            let accepted = loop {
                let trial_u: Vec<f64> = u.iter().zip(&new_u).map(|(a, b)| a + fraction * (b - a)).collect();
                let trial_beta: Vec<f64> =
                    current_beta.iter().zip(&new_beta).map(|(a, b)| a + fraction * (b - a)).collect();
                let trial_eta = self.linear(&trial_beta, theta, &trial_u);
                let trial_mu = self.means(&trial_eta);
                let value = self.penalised_deviance(&trial_mu, &trial_u);
                if value.is_finite() && (value <= previous * (1.0 + 1e-12) || !previous.is_finite()) {
                    break Some((trial_u, trial_beta, trial_eta, trial_mu, value));
                }
                fraction /= 2.0;
                if fraction < 1e-8 {
                    break None;
                }
            };
            let Some((next_u, next_beta, next_eta, next_mu, value)) = accepted else { break };
            let change = (previous - value).abs() / (value.abs() + 0.1);
            u = next_u;
            current_beta = next_beta;
            eta = next_eta;
            mu = next_mu;
            previous = value;
            if change < 1e-13 {
                break;
            }
        }
        let weights = self.working_weights(&eta, &mu);
        let z: Vec<f64> = vec![0.0; n];
        let system = CrossProducts::new(self.x, &z, Some(&weights), self.random).solve(self.random, theta)?;
        *self.warm.borrow_mut() = Some((u.clone(), current_beta.clone()));
        Ok(Mode {
            beta: current_beta,
            u,
            mu,
            weights,
            log_det_l: system.log_det_l,
            schur_inverse: system.schur_inverse,
        })
    }

    /// `−2 log p(y | μ)`: the deviance (a sum of unit deviances) plus the saturated model's
    /// `−2 log p(y | y)`, which does not depend on μ and is computed once.
    fn conditional_deviance(&self, mu: &[f64]) -> f64 {
        self.deviance_of(mu) + self.saturated
    }

    /// The Laplace approximation to −2 log-likelihood at a mode.
    pub(super) fn laplace(&self, mode: &Mode) -> f64 {
        self.conditional_deviance(&mode.mu) + mode.u.iter().map(|v| v * v).sum::<f64>() + mode.log_det_l
    }

    /// −2 log-likelihood at (θ, β) by Laplace (one point) or adaptive Gauss–Hermite quadrature.
    pub(super) fn deviance(&self, theta: &[f64], beta: &[f64], (nodes, weights): &(Vec<f64>, Vec<f64>)) -> Result<f64> {
        let mode = self.pirls(theta, Some(beta))?;
        if nodes.len() == 1 {
            return Ok(self.laplace(&mode));
        }
        let block = &self.random.blocks[0];
        let lambda = theta[0];
        let fixed: Vec<f64> = self.x.times(beta).iter().zip(&self.data.offset).map(|(a, b)| a + b).collect();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); block.levels.len()];
        for (i, &c) in block.codes.iter().enumerate() {
            members[c as usize].push(i);
        }
        let mut total = 0.0;
        for (j, rows) in members.iter().enumerate() {
            let information: f64 =
                1.0 + rows.iter().map(|&i| mode.weights[i] * (lambda * block.x[(i, 0)]).powi(2)).sum::<f64>();
            let scale = 1.0 / information.sqrt();
            let terms: Vec<f64> = nodes
                .iter()
                .zip(weights)
                .map(|(&t, &weight)| {
                    let u = mode.u[j] + scale * t;
                    // lme4 measures the conditional fit by the deviance residuals here (not the
                    // full log-likelihood as under Laplace): its AGQ deviances omit the saturated
                    // model's constant, and so do these.
                    let deviance: f64 = rows
                        .iter()
                        .map(|&i| {
                            let mu = self.link.inverse(fixed[i] + lambda * u * block.x[(i, 0)]);
                            self.data.weights[i] * self.family.unit_deviance(self.data.y[i], mu)
                        })
                        .sum();
                    weight.ln() - 0.5 * deviance - 0.5 * u * u + 0.5 * t * t
                })
                .collect();
            let largest = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = largest + terms.iter().map(|v| (v - largest).exp()).sum::<f64>().ln();
            total += information.ln() - 2.0 * log_sum;
        }
        Ok(total)
    }
}

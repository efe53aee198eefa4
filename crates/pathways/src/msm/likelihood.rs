//! The panel likelihood of a multi-state model and its analytic gradient.

use super::exponential::TransitionProbabilities;
use std::collections::BTreeMap;
use strata_core::numerics::Matrix;

/// Pairs of consecutive visits counted by (covariate pattern, from, to, bits of the interval).
pub(super) type PairCounts = BTreeMap<(usize, usize, usize, u64), f64>;

/// The panel likelihood: pairs of consecutive visits counted by (covariate pattern, from, to,
/// interval bits), with the patterns' centred covariates. Parameters: the log intensities of the
/// allowed transitions at the covariate means, then one β per entry of `effects`.
pub(super) struct PanelLikelihood {
    pub(super) states: usize,
    pub(super) allowed: Vec<(usize, usize)>,
    /// The log-intensity parameter of each allowed transition (shared under constraints).
    pub(super) parameter: Vec<usize>,
    /// The number of log-intensity parameters.
    pub(super) intensities: usize,
    /// (transition, covariate) pairs with a coefficient.
    pub(super) effects: Vec<(usize, usize)>,
    pub(super) patterns: Vec<Vec<f64>>,
    pub(super) pairs: PairCounts,
    /// Absorbing states entered at exactly observed times.
    pub(super) exact: Vec<bool>,
}

impl PanelLikelihood {
    /// Q at parameters `x` for centred covariates `centred`.
    pub(super) fn generator(&self, x: &[f64], centred: &[f64]) -> Matrix {
        let k = self.states;
        let mut log_rates: Vec<f64> = self.parameter.iter().map(|&g| x[g]).collect();
        for (e, &(a, c)) in self.effects.iter().enumerate() {
            log_rates[a] += x[self.intensities + e] * centred[c];
        }
        let mut q = Matrix::zeros(k, k);
        for (&(i, j), log_rate) in self.allowed.iter().zip(&log_rates) {
            q[(i, j)] = log_rate.exp();
            q[(i, i)] -= log_rate.exp();
        }
        q
    }

    /// −2 log L and its gradient: the log intensity of transition a moves Q along
    /// $G_a = q_a (E_{ij} - E_{ii})$, and $\beta_{a,c}$ along $z_c G_a$.
    pub(super) fn minus2_with_gradient(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let (k, n_allowed) = (self.states, self.allowed.len());
        let mut total = 0.0;
        let mut gradient = vec![0.0; x.len()];
        let (mut derivatives, mut scratch) = (vec![0.0; n_allowed], vec![0.0; n_allowed]);
        for (pattern, centred) in self.patterns.iter().enumerate() {
            let q = self.generator(x, centred);
            let directions = self
                .allowed
                .iter()
                .map(|&(i, j)| {
                    let mut g = Matrix::zeros(k, k);
                    g[(i, j)] = q[(i, j)];
                    g[(i, i)] = -q[(i, j)];
                    g
                })
                .collect();
            let mut probabilities = TransitionProbabilities::new(&q, directions);
            for (&(_, from, to, bits), &count) in self.pairs.range((pattern, 0, 0, 0)..(pattern + 1, 0, 0, 0)) {
                let t = f64::from_bits(bits);
                let p = if self.exact[to] {
                    self.exact_entry(&q, &mut probabilities, t, from, to, &mut derivatives, &mut scratch)
                } else {
                    probabilities.entry(t, from, to, &mut derivatives)
                }
                .max(1e-300);
                total -= 2.0 * count * p.ln();
                for (a, d) in derivatives.iter().enumerate() {
                    gradient[self.parameter[a]] -= 2.0 * count * d / p;
                }
                for (e, &(a, c)) in self.effects.iter().enumerate() {
                    gradient[self.intensities + e] -= 2.0 * count * derivatives[a] / p * centred[c];
                }
            }
        }
        (total, gradient)
    }

    /// $\sum_{m \ne D} P(t)_{rm} q_{mD}$ for entry into exact-death state D, with its
    /// derivatives: $\partial P_{rm}\,q_{mD}$ plus $P_{rm}\,q_{mD}$ on the log intensity of m → D.
    #[allow(clippy::too_many_arguments)]
    fn exact_entry(
        &self,
        q: &Matrix,
        probabilities: &mut TransitionProbabilities,
        t: f64,
        from: usize,
        to: usize,
        derivatives: &mut [f64],
        scratch: &mut [f64],
    ) -> f64 {
        derivatives.fill(0.0);
        let mut total = 0.0;
        for (a, &(m, d)) in self.allowed.iter().enumerate() {
            if d != to {
                continue;
            }
            let p = probabilities.entry(t, from, m, scratch);
            total += p * q[(m, d)];
            for (sum, dp) in derivatives.iter_mut().zip(scratch.iter()) {
                *sum += dp * q[(m, d)];
            }
            derivatives[a] += p * q[(m, d)];
        }
        total
    }
}

/// The Hessian of a function from central differences of its analytic gradient (step 1e-4 in
/// each coordinate), symmetrised.
pub(super) fn gradient_difference_hessian(objective: &impl Fn(&[f64]) -> (f64, Vec<f64>), x: &[f64]) -> Matrix {
    let n = x.len();
    let step = 1e-4;
    let mut hessian = Matrix::zeros(n, n);
    for j in 0..n {
        let mut shifted = x.to_vec();
        shifted[j] = x[j] + step;
        let up = objective(&shifted).1;
        shifted[j] = x[j] - step;
        let down = objective(&shifted).1;
        for i in 0..n {
            hessian[(i, j)] = (up[i] - down[i]) / (2.0 * step);
        }
    }
    Matrix::from_fn(n, n, |i, j| 0.5 * (hessian[(i, j)] + hessian[(j, i)]))
}

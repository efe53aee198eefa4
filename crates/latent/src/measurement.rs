//! The measurement model of latent class analysis and the two steps of its EM algorithm, on
//! collapsed response patterns.
//!
//! With classes $k = 1..K$ of probability $\pi_k$ and item-response probabilities
//! $\rho_{jkr} = P(y_j = r \mid k)$, indicators independent within a class (local independence),
//! a pattern $y$ has density $f_k(y) = \prod_{j\ \text{observed}} \rho_{jk y_j}$ in class $k$ and
//! likelihood $\sum_k \pi_k f_k(y)$; unobserved indicators drop out of the product (missing at
//! random, as stepmix's `binary_nan` and poLCA with `na.rm = FALSE`). The E-step gives each
//! pattern's posterior $\tau_{pk} \propto \pi_k f_k(y_p)$; the M-step sets
//! $\pi_k = \sum_p n_p\tau_{pk}/N$ and $\rho_{jkr}$ to the share of class $k$'s (posterior-weighted)
//! observed responses to $j$ that are $r$ (Goodman 1974; Dempster, Laird and Rubin 1977).

use crate::indicators::{Patterns, MISSING};
use serde::{Deserialize, Serialize};

/// The measurement parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// $\pi_k$.
    pub proportions: Vec<f64>,
    /// For each indicator, $\rho_{jkr}$ as a `K × R_j` row-major table (class by level).
    pub items: Vec<Vec<f64>>,
}

impl Parameters {
    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.proportions.len()
    }

    /// The free parameters: $K - 1 + K \sum_j (R_j - 1)$.
    pub fn count(&self) -> usize {
        let k = self.classes();
        k - 1 + self.items.iter().map(|t| k * (t.len() / k - 1)).sum::<usize>()
    }

    /// The same classes in the order `order` (new class `c` is old class `order[c]`).
    #[must_use]
    pub fn permuted(&self, order: &[usize]) -> Self {
        let k = self.classes();
        Self {
            proportions: order.iter().map(|&c| self.proportions[c]).collect(),
            items: self
                .items
                .iter()
                .map(|t| {
                    let r = t.len() / k;
                    order.iter().flat_map(|&c| t[c * r..(c + 1) * r].iter().copied()).collect()
                })
                .collect(),
        }
    }
}

/// Work space of the E-step: log-probabilities laid out for the sparse patterns.
#[derive(Debug, Clone)]
pub struct LogTables {
    k: usize,
    /// $\sum_j \log\rho_{jk b_j}$ for each class, with $b_j$ the base levels.
    baseline: Vec<f64>,
    /// For indicator $j$, entry `(offset[j] + r) * K + k`: $\log\rho_{jkr} - \log\rho_{jkb_j}$, and at
    /// `r = R_j` (missing) $-\log\rho_{jkb_j}$.
    delta: Vec<f64>,
    offset: Vec<usize>,
}

/// The log of a probability, floored so that a zero does not make NaN of a difference.
fn log(p: f64) -> f64 {
    p.max(1e-300).ln()
}

impl LogTables {
    /// The tables of `parameters` for `patterns`' base levels.
    pub fn new(parameters: &Parameters, patterns: &Patterns) -> Self {
        let k = parameters.classes();
        let mut offset = Vec::with_capacity(patterns.levels.len());
        let mut total = 0;
        for &r in &patterns.levels {
            offset.push(total);
            total += r + 1;
        }
        let mut baseline = vec![0.0; k];
        let mut delta = vec![0.0; total * k];
        for (j, table) in parameters.items.iter().enumerate() {
            let levels = patterns.levels[j];
            let base = patterns.base[j] as usize;
            for c in 0..k {
                let log_base = log(table[c * levels + base]);
                baseline[c] += log_base;
                for r in 0..levels {
                    delta[(offset[j] + r) * k + c] = log(table[c * levels + r]) - log_base;
                }
                delta[(offset[j] + levels) * k + c] = -log_base;
            }
        }
        Self { k, baseline, delta, offset }
    }

    /// $\log f_k(y_p)$ for every class into `out`.
    pub fn log_densities(&self, patterns: &Patterns, p: usize, out: &mut [f64]) {
        out.copy_from_slice(&self.baseline);
        for &(j, r) in patterns.entries(p) {
            let j = j as usize;
            let r = if r == MISSING { patterns.levels[j] } else { r as usize };
            let row = &self.delta[(self.offset[j] + r) * self.k..][..self.k];
            for (o, d) in out.iter_mut().zip(row) {
                *o += d;
            }
        }
    }
}

/// Turns log-weights into probabilities in place and returns the log of their sum.
pub fn normalise_logs(values: &mut [f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for v in values.iter_mut() {
        *v = (*v - top).exp();
        total += *v;
    }
    for v in values.iter_mut() {
        *v /= total;
    }
    top + total.ln()
}

/// The E-step: every pattern's posterior class probabilities (`P × K`, row-major, into
/// `posterior`) and the log-likelihood $\sum_p n_p \log \sum_k \pi_k f_k(y_p)$.
pub fn expectation(parameters: &Parameters, patterns: &Patterns, posterior: &mut Vec<f64>) -> f64 {
    let k = parameters.classes();
    let tables = LogTables::new(parameters, patterns);
    let log_prior: Vec<f64> = parameters.proportions.iter().map(|&p| log(p)).collect();
    posterior.resize(patterns.len() * k, 0.0);
    let mut log_likelihood = 0.0;
    for (p, row) in posterior.chunks_mut(k).enumerate() {
        tables.log_densities(patterns, p, row);
        for (r, l) in row.iter_mut().zip(&log_prior) {
            *r += l;
        }
        log_likelihood += patterns.counts[p] * normalise_logs(row);
    }
    log_likelihood
}

/// Posterior-weighted response counts: for each class, its total weight and, for each indicator
/// and level away from the base (and for "missing"), the weight of the patterns with that response.
#[derive(Debug, Clone)]
pub struct Tallies {
    k: usize,
    /// $\sum_p w_{pk}$.
    pub total: Vec<f64>,
    /// Entry `(offset[j] + r) * K + k`, with `r = R_j` for missing.
    sums: Vec<f64>,
    offset: Vec<usize>,
}

impl Tallies {
    /// Tallies of the unit weights `weights` (`P × K`: $n_p\tau_{pk}$, or any posterior-weighted
    /// counts).
    pub fn new(patterns: &Patterns, weights: &[f64], k: usize) -> Self {
        let mut total = vec![0.0; k];
        let mut offset = Vec::with_capacity(patterns.levels.len());
        let mut size = 0;
        for &r in &patterns.levels {
            offset.push(size);
            size += r + 1;
        }
        let mut sums = vec![0.0; size * k];
        for (p, w) in weights.chunks(k).enumerate() {
            for (t, x) in total.iter_mut().zip(w) {
                *t += x;
            }
            for &(j, r) in patterns.entries(p) {
                let j = j as usize;
                let r = if r == MISSING { patterns.levels[j] } else { r as usize };
                for (s, x) in sums[(offset[j] + r) * k..][..k].iter_mut().zip(w) {
                    *s += x;
                }
            }
        }
        Self { k, total, sums, offset }
    }

    /// Class `c`'s weight of observed responses to indicator `j` (of `levels` levels, base
    /// `base`) at each level.
    pub fn responses(&self, j: usize, levels: usize, base: usize, c: usize) -> (Vec<f64>, f64) {
        let at = |r: usize| self.sums[(self.offset[j] + r) * self.k + c];
        let observed = self.total[c] - at(levels);
        let mut counts: Vec<f64> = (0..levels).map(|r| if r == base { 0.0 } else { at(r) }).collect();
        counts[base] = (observed - counts.iter().sum::<f64>()).max(0.0);
        (counts, observed)
    }
}

/// The M-step of the item-response probabilities from unit weights `weights` (`P × K`):
/// each class's observed responses to each indicator, shared among its levels.
pub fn item_probabilities(patterns: &Patterns, weights: &[f64], k: usize) -> Vec<Vec<f64>> {
    let tallies = Tallies::new(patterns, weights, k);
    patterns
        .levels
        .iter()
        .enumerate()
        .map(|(j, &levels)| {
            let mut table = vec![0.0; k * levels];
            for c in 0..k {
                let (counts, observed) = tallies.responses(j, levels, patterns.base[j] as usize, c);
                for (r, count) in counts.iter().enumerate() {
                    table[c * levels + r] = if observed > 0.0 { count / observed } else { 1.0 / levels as f64 };
                }
            }
            table
        })
        .collect()
}

/// One M-step from the posterior of every pattern.
pub fn maximisation(patterns: &Patterns, posterior: &[f64], k: usize) -> Parameters {
    let weights: Vec<f64> =
        posterior.chunks(k).zip(&patterns.counts).flat_map(|(row, &n)| row.iter().map(move |t| n * t)).collect();
    let mut proportions = vec![0.0; k];
    for row in weights.chunks(k) {
        for (p, w) in proportions.iter_mut().zip(row) {
            *p += w;
        }
    }
    let n = patterns.n_obs();
    for p in &mut proportions {
        *p /= n;
    }
    Parameters { proportions, items: item_probabilities(patterns, &weights, k) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::Indicators;

    /// The sparse E-step equals the product over indicators written out.
    #[test]
    fn sparse_densities_equal_the_full_product() {
        let columns =
            vec![vec![Some(0.0), Some(1.0), Some(1.0), None], vec![Some(1.0), Some(2.0), Some(3.0), Some(2.0)]];
        let x = Indicators::new(&["a", "b"], &columns).unwrap();
        let patterns = Patterns::new(&x);
        let parameters = Parameters {
            proportions: vec![0.3, 0.7],
            items: vec![vec![0.2, 0.8, 0.6, 0.4], vec![0.1, 0.3, 0.6, 0.5, 0.25, 0.25]],
        };
        let mut posterior = Vec::new();
        let log_likelihood = expectation(&parameters, &patterns, &mut posterior);
        let mut expected = 0.0;
        for i in 0..4 {
            let row = x.row(i);
            let likelihood: f64 = (0..2)
                .map(|c| {
                    let mut f = parameters.proportions[c];
                    for (j, &r) in row.iter().enumerate() {
                        if r != MISSING {
                            let levels = parameters.items[j].len() / 2;
                            f *= parameters.items[j][c * levels + r as usize];
                        }
                    }
                    f
                })
                .sum();
            expected += likelihood.ln();
        }
        assert!((log_likelihood - expected).abs() < 1e-12, "{log_likelihood} {expected}");
        // The M-step's tables are probabilities.
        let next = maximisation(&patterns, &posterior, 2);
        for table in &next.items {
            let r = table.len() / 2;
            for c in 0..2 {
                assert!((table[c * r..(c + 1) * r].iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
        assert!((next.proportions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}

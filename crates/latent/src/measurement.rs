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

/// Relative class weights below this are zero (see [`expectation`]).
const TINY: f64 = 1e-280;

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
///
/// Computed in probabilities rather than logs — $\pi_k\prod_j\rho_{jkb_j}$ (scaled by its largest
/// value over classes) times, for each of the pattern's entries, the ratio
/// $\rho_{jkr}/\rho_{jkb_j}$ — so a pattern costs multiplications and one logarithm, not an
/// exponential a class; a pattern whose product under- or overflows is redone in logs. Products
/// below 1e-280 of the largest class's weight are set to zero: they change no posterior at double
/// precision, and arithmetic on subnormal numbers is a hundred times slower.
pub fn expectation(parameters: &Parameters, patterns: &Patterns, posterior: &mut Vec<f64>) -> f64 {
    let k = parameters.classes();
    let tables = LogTables::new(parameters, patterns);
    let log_weight: Vec<f64> = parameters.proportions.iter().zip(&tables.baseline).map(|(&p, b)| log(p) + b).collect();
    let scale = log_weight.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let flush = |v: f64| if v < TINY { 0.0 } else { v };
    let weight: Vec<f64> = log_weight.iter().map(|w| flush((w - scale).exp())).collect();
    let ratio: Vec<f64> = tables.delta.iter().map(|d| flush(d.exp())).collect();
    posterior.resize(patterns.len() * k, 0.0);
    let mut log_likelihood = 0.0;
    for (p, row) in posterior.chunks_mut(k).enumerate() {
        row.copy_from_slice(&weight);
        for &(j, r) in patterns.entries(p) {
            let j = j as usize;
            let r = if r == MISSING { patterns.levels[j] } else { r as usize };
            for (o, q) in row.iter_mut().zip(&ratio[(tables.offset[j] + r) * k..][..k]) {
                *o = flush(*o * q);
            }
        }
        let total: f64 = row.iter().sum();
        let contribution = if total > 0.0 && total.is_finite() {
            for t in row.iter_mut() {
                *t /= total;
            }
            total.ln() + scale
        } else {
            tables.log_densities(patterns, p, row);
            for (t, &q) in row.iter_mut().zip(&parameters.proportions) {
                *t += log(q);
            }
            normalise_logs(row)
        };
        log_likelihood += patterns.counts[p] * contribution;
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
    /// Tallies of the weights `weights` (`P × K`), each pattern's multiplied by `counts[p]` if
    /// given: $n_p\tau_{pk}$ from posteriors and counts, or any posterior-weighted counts alone.
    pub fn new(patterns: &Patterns, weights: &[f64], counts: Option<&[f64]>, k: usize) -> Self {
        let mut total = vec![0.0; k];
        let mut offset = Vec::with_capacity(patterns.levels.len());
        let mut size = 0;
        for &r in &patterns.levels {
            offset.push(size);
            size += r + 1;
        }
        let mut sums = vec![0.0; size * k];
        let mut scaled = vec![0.0; k];
        for (p, w) in weights.chunks(k).enumerate() {
            let w = match counts {
                Some(counts) => {
                    for (s, x) in scaled.iter_mut().zip(w) {
                        *s = counts[p] * x;
                    }
                    &scaled
                }
                None => w,
            };
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
    Tallies::new(patterns, weights, None, k).item_probabilities(patterns)
}

impl Tallies {
    /// The item-response probabilities these tallies give: each class's observed responses to
    /// each indicator, shared among its levels.
    pub fn item_probabilities(&self, patterns: &Patterns) -> Vec<Vec<f64>> {
        let (tallies, k) = (self, self.k);
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
}

/// One M-step from the posterior of every pattern.
pub fn maximisation(patterns: &Patterns, posterior: &[f64], k: usize) -> Parameters {
    let tallies = Tallies::new(patterns, posterior, Some(&patterns.counts), k);
    let n = patterns.n_obs();
    Parameters {
        proportions: tallies.total.iter().map(|t| t / n).collect(),
        items: tallies.item_probabilities(patterns),
    }
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

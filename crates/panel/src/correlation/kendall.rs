//! Kendall's τ_b in O(n log n) (Knight 1966) and its tie-corrected normal test (Kendall 1970).

use super::{normal_inference, CorrelationTest};
use crate::error::{Error, Result};

/// Counts behind τ_b: all pairs, pairs tied in x, tied in y, tied in both, and S = C − D.
pub(crate) struct KendallCounts {
    /// n(n − 1)/2.
    pub pairs: f64,
    /// Pairs tied in x.
    pub x_ties: f64,
    /// Pairs tied in y.
    pub y_ties: f64,
    /// Concordant minus discordant pairs.
    pub s: f64,
}

impl KendallCounts {
    /// τ_b = S / √((n₀ − n₁)(n₀ − n₂)).
    pub fn tau_b(&self) -> f64 {
        self.s / ((self.pairs - self.x_ties) * (self.pairs - self.y_ties)).sqrt()
    }
}

/// Sum of t(t − 1)/2 over runs of equal values in `sorted`.
fn tied_pairs(sorted: &[f64]) -> f64 {
    let mut total = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        while end < sorted.len() && sorted[end] == sorted[start] {
            end += 1;
        }
        let t = (end - start) as f64;
        total += t * (t - 1.0) / 2.0;
        start = end;
    }
    total
}

/// Sorts `values` in place by merge sort, returning the number of strict inversions.
fn count_inversions(values: &mut [f64], buffer: &mut [f64]) -> u64 {
    let n = values.len();
    if n < 2 {
        return 0;
    }
    let middle = n / 2;
    let mut swaps = count_inversions(&mut values[..middle], &mut buffer[..middle]);
    swaps += count_inversions(&mut values[middle..], &mut buffer[middle..]);
    let (mut i, mut j, mut k) = (0, middle, 0);
    while i < middle && j < n {
        if values[j] < values[i] {
            buffer[k] = values[j];
            swaps += (middle - i) as u64;
            j += 1;
        } else {
            buffer[k] = values[i];
            i += 1;
        }
        k += 1;
    }
    buffer[k..k + middle - i].copy_from_slice(&values[i..middle]);
    let k = k + middle - i;
    buffer[k..k + n - j].copy_from_slice(&values[j..n]);
    values.copy_from_slice(&buffer[..n]);
    swaps
}

/// The counts of τ_b for finite pairs.
pub(crate) fn counts(x: &[f64], y: &[f64]) -> KendallCounts {
    let n = x.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let mut ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let x_ties = tied_pairs(&xs);
    // Pairs tied in both: runs of equal (x, y) in the sorted order.
    let mut joint_ties = 0.0;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && xs[end] == xs[start] && ys[end] == ys[start] {
            end += 1;
        }
        let t = (end - start) as f64;
        joint_ties += t * (t - 1.0) / 2.0;
        start = end;
    }
    let mut buffer = vec![0.0; n];
    let swaps = count_inversions(&mut ys, &mut buffer) as f64;
    let y_ties = tied_pairs(&ys);
    let pairs = (n * (n - 1) / 2) as f64;
    let s = pairs - x_ties - y_ties + joint_ties - 2.0 * swaps;
    KendallCounts { pairs, x_ties, y_ties, s }
}

/// Sizes of the runs of equal values (of size two or more) in `values`.
fn tie_sizes(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut sizes = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        while end < sorted.len() && sorted[end] == sorted[start] {
            end += 1;
        }
        if end - start > 1 {
            sizes.push((end - start) as f64);
        }
        start = end;
    }
    sizes
}

/// The variance of S under independence with ties in both variables (Kendall 1970, eq. 4.4).
fn variance_of_s(n: f64, x_ties: &[f64], y_ties: &[f64]) -> f64 {
    let sum = |ties: &[f64], f: &dyn Fn(f64) -> f64| ties.iter().map(|&t| f(t)).sum::<f64>();
    let v0 = n * (n - 1.0) * (2.0 * n + 5.0);
    let vt = sum(x_ties, &|t| t * (t - 1.0) * (2.0 * t + 5.0));
    let vu = sum(y_ties, &|t| t * (t - 1.0) * (2.0 * t + 5.0));
    let v1 = sum(x_ties, &|t| t * (t - 1.0)) * sum(y_ties, &|t| t * (t - 1.0));
    let v2 = sum(x_ties, &|t| t * (t - 1.0) * (t - 2.0)) * sum(y_ties, &|t| t * (t - 1.0) * (t - 2.0));
    (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1.0)) + v2 / (9.0 * n * (n - 1.0) * (n - 2.0))
}

/// `cor.test(method = "kendall", exact = FALSE)`.
pub(crate) fn test(x: &[f64], y: &[f64]) -> Result<CorrelationTest> {
    let counts = counts(x, y);
    for (name, ties) in [("x", counts.x_ties), ("y", counts.y_ties)] {
        if ties == counts.pairs {
            return Err(Error::ConstantVariable { name: name.into(), group: None });
        }
    }
    let variance = variance_of_s(x.len() as f64, &tie_sizes(x), &tie_sizes(y));
    Ok(normal_inference(counts.tau_b(), counts.s / variance.sqrt(), x.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// τ_b by its O(n²) definition.
    fn tau_b_by_pairs(x: &[f64], y: &[f64]) -> f64 {
        let (mut s, mut tx, mut ty, mut pairs) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
                pairs += 1.0;
                s += (dx.signum() * dy.signum()) * f64::from(u8::from(dx != 0.0 && dy != 0.0));
                tx += f64::from(u8::from(dx == 0.0));
                ty += f64::from(u8::from(dy == 0.0));
            }
        }
        s / ((pairs - tx) * (pairs - ty)).sqrt()
    }

    #[test]
    fn knight_equals_the_definition_with_ties() {
        let x = [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0, 6.0, 1.0, 7.0, 3.0];
        let y = [2.0, 1.0, 2.0, 5.0, 3.0, 3.0, 6.0, 4.0, 4.0, 2.0, 7.0, 1.0];
        assert!((counts(&x, &y).tau_b() - tau_b_by_pairs(&x, &y)).abs() < 1e-14);
    }

    /// Without ties Var S = n(n − 1)(2n + 5)/18 (Kendall 1970).
    #[test]
    fn variance_without_ties() {
        assert!((variance_of_s(10.0, &[], &[]) - 10.0 * 9.0 * 25.0 / 18.0).abs() < 1e-12);
    }
}

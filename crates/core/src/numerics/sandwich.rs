//! The "meat" of sandwich covariance estimators shared by every model with score contributions.

use super::Matrix;

/// The Newey–West (1987) meat for scores `u` (one row per observation, in time order):
/// $\sum_i u_i u_i^\top + \sum_{j=1}^{L} \bigl(1 - \tfrac{j}{L+1}\bigr) \sum_{i>j}
/// (u_i u_{i-j}^\top + u_{i-j} u_i^\top)$, Bartlett weights up to lag $L$, no prewhitening
/// (`sandwich::meatHAC` with `NeweyWest`'s weights, `prewhite = FALSE`, times n).
pub fn newey_west_meat(u: &Matrix, lag: usize) -> Matrix {
    let n = u.nrows();
    let p = u.ncols();
    let mut meat = u.weighted_crossprod(None);
    for j in 1..=lag.min(n.saturating_sub(1)) {
        let weight = 1.0 - j as f64 / (lag + 1) as f64;
        for a in 0..p {
            for b in 0..p {
                let (ua, ub) = (u.column(a), u.column(b));
                let lagged: f64 = (j..n).map(|i| ua[i] * ub[i - j]).sum();
                meat[(a, b)] += weight * lagged;
                meat[(b, a)] += weight * lagged;
            }
        }
    }
    meat
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lag 0 is the White meat; lag 1 on two observations adds ½(u₂u₁ᵀ + u₁u₂ᵀ).
    #[test]
    fn bartlett_weights() {
        let u = Matrix::from_column_major(2, 1, vec![2.0, 3.0]);
        assert_eq!(newey_west_meat(&u, 0)[(0, 0)], 13.0);
        assert_eq!(newey_west_meat(&u, 1)[(0, 0)], 13.0 + 0.5 * 12.0);
    }
}

//! Sandwich covariance estimators for GLM coefficients (Zeileis 2004, 2006):
//! $V = B\,M\,B$ with bread $B = (X^\top W X)^{-1}$ and meat $M = \sum_g u_g u_g^\top$, where
//! $u_i = x_i\, w_i (y_i - \mu_i)\, (d\mu/d\eta)_i / V(\mu_i)$ are the score contributions and
//! $u_g$ their sums within cluster $g$.
//!
//! The Newey–West (1987) estimator for serially correlated scores, in the order of the rows,
//! weights the lag-$j$ autocovariances by Bartlett's kernel:
//! $M = \sum_i u_i u_i^\top + \sum_{j=1}^{L} \bigl(1 - \tfrac{j}{L+1}\bigr)
//! \sum_{i>j} (u_i u_{i-j}^\top + u_{i-j} u_i^\top)$, without prewhitening or small-sample
//! adjustment: `sandwich::NeweyWest(fit, lag = L, prewhite = FALSE)`, checked against it on the
//! reference case `its_s47_gaussian_hac`.

use super::fit::GlmFit;
use crate::error::{Error, Result};
use strata_core::numerics::{newey_west_meat, Matrix};

/// Which sandwich estimator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobustKind {
    /// White's estimator, no small-sample correction.
    Hc0,
    /// HC0 × n / (n − p), Stata's `robust`.
    Hc1,
    /// Clustered on the given cluster label of each observation (rows used by the fit), with
    /// the correction G/(G − 1) of `sandwich::vcovCL`'s default (Stata's `vce(cluster)` also
    /// multiplies by (n − 1)/(n − p)).
    Cluster(Vec<String>),
    /// Newey–West heteroskedasticity- and autocorrelation-consistent errors with Bartlett
    /// weights up to `lag`, the rows taken in the order of the data (a time series).
    NeweyWest {
        /// The truncation lag L.
        lag: usize,
    },
}

pub(super) fn vcov(fit: &GlmFit, kind: &RobustKind) -> Result<Matrix> {
    let (bread, scores, x) = fit.score_contributions();
    let n = scores.len();
    let p = x.ncols();
    let (groups, adjustment): (Vec<usize>, f64) = match kind {
        RobustKind::Hc0 => ((0..n).collect(), 1.0),
        RobustKind::Hc1 => ((0..n).collect(), n as f64 / (n - p) as f64),
        RobustKind::NeweyWest { lag } => {
            let u = Matrix::from_fn(n, p, |i, j| x[(i, j)] * scores[i]);
            let meat = newey_west_meat(&u, *lag);
            return Ok(bread.matmul(&meat).matmul(&bread));
        }
        RobustKind::Cluster(labels) => {
            if labels.len() != n {
                return Err(Error::Specification(format!("{} cluster labels for {n} observations", labels.len())));
            }
            let (codes, g) = strata_core::ranks::label_codes(labels);
            if g < 2 {
                return Err(Error::Specification("cluster-robust errors need at least two clusters".into()));
            }
            (codes.into_iter().map(|c| c as usize).collect(), g as f64 / (g - 1) as f64)
        }
    };
    let n_groups = groups.iter().max().map_or(0, |m| m + 1);
    let mut sums = Matrix::zeros(n_groups, p);
    for i in 0..n {
        for j in 0..p {
            sums[(groups[i], j)] += x[(i, j)] * scores[i];
        }
    }
    let meat = sums.weighted_crossprod(None);
    let sandwich = bread.matmul(&meat).matmul(&bread);
    Ok(Matrix::from_fn(p, p, |i, j| sandwich[(i, j)] * adjustment))
}

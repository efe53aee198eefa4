//! Sandwich covariance estimators for GLM coefficients (Zeileis 2004, 2006):
//! $V = B\,M\,B$ with bread $B = (X^\top W X)^{-1}$ and meat $M = \sum_g u_g u_g^\top$, where
//! $u_i = x_i\, w_i (y_i - \mu_i)\, (d\mu/d\eta)_i / V(\mu_i)$ are the score contributions and
//! $u_g$ their sums within cluster $g$.

use super::fit::GlmFit;
use crate::error::{Error, Result};
use strata_core::numerics::Matrix;

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
}

pub(super) fn vcov(fit: &GlmFit, kind: &RobustKind) -> Result<Matrix> {
    let (bread, scores, x) = fit.score_contributions();
    let n = scores.len();
    let p = x.ncols();
    let (groups, adjustment): (Vec<usize>, f64) = match kind {
        RobustKind::Hc0 => ((0..n).collect(), 1.0),
        RobustKind::Hc1 => ((0..n).collect(), n as f64 / (n - p) as f64),
        RobustKind::Cluster(labels) => {
            if labels.len() != n {
                return Err(Error::Specification(format!("{} cluster labels for {n} observations", labels.len())));
            }
            let mut distinct: Vec<&String> = labels.iter().collect();
            distinct.sort();
            distinct.dedup();
            let g = distinct.len();
            if g < 2 {
                return Err(Error::Specification("cluster-robust errors need at least two clusters".into()));
            }
            let groups = labels.iter().map(|l| distinct.binary_search(&l).expect("present")).collect();
            (groups, g as f64 / (g - 1) as f64)
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

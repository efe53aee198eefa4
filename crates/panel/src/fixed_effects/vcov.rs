//! Covariances of fixed-effects estimates with fixest's small-sample corrections (Bergé 2018,
//! fixest's `ssc()` defaults: `adj = TRUE, fixef.K = "nested", cluster.adj = TRUE,
//! cluster.df = "min", t.df = "min"`).
//!
//! With bread $B = (\tilde X^\top W \tilde X)^{-1}$ and scores $u_i = \tilde x_i e_i$:
//! - iid: $\hat\sigma^2 B$ with $\hat\sigma^2 = \mathrm{RSS}/(n-K)$ (1 for Poisson);
//! - heteroskedasticity-robust: $\frac{n-1}{n-K} B \bigl(\sum_i u_i u_i^\top\bigr) B$;
//! - clustered (CRV1): $\frac{G}{G-1}\frac{n-1}{n-K'} B \bigl(\sum_g u_g u_g^\top\bigr) B$, where
//!   $K'$ leaves out fixed effects nested in a cluster variable; two-way clustering by
//!   Cameron, Gelbach & Miller (2011): $V_1 + V_2 - V_{12}$, each with $G_{\min}$;
//! - Newey–West for one time series, rows in time order: $B M_{NW} B$ with Bartlett weights
//!   and no adjustment (`sandwich::NeweyWest(fit, lag, prewhite = FALSE)`).
//!
//! $K$ counts the coefficients and the fixed effects' degrees of freedom. t statistics are on
//! $G_{\min} - 1$ degrees of freedom when clustered, $n - K$ otherwise. Checked against pyfixest
//! (CRV1 with fixest's defaults) on the reference case `fe_cpp_rate_feols`.

use super::codes::FixedEffectCodes;
use super::estimate::Scores;
use crate::error::{Error, Result};
use strata_core::numerics::{newey_west_meat, Matrix};

/// How the covariance of the estimates is computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Vcov {
    /// Independent, homoskedastic errors.
    Iid,
    /// Heteroskedasticity-robust (White).
    Hetero,
    /// Clustered on one or two variables, each a code per observation, with their names.
    Cluster(Vec<(String, Vec<u32>)>),
    /// Newey–West errors for a time series in the order of the observations.
    NeweyWest {
        /// The truncation lag.
        lag: usize,
    },
}

/// `Σ_g u_g u_gᵀ` for clusters `codes`, and the number of clusters.
fn clustered_meat(scores: &Scores<'_>, codes: &[u32]) -> (Matrix, usize) {
    let groups = codes.iter().max().map_or(0, |m| *m as usize + 1);
    let p = scores.x.len();
    let mut sums = Matrix::zeros(groups, p);
    for (j, column) in scores.x.iter().enumerate() {
        let target = sums.column_mut(j);
        for ((&g, x), m) in codes.iter().zip(*column).zip(scores.multipliers) {
            target[g as usize] += x * m;
        }
    }
    let used = {
        let mut seen = vec![false; groups];
        for &g in codes {
            seen[g as usize] = true;
        }
        seen.iter().filter(|s| **s).count()
    };
    (sums.weighted_crossprod(None), used)
}

/// The intersection of two clusterings, coded `0..`.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut map = std::collections::HashMap::new();
    a.iter()
        .zip(b)
        .map(|pair| {
            let next = map.len() as u32;
            *map.entry(pair).or_insert(next)
        })
        .collect()
}

fn sandwich(bread: &Matrix, meat: &Matrix, scale: f64) -> Matrix {
    let v = bread.matmul(meat).matmul(bread);
    Matrix::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)] * scale)
}

/// The covariance, a description of it, and the t statistics' degrees of freedom.
pub(crate) fn estimate(scores: &Scores<'_>, vcov: &Vcov, fe: &FixedEffectCodes) -> Result<(Matrix, String, f64)> {
    let n = scores.multipliers.len();
    let p = scores.x.len();
    let k = p + fe.degrees_of_freedom(&[]);
    let nf = n as f64;
    match vcov {
        Vcov::Iid => {
            let covariance = Matrix::from_fn(p, p, |i, j| scores.bread[(i, j)] * scores.sigma2);
            Ok((covariance, "iid".into(), (n - k) as f64))
        }
        Vcov::NeweyWest { lag } => {
            let u = Matrix::from_fn(n, p, |i, j| scores.x[j][i] * scores.multipliers[i]);
            let meat = newey_west_meat(&u, *lag);
            Ok((sandwich(scores.bread, &meat, 1.0), format!("Newey-West (lag {lag})"), (n - k) as f64))
        }
        Vcov::Hetero => {
            let u = Matrix::from_fn(n, p, |i, j| scores.x[j][i] * scores.multipliers[i]);
            let meat = u.weighted_crossprod(None);
            Ok((
                sandwich(scores.bread, &meat, (nf - 1.0) / (n - k) as f64),
                "heteroskedasticity-robust".into(),
                (n - k) as f64,
            ))
        }
        Vcov::Cluster(clusters) => {
            if clusters.is_empty() || clusters.len() > 2 {
                return Err(Error::Specification(format!(
                    "clustering takes one or two variables, not {}",
                    clusters.len()
                )));
            }
            for (name, codes) in clusters {
                if codes.len() != n {
                    return Err(Error::Length { what: format!("cluster `{name}`"), expected: n, found: codes.len() });
                }
            }
            let nested: Vec<bool> =
                (0..fe.len()).map(|f| clusters.iter().any(|(_, codes)| fe.nested_in(f, codes))).collect();
            let k_nested = p + fe.degrees_of_freedom(&nested);
            let adjustment = (nf - 1.0) / (n - k_nested) as f64;
            let names: Vec<&str> = clusters.iter().map(|(name, _)| name.as_str()).collect();
            let (meat, g) = match clusters.as_slice() {
                [(_, a), (_, b)] => {
                    let (ma, ga) = clustered_meat(scores, a);
                    let (mb, gb) = clustered_meat(scores, b);
                    let (mab, _) = clustered_meat(scores, &intersect(a, b));
                    (Matrix::from_fn(p, p, |i, j| ma[(i, j)] + mb[(i, j)] - mab[(i, j)]), ga.min(gb))
                }
                _ => clustered_meat(scores, &clusters[0].1),
            };
            if g < 2 {
                return Err(Error::Specification(format!(
                    "clustered errors need at least two clusters; `{}` has {g}",
                    names.join("` × `")
                )));
            }
            let gf = g as f64;
            let covariance = sandwich(scores.bread, &meat, gf / (gf - 1.0) * adjustment);
            Ok((covariance, format!("clustered by {}", names.join(" and ")), gf - 1.0))
        }
    }
}

//! Variance partitioning: how much of the variation lies between groups.
//!
//! For a random-intercept variance $\sigma^2_g$ among intercept variances summing to $\Sigma$:
//! - linear models: the intraclass correlation $\sigma^2_g/(\Sigma + \sigma^2_e)$;
//! - logistic models: on the latent scale, $\sigma^2_g/(\Sigma + \pi^2/3)$ (Snijders & Bosker
//!   2012), and the median odds ratio $\exp(\sqrt{2\sigma^2_g}\,\Phi^{-1}(0.75))$ (Larsen & Merlo
//!   2005);
//! - Poisson models: $\sigma^2_g/(\Sigma + \ln(1 + 1/\lambda))$ with
//!   $\lambda = \exp(\beta_0 + \Sigma/2)$ (Nakagawa, Johnson & Schielzeth 2017), and the median
//!   rate ratio by the same formula as the median odds ratio.

use serde::{Deserialize, Serialize};
use strata_core::results::normal_quantile;

/// One grouping factor's share of the variation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariancePartition {
    /// The grouping factor.
    pub group: String,
    /// Its random-intercept variance.
    pub variance: f64,
    /// The share of the total variance (ICC / VPC).
    pub share: f64,
    /// The median odds or rate ratio between two random groups (GLMMs only).
    pub median_ratio: Option<f64>,
}

/// Confidence intervals for a GLMM's variance partition, from the profile of a random
/// intercept's standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionInterval {
    /// The grouping factor.
    pub group: String,
    /// (lower, upper) of the variance partition coefficient, where it depends on this
    /// standard deviation alone (a logistic model with one random term).
    pub share: Option<(f64, f64)>,
    /// (lower, upper) of the median odds or rate ratio.
    pub median_ratio: (f64, f64),
}

/// The median odds (or rate) ratio of a random-intercept variance.
pub fn median_ratio(variance: f64) -> f64 {
    ((2.0 * variance).sqrt() * normal_quantile(0.75)).exp()
}

/// Shares of `intercepts` (group, variance) against a residual variance on the same scale.
pub(crate) fn partition(intercepts: &[(String, f64)], residual: f64, ratios: bool) -> Vec<VariancePartition> {
    let total: f64 = intercepts.iter().map(|(_, v)| v).sum::<f64>() + residual;
    intercepts
        .iter()
        .map(|(group, variance)| VariancePartition {
            group: group.clone(),
            variance: *variance,
            share: variance / total,
            median_ratio: ratios.then(|| median_ratio(*variance)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odds_ratio_by_hand() {
        // σ² = 0.5: exp(1 · 0.6744897501960817) = 1.963...
        assert!((median_ratio(0.5) - 0.674_489_750_196_081_7f64.exp()).abs() < 1e-12);
        let shares = partition(&[("a".into(), 1.0), ("b".into(), 2.0)], 1.0, false);
        assert!((shares[0].share - 0.25).abs() < 1e-15 && (shares[1].share - 0.5).abs() < 1e-15);
    }
}

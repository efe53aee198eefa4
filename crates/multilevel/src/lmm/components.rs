//! The pieces a mixed model reports: variance components, conditional modes and percentile
//! bootstrap intervals.

use serde::{Deserialize, Serialize};
use strata_core::random::Replicates;

/// Percentile intervals at `level` of each statistic (named `names`, estimated `estimates`)
/// from the bootstrap `draws` (one vector of statistics per replicate).
pub(crate) fn percentile_intervals(
    names: Vec<String>,
    estimates: &[f64],
    draws: &[Vec<f64>],
    level: f64,
) -> Vec<BootstrapInterval> {
    names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let values = Replicates::new(draws.iter().map(|d| d[k]).collect());
            BootstrapInterval {
                parameter: name,
                estimate: estimates[k],
                std_error: values.std_dev(),
                lower: values.quantile((1.0 - level) / 2.0),
                upper: values.quantile(0.5 + level / 2.0),
            }
        })
        .collect()
}

/// A percentile interval from the parametric bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    /// The parameter: a fixed effect, `sd_TERM|GROUP`, `cor_TERM2.TERM1|GROUP`, `sigma`,
    /// `ICC|GROUP` (linear models), or `VPC|GROUP` and `MOR|GROUP` / `MRR|GROUP` (GLMMs).
    pub parameter: String,
    /// Its estimate.
    pub estimate: f64,
    /// The standard deviation of its bootstrap replicates.
    pub std_error: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

impl VarianceComponent {
    /// Its name on lme4's `confint(..., oldNames = FALSE)` scale: `sd_TERM|GROUP`,
    /// `cor_TERM2.TERM1|GROUP`, or `sigma` for the residual.
    pub fn parameter_name(&self) -> String {
        match (&self.term1, &self.term2) {
            (Some(a), None) => format!("sd_{a}|{}", self.group),
            (Some(a), Some(b)) => format!("cor_{b}.{a}|{}", self.group),
            _ => "sigma".to_string(),
        }
    }
}

/// One variance or covariance of the random effects (or the residual variance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceComponent {
    /// The grouping factor, or `Residual`.
    pub group: String,
    /// The effect.
    pub term1: Option<String>,
    /// The second effect of a covariance.
    pub term2: Option<String>,
    /// The variance or covariance.
    pub vcov: f64,
    /// The standard deviation, or for a covariance the correlation.
    pub sdcor: f64,
}

/// A conditional mode of one random effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomEffect {
    /// The grouping factor.
    pub group: String,
    /// The level.
    pub level: String,
    /// The effect.
    pub term: String,
    /// The conditional mode.
    pub value: f64,
    /// Its conditional standard deviation (lme4's `condsd`), when computed.
    pub std_error: Option<f64>,
}

//! What `summary(clmm)` reports, as data and as text.

use crate::lmm::VarianceComponent;
use serde::Serialize;
use std::fmt;
use strata_categorical::link::CumulativeLink;
use strata_core::results::{significant, CoefTable, Coefficient, Statistic};
use strata_core::Warning;

/// What `summary(clmm)` shows, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrdinalMixedSummary {
    /// The link.
    pub link: CumulativeLink,
    /// The formula.
    pub formula: String,
    /// Levels in order.
    pub levels: Vec<String>,
    /// Fixed effects.
    pub coefficients: Vec<Coefficient>,
    /// Thresholds.
    pub thresholds: Vec<Coefficient>,
    /// Each random intercept's variance and standard deviation.
    pub random_effects: Vec<VarianceComponent>,
    /// The latent-scale variance partition coefficient of each grouping factor.
    pub vpc: Vec<f64>,
    /// Log-likelihood (Laplace or quadrature).
    pub log_likelihood: f64,
    /// AIC.
    pub aic: f64,
    /// Observations.
    pub n_obs: f64,
    /// Levels of each grouping factor.
    pub n_groups: Vec<usize>,
    /// Quadrature points.
    pub nagq: usize,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl fmt::Display for OrdinalMixedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method =
            if self.nagq == 1 { "Laplace".to_string() } else { format!("adaptive quadrature, {} points", self.nagq) };
        writeln!(f, "Cumulative link mixed model, {} link ({method}): {}", self.link.name(), self.formula)?;
        writeln!(f, "Levels: {}", self.levels.join(" < "))?;
        writeln!(
            f,
            "n = {}   log-likelihood = {}   AIC = {}\n",
            significant(self.n_obs, 6),
            significant(self.log_likelihood, 7),
            significant(self.aic, 7)
        )?;
        writeln!(f, "Random effects:")?;
        for ((r, vpc), groups) in self.random_effects.iter().zip(&self.vpc).zip(&self.n_groups) {
            writeln!(
                f,
                "  {} (Intercept), {groups} groups: variance {} std. dev. {}   latent VPC {}",
                r.group,
                significant(r.vcov, 5),
                significant(r.sdcor, 5),
                significant(*vpc, 3)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "Coefficients:\n{}\n", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        write!(f, "Threshold coefficients:\n{}", CoefTable { rows: self.thresholds.clone(), statistic: Statistic::Z })?;
        for warning in &self.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

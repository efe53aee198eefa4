//! What `summary(glmer)` reports, as data and as text.

use super::VarianceComponent;
use serde::Serialize;
use std::fmt;
use strata_core::numerics::Convergence;
use strata_core::results::{significant, CoefTable, Coefficient, Statistic};

/// What `summary(glmer)` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlmmSummary {
    /// Always `"glmm"`.
    pub model: &'static str,
    /// The family.
    pub family: &'static str,
    /// The negative binomial shape φ, `Var(y | u) = μ + μ²/φ` (lme4's
    /// `getME(fit, "glmer.nb.theta")`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negbin_shape: Option<f64>,
    /// The formula.
    pub formula: String,
    /// Quadrature points (1: Laplace).
    pub nagq: usize,
    /// Fixed effects.
    pub coefficients: Vec<Coefficient>,
    /// Random-effect variances and covariances.
    pub random_effects: Vec<VarianceComponent>,
    /// Log-likelihood under the approximation.
    pub log_likelihood: f64,
    /// −2 log-likelihood.
    pub objective: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Observations.
    pub n_obs: usize,
    /// θ.
    pub theta: Vec<f64>,
    /// Variance partition coefficients and median odds or rate ratios.
    pub variance_partition: Vec<crate::partition::VariancePartition>,
    /// How the fit ended.
    pub convergence: Convergence,
}

impl fmt::Display for GlmmSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = if self.nagq == 1 {
            "Laplace approximation".to_string()
        } else {
            format!("adaptive Gauss–Hermite quadrature, {} points", self.nagq)
        };
        writeln!(f, "Generalized linear mixed model ({} family) fit by maximum likelihood ({method})", self.family)?;
        writeln!(f, "Formula: {}", self.formula)?;
        if let Some(shape) = self.negbin_shape {
            writeln!(f, "Negative binomial shape: {}", significant(shape, 6))?;
        }
        writeln!(
            f,
            "AIC: {}   BIC: {}   logLik: {}   deviance: {}",
            significant(self.aic, 7),
            significant(self.bic, 7),
            significant(self.log_likelihood, 7),
            significant(self.objective, 7)
        )?;
        writeln!(f, "\nRandom effects:")?;
        for c in &self.random_effects {
            match &c.term2 {
                Some(term2) => writeln!(f, " {:<12} {:<12} corr {:.3}", c.group, format!("~{term2}"), c.sdcor)?,
                None => writeln!(
                    f,
                    " {:<12} {:<12} variance {}  sd {}",
                    c.group,
                    c.term1.as_deref().unwrap_or(""),
                    significant(c.vcov, 5),
                    significant(c.sdcor, 5)
                )?,
            }
        }
        writeln!(f, "Number of obs: {}", self.n_obs)?;
        for v in &self.variance_partition {
            let ratio = if self.family == "binomial" { "median odds ratio" } else { "median rate ratio" };
            writeln!(f, " {}: VPC {:.4}, {ratio} {:.3}", v.group, v.share, v.median_ratio.unwrap_or(f64::NAN))?;
        }
        writeln!(f, "\nFixed effects:\n{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

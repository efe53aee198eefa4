//! What `summary(lmer)` reports, as data and as text.

use super::components::VarianceComponent;
use serde::Serialize;
use std::fmt;
use strata_core::numerics::Convergence;
use strata_core::results::{significant, CoefTable, Coefficient, Statistic};

/// What `summary(lmer)` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LmmSummary {
    /// Always `"lmm"`.
    pub model: &'static str,
    /// The formula.
    pub formula: String,
    /// REML (`true`) or ML.
    pub reml: bool,
    /// Fixed effects, with Wald z statistics.
    pub coefficients: Vec<Coefficient>,
    /// Variance components.
    pub random_effects: Vec<VarianceComponent>,
    /// Residual standard deviation.
    pub sigma: f64,
    /// Log-likelihood (restricted for REML).
    pub log_likelihood: f64,
    /// REML criterion or deviance.
    pub objective: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Observations.
    pub n_obs: usize,
    /// Levels of each grouping factor.
    pub n_groups: Vec<(String, usize)>,
    /// θ.
    pub theta: Vec<f64>,
    /// Intraclass correlations of the random intercepts.
    pub variance_partition: Vec<crate::partition::VariancePartition>,
    /// Satterthwaite's degrees of freedom of the fixed effects' t tests.
    pub satterthwaite_df: Vec<f64>,
    /// How the fit ended.
    pub convergence: Convergence,
}

impl fmt::Display for LmmSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = if self.reml { "REML" } else { "maximum likelihood" };
        writeln!(f, "Linear mixed model fit by {method}: {}", self.formula)?;
        let criterion = if self.reml { "REML criterion" } else { "deviance" };
        writeln!(
            f,
            "{criterion}: {}   AIC: {}   BIC: {}",
            significant(self.objective, 7),
            significant(self.aic, 7),
            significant(self.bic, 7)
        )?;
        writeln!(f, "\nRandom effects:")?;
        writeln!(f, " {:<12} {:<12} {:>12} {:>10} {:>6}", "Groups", "Name", "Variance", "Std.Dev.", "Corr")?;
        for c in &self.random_effects {
            match (&c.term1, &c.term2) {
                (_, Some(term2)) => {
                    writeln!(f, " {:<12} {:<12} {:>12} {:>10} {:>6.2}", c.group, format!("~{term2}"), "", "", c.sdcor)?;
                }
                (term1, None) => writeln!(
                    f,
                    " {:<12} {:<12} {:>12} {:>10}",
                    c.group,
                    term1.as_deref().unwrap_or(""),
                    significant(c.vcov, 5),
                    significant(c.sdcor, 5)
                )?,
            }
        }
        let groups: Vec<String> = self.n_groups.iter().map(|(g, k)| format!("{g}, {k}")).collect();
        writeln!(f, "Number of obs: {}, groups: {}", self.n_obs, groups.join("; "))?;
        for v in &self.variance_partition {
            writeln!(f, "Intraclass correlation, {}: {:.4}", v.group, v.share)?;
        }
        writeln!(f, "\nFixed effects (t tests on Satterthwaite's degrees of freedom):")?;
        writeln!(f, "{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::T(f64::NAN) })?;
        let df: Vec<String> =
            self.coefficients.iter().zip(&self.satterthwaite_df).map(|(c, d)| format!("{} {d:.2}", c.term)).collect();
        writeln!(f, "df: {}", df.join(", "))?;
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

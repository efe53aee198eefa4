//! What `summary(coxph)` reports, as data and as text.

use super::engine::Ties;
use super::residuals::ProportionalHazardsTest;
use serde::Serialize;
use std::fmt;
use strata_core::numerics::Convergence;
use strata_core::results::{significant, CoefTable, Coefficient, Statistic};

/// What `summary(coxph)` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxSummary {
    /// Always `"cox"`.
    pub model: &'static str,
    /// The formula.
    pub formula: String,
    /// The tie handling.
    pub ties: Ties,
    /// The coefficient table.
    pub coefficients: Vec<Coefficient>,
    /// `exp(β)` for each coefficient.
    pub hazard_ratios: Vec<f64>,
    /// 95% Wald intervals of the hazard ratios.
    pub hazard_ratio_ci95: Vec<(f64, f64)>,
    /// With `cluster()`, the model-based standard errors (the table's are robust, as R's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naive_std_errors: Option<Vec<f64>>,
    /// Log partial likelihood at the estimate.
    pub log_likelihood: f64,
    /// Log partial likelihood at β = 0.
    pub null_log_likelihood: f64,
    /// Score (log-rank) test.
    pub score_test: f64,
    /// Wald test, rounded to two decimals as `summary.coxph` reports it.
    pub wald_test: f64,
    /// Wald test unrounded.
    pub wald_test_exact: f64,
    /// Likelihood-ratio test.
    pub lr_test: f64,
    /// p-values of the likelihood-ratio, Wald and score tests.
    pub p_values: [f64; 3],
    /// Harrell's concordance.
    pub concordance: f64,
    /// AIC.
    pub aic: f64,
    /// Observations used.
    pub n_obs: usize,
    /// Events.
    pub n_events: usize,
    /// Aliased columns.
    pub aliased: Vec<String>,
    /// Proportional-hazards tests, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportional_hazards: Option<Vec<ProportionalHazardsTest>>,
    /// How the fit ended.
    pub convergence: Convergence,
}

impl fmt::Display for CoxSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Cox proportional hazards ({:?} ties): {}", self.ties, self.formula)?;
        writeln!(f, "  n = {}, number of events = {}\n", self.n_obs, self.n_events)?;
        writeln!(f, "{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        writeln!(f, "\n{:<14} {:>10} {:>10} {:>10}", "", "exp(coef)", "lower .95", "upper .95")?;
        for ((c, hr), (low, high)) in self.coefficients.iter().zip(&self.hazard_ratios).zip(&self.hazard_ratio_ci95) {
            writeln!(
                f,
                "{:<14} {:>10} {:>10} {:>10}",
                c.term,
                significant(*hr, 5),
                significant(*low, 5),
                significant(*high, 5)
            )?;
        }
        writeln!(f, "\nConcordance = {:.3}", self.concordance)?;
        let df = self.coefficients.len();
        writeln!(f, "Likelihood ratio test = {:.2}  on {df} df,   p = {:.3e}", self.lr_test, self.p_values[0])?;
        writeln!(f, "Wald test            = {:.2}  on {df} df,   p = {:.3e}", self.wald_test, self.p_values[1])?;
        write!(f, "Score (logrank) test = {:.2}  on {df} df,   p = {:.3e}", self.score_test, self.p_values[2])?;
        if let Some(tests) = &self.proportional_hazards {
            write!(f, "\n\nProportional hazards (cox.zph, transform = \"km\"):")?;
            for t in tests {
                write!(f, "\n  {:<14} chisq {:>8.4}  df {}  p {:.4}", t.term, t.chisq, t.df, t.p_value)?;
            }
        }
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

//! A fitted GLM and what can be asked of it.

use super::irls::{GlmData, Irls};
use super::robust::{self, RobustKind};
use super::GlmEngine;
use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use strata_core::family::{Family, Link};
use strata_core::numerics::{Convergence, Matrix};
use strata_core::parallel::{find_first, sum_blocks, threads};
use strata_core::results::{significant, CoefTable, Coefficient, FittedModel, LrTest, Statistic};
use strata_core::{Warning, WarningKind};

/// Kinds of residual, as R's `residuals.glm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidualKind {
    /// `sign(y − μ) √(w d(y, μ))`.
    Deviance,
    /// `(y − μ) √w / √V(μ)`.
    Pearson,
    /// `(y − μ) / (dμ/dη)`.
    Working,
    /// `y − μ`.
    Response,
}

impl ResidualKind {
    /// The residual of one observation `y` with mean `mu`, linear predictor `eta` and prior
    /// weight `weight`.
    pub fn of(self, family: Family, link: Link, y: f64, mu: f64, eta: f64, weight: f64) -> f64 {
        match self {
            Self::Response => y - mu,
            Self::Working => (y - mu) / link.mu_eta(eta),
            Self::Pearson => (y - mu) * weight.sqrt() / family.variance(mu).sqrt(),
            Self::Deviance => (y - mu).signum() * (weight * family.unit_deviance(y, mu)).max(0.0).sqrt(),
        }
    }
}

/// A fitted generalised linear model, with the data it was fitted to (as R's `glm` object keeps
/// its model frame). It serialises with serde, so it can be saved (`serde_json::to_string`) and
/// reloaded to predict.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GlmFit {
    formula: String,
    family: Family,
    link: Link,
    names: Vec<String>,
    coefficients: Vec<f64>,
    covariance: Matrix,
    dispersion: f64,
    aliased: Vec<String>,
    deviance: f64,
    null_deviance: f64,
    df_residual: usize,
    df_null: usize,
    log_likelihood: Option<f64>,
    n_obs: usize,
    theta: Option<(f64, f64)>,
    data: Arc<GlmData>,
    result: Irls,
    convergence: Convergence,
}

impl GlmFit {
    pub(crate) fn new(
        engine: &GlmEngine,
        data: &Arc<GlmData>,
        family: Family,
        result: Irls,
        null_deviance: f64,
    ) -> Self {
        let n_obs = data.weights.iter().filter(|w| **w > 0.0).count();
        let p = result.beta.len();
        let df_residual = n_obs - p;
        let df_null = n_obs - usize::from(data.intercept);
        let dispersion = if family.fixed_dispersion() {
            1.0
        } else if df_residual == 0 {
            f64::NAN
        } else {
            let pearson = sum_blocks(data.y.len(), threads(), |i| {
                let (w, mu) = (data.weights[i], result.mu[i]);
                if w > 0.0 {
                    w * (data.y[i] - mu).powi(2) / family.variance(mu)
                } else {
                    0.0
                }
            });
            pearson / df_residual as f64
        };
        let covariance = Matrix::from_fn(p, p, |i, j| result.unscaled_covariance[(i, j)] * dispersion);
        let log_likelihood = family.log_likelihood(&data.y, &result.mu, &data.weights, &data.trials, result.deviance);
        let mut warnings = Vec::new();
        if family == Family::Binomial {
            let extreme = result
                .mu
                .iter()
                .zip(&data.weights)
                .filter(|(m, w)| **w > 0.0 && (**m < 1e-10 || **m > 1.0 - 1e-10))
                .count();
            if extreme > 0 {
                warnings.push(Warning::new(WarningKind::Separation, format!(
                    "separation: {extreme} fitted probabilities are numerically 0 or 1; the estimates of the separating \
                     terms are not finite and their standard errors are meaningless"
                )));
            }
        }
        // R warns of counts that are not whole numbers ("non-integer x", "non-integer #successes in
        // a binomial glm!"): the model is fitted, but its likelihood (and AIC) is not a count model's.
        let count = |i: usize| match family {
            Family::Poisson | Family::NegativeBinomial { .. } => data.y[i],
            _ => data.y[i] * data.trials[i],
        };
        let fractional =
            |i: usize| data.weights[i] > 0.0 && (count(i) - count(i).round()).abs() > 1e-8 * count(i).abs().max(1.0);
        if matches!(family, Family::Poisson | Family::NegativeBinomial { .. } | Family::Binomial) {
            let fractional_count = sum_blocks(data.y.len(), threads(), |i| f64::from(u8::from(fractional(i)))) as usize;
            if let Some(first) =
                (fractional_count > 0).then(|| find_first(data.y.len(), threads(), fractional)).flatten()
            {
                warnings.push(Warning::new(
                    WarningKind::Data,
                    format!(
                        "{fractional_count} response value(s) are not whole counts (the first {}); the fit goes ahead, but \
                         its log-likelihood and AIC are not those of a count model (R warns \"non-integer\" too)",
                        count(first)
                    ),
                ));
            }
        }
        if !data.aliased.is_empty() {
            warnings.push(Warning::new(
                WarningKind::Aliased,
                format!("coefficients not estimable (aliased): {}", data.aliased.join(", ")),
            ));
        }
        if result.boundary {
            warnings.push(Warning::new(
                WarningKind::Boundary,
                "the fit stopped at the boundary of the parameter space: steps that left the family's valid means \
                 were halved back (R: \"glm.fit: algorithm stopped at boundary value\"); the standard errors of \
                 estimates on the boundary are not reliable",
            ));
        }
        if !result.converged {
            warnings.push(Warning::new(
                WarningKind::NotConverged,
                format!("IRLS did not converge in {} iterations", result.iterations),
            ));
        }
        let convergence = Convergence {
            optimizer: "IRLS".into(),
            converged: result.converged,
            iterations: result.iterations,
            evaluations: result.iterations + result.step_halvings,
            objective: result.deviance,
            gradient_norm: None,
            message: if result.converged {
                "relative change in deviance below tolerance".into()
            } else {
                "iteration limit reached".into()
            },
            warnings,
        };
        Self {
            formula: data.formula.clone(),
            family,
            link: engine.link,
            names: data.x.names.clone(),
            coefficients: result.beta.clone(),
            covariance,
            dispersion,
            aliased: data.aliased.clone(),
            deviance: result.deviance,
            null_deviance,
            df_residual,
            df_null,
            log_likelihood,
            n_obs,
            theta: None,
            data: Arc::clone(data),
            result,
            convergence,
        }
    }

    pub(crate) fn with_theta(mut self, theta: f64, std_error: f64, iterations: usize, converged: bool) -> Self {
        self.theta = Some((theta, std_error));
        self.convergence.iterations += iterations;
        if !converged {
            self.convergence.converged = false;
            self.convergence
                .warnings
                .push(Warning::new(WarningKind::NotConverged, "the alternating estimation of θ did not converge"));
        }
        self
    }

    pub(crate) fn data(&self) -> &GlmData {
        &self.data
    }

    /// The family (with the estimated θ for a negative binomial fit).
    pub fn family(&self) -> Family {
        self.family
    }

    /// The link.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Residual deviance.
    pub fn deviance(&self) -> f64 {
        self.deviance
    }

    /// Null deviance (intercept and offset only).
    pub fn null_deviance(&self) -> f64 {
        self.null_deviance
    }

    /// Residual degrees of freedom.
    pub fn df_residual(&self) -> usize {
        self.df_residual
    }

    /// The dispersion φ: one for binomial, Poisson and negative binomial fits; Pearson's χ²
    /// over the residual degrees of freedom otherwise.
    pub fn dispersion(&self) -> f64 {
        self.dispersion
    }

    /// The negative binomial θ and its standard error, when θ was estimated.
    pub fn theta(&self) -> Option<(f64, f64)> {
        self.theta
    }

    /// Names of the aliased (non-estimable) model-matrix columns, which R reports as `NA`.
    pub fn aliased(&self) -> &[String] {
        &self.aliased
    }

    /// How IRLS ended, with warnings (separation, aliasing, non-convergence).
    pub fn convergence(&self) -> &Convergence {
        &self.convergence
    }

    /// Fitted means μ on the complete rows.
    pub fn fitted(&self) -> &[f64] {
        &self.result.mu
    }

    /// Linear predictors η (offset included).
    pub fn linear_predictor(&self) -> &[f64] {
        &self.result.eta
    }

    /// 0-based indices of the rows used (those without missing values).
    pub fn rows(&self) -> &[usize] {
        &self.data.rows
    }

    /// Residuals of the given kind.
    pub fn residuals(&self, kind: ResidualKind) -> Vec<f64> {
        let (y, mu, w) = (&self.data.y, &self.result.mu, &self.data.weights);
        (0..y.len()).map(|i| kind.of(self.family, self.link, y[i], mu[i], self.result.eta[i], w[i])).collect()
    }

    /// Heteroskedasticity-consistent (HC0, HC1) or cluster-robust covariance of the
    /// coefficients (Zeileis 2006, *J. Stat. Softw.* 16(9)).
    ///
    /// # Errors
    /// [`Error::Specification`] if `clusters` has the wrong length or a single cluster.
    pub fn robust_vcov(&self, kind: &RobustKind) -> Result<Matrix> {
        robust::vcov(self, kind)
    }

    pub(crate) fn score_contributions(&self) -> (Matrix, Vec<f64>, &Matrix) {
        let scores: Vec<f64> = (0..self.data.y.len())
            .map(|i| {
                let d = self.link.mu_eta(self.result.eta[i]);
                self.data.weights[i] * d * (self.data.y[i] - self.result.mu[i])
                    / self.family.variance(self.result.mu[i])
            })
            .collect();
        (self.result.unscaled_covariance.clone(), scores, &self.data.x.matrix)
    }

    /// The coefficient table, optionally with robust standard errors.
    pub fn coef_table(&self, covariance: Option<&Matrix>) -> CoefTable {
        let covariance = covariance.unwrap_or(&self.covariance);
        let std_errors: Vec<f64> = covariance.diag().into_iter().map(f64::sqrt).collect();
        let statistic =
            if self.family.fixed_dispersion() { Statistic::Z } else { Statistic::T(self.df_residual as f64) };
        CoefTable::new(&self.names, &self.coefficients, &std_errors, statistic)
    }

    /// Likelihood-ratio (deviance) test of this fit against a smaller nested `other`, as R's
    /// `anova(other, self, test = "Chisq")`: the deviance difference (scaled by this fit's
    /// dispersion) on the difference in residual degrees of freedom.
    ///
    /// # Errors
    /// [`Error::Specification`] if `other` is not smaller or was fitted to other rows.
    pub fn lr_test(&self, other: &GlmFit) -> Result<LrTest> {
        if other.n_obs != self.n_obs || other.data.rows != self.data.rows {
            return Err(Error::Specification("the two models were fitted to different rows".into()));
        }
        if other.df_residual <= self.df_residual {
            return Err(Error::Specification(
                "the other model must be nested in this one, with fewer coefficients".into(),
            ));
        }
        let df = (other.df_residual - self.df_residual) as f64;
        let statistic = (other.deviance - self.deviance) / self.dispersion;
        Ok(LrTest::new(statistic, df))
    }

    /// Everything `summary(glm)` reports, ready to print or serialise.
    pub fn summary(&self) -> GlmSummary {
        self.summary_with(None, None)
    }

    /// The summary with robust standard errors.
    pub fn summary_with(&self, covariance: Option<&Matrix>, robust: Option<String>) -> GlmSummary {
        let table = self.coef_table(covariance);
        let z = strata_core::results::normal_quantile(0.975);
        let ratios = matches!(self.link, Link::Log | Link::Logit).then(|| {
            table
                .rows
                .iter()
                .filter(|r| r.term != "(Intercept)")
                .map(|r| Ratio {
                    term: r.term.clone(),
                    estimate: r.estimate.exp(),
                    lower: (r.estimate - z * r.std_error).exp(),
                    upper: (r.estimate + z * r.std_error).exp(),
                })
                .collect()
        });
        GlmSummary {
            model: "glm",
            family: self.family.name(),
            link: self.link,
            formula: self.formula.clone(),
            coefficients: table.rows.clone(),
            statistic: table.statistic,
            robust,
            dispersion: self.dispersion,
            log_likelihood: self.log_likelihood,
            deviance: self.deviance,
            null_deviance: self.null_deviance,
            aic: self.aic(),
            bic: self.bic(),
            df_residual: self.df_residual,
            df_null: self.df_null,
            n_obs: self.n_obs,
            theta: self.theta.map(|t| t.0),
            theta_std_error: self.theta.map(|t| t.1),
            aliased: self.aliased.clone(),
            ratios,
            convergence: self.convergence.clone(),
        }
    }
}

impl FittedModel for GlmFit {
    fn coef(&self) -> &[f64] {
        &self.coefficients
    }

    fn coef_names(&self) -> &[String] {
        &self.names
    }

    fn vcov(&self) -> &Matrix {
        &self.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        self.log_likelihood
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        let extra = matches!(self.family, Family::Gaussian | Family::Gamma | Family::NegativeBinomial { .. });
        self.coefficients.len() + usize::from(extra)
    }
}

/// What `summary(glm)` shows, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlmSummary {
    /// Always `"glm"`.
    pub model: &'static str,
    /// The family's name.
    pub family: &'static str,
    /// The link.
    pub link: Link,
    /// The formula as given.
    pub formula: String,
    /// The coefficient table.
    pub coefficients: Vec<Coefficient>,
    /// The distribution of the Wald statistics.
    #[serde(skip)]
    pub statistic: Statistic,
    /// The robust covariance used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robust: Option<String>,
    /// The dispersion.
    pub dispersion: f64,
    /// The log-likelihood.
    pub log_likelihood: Option<f64>,
    /// Residual deviance.
    pub deviance: f64,
    /// Null deviance.
    pub null_deviance: f64,
    /// AIC.
    pub aic: Option<f64>,
    /// BIC.
    pub bic: Option<f64>,
    /// Residual degrees of freedom.
    pub df_residual: usize,
    /// Null degrees of freedom.
    pub df_null: usize,
    /// Observations used.
    pub n_obs: usize,
    /// Negative binomial θ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// Its standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta_std_error: Option<f64>,
    /// Aliased columns.
    pub aliased: Vec<String>,
    /// `exp(β)` with 95% Wald intervals (from the table's standard errors): rate ratios for a
    /// log link, odds ratios for a logit link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratios: Option<Vec<Ratio>>,
    /// How the fit ended.
    pub convergence: Convergence,
}

/// A coefficient on the ratio scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratio {
    /// The term.
    pub term: String,
    /// `exp(β)`.
    pub estimate: f64,
    /// Lower 95% limit.
    pub lower: f64,
    /// Upper 95% limit.
    pub upper: f64,
}

impl fmt::Display for GlmSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Generalized linear model: {} family, {:?} link", self.family, self.link)?;
        writeln!(f, "Formula: {}", self.formula)?;
        if let Some(robust) = &self.robust {
            writeln!(f, "Standard errors: {robust}")?;
        }
        writeln!(f, "\nCoefficients:")?;
        let table = CoefTable { rows: self.coefficients.clone(), statistic: self.statistic };
        writeln!(f, "{table}")?;
        if !self.aliased.is_empty() {
            writeln!(f, "({} not defined because of singularities: {})", self.aliased.len(), self.aliased.join(", "))?;
        }
        if let (Some(theta), Some(se)) = (self.theta, self.theta_std_error) {
            writeln!(
                f,
                "\n(Dispersion parameter for Negative Binomial({}) family taken to be 1)",
                significant(theta, 4)
            )?;
            writeln!(f, "Theta: {}  Std. Err.: {}", significant(theta, 5), significant(se, 4))?;
        } else {
            let dispersion = if self.dispersion == 1.0 { "1".to_string() } else { significant(self.dispersion, 6) };
            writeln!(f, "\n(Dispersion parameter for {} family taken to be {dispersion})", self.family)?;
        }
        writeln!(
            f,
            "\n    Null deviance: {} on {} degrees of freedom",
            significant(self.null_deviance, 6),
            self.df_null
        )?;
        writeln!(f, "Residual deviance: {} on {} degrees of freedom", significant(self.deviance, 6), self.df_residual)?;
        if let Some(ratios) = &self.ratios {
            let kind = if self.link == Link::Log { "Rate ratios" } else { "Odds ratios" };
            writeln!(f, "\n{kind} (95% CI):")?;
            for r in ratios {
                writeln!(
                    f,
                    "  {:<24} {:>10} ({} to {})",
                    r.term,
                    significant(r.estimate, 4),
                    significant(r.lower, 4),
                    significant(r.upper, 4)
                )?;
            }
        }
        if let (Some(aic), Some(ll)) = (self.aic, self.log_likelihood) {
            writeln!(f, "AIC: {}   log-likelihood: {}", significant(aic, 6), significant(ll, 6))?;
        }
        write!(f, "\nNumber of Fisher Scoring iterations: {}", self.convergence.iterations)?;
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

//! A fitted fixed-effects model as the front end returns it: the fit with its formula, notes
//! and warnings, its coefficient table and fixest's summary.

use super::estimate::{FixedEffectsFamily, FixedEffectsFit};
use super::fixef;
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::numerics::Matrix;
use strata_core::results::{significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::Warning;

/// A fitted fixed-effects model with its formula and what was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedEffectsResult {
    /// The formula as given.
    pub formula: String,
    /// The fixed effects' names.
    pub fixed_effects: Vec<String>,
    /// What fixest would print as notes: observations removed, collinear regressors.
    pub notes: Vec<String>,
    /// Doubts about the fit (the Poisson IRLS not converging).
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// The fit.
    pub fit: FixedEffectsFit,
    /// The estimated fixed effects, when asked for ([`super::FixedEffectsModel::estimate_fixef`]).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fixef: Vec<fixef::FixedEffectValues>,
}

impl FixedEffectsResult {
    /// The coefficient table: t statistics on `df_t` degrees of freedom (linear, as fixest) or
    /// z statistics (Poisson).
    pub fn coef_table(&self) -> CoefTable {
        let statistic = match self.fit.family {
            FixedEffectsFamily::Gaussian => Statistic::T(self.fit.df_t),
            FixedEffectsFamily::Poisson => Statistic::Z,
        };
        CoefTable::new(&self.fit.names, &self.fit.coefficients, &self.std_errors(), statistic)
    }

    /// Everything the summary shows, ready to print or serialise.
    pub fn summary(&self) -> FixedEffectsSummary {
        let table = self.coef_table();
        FixedEffectsSummary {
            family: self.fit.family,
            formula: self.formula.clone(),
            vcov: self.fit.vcov_kind.clone(),
            cluster: self.fit.vcov_kind.strip_prefix("clustered by ").map(|c| c.replace(" and ", ",")),
            coefficients: table.rows,
            n_obs: self.fit.n_obs,
            fixed_effects: self
                .fixed_effects
                .iter()
                .zip(&self.fit.fixed_effect_sizes)
                .map(|(name, &levels)| FixedEffectSize { name: name.clone(), levels })
                .collect(),
            log_likelihood: self.fit.log_likelihood,
            deviance: self.fit.deviance,
            r_squared: self.fit.r_squared,
            within_r_squared: self.fit.within_r_squared,
            sigma: self.fit.sigma,
            iterations: self.fit.iterations,
            notes: self.notes.clone(),
        }
    }
}

/// The regression's answers: the coefficients on the demeaned regressors, their covariance as
/// chosen, and σ counted among the parameters of a linear fit (as fixest's `AIC`).
impl FittedModel for FixedEffectsFit {
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
        Some(self.log_likelihood)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.n_parameters + usize::from(self.family == FixedEffectsFamily::Gaussian)
    }
}

/// The fit's answers ([`FixedEffectsFit`]'s).
impl FittedModel for FixedEffectsResult {
    fn coef(&self) -> &[f64] {
        self.fit.coef()
    }

    fn coef_names(&self) -> &[String] {
        self.fit.coef_names()
    }

    fn vcov(&self) -> &Matrix {
        self.fit.vcov()
    }

    fn log_likelihood(&self) -> Option<f64> {
        self.fit.log_likelihood()
    }

    fn nobs(&self) -> usize {
        self.fit.nobs()
    }

    fn n_parameters(&self) -> usize {
        self.fit.n_parameters()
    }
}

/// A fixed effect and its number of levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedEffectSize {
    /// Its name (`la`, `la^year`).
    pub name: String,
    /// Levels among the observations used.
    pub levels: usize,
}

/// What fixest's `summary()` shows, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixedEffectsSummary {
    /// Linear or Poisson.
    pub family: FixedEffectsFamily,
    /// The formula.
    pub formula: String,
    /// The covariance used.
    pub vcov: String,
    /// Cluster variables, comma-separated, when clustered.
    pub cluster: Option<String>,
    /// The coefficient table.
    pub coefficients: Vec<Coefficient>,
    /// Observations used.
    pub n_obs: usize,
    /// The fixed effects and their sizes.
    pub fixed_effects: Vec<FixedEffectSize>,
    /// The log-likelihood.
    pub log_likelihood: f64,
    /// RSS (linear) or deviance (Poisson).
    pub deviance: f64,
    /// R² (linear).
    pub r_squared: Option<f64>,
    /// Within R² (linear).
    pub within_r_squared: Option<f64>,
    /// Residual standard deviation (linear).
    pub sigma: Option<f64>,
    /// IRLS iterations.
    pub iterations: usize,
    /// Notes: observations removed, collinear regressors.
    pub notes: Vec<String>,
}

impl fmt::Display for FixedEffectsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.family {
            FixedEffectsFamily::Gaussian => "OLS",
            FixedEffectsFamily::Poisson => "Poisson",
        };
        for note in &self.notes {
            writeln!(f, "NOTE: {note}")?;
        }
        writeln!(f, "{kind} estimation, formula: {}", self.formula)?;
        writeln!(f, "Observations: {}", self.n_obs)?;
        if !self.fixed_effects.is_empty() {
            let sizes: Vec<String> =
                self.fixed_effects.iter().map(|fe| format!("{}: {}", fe.name, fe.levels)).collect();
            writeln!(f, "Fixed-effects: {}", sizes.join(",  "))?;
        }
        writeln!(f, "Standard-errors: {}", self.vcov)?;
        let statistic = match self.family {
            FixedEffectsFamily::Gaussian => Statistic::T(0.0),
            FixedEffectsFamily::Poisson => Statistic::Z,
        };
        writeln!(f, "{}", CoefTable { rows: self.coefficients.clone(), statistic })?;
        match (self.sigma, self.r_squared, self.within_r_squared) {
            (Some(sigma), Some(r2), Some(within)) => write!(
                f,
                "RMSE-based sigma: {}   R2: {}   Within R2: {}",
                significant(sigma, 5),
                significant(r2, 5),
                significant(within, 5)
            ),
            _ => write!(
                f,
                "Log-Likelihood: {}   Deviance: {}",
                significant(self.log_likelihood, 7),
                significant(self.deviance, 7)
            ),
        }
    }
}

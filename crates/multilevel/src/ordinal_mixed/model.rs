//! The formula front end (`clmm`) and its fitted model.

use super::summary::OrdinalMixedSummary;
use super::{fit_ordinal_mixed, OrdinalMixedData, OrdinalMixedEstimates, RandomIntercept};
use crate::error::{Error, Result};
use crate::lmm::VarianceComponent;
use serde::{Deserialize, Serialize};
use strata_categorical::link::CumulativeLink;
use strata_categorical::ordinal::{threshold_and_coefficient_tables, OrdinalData};
use strata_categorical::response::CategoricalData;
use strata_core::numerics::Matrix;
use strata_core::results::FittedModel;
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};

/// A cumulative link mixed model on a data frame: `y ~ x + (1 | g)`.
///
/// # Examples
/// ```no_run
/// use strata_core::csv::{read_csv, CsvOptions};
/// use strata_multilevel::ordinal_mixed::CumulativeLinkMixedModel;
/// let wine = read_csv("wine.csv", &CsvOptions::default())?;
/// let levels = ["1", "2", "3", "4", "5"].map(String::from);
/// let fit = CumulativeLinkMixedModel::new("rating ~ temp + contact + (1 | judge)", Some(&levels))?.fit(&wine)?;
/// println!("{}", fit.summary());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CumulativeLinkMixedModel {
    formula: Formula,
    levels: Option<Vec<String>>,
    link: CumulativeLink,
    weights: Option<String>,
    nagq: usize,
}

impl CumulativeLinkMixedModel {
    /// A model of `formula`, with random intercepts `(1 | g)` for one or more grouping
    /// factors, nested (`(1 | la/team)`) or crossed.
    ///
    /// # Errors
    /// A malformed formula, no random term, or a random term other than an intercept.
    pub fn new(formula: &str, levels: Option<&[String]>) -> Result<Self> {
        let parsed = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = parsed.terms().map_err(strata_core::Error::from)?;
        if terms.random.is_empty() {
            return Err(Error::Specification("a mixed model needs a random term such as (1 | la)".into()));
        }
        if let Some(slope) = terms.random.iter().find(|r| !(r.terms.intercept && r.terms.terms.is_empty())) {
            return Err(Error::Specification(format!(
                "cumulative link mixed models take random intercepts (1 | group) only, not the random slopes of `{}`",
                slope.group_label
            )));
        }
        Ok(Self {
            formula: parsed,
            levels: levels.map(<[String]>::to_vec),
            link: CumulativeLink::Logit,
            weights: None,
            nagq: 1,
        })
    }

    /// The link (default logit).
    #[must_use]
    pub fn link(mut self, link: CumulativeLink) -> Self {
        self.link = link;
        self
    }

    /// Prior weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Quadrature points (1, the default, is the Laplace approximation).
    #[must_use]
    pub fn nagq(mut self, points: usize) -> Self {
        self.nagq = points;
        self
    }

    /// Fits the model.
    ///
    /// # Errors
    /// As the fixed-effects model's data errors, a grouping factor with one level, and the
    /// optimiser's failures.
    pub fn fit(&self, frame: &DataFrame) -> Result<CumulativeLinkMixedFit> {
        let data = CategoricalData::new(&self.formula, frame, self.levels.as_deref(), self.weights.as_deref(), false)
            .map_err(|e| Error::Specification(e.to_string()))?;
        let mut codes = Vec::new();
        let mut groups = Vec::new();
        for random in &data.terms.random {
            let (factor_codes, levels) = data.model_frame.interaction(&random.group);
            if levels.len() < 2 {
                return Err(Error::Specification(format!(
                    "grouping factor `{}` has {} level(s): a random effect needs at least two groups",
                    random.group_label,
                    levels.len()
                )));
            }
            codes.push(factor_codes);
            groups.push(GroupingFactor { name: random.group_label.clone(), levels });
        }
        let factors: Vec<RandomIntercept<'_>> = codes
            .iter()
            .zip(&groups)
            .map(|(codes, group)| RandomIntercept { codes, levels: group.levels.len() })
            .collect();
        let arrays = OrdinalMixedData {
            fixed: OrdinalData {
                y: &data.y,
                levels: data.levels.len(),
                x: &data.x,
                z: None,
                offset: Some(&data.offset),
                weights: data.weighted.then_some(data.weights.as_slice()),
            },
            factors: &factors,
        };
        let estimates = fit_ordinal_mixed(&arrays, self.link, self.nagq)?;
        let mut warnings = Vec::new();
        if !estimates.converged {
            warnings
                .push(Warning::new(WarningKind::NotConverged, "the optimiser did not meet its convergence criterion"));
        }
        if estimates.covariance.as_slice().iter().any(|v| v.is_nan()) {
            warnings.push(Warning::new(
                WarningKind::Information,
                "the Hessian is not positive definite: no standard errors",
            ));
        }
        for (group, sigma) in groups.iter().zip(&estimates.sigmas) {
            if *sigma < 1e-6 {
                warnings.push(Warning::new(
                    WarningKind::Boundary,
                    format!("the variance of the random intercepts of `{}` is at its boundary, zero", group.name),
                ));
            }
        }
        let threshold_names: Vec<String> = data.levels.windows(2).map(|w| format!("{}|{}", w[0], w[1])).collect();
        Ok(CumulativeLinkMixedFit {
            formula: self.formula.text().to_string(),
            link: self.link,
            levels: data.levels.clone(),
            parameter_names: threshold_names.iter().chain(&data.names).cloned().collect(),
            threshold_names,
            coefficient_names: data.names.clone(),
            groups,
            nagq: self.nagq,
            n_obs: data.weights.iter().sum(),
            estimates,
            warnings,
        })
    }
}

/// A grouping factor and its levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupingFactor {
    /// Its name as lme4 prints it (`team:la` for `la/team`).
    pub name: String,
    /// Its levels.
    pub levels: Vec<String>,
}

/// A fitted cumulative link mixed model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CumulativeLinkMixedFit {
    /// The formula.
    pub formula: String,
    /// The link.
    pub link: CumulativeLink,
    /// The response's levels in order.
    pub levels: Vec<String>,
    /// Threshold names.
    pub threshold_names: Vec<String>,
    /// Fixed-effect names.
    pub coefficient_names: Vec<String>,
    /// Thresholds then fixed effects: the order of `coef()` and `vcov()`.
    pub parameter_names: Vec<String>,
    /// The grouping factors, in the order of the random terms.
    pub groups: Vec<GroupingFactor>,
    /// Quadrature points.
    pub nagq: usize,
    /// Observations (sum of the weights).
    pub n_obs: f64,
    /// The estimates.
    pub estimates: OrdinalMixedEstimates,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl CumulativeLinkMixedFit {
    /// The latent-scale variance partition coefficient of each grouping factor,
    /// $\sigma_f^2 / (\sum_g \sigma_g^2 + v)$ with $v$ the variance of the link's error
    /// distribution ($\pi^2/3$ logit, 1 probit, $\pi^2/6$ cloglog): the share of the latent
    /// variation that lies between its groups.
    pub fn vpc(&self) -> Vec<f64> {
        let v = match self.link {
            CumulativeLink::Logit => std::f64::consts::PI.powi(2) / 3.0,
            CumulativeLink::Probit => 1.0,
            CumulativeLink::Cloglog => std::f64::consts::PI.powi(2) / 6.0,
        };
        let total: f64 = self.estimates.sigmas.iter().map(|s| s * s).sum::<f64>() + v;
        self.estimates.sigmas.iter().map(|s| s * s / total).collect()
    }

    /// Everything the summary shows.
    pub fn summary(&self) -> OrdinalMixedSummary {
        let (thresholds, coefficients) = threshold_and_coefficient_tables(self, self.threshold_names.len());
        OrdinalMixedSummary {
            link: self.link,
            formula: self.formula.clone(),
            levels: self.levels.clone(),
            coefficients,
            thresholds,
            random_effects: self
                .groups
                .iter()
                .zip(&self.estimates.sigmas)
                .map(|(group, sigma)| VarianceComponent {
                    group: group.name.clone(),
                    term1: Some("(Intercept)".into()),
                    term2: None,
                    vcov: sigma * sigma,
                    sdcor: *sigma,
                })
                .collect(),
            vpc: self.vpc(),
            log_likelihood: self.estimates.log_likelihood,
            aic: self.aic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            n_groups: self.groups.iter().map(|g| g.levels.len()).collect(),
            nagq: self.nagq,
            warnings: self.warnings.clone(),
        }
    }
}

/// Thresholds and fixed effects together, thresholds first, as R's `coef(clmm)`; σ is in
/// the summary's `random_effects`.
impl FittedModel for CumulativeLinkMixedFit {
    fn coef(&self) -> &[f64] {
        &self.estimates.parameters
    }

    fn coef_names(&self) -> &[String] {
        &self.parameter_names
    }

    /// The covariance of (θ, β), thresholds first (NaN when the Hessian failed).
    fn vcov(&self) -> &Matrix {
        &self.estimates.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(self.estimates.log_likelihood)
    }

    fn nobs(&self) -> usize {
        self.n_obs.round() as usize
    }

    fn n_parameters(&self) -> usize {
        self.parameter_names.len() + self.groups.len()
    }
}

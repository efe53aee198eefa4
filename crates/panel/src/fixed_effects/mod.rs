//! Regression with high-dimensional fixed effects in fixest's syntax:
//! `y ~ x1 + x2 | la + year` (Bergé 2018).
//!
//! The model $g(\mathrm{E}\,y_{it}) = x_{it}^\top\beta + \alpha_i + \gamma_t$ (linear: identity;
//! Poisson: log, with offsets) is fitted without forming the dummies: the fixed effects are
//! swept out by alternating projections ([`demean`]) and the regression is run on what is left
//! ([`estimate`]). Standard errors follow fixest's small-sample conventions ([`vcov`]); by
//! default, as fixest, they are clustered on the first fixed effect.
//!
//! Fixed effects combine columns with `^` (`la^year`). Rows with a missing value in any model
//! variable, fixed effect, cluster or weight are dropped (`na.omit`). Observations alone in a
//! fixed-effect group ("singletons", perfectly fitted and without information on β) are
//! removed, repeatedly, as pyfixest does by default (`fixef_rm = "singleton"`; fixest keeps
//! them unless `fixef.rm = "singleton"`): the estimates are the same either way, but n and so
//! the small-sample corrections differ. For Poisson, groups whose outcomes are all zero are
//! removed, as fixest does. Both are reported.
//! Checked against pyfixest/fixest on the reference case `fe_cpp_rate_feols`.

pub mod demean;
pub mod estimate;
pub mod vcov;

pub use demean::{DemeanControl, FixedEffectCodes};
pub use estimate::{
    drop_all_zero_groups, fit_fixed_effects, FixedEffectsControl, FixedEffectsData, FixedEffectsFamily, FixedEffectsFit,
};
pub use vcov::Vcov;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::design::ModelMatrix;
use strata_core::family::Family;
use strata_core::numerics::Matrix;
use strata_core::results::{significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::{DataFrame, Formula};
use strata_gradient::glm::ResponseData;

/// How the standard errors are to be estimated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VcovChoice {
    /// fixest's default: clustered on the first fixed effect (iid without fixed effects).
    #[default]
    Default,
    /// Independent errors.
    Iid,
    /// Heteroskedasticity-robust.
    Hetero,
    /// Clustered on these one or two columns.
    Cluster(Vec<String>),
}

/// A fixed-effects regression specification.
///
/// # Examples
/// ```
/// use strata_core::DataFrame;
/// use strata_panel::fixed_effects::FixedEffectsModel;
/// let la = ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"];
/// let year = ["2021", "2022", "2023"].repeat(4);
/// let x = [1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 2.0, 2.5, 6.0, 3.0, 1.0, 4.0];
/// let y: Vec<f64> = x.iter().enumerate().map(|(i, x)| 2.0 * x + (i / 3) as f64 + 0.3 * (i % 3) as f64 + 0.01 * (i % 2) as f64).collect();
/// let frame = DataFrame::new().with_levels("la", &la)?.with_levels("year", &year)?.with_floats("x", &x)?.with_floats("y", &y)?;
/// let fit = FixedEffectsModel::ols("y ~ x | la + year")?.fit(&frame)?;
/// assert!((fit.fit.coefficients[0] - 2.0).abs() < 0.01);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FixedEffectsModel {
    text: String,
    formula: Formula,
    fixed_effects: Vec<Vec<String>>,
    family: FixedEffectsFamily,
    weights: Option<String>,
    vcov: VcovChoice,
    drop_singletons: bool,
    control: FixedEffectsControl,
}

/// Splits `text` at its `|` outside parentheses: the model and the fixed effects.
fn split_fixed_effects(text: &str) -> Result<(String, Vec<Vec<String>>)> {
    let mut depth = 0i32;
    let mut bar = None;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                if bar.is_some() {
                    return Err(Error::Specification(format!(
                        "`{text}`: one `|` separates the model from the fixed effects (instruments are not supported)"
                    )));
                }
                bar = Some(i);
            }
            _ => {}
        }
    }
    let Some(bar) = bar else { return Ok((text.to_string(), Vec::new())) };
    let fixed_effects: Vec<Vec<String>> =
        text[bar + 1..].split('+').map(|fe| fe.split('^').map(|c| c.trim().to_string()).collect::<Vec<_>>()).collect();
    for fe in &fixed_effects {
        if let Some(bad) =
            fe.iter().find(|c| c.is_empty() || !c.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.'))
        {
            return Err(Error::Specification(format!(
                "`{}`: fixed effects are column names joined by `+` (combined with `^`), not `{bad}`",
                &text[bar + 1..].trim()
            )));
        }
    }
    Ok((text[..bar].to_string(), fixed_effects))
}

impl FixedEffectsModel {
    fn new(text: &str, family: FixedEffectsFamily) -> Result<Self> {
        let (model, fixed_effects) = split_fixed_effects(text)?;
        let formula = Formula::parse(&model).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if formula.response().is_none() {
            return Err(Error::Specification("the formula needs a response on the left of `~`".into()));
        }
        if !terms.random.is_empty() || !terms.specials.is_empty() {
            return Err(Error::Specification("fixed-effects models take no random-effect or survival terms".into()));
        }
        Ok(Self {
            text: text.trim().to_string(),
            formula,
            fixed_effects,
            family,
            weights: None,
            vcov: VcovChoice::Default,
            drop_singletons: true,
            control: FixedEffectsControl::default(),
        })
    }

    /// A linear model (`feols`).
    ///
    /// # Errors
    /// A malformed formula or fixed-effects part.
    pub fn ols(formula: &str) -> Result<Self> {
        Self::new(formula, FixedEffectsFamily::Gaussian)
    }

    /// A Poisson model with log link (`fepois`); `offset(log(n))` in the formula is an offset.
    ///
    /// # Errors
    /// A malformed formula or fixed-effects part.
    pub fn poisson(formula: &str) -> Result<Self> {
        Self::new(formula, FixedEffectsFamily::Poisson)
    }

    /// Prior weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// The standard errors.
    #[must_use]
    pub fn vcov(mut self, choice: VcovChoice) -> Self {
        self.vcov = choice;
        self
    }

    /// Whether to remove observations alone in a fixed-effect group, repeatedly (default:
    /// yes, as pyfixest's `fixef_rm = "singleton"`; `false` keeps them, as fixest's default).
    #[must_use]
    pub fn drop_singletons(mut self, drop: bool) -> Self {
        self.drop_singletons = drop;
        self
    }

    /// Numerical knobs.
    #[must_use]
    pub fn control(mut self, control: FixedEffectsControl) -> Self {
        self.control = control;
        self
    }

    /// Fits the model to `frame`.
    ///
    /// # Errors
    /// Unknown or non-numeric columns, a response outside the family's range, too few
    /// observations, every regressor absorbed, or a fit that fails.
    pub fn fit(&self, frame: &DataFrame) -> Result<FixedEffectsResult> {
        let family = match self.family {
            FixedEffectsFamily::Gaussian => Family::Gaussian,
            FixedEffectsFamily::Poisson => Family::Poisson,
        };
        let cluster_columns: Vec<String> = match &self.vcov {
            VcovChoice::Cluster(columns) => columns.clone(),
            _ => Vec::new(),
        };
        // Rows where every fixed effect and cluster column is present.
        let labels = |columns: &[String]| -> Result<Vec<Option<String>>> {
            let columns = columns.iter().map(|c| frame.column(c)).collect::<strata_core::Result<Vec<_>>>()?;
            Ok((0..frame.nrows())
                .map(|i| {
                    columns.iter().map(|c| c.text(i)).collect::<Option<Vec<String>>>().map(|parts| parts.join("^"))
                })
                .collect())
        };
        let fe_labels = self.fixed_effects.iter().map(|fe| labels(fe)).collect::<Result<Vec<_>>>()?;
        let cluster_labels =
            cluster_columns.iter().map(|c| labels(std::slice::from_ref(c))).collect::<Result<Vec<_>>>()?;
        let present: Vec<usize> =
            (0..frame.nrows()).filter(|&i| fe_labels.iter().chain(&cluster_labels).all(|l| l[i].is_some())).collect();
        let frame = frame.take(&present);
        let response = ResponseData::new(&self.formula, family, self.weights.as_deref(), &frame)?;
        let rows: Vec<usize> = response.model_frame.rows().iter().map(|&r| present[r]).collect();
        let codes = |labels: &[Option<String>]| -> Vec<u32> {
            let mut distinct: Vec<&String> = rows.iter().filter_map(|&i| labels[i].as_ref()).collect();
            distinct.sort();
            distinct.dedup();
            rows.iter()
                .map(|&i| distinct.binary_search(&labels[i].as_ref().expect("present")).expect("a level") as u32)
                .collect()
        };
        let fe = FixedEffectCodes::new(fe_labels.iter().map(|l| codes(l)).collect())?;
        let clusters: Vec<(String, Vec<u32>)> =
            cluster_columns.iter().zip(&cluster_labels).map(|(name, l)| (name.clone(), codes(l))).collect();
        let matrix = ModelMatrix::new(&response.terms, &response.model_frame)?;
        let keep_columns: Vec<usize> =
            (0..matrix.names.len()).filter(|&j| fe.is_empty() || matrix.names[j] != "(Intercept)").collect();
        let mut x =
            Matrix::from_fn(matrix.matrix.nrows(), keep_columns.len(), |i, j| matrix.matrix[(i, keep_columns[j])]);
        let names: Vec<String> = keep_columns.iter().map(|&j| matrix.names[j].clone()).collect();
        if names.is_empty() {
            return Err(Error::Specification("the model has no regressors besides the fixed effects".into()));
        }
        let mut y = response.y.clone();
        let mut weights = response.weights.clone();
        let mut offset = response.offset.clone();
        let mut fe = fe;
        let mut clusters = clusters;
        let mut notes = Vec::new();
        let mut keep: Option<Vec<usize>> = None;
        if self.family == FixedEffectsFamily::Poisson && !fe.is_empty() {
            let (kept, removed) = drop_all_zero_groups(&y, &fe);
            if kept.len() < y.len() {
                let detail: Vec<String> = self
                    .fe_names()
                    .iter()
                    .zip(&removed)
                    .filter(|(_, r)| **r > 0)
                    .map(|(name, r)| format!("{name}: {r}"))
                    .collect();
                notes.push(format!(
                    "{} observations removed because of only 0 outcomes ({} fixed effects: {})",
                    y.len() - kept.len(),
                    removed.iter().sum::<usize>(),
                    detail.join(", ")
                ));
                keep = Some(kept);
            }
        }
        if self.drop_singletons && !fe.is_empty() {
            let current: Vec<usize> = keep.clone().unwrap_or_else(|| (0..y.len()).collect());
            let kept = drop_singletons(&fe.subset(&current));
            if kept.len() < current.len() {
                notes.push(format!("{} singleton observations removed", current.len() - kept.len()));
                keep = Some(kept.iter().map(|&i| current[i]).collect());
            }
        }
        if let Some(keep) = &keep {
            if keep.is_empty() {
                return Err(Error::TooFewObservations { what: "the model".into(), needed: 1, found: 0, group: None });
            }
            x = Matrix::from_fn(keep.len(), x.ncols(), |i, j| x[(keep[i], j)]);
            y = keep.iter().map(|&i| y[i]).collect();
            weights = keep.iter().map(|&i| weights[i]).collect();
            offset = keep.iter().map(|&i| offset[i]).collect();
            fe = fe.subset(keep);
            for (_, codes) in &mut clusters {
                *codes = keep.iter().map(|&i| codes[i]).collect();
            }
        }
        let vcov = match &self.vcov {
            VcovChoice::Default if fe.is_empty() => Vcov::Iid,
            VcovChoice::Default => Vcov::Cluster(vec![(self.fe_names()[0].clone(), fe.codes(0).to_vec())]),
            VcovChoice::Iid => Vcov::Iid,
            VcovChoice::Hetero => Vcov::Hetero,
            VcovChoice::Cluster(_) => Vcov::Cluster(clusters),
        };
        let has_weights = self.weights.is_some();
        let has_offset = !response.terms.offsets.is_empty();
        let data = FixedEffectsData {
            y: &y,
            x: &x,
            names: &names,
            fixed_effects: &fe,
            weights: has_weights.then_some(weights.as_slice()),
            offset: has_offset.then_some(offset.as_slice()),
        };
        let fit = fit_fixed_effects(&data, self.family, &vcov, &self.control)?;
        if !fit.collinear.is_empty() {
            notes.push(format!("removed because of collinearity: {}", fit.collinear.join(", ")));
        }
        if !fit.converged {
            notes.push(format!("the Poisson fit did not converge in {} iterations", fit.iterations));
        }
        Ok(FixedEffectsResult { formula: self.text.clone(), fixed_effects: self.fe_names(), notes, fit })
    }

    fn fe_names(&self) -> Vec<String> {
        self.fixed_effects.iter().map(|fe| fe.join("^")).collect()
    }
}

/// Observations left once those alone in a group of any fixed effect are removed, repeatedly.
fn drop_singletons(fe: &FixedEffectCodes) -> Vec<usize> {
    let n = fe.nobs();
    let mut keep = vec![true; n];
    loop {
        let mut changed = false;
        for k in 0..fe.len() {
            let mut counts = vec![0usize; fe.levels()[k]];
            for (i, &c) in fe.codes(k).iter().enumerate() {
                if keep[i] {
                    counts[c as usize] += 1;
                }
            }
            for (i, &c) in fe.codes(k).iter().enumerate() {
                if keep[i] && counts[c as usize] == 1 {
                    keep[i] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    (0..n).filter(|&i| keep[i]).collect()
}

/// A fitted fixed-effects model with its formula and what was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedEffectsResult {
    /// The formula as given.
    pub formula: String,
    /// The fixed effects' names.
    pub fixed_effects: Vec<String>,
    /// What fixest would print as notes: observations removed, collinear regressors.
    pub notes: Vec<String>,
    /// The fit.
    pub fit: FixedEffectsFit,
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

impl FittedModel for FixedEffectsResult {
    fn coef(&self) -> &[f64] {
        &self.fit.coefficients
    }

    fn coef_names(&self) -> &[String] {
        &self.fit.names
    }

    fn vcov(&self) -> &Matrix {
        &self.fit.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(self.fit.log_likelihood)
    }

    fn nobs(&self) -> usize {
        self.fit.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.fit.n_parameters + usize::from(self.fit.family == FixedEffectsFamily::Gaussian)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_split_at_the_bar() {
        let (model, fe) = split_fixed_effects("y ~ x + log(z) | la + year^region").unwrap();
        assert_eq!(model.trim(), "y ~ x + log(z)");
        assert_eq!(fe, [vec!["la".to_string()], vec!["year".to_string(), "region".to_string()]]);
        assert!(split_fixed_effects("y ~ x | la | z").is_err());
        assert!(split_fixed_effects("y ~ x | log(la)").is_err());
    }

    #[test]
    fn singletons_are_removed_repeatedly() {
        // Unit 2 has one observation; once it goes, time 2 is a singleton too.
        let fe = FixedEffectCodes::new(vec![vec![0, 0, 1, 1, 2, 1], vec![0, 1, 0, 1, 2, 2]]).unwrap();
        assert_eq!(drop_singletons(&fe), [0, 1, 2, 3]);
    }
}

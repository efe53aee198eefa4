//! Cumulative link models for ordered outcomes (an Ofsted grade, the intensity of the response
//! to a referral), as `ordinal::clm` and, for the logit link, `MASS::polr`:
//! $P(Y \le j \mid x) = F(\theta_j - x^\top\beta)$, $j = 1, \dots, J-1$, with $F$ logistic
//! (proportional odds), normal or Gumbel-minimum ([`CumulativeLink`]).
//!
//! A positive $\beta$ moves the distribution towards the higher categories. Thresholds are
//! named `"low|mid"` as in R; there is no intercept. Standard errors are the inverse of the
//! observed information, computed analytically. The test of proportional odds refits the model
//! with each term's effect allowed to differ between thresholds (ordinal's `nominal_test`) and
//! compares the likelihoods. Checked against `ordinal::clm` on `ord_wine_clm` and
//! `ord_housing_clm`.

pub mod engine;
pub mod likelihood;

pub use engine::{category_probabilities, fit_cumulative_link, OrdinalData, OrdinalEstimates};

use crate::error::{Error, Result};
use crate::link::CumulativeLink;
use crate::response::CategoricalData;
use crate::NewtonControl;
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::numerics::Matrix;
use strata_core::results::{chi_squared_upper, significant, CoefTable, Coefficient, FittedModel, Statistic};
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};

/// A cumulative link model: formula, levels in order, link and weights.
///
/// # Examples
/// ```
/// use strata_core::DataFrame;
/// use strata_categorical::ordinal::CumulativeLinkModel;
/// let frame = DataFrame::new()
///     .with_levels("grade", &["low", "low", "mid", "low", "mid", "mid", "high", "mid", "high", "high"])?
///     .with_floats("spend", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])?;
/// let levels = ["low", "mid", "high"].map(String::from);
/// let fit = CumulativeLinkModel::new("grade ~ spend", Some(&levels))?.fit(&frame)?;
/// assert_eq!(fit.threshold_names, ["low|mid", "mid|high"]);
/// assert!(fit.estimates.coefficients[0] > 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CumulativeLinkModel {
    formula: Formula,
    levels: Option<Vec<String>>,
    link: CumulativeLink,
    weights: Option<String>,
    control: NewtonControl,
}

impl CumulativeLinkModel {
    /// A proportional-odds model of `formula` with the response's `levels` in order (sorted
    /// distinct values when `None`).
    ///
    /// # Errors
    /// A malformed formula, or one with random-effect terms (those are
    /// `strata_multilevel`'s cumulative link mixed models).
    pub fn new(formula: &str, levels: Option<&[String]>) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if !terms.random.is_empty() {
            return Err(Error::Specification(
                "random-effect terms make a cumulative link mixed model (strata ordinal fits it)".into(),
            ));
        }
        Ok(Self {
            formula,
            levels: levels.map(<[String]>::to_vec),
            link: CumulativeLink::Logit,
            weights: None,
            control: NewtonControl::default(),
        })
    }

    /// The link (default logit).
    #[must_use]
    pub fn link(mut self, link: CumulativeLink) -> Self {
        self.link = link;
        self
    }

    /// Prior (frequency) weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Fits the model to `frame`.
    ///
    /// # Errors
    /// As [`CategoricalData::new`], and a singular information matrix (separation).
    pub fn fit(&self, frame: &DataFrame) -> Result<CumulativeLinkFit> {
        fit_data(&self.read(frame)?, self.formula.text(), self.link, &self.control)
    }

    /// The response and design on `frame`'s complete rows.
    fn read(&self, frame: &DataFrame) -> Result<CategoricalData> {
        CategoricalData::new(&self.formula, frame, self.levels.as_deref(), self.weights.as_deref(), false)
    }
}

/// Fits the model to data already read.
fn fit_data(
    data: &CategoricalData,
    formula: &str,
    link: CumulativeLink,
    control: &NewtonControl,
) -> Result<CumulativeLinkFit> {
    let arrays = OrdinalData {
        y: &data.y,
        levels: data.levels.len(),
        x: &data.x,
        z: None,
        offset: Some(&data.offset),
        weights: data.weighted.then_some(data.weights.as_slice()),
    };
    let estimates = fit_cumulative_link(&arrays, link, control)?;
    let mut warnings = Vec::new();
    if !estimates.converged {
        warnings.push(Warning::new(
            WarningKind::NotConverged,
            format!(
                "the fit did not converge in {} iterations (largest score {:.2e})",
                estimates.iterations, estimates.max_gradient
            ),
        ));
    }
    warnings.extend(crate::diagnostics::separation_warnings(estimates.condition, estimates.log_likelihood));
    let n_obs = data.weights.iter().sum();
    let names: Vec<String> = data.levels.windows(2).map(|w| format!("{}|{}", w[0], w[1])).collect();
    Ok(CumulativeLinkFit {
        formula: formula.to_string(),
        link,
        levels: data.levels.clone(),
        threshold_names: names,
        coefficient_names: data.names.clone(),
        parameter_names: Vec::new(),
        estimates: EstimatesRecord::from(&estimates),
        n_obs,
        warnings,
    }
    .with_parameter_names())
}

/// The estimates, serialisable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatesRecord {
    /// Thresholds.
    pub thresholds: Vec<f64>,
    /// Common effects β.
    pub coefficients: Vec<f64>,
    /// θ then β, as R's `coef(clm)`.
    pub parameters: Vec<f64>,
    /// Covariance of (θ, β).
    pub covariance: Matrix,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Newton iterations.
    pub iterations: usize,
    /// Largest absolute score at the end.
    pub max_gradient: f64,
    /// The condition number of the observed information.
    pub condition: f64,
}

impl From<&OrdinalEstimates> for EstimatesRecord {
    fn from(e: &OrdinalEstimates) -> Self {
        Self {
            thresholds: e.thresholds.clone(),
            coefficients: e.coefficients.clone(),
            parameters: e.thresholds.iter().chain(&e.coefficients).copied().collect(),
            covariance: e.covariance.clone(),
            log_likelihood: e.log_likelihood,
            iterations: e.iterations,
            max_gradient: e.max_gradient,
            condition: e.condition,
        }
    }
}

/// A fitted cumulative link model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CumulativeLinkFit {
    /// The formula.
    pub formula: String,
    /// The link.
    pub link: CumulativeLink,
    /// The response's levels, in order.
    pub levels: Vec<String>,
    /// Threshold names, `"low|mid"`.
    pub threshold_names: Vec<String>,
    /// Names of the common effects.
    pub coefficient_names: Vec<String>,
    /// Thresholds then coefficients: the order of `coef()` and `vcov()`.
    pub parameter_names: Vec<String>,
    /// The estimates.
    pub estimates: EstimatesRecord,
    /// Observations: the sum of the weights, as `ordinal::clm` counts them.
    pub n_obs: f64,
    /// Warnings (non-convergence).
    pub warnings: Vec<Warning>,
}

impl CumulativeLinkFit {
    fn with_parameter_names(mut self) -> Self {
        self.parameter_names = self.threshold_names.iter().chain(&self.coefficient_names).cloned().collect();
        self
    }

    /// Category probabilities for each row of `frame` (columns in the order of the levels).
    ///
    /// # Errors
    /// Missing columns or values in `frame`.
    pub fn predict(&self, frame: &DataFrame) -> Result<Vec<Vec<f64>>> {
        let formula = Formula::parse(&self.formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        let model_frame =
            strata_core::model_frame::ModelFrame::new(frame, &strata_core::design::covariate_expressions(&terms))?;
        if model_frame.nrows() != frame.nrows() {
            return Err(Error::Specification("every row to predict needs all the covariates".into()));
        }
        let matrix = strata_core::design::ModelMatrix::new(&terms, &model_frame)?;
        let offset = strata_core::design::offset_values(&terms, &model_frame)?;
        (0..frame.nrows())
            .map(|i| {
                let mut eta = offset[i];
                for (name, b) in self.coefficient_names.iter().zip(&self.estimates.coefficients) {
                    let j = matrix.names.iter().position(|n| n == name).ok_or_else(|| {
                        Error::Specification(format!("the new data have no level making column `{name}`"))
                    })?;
                    eta += matrix.matrix[(i, j)] * b;
                }
                Ok(category_probabilities(self.link, &self.estimates.thresholds, &[], &[], eta))
            })
            .collect()
    }

    /// The summary: thresholds and coefficients with Wald z tests.
    pub fn summary(&self) -> OrdinalSummary {
        let (thresholds, coefficients) = threshold_and_coefficient_tables(self, self.threshold_names.len());
        OrdinalSummary {
            link: self.link,
            formula: self.formula.clone(),
            levels: self.levels.clone(),
            coefficients,
            thresholds,
            log_likelihood: self.estimates.log_likelihood,
            aic: self.aic().unwrap_or(f64::NAN),
            bic: self.bic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            iterations: self.estimates.iterations,
            max_gradient: self.estimates.max_gradient,
            warnings: self.warnings.clone(),
        }
    }
}

/// The threshold and coefficient tables (Wald z tests) of a fit whose `coef()` lists its
/// `thresholds` thresholds first, then the coefficients, as R's `coef(clm)` and `coef(clmm)`.
pub fn threshold_and_coefficient_tables(
    fit: &impl FittedModel,
    thresholds: usize,
) -> (Vec<Coefficient>, Vec<Coefficient>) {
    let (names, estimates, se) = (fit.coef_names(), fit.coef(), fit.std_errors());
    let last = thresholds;
    let table = |range: std::ops::Range<usize>| {
        CoefTable::new(&names[range.clone()], &estimates[range.clone()], &se[range], Statistic::Z).rows
    };
    (table(0..last), table(last..names.len()))
}

/// Thresholds and coefficients together, thresholds first, as R's `coef(clm)` and `vcov(clm)`.
impl FittedModel for CumulativeLinkFit {
    fn coef(&self) -> &[f64] {
        &self.estimates.parameters
    }

    fn coef_names(&self) -> &[String] {
        &self.parameter_names
    }

    /// The covariance of (θ, β), thresholds first.
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
        self.parameter_names.len()
    }
}

/// What `summary(clm)` shows, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrdinalSummary {
    /// The link.
    pub link: CumulativeLink,
    /// The formula.
    pub formula: String,
    /// The levels in order.
    pub levels: Vec<String>,
    /// Common effects.
    pub coefficients: Vec<Coefficient>,
    /// Thresholds.
    pub thresholds: Vec<Coefficient>,
    /// Log-likelihood.
    pub log_likelihood: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Observations (sum of weights).
    pub n_obs: f64,
    /// Newton iterations.
    pub iterations: usize,
    /// Largest absolute score.
    pub max_gradient: f64,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl fmt::Display for OrdinalSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Cumulative link model, {} link: {}", self.link.name(), self.formula)?;
        writeln!(f, "Levels: {}", self.levels.join(" < "))?;
        writeln!(
            f,
            "n = {}   log-likelihood = {}   AIC = {}   iterations = {}   max|gradient| = {:.1e}\n",
            significant(self.n_obs, 6),
            significant(self.log_likelihood, 7),
            significant(self.aic, 7),
            self.iterations,
            self.max_gradient
        )?;
        writeln!(f, "Coefficients:\n{}\n", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::Z })?;
        write!(f, "Threshold coefficients:\n{}", CoefTable { rows: self.thresholds.clone(), statistic: Statistic::Z })?;
        for warning in &self.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

/// One term's test of proportional odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NominalTest {
    /// The term.
    pub term: String,
    /// Degrees of freedom: (J − 2) × the term's columns.
    pub df: usize,
    /// Log-likelihood with the term's effects threshold-specific.
    pub log_likelihood: f64,
    /// The likelihood-ratio statistic against the proportional-odds model.
    pub statistic: f64,
    /// Its upper-tail χ² p-value.
    pub p_value: f64,
}

/// For each term, the likelihood-ratio test of proportional odds (ordinal's `nominal_test`):
/// the model with the term's effect different at each threshold against `fit`.
///
/// # Errors
/// As the fit; a term whose nominal model cannot be fitted is reported with NaN statistics.
pub fn nominal_test(
    model: &CumulativeLinkModel,
    frame: &DataFrame,
    fit: &CumulativeLinkFit,
) -> Result<Vec<NominalTest>> {
    let data = model.read(frame)?;
    Ok(nominal_tests_on(&data, model, fit))
}

/// The tests of proportional odds on data already read.
fn nominal_tests_on(data: &CategoricalData, model: &CumulativeLinkModel, fit: &CumulativeLinkFit) -> Vec<NominalTest> {
    let levels = data.levels.len();
    let mut tests = Vec::new();
    for (t, term) in data.terms.terms.iter().enumerate() {
        let label = data.terms.label(term);
        // The term's own columns, by R's `assign`.
        let columns: Vec<usize> = (0..data.names.len()).filter(|&j| data.assign[j] == Some(t)).collect();
        if columns.is_empty() {
            continue;
        }
        let common: Vec<usize> = (0..data.names.len()).filter(|j| !columns.contains(j)).collect();
        let n = data.y.len();
        let x = Matrix::from_fn(n, common.len(), |i, k| data.x[(i, common[k])]);
        let z = Matrix::from_fn(n, columns.len(), |i, k| data.x[(i, columns[k])]);
        let arrays = OrdinalData {
            y: &data.y,
            levels,
            x: &x,
            z: Some(&z),
            offset: Some(&data.offset),
            weights: data.weighted.then_some(data.weights.as_slice()),
        };
        let df = (levels - 2) * columns.len();
        let (log_likelihood, statistic) = match fit_cumulative_link(&arrays, model.link, &model.control) {
            Ok(nominal) => (nominal.log_likelihood, 2.0 * (nominal.log_likelihood - fit.estimates.log_likelihood)),
            Err(_) => (f64::NAN, f64::NAN),
        };
        tests.push(NominalTest {
            term: label,
            df,
            log_likelihood,
            statistic,
            p_value: if df > 0 { chi_squared_upper(statistic.max(0.0), df as f64) } else { f64::NAN },
        });
    }
    tests
}

/// Fits the model to `frame` and runs the test of proportional odds for every term.
///
/// # Examples
/// ```
/// use strata_core::DataFrame;
/// use strata_categorical::ordinal::{fit_with_nominal_test, CumulativeLinkModel};
/// let frame = DataFrame::new()
///     .with_levels("grade", &["low", "low", "mid", "low", "mid", "mid", "high", "mid", "high", "high", "low", "high"])?
///     .with_floats("spend", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 3.5, 6.5])?;
/// let levels = ["low", "mid", "high"].map(String::from);
/// let model = CumulativeLinkModel::new("grade ~ spend", Some(&levels))?;
/// let (fit, tests) = fit_with_nominal_test(&model, &frame)?;
/// assert!(fit.estimates.coefficients[0] > 0.0);
/// assert_eq!((tests[0].term.as_str(), tests[0].df), ("spend", 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`CumulativeLinkModel::fit`].
pub fn fit_with_nominal_test(
    model: &CumulativeLinkModel,
    frame: &DataFrame,
) -> Result<(CumulativeLinkFit, Vec<NominalTest>)> {
    let data = model.read(frame)?;
    let fit = fit_data(&data, model.formula.text(), model.link, &model.control)?;
    let tests = nominal_tests_on(&data, model, &fit);
    Ok((fit, tests))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each term's nominal test takes its own columns (R's `assign`), not every column whose
    /// name starts with the term's: `temp` does not claim `temperature`.
    #[test]
    fn nominal_tests_take_each_terms_own_columns() {
        let grade = ["a", "b", "c", "a", "c", "b", "c", "a", "b", "c", "a", "b", "b", "c", "a", "c"];
        let temp: Vec<f64> = (0..16).map(|i| f64::from(i % 5)).collect();
        let temperature: Vec<f64> = (0..16).map(|i| f64::from((i * 7) % 11) / 3.0).collect();
        let frame = DataFrame::new()
            .with_levels("g", &grade)
            .unwrap()
            .with_floats("temp", &temp)
            .unwrap()
            .with_floats("temperature", &temperature)
            .unwrap();
        let model = CumulativeLinkModel::new("g ~ temp + temperature", None).unwrap();
        let (_, tests) = fit_with_nominal_test(&model, &frame).unwrap();
        assert_eq!(
            tests.iter().map(|t| (t.term.as_str(), t.df)).collect::<Vec<_>>(),
            [("temp", 1), ("temperature", 1)]
        );
    }

    /// The parameter vector lists thresholds first, then the coefficients, as `vcov`.
    #[test]
    fn parameter_order() {
        let frame = DataFrame::new()
            .with_levels("g", &["a", "b", "a", "c", "b", "c", "c", "a"])
            .unwrap()
            .with_floats("x", &[1.0, 2.0, 1.5, 3.0, 2.0, 2.5, 3.5, 0.5])
            .unwrap();
        let fit = CumulativeLinkModel::new("g ~ x", None).unwrap().fit(&frame).unwrap();
        assert_eq!(fit.parameter_names, ["a|b", "b|c", "x"]);
        assert_eq!(fit.coef().len(), 3);
        assert_eq!(fit.vcov().nrows(), 3);
        let p = fit.predict(&frame).unwrap();
        assert!(p.iter().all(|row| (row.iter().sum::<f64>() - 1.0).abs() < 1e-12));
    }
}

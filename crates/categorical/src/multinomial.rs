//! The multinomial (baseline-category) logit model: for categories $k \ne r$ of an unordered
//! outcome (no further action, child in need, protection plan, looked after),
//! $\log \frac{P(Y = k \mid x)}{P(Y = r \mid x)} = x^\top\beta_k$, with $r$ the reference.
//!
//! Fitted by Newton–Raphson on the exact Hessian
//! $-\sum_i w_i\, \pi_{ik}(\delta_{kl} - \pi_{il})\, x_i x_i^\top$ (block $k, l$), each block one
//! weighted cross-product of the design; standard errors are the inverse of the observed
//! information, so they equal `nnet::multinom`'s (`Hess = TRUE`) and `VGAM::vglm`'s at the same
//! optimum. `exp(β)` are relative-risk ratios. Checked against `nnet::multinom` on the reference
//! case `mnl_housing`.

use crate::error::{Error, Result};
use crate::response::CategoricalData;
use crate::NewtonControl;
use serde::{Deserialize, Serialize};
use std::fmt;
use strata_core::numerics::{Cholesky, Matrix};
use strata_core::results::{normal_quantile, significant, CoefTable, Coefficient, FittedModel, LrTest, Statistic};
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};

/// The inputs of a multinomial logit model, as arrays.
#[derive(Debug, Clone, Copy)]
pub struct MultinomialData<'a> {
    /// Category codes `0..categories`.
    pub y: &'a [u32],
    /// Number of categories K.
    pub categories: usize,
    /// The design, intercept included.
    pub x: &'a Matrix,
    /// Prior weights, if any.
    pub weights: Option<&'a [f64]>,
    /// The reference category.
    pub reference: usize,
}

/// The estimates on arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultinomialEstimates {
    /// β_k for each non-reference category k in order, p each.
    pub coefficients: Vec<f64>,
    /// Their covariance.
    pub covariance: Matrix,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    /// Newton iterations.
    pub iterations: usize,
    /// Largest absolute score at the end.
    pub max_gradient: f64,
    /// Whether it converged.
    pub converged: bool,
    /// The condition number of the observed information.
    pub condition: f64,
}

impl MultinomialData<'_> {
    /// The non-reference categories in order.
    fn others(&self) -> Vec<usize> {
        (0..self.categories).filter(|&k| k != self.reference).collect()
    }

    /// Fitted probabilities (n × K, row-major) at `beta`.
    fn probabilities(&self, beta: &[f64]) -> Vec<f64> {
        let n = self.x.nrows();
        let p = self.x.ncols();
        let others = self.others();
        let mut eta = vec![0.0; n * self.categories];
        for (slot, &k) in others.iter().enumerate() {
            let linear = self.x.times(&beta[slot * p..(slot + 1) * p]);
            for i in 0..n {
                eta[i * self.categories + k] = linear[i];
            }
        }
        for row in eta.chunks_mut(self.categories) {
            let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = row.iter().map(|e| (e - top).exp()).sum();
            for e in row.iter_mut() {
                *e = (*e - top).exp() / total;
            }
        }
        eta
    }

    fn log_likelihood(&self, probabilities: &[f64]) -> f64 {
        self.y
            .iter()
            .enumerate()
            .map(|(i, &c)| self.weights.map_or(1.0, |w| w[i]) * probabilities[i * self.categories + c as usize].ln())
            .sum()
    }
}

/// Fits the multinomial logit model to arrays.
///
/// # Examples
/// ```
/// use strata_categorical::multinomial::{fit_multinomial, MultinomialData};
/// use strata_categorical::NewtonControl;
/// use strata_core::numerics::Matrix;
/// let x = Matrix::from_fn(9, 2, |i, j| if j == 0 { 1.0 } else { i as f64 });
/// let y = [0, 0, 1, 0, 2, 1, 2, 1, 2];
/// let data = MultinomialData { y: &y, categories: 3, x: &x, weights: None, reference: 0 };
/// let fit = fit_multinomial(&data, &NewtonControl::default())?;
/// assert_eq!(fit.coefficients.len(), 4);
/// assert!(fit.coefficients[3] > 0.0, "higher x, more of category 2");
/// # Ok::<(), strata_categorical::Error>(())
/// ```
///
/// # Errors
/// Inputs of the wrong length or out of range, or a singular information matrix (a collinear
/// design, or a category predicted perfectly).
pub fn fit_multinomial(data: &MultinomialData<'_>, control: &NewtonControl) -> Result<MultinomialEstimates> {
    let n = data.y.len();
    let p = data.x.ncols();
    if data.categories < 2 || data.reference >= data.categories {
        return Err(Error::Specification(
            "a multinomial model needs two or more categories and a reference among them".into(),
        ));
    }
    if data.x.nrows() != n || data.weights.is_some_and(|w| w.len() != n) {
        return Err(Error::Specification("the design and weights need one row per observation".into()));
    }
    if data.y.iter().any(|&c| c as usize >= data.categories) {
        return Err(Error::Specification("a category code is out of range".into()));
    }
    if !data.x.as_slice().iter().all(|v| v.is_finite()) {
        return Err(Error::Specification("the design must be finite".into()));
    }
    let others = data.others();
    let m = others.len() * p;
    let mut beta = vec![0.0; m];
    let mut probabilities = data.probabilities(&beta);
    let mut log_likelihood = data.log_likelihood(&probabilities);
    let weight = |i: usize| data.weights.map_or(1.0, |w| w[i]);
    let score_and_information = |probabilities: &[f64]| -> (Vec<f64>, Matrix) {
        let mut score = vec![0.0; m];
        let mut information = Matrix::zeros(m, m);
        for (a, &k) in others.iter().enumerate() {
            let residual: Vec<f64> = (0..n)
                .map(|i| {
                    weight(i) * (f64::from(u8::from(data.y[i] as usize == k)) - probabilities[i * data.categories + k])
                })
                .collect();
            let block = data.x.transpose_times(&residual);
            score[a * p..(a + 1) * p].copy_from_slice(&block);
            for (b, &l) in others.iter().enumerate().take(a + 1) {
                let w: Vec<f64> = (0..n)
                    .map(|i| {
                        let (pk, pl) = (probabilities[i * data.categories + k], probabilities[i * data.categories + l]);
                        weight(i) * pk * (f64::from(u8::from(k == l)) - pl)
                    })
                    .collect();
                let cross = data.x.weighted_crossprod(Some(&w));
                for r in 0..p {
                    for s in 0..p {
                        information[(a * p + r, b * p + s)] = cross[(r, s)];
                        information[(b * p + s, a * p + r)] = cross[(r, s)];
                    }
                }
            }
        }
        (score, information)
    };
    let (mut score, mut information) = score_and_information(&probabilities);
    let mut iterations = 0;
    let singular = || {
        Error::Fit(
            "the information matrix is singular: the design is collinear, or a covariate predicts a category perfectly"
                .into(),
        )
    };
    for iteration in 1..=control.max_iterations {
        if score.iter().all(|g| g.abs() < control.gradient_tolerance) {
            break;
        }
        iterations = iteration;
        let step = Cholesky::new(&information).map_err(|_| singular())?.solve(&score);
        let mut scale = 1.0;
        loop {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
            let trial_probabilities = data.probabilities(&trial);
            let value = data.log_likelihood(&trial_probabilities);
            if value.is_finite() && value >= log_likelihood - 1e-10 * log_likelihood.abs() {
                beta = trial;
                probabilities = trial_probabilities;
                log_likelihood = value;
                break;
            }
            scale /= 2.0;
            if scale < 1e-12 {
                return Err(Error::Fit("no step improves the likelihood".into()));
            }
        }
        (score, information) = score_and_information(&probabilities);
    }
    let max_gradient = score.iter().fold(0.0_f64, |g, v| g.max(v.abs()));
    let condition = crate::diagnostics::condition_number(&information);
    let covariance = Cholesky::new(&information).map_err(|_| singular())?.inverse();
    Ok(MultinomialEstimates {
        coefficients: beta,
        covariance,
        log_likelihood,
        iterations,
        max_gradient,
        converged: max_gradient < control.gradient_tolerance,
        condition,
    })
}

/// A multinomial logit model: formula, levels in order, reference level and weights.
///
/// # Examples
/// ```
/// use strata_core::DataFrame;
/// use strata_categorical::multinomial::MultinomialModel;
/// let frame = DataFrame::new()
///     .with_levels("decision", &["nfa", "cin", "nfa", "cpp", "cin", "cpp", "nfa", "cpp", "cin", "cpp"])?
///     .with_floats("imd", &[10.0, 20.0, 12.0, 35.0, 25.0, 30.0, 15.0, 40.0, 18.0, 28.0])?;
/// let fit = MultinomialModel::new("decision ~ imd")?.reference("nfa").fit(&frame)?;
/// assert_eq!(fit.reference, "nfa");
/// assert_eq!(fit.responses, ["cin", "cpp"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MultinomialModel {
    formula: Formula,
    levels: Option<Vec<String>>,
    reference: Option<String>,
    weights: Option<String>,
    control: NewtonControl,
}

impl MultinomialModel {
    /// A multinomial logit model of `formula`.
    ///
    /// # Errors
    /// A malformed formula, or random-effect terms.
    pub fn new(formula: &str) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        if !formula.terms().map_err(strata_core::Error::from)?.random.is_empty() {
            return Err(Error::Specification("multinomial models with random effects are not implemented".into()));
        }
        Ok(Self { formula, levels: None, reference: None, weights: None, control: NewtonControl::default() })
    }

    /// The response's levels in order (default: its distinct values, sorted).
    #[must_use]
    pub fn levels(mut self, levels: &[String]) -> Self {
        self.levels = Some(levels.to_vec());
        self
    }

    /// The baseline category (default: the first level).
    #[must_use]
    pub fn reference(mut self, level: &str) -> Self {
        self.reference = Some(level.to_string());
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
    /// As [`CategoricalData::new`], a reference that is not a level, and a singular fit.
    pub fn fit(&self, frame: &DataFrame) -> Result<MultinomialFit> {
        let data = CategoricalData::new(&self.formula, frame, self.levels.as_deref(), self.weights.as_deref(), true)?;
        let reference = match &self.reference {
            Some(r) => data.levels.iter().position(|l| l == r).ok_or_else(|| {
                Error::Specification(format!(
                    "reference `{r}` is not a level of `{}` ({})",
                    data.response,
                    data.levels.join(", ")
                ))
            })?,
            None => 0,
        };
        let arrays = MultinomialData {
            y: &data.y,
            categories: data.levels.len(),
            x: &data.x,
            weights: data.weighted.then_some(data.weights.as_slice()),
            reference,
        };
        let estimates = fit_multinomial(&arrays, &self.control)?;
        let responses: Vec<String> = arrays.others().iter().map(|&k| data.levels[k].clone()).collect();
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
        let parameter_names =
            responses.iter().flat_map(|r| data.names.iter().map(move |t| format!("{r}:{t}"))).collect();
        Ok(MultinomialFit {
            formula: self.formula.text().to_string(),
            levels: data.levels.clone(),
            reference: data.levels[reference].clone(),
            responses,
            terms: data.names.clone(),
            parameter_names,
            estimates,
            n_obs: data.y.len(),
            rows: data.model_frame.rows().to_vec(),
            warnings,
        })
    }
}

/// A fitted multinomial logit model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultinomialFit {
    /// The formula.
    pub formula: String,
    /// The response's levels.
    pub levels: Vec<String>,
    /// The reference level.
    pub reference: String,
    /// The other levels, in order: one coefficient vector each.
    pub responses: Vec<String>,
    /// The design's column names.
    pub terms: Vec<String>,
    /// `response:term` for every coefficient, in the order of `coef()`.
    pub parameter_names: Vec<String>,
    /// The estimates.
    pub estimates: MultinomialEstimates,
    /// Rows used (as `nnet::multinom` counts them, whatever their weights).
    pub n_obs: usize,
    /// The data rows used.
    pub rows: Vec<usize>,
    /// Warnings: non-convergence, separation.
    pub warnings: Vec<Warning>,
}

impl MultinomialFit {
    /// The coefficient table: each row's term is `response:term`.
    pub fn coef_table(&self) -> CoefTable {
        CoefTable::new(&self.parameter_names, &self.estimates.coefficients, &self.std_errors(), Statistic::Z)
    }

    /// Likelihood-ratio test of this model against a smaller one nested in it, fitted to the same
    /// rows (R's `anova(small, big)`).
    ///
    /// # Errors
    /// [`Error::Specification`] for models of other rows or not smaller.
    pub fn lr_test(&self, smaller: &Self) -> Result<LrTest> {
        if smaller.rows != self.rows || smaller.levels != self.levels {
            return Err(Error::Specification("the two models were fitted to different rows or levels".into()));
        }
        let df = self
            .parameter_names
            .len()
            .checked_sub(smaller.parameter_names.len())
            .filter(|d| *d > 0)
            .ok_or_else(|| Error::Specification("the other model must have fewer parameters".into()))?;
        let statistic = 2.0 * (self.estimates.log_likelihood - smaller.estimates.log_likelihood);
        Ok(LrTest::new(statistic.max(0.0), df as f64))
    }

    /// Predicted probabilities of each level (in the order of `levels`) for each row of `frame`.
    ///
    /// # Errors
    /// Missing covariates or a factor level the model has no column for.
    pub fn predict(&self, frame: &DataFrame) -> Result<Vec<Vec<f64>>> {
        let formula = Formula::parse(&self.formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        let model_frame =
            strata_core::model_frame::ModelFrame::new(frame, &strata_core::design::covariate_expressions(&terms))?;
        if model_frame.nrows() != frame.nrows() {
            return Err(Error::Specification("every row to predict needs all the covariates".into()));
        }
        let matrix = strata_core::design::ModelMatrix::new(&terms, &model_frame)?;
        let columns = self
            .terms
            .iter()
            .map(|t| {
                matrix
                    .names
                    .iter()
                    .position(|n| n == t)
                    .ok_or_else(|| Error::Specification(format!("the new data have no level making column `{t}`")))
            })
            .collect::<Result<Vec<usize>>>()?;
        let x = Matrix::from_fn(frame.nrows(), columns.len(), |i, j| matrix.matrix[(i, columns[j])]);
        let reference = self.levels.iter().position(|l| *l == self.reference).unwrap_or(0);
        let data = MultinomialData { y: &[], categories: self.levels.len(), x: &x, weights: None, reference };
        let flat = data.probabilities(&self.estimates.coefficients);
        Ok(flat.chunks(self.levels.len()).map(<[f64]>::to_vec).collect())
    }

    /// Everything `summary(multinom)` shows, with relative-risk ratios.
    pub fn summary(&self) -> MultinomialSummary {
        let table = self.coef_table();
        let z = normal_quantile(0.975);
        let p = self.terms.len();
        let coefficients = table
            .rows
            .iter()
            .enumerate()
            .map(|(index, row)| ResponseCoefficient {
                response: self.responses[index / p].clone(),
                term: self.terms[index % p].clone(),
                estimate: row.estimate,
                std_error: row.std_error,
                statistic: row.statistic,
                p_value: row.p_value,
                rrr: row.estimate.exp(),
                rrr_lower: (row.estimate - z * row.std_error).exp(),
                rrr_upper: (row.estimate + z * row.std_error).exp(),
            })
            .collect();
        MultinomialSummary {
            formula: self.formula.clone(),
            levels: self.levels.clone(),
            reference: self.reference.clone(),
            coefficients,
            log_likelihood: self.estimates.log_likelihood,
            deviance: -2.0 * self.estimates.log_likelihood,
            aic: self.aic().unwrap_or(f64::NAN),
            bic: self.bic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            iterations: self.estimates.iterations,
            warnings: self.warnings.clone(),
        }
    }
}

impl FittedModel for MultinomialFit {
    fn coef(&self) -> &[f64] {
        &self.estimates.coefficients
    }

    fn coef_names(&self) -> &[String] {
        &self.parameter_names
    }

    fn vcov(&self) -> &Matrix {
        &self.estimates.covariance
    }

    fn log_likelihood(&self) -> Option<f64> {
        Some(self.estimates.log_likelihood)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.parameter_names.len()
    }
}

/// One coefficient of one non-reference category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseCoefficient {
    /// The category.
    pub response: String,
    /// The term.
    pub term: String,
    /// β.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// z.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The relative-risk ratio exp(β).
    pub rrr: f64,
    /// Its lower 95% limit.
    pub rrr_lower: f64,
    /// Its upper 95% limit.
    pub rrr_upper: f64,
}

/// What `summary(multinom)` shows, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultinomialSummary {
    /// The formula.
    pub formula: String,
    /// The levels.
    pub levels: Vec<String>,
    /// The reference level.
    pub reference: String,
    /// Every coefficient.
    pub coefficients: Vec<ResponseCoefficient>,
    /// Log-likelihood.
    pub log_likelihood: f64,
    /// Residual deviance, −2 log-likelihood.
    pub deviance: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Rows used.
    pub n_obs: usize,
    /// Newton iterations.
    pub iterations: usize,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

impl fmt::Display for MultinomialSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Multinomial logit model: {}", self.formula)?;
        writeln!(f, "Levels: {} (reference {})", self.levels.join(", "), self.reference)?;
        writeln!(
            f,
            "n = {}   residual deviance = {}   AIC = {}\n",
            self.n_obs,
            significant(self.deviance, 7),
            significant(self.aic, 7)
        )?;
        let mut responses: Vec<&String> = self.coefficients.iter().map(|c| &c.response).collect();
        responses.dedup();
        for response in responses {
            let rows: Vec<Coefficient> = self
                .coefficients
                .iter()
                .filter(|c| &c.response == response)
                .map(|c| Coefficient {
                    term: c.term.clone(),
                    estimate: c.estimate,
                    std_error: c.std_error,
                    statistic: c.statistic,
                    p_value: c.p_value,
                })
                .collect();
            writeln!(f, "{response} vs {}:\n{}", self.reference, CoefTable { rows, statistic: Statistic::Z })?;
            for c in self.coefficients.iter().filter(|c| &c.response == response && c.term != "(Intercept)") {
                writeln!(
                    f,
                    "  relative-risk ratio {:<20} {} ({} to {})",
                    c.term,
                    significant(c.rrr, 4),
                    significant(c.rrr_lower, 4),
                    significant(c.rrr_upper, 4)
                )?;
            }
            writeln!(f)?;
        }
        for warning in &self.warnings {
            writeln!(f, "Warning: {warning}")?;
        }
        Ok(())
    }
}

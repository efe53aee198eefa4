//! Covariates of class membership: a multinomial logit of class on covariates, estimated in one
//! step inside the latent class likelihood (poLCA's `formula = cbind(...) ~ x`) or in three steps
//! from a measurement model alone (stepmix's `n_steps = 3`), with the BCH or the ML correction
//! for classification error (Vermunt 2010; Bakk, Tekle and Vermunt 2013).
//!
//! - **One step**: $\ell = \sum_i \log\sum_c \pi_c(x_i) f_c(y_i)$, maximised by EM whose M-step fits
//!   the membership logit to the posteriors and the item probabilities to posterior-weighted
//!   responses; standard errors from the observed information of all parameters.
//! - **Three steps**: (1) the measurement model without covariates; (2) modal assignment $s_i$ and
//!   the classification-error matrix $D_{cs} = \sum_i \tau_{ic}[s_i = s] / \sum_i \tau_{ic}$;
//!   (3) BCH: the membership logit fitted to weights $w_{ic} = (D^{-1})_{s_i c}$, with sandwich
//!   standard errors; ML: $\sum_i \log\sum_c \pi_c(x_i) D_{c s_i}$ maximised by EM, standard errors
//!   from its observed information. Both treat step 1 as known, as stepmix does by default.

use crate::error::{Error, Result};
use crate::indicators::{Indicators, Patterns};
use crate::information::{free_parameters, inverse_information, item_score, shifted, Free};
use crate::measurement::{normalise_logs, LogTables, Parameters, Tallies};
use crate::membership;
use crate::model::{modal_class, LatentClassFit};
use serde::{Deserialize, Serialize};
use strata_core::numerics::{Cholesky, Matrix};

/// How class membership is related to covariates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    /// Inside the latent class likelihood.
    One,
    /// After the measurement model, correcting for classification error by BCH weights.
    ThreeBch,
    /// After the measurement model, correcting by maximum likelihood.
    ThreeMl,
}

impl Steps {
    /// The method's name (`one-step`, `three-step BCH`, `three-step ML`).
    pub fn name(self) -> &'static str {
        match self {
            Self::One => "one-step",
            Self::ThreeBch => "three-step BCH",
            Self::ThreeMl => "three-step ML",
        }
    }
}

/// One coefficient of the membership model: class `class` against class 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipCoefficient {
    /// The class (2..K, 1-based, in the measurement fit's order).
    pub class: usize,
    /// The covariate (`(Intercept)` first).
    pub term: String,
    /// $\gamma$, a log odds ratio of membership of `class` rather than class 1.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Wald z.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// A fitted membership model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipFit {
    /// How it was fitted.
    pub method: String,
    /// The coefficients, class by class.
    pub coefficients: Vec<MembershipCoefficient>,
    /// The maximised log-likelihood (one step: of the whole model; ML: of step 3; BCH: the
    /// weighted pseudo-log-likelihood).
    pub log_likelihood: f64,
    /// The measurement parameters (re-estimated in one step; step 1's otherwise).
    pub measurement: Parameters,
    /// Rows used.
    pub n_obs: usize,
    /// The classification-error matrix $D$ (three steps), row `c` the assignments of true class `c`.
    pub classification_error: Option<Vec<Vec<f64>>>,
}

/// Fits the membership model of `steps` with covariates `x` (`n × q`, without an intercept, one
/// row per row of `indicators`), from the measurement-only fit `measurement` of `indicators`.
///
/// # Examples
/// ```
/// use strata_core::numerics::Matrix;
/// use strata_latent::covariates::{fit_membership, Steps};
/// use strata_latent::{Indicators, LatentClassModel};
/// // Three factors recorded at assessment, mostly together in one class of children, which
/// // those in deprived areas (1) join more often.
/// let deprived: Vec<f64> = (0..300).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
/// let in_class = |i: usize| i * 37 % 100 < if i % 2 == 0 { 60 } else { 25 };
/// let column = |j: usize| -> Vec<Option<f64>> {
///     (0..300).map(|i| Some(f64::from(u8::from(i * (j + 3) * 13 % 10 < if in_class(i) { 8 } else { 2 })))).collect()
/// };
/// let indicators = Indicators::new(&["domestic_abuse", "mental_health", "neglect"], &[column(0), column(1), column(2)])?;
/// let measurement = LatentClassModel::new(2).starts(5).fit(&indicators)?;
/// let x = Matrix::from_fn(300, 1, |i, _| deprived[i]);
/// let fit = fit_membership(&indicators, &measurement, &["deprived".to_string()], &x, Steps::ThreeMl)?;
/// assert_eq!(fit.n_obs, 300);
/// assert!(fit.coefficients.iter().all(|c| c.estimate.is_finite()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Length`] when `x` has the wrong number of rows, [`Error::Covariate`] for a non-finite
/// covariate, [`Error::Singular`] for a constant or collinear covariate or an empty class.
pub fn fit_membership(
    indicators: &Indicators,
    measurement: &LatentClassFit,
    names: &[String],
    x: &Matrix,
    steps: Steps,
) -> Result<MembershipFit> {
    let n = indicators.n_rows();
    if x.nrows() != n {
        return Err(Error::Length { what: "the covariates".into(), expected: n, found: x.nrows() });
    }
    if names.len() != x.ncols() {
        return Err(Error::Length { what: "the covariate names".into(), expected: x.ncols(), found: names.len() });
    }
    for (a, name) in names.iter().enumerate() {
        if let Some(i) = (0..n).find(|&i| !x[(i, a)].is_finite()) {
            return Err(Error::Covariate { name: name.clone(), row: i + 1 });
        }
    }
    let patterns = Patterns::new(indicators);
    // Rows with an observed indicator, and the design with an intercept.
    let rows: Vec<usize> = (0..n).filter(|&i| patterns.of_row[i].is_some()).collect();
    let design = Matrix::from_fn(rows.len(), x.ncols() + 1, |i, a| if a == 0 { 1.0 } else { x[(rows[i], a - 1)] });
    let of_row: Vec<usize> = rows.iter().map(|&i| patterns.of_row[i].expect("observed")).collect();
    let k = measurement.classes();
    if k < 2 {
        return Err(Error::Specification("covariates of class membership need two or more classes".into()));
    }
    let q = design.ncols();
    let mut start = vec![0.0; (k - 1) * q];
    let p = &measurement.parameters.proportions;
    for c in 1..k {
        start[(c - 1) * q] = (p[c] / p[0]).ln();
    }
    let mut terms = vec!["(Intercept)".to_string()];
    terms.extend(names.iter().cloned());
    let (gamma, covariance, log_likelihood, parameters, error) = match steps {
        Steps::One => {
            let (gamma, parameters, ll) = one_step(&patterns, &of_row, &design, &measurement.parameters, start)?;
            let covariance = one_step_covariance(&patterns, &of_row, &design, &parameters, &gamma)?;
            (gamma, covariance, ll, parameters, None)
        }
        Steps::ThreeBch | Steps::ThreeMl => {
            let posterior: Vec<&[f64]> = rows.iter().map(|&i| measurement.posterior(i)).collect();
            let assigned: Vec<usize> = posterior.iter().map(|t| modal_class(t)).collect();
            let d = classification_error(&posterior, &assigned, k);
            let (gamma, covariance, ll) = if steps == Steps::ThreeBch {
                bch(&design, &assigned, &d, k, &start)?
            } else {
                three_step_ml(&design, &assigned, &d, k, start)?
            };
            (gamma, covariance, ll, measurement.parameters.clone(), Some(d))
        }
    };
    let coefficients = (1..k)
        .flat_map(|c| {
            let (gamma, covariance, terms) = (&gamma, &covariance, &terms);
            (0..q).map(move |a| {
                let index = (c - 1) * q + a;
                let std_error = covariance[(index, index)].max(0.0).sqrt();
                let statistic = gamma[index] / std_error;
                MembershipCoefficient {
                    class: c + 1,
                    term: terms[a].clone(),
                    estimate: gamma[index],
                    std_error,
                    statistic,
                    p_value: strata_core::results::normal_two_sided(statistic),
                }
            })
        })
        .collect();
    Ok(MembershipFit {
        method: steps.name().into(),
        coefficients,
        log_likelihood,
        measurement: parameters,
        n_obs: rows.len(),
        classification_error: error,
    })
}

/// Each row's posterior under membership `gamma` and measurement `parameters`, and the
/// log-likelihood.
fn row_posterior(
    patterns: &Patterns,
    of_row: &[usize],
    x: &Matrix,
    parameters: &Parameters,
    gamma: &[f64],
) -> (Vec<f64>, Vec<f64>, f64) {
    let k = parameters.classes();
    let tables = LogTables::new(parameters, patterns);
    let mut densities = vec![0.0; patterns.len() * k];
    for (p, row) in densities.chunks_mut(k).enumerate() {
        tables.log_densities(patterns, p, row);
    }
    let pi = membership::probabilities(x, gamma, k);
    let mut posterior = vec![0.0; of_row.len() * k];
    let mut log_likelihood = 0.0;
    for (i, row) in posterior.chunks_mut(k).enumerate() {
        for c in 0..k {
            row[c] = pi[i * k + c].max(1e-300).ln() + densities[of_row[i] * k + c];
        }
        log_likelihood += normalise_logs(row);
    }
    (posterior, pi, log_likelihood)
}

/// Posterior weights of the rows gathered by pattern (`P × K`).
fn pattern_weights(patterns: &Patterns, of_row: &[usize], posterior: &[f64], k: usize) -> Vec<f64> {
    let mut weights = vec![0.0; patterns.len() * k];
    for (i, row) in posterior.chunks(k).enumerate() {
        for (w, t) in weights[of_row[i] * k..(of_row[i] + 1) * k].iter_mut().zip(row) {
            *w += t;
        }
    }
    weights
}

type OneStep = (Vec<f64>, Parameters, f64);

fn one_step(patterns: &Patterns, of_row: &[usize], x: &Matrix, start: &Parameters, gamma: Vec<f64>) -> Result<OneStep> {
    let k = start.classes();
    let mut parameters = start.clone();
    let mut gamma = gamma;
    let mut previous = f64::NEG_INFINITY;
    let n = of_row.len() as f64;
    for _ in 0..20_000 {
        let (posterior, _, log_likelihood) = row_posterior(patterns, of_row, x, &parameters, &gamma);
        if (log_likelihood - previous).abs() < 1e-12 * n {
            return Ok((gamma, parameters, log_likelihood));
        }
        previous = log_likelihood;
        gamma = membership::fit(x, &posterior, k, &gamma)?;
        let weights = pattern_weights(patterns, of_row, &posterior, k);
        parameters.items = crate::measurement::item_probabilities(patterns, &weights, k);
        let pi = membership::probabilities(x, &gamma, k);
        for c in 0..k {
            parameters.proportions[c] = pi.chunks(k).map(|row| row[c]).sum::<f64>() / n;
        }
    }
    let (_, _, log_likelihood) = row_posterior(patterns, of_row, x, &parameters, &gamma);
    Ok((gamma, parameters, log_likelihood))
}

/// The covariance of γ in the one-step model, from the observed information of γ and the free
/// item parameters together.
fn one_step_covariance(
    patterns: &Patterns,
    of_row: &[usize],
    x: &Matrix,
    parameters: &Parameters,
    gamma: &[f64],
) -> Result<Matrix> {
    let k = parameters.classes();
    let items: Vec<Free> =
        free_parameters(parameters, patterns).into_iter().filter(|f| matches!(f, Free::Item(..))).collect();
    let m = gamma.len();
    let score_at = |gamma: &[f64], parameters: &Parameters| -> Vec<f64> {
        let (posterior, pi, _) = row_posterior(patterns, of_row, x, parameters, gamma);
        let mut g = membership::score(x, &posterior, &pi, k);
        let tallies = Tallies::new(patterns, &pattern_weights(patterns, of_row, &posterior, k), None, k);
        g.extend(items.iter().map(|&f| match f {
            Free::Item(j, c, r) => item_score(parameters, patterns, &tallies, j, c, r),
            Free::Proportion(_) => unreachable!("filtered out"),
        }));
        g
    };
    let v = inverse_information(m + items.len(), |i, step| {
        if i < m {
            let mut moved = gamma.to_vec();
            moved[i] += step;
            score_at(&moved, parameters)
        } else {
            score_at(gamma, &shifted(parameters, patterns, items[i - m], step))
        }
    })?;
    Ok(Matrix::from_fn(m, m, |a, b| v[(a, b)]))
}

/// $D_{cs}$: the share of true class `c`'s posterior weight assigned to class `s`.
fn classification_error(posterior: &[&[f64]], assigned: &[usize], k: usize) -> Vec<Vec<f64>> {
    let mut d = vec![vec![0.0; k]; k];
    for (t, &s) in posterior.iter().zip(assigned) {
        for c in 0..k {
            d[c][s] += t[c];
        }
    }
    for row in &mut d {
        let total: f64 = row.iter().sum();
        for v in row.iter_mut() {
            *v /= total;
        }
    }
    d
}

type StepThree = (Vec<f64>, Matrix, f64);

fn bch(x: &Matrix, assigned: &[usize], d: &[Vec<f64>], k: usize, start: &[f64]) -> Result<StepThree> {
    let matrix = Matrix::from_fn(k, k, |c, s| d[c][s]);
    let inverse = strata_core::numerics::invert(&matrix).ok_or_else(|| {
        Error::Singular("the classification-error matrix is singular: classes are indistinguishable".into())
    })?;
    let weights: Vec<f64> =
        assigned.iter().flat_map(|&s| (0..k).map(move |c| (s, c))).map(|(s, c)| inverse[(s, c)]).collect();
    let gamma = membership::fit(x, &weights, k, start)?;
    let pi = membership::probabilities(x, &gamma, k);
    let bread = Cholesky::new(&membership::information(x, &weights, &pi, k))
        .map_err(|_| Error::Singular("the BCH information is singular".into()))?
        .inverse();
    // Meat: the outer products of each row's score.
    let q = x.ncols();
    let m = (k - 1) * q;
    let mut meat = Matrix::zeros(m, m);
    for i in 0..x.nrows() {
        let w = &weights[i * k..(i + 1) * k];
        let total: f64 = w.iter().sum();
        let g: Vec<f64> = (1..k)
            .flat_map(|c| (0..q).map(move |a| (c, a)))
            .map(|(c, a)| (w[c] - pi[i * k + c] * total) * x[(i, a)])
            .collect();
        for a in 0..m {
            for b in 0..m {
                meat[(a, b)] += g[a] * g[b];
            }
        }
    }
    let covariance = bread.matmul(&meat).matmul(&bread);
    let log_likelihood = weights.iter().zip(&pi).map(|(w, p)| w * p.max(1e-300).ln()).sum();
    Ok((gamma, covariance, log_likelihood))
}

fn three_step_ml(x: &Matrix, assigned: &[usize], d: &[Vec<f64>], k: usize, start: Vec<f64>) -> Result<StepThree> {
    let posterior_at = |gamma: &[f64]| -> (Vec<f64>, Vec<f64>, f64) {
        let pi = membership::probabilities(x, gamma, k);
        let mut posterior = vec![0.0; assigned.len() * k];
        let mut log_likelihood = 0.0;
        for (i, row) in posterior.chunks_mut(k).enumerate() {
            for c in 0..k {
                row[c] = pi[i * k + c].max(1e-300).ln() + d[c][assigned[i]].max(1e-300).ln();
            }
            log_likelihood += normalise_logs(row);
        }
        (posterior, pi, log_likelihood)
    };
    let mut gamma = start;
    let mut previous = f64::NEG_INFINITY;
    let mut log_likelihood = previous;
    for _ in 0..20_000 {
        let (posterior, _, ll) = posterior_at(&gamma);
        log_likelihood = ll;
        if (ll - previous).abs() < 1e-12 * assigned.len() as f64 {
            break;
        }
        previous = ll;
        gamma = membership::fit(x, &posterior, k, &gamma)?;
    }
    let covariance = inverse_information(gamma.len(), |i, step| {
        let mut moved = gamma.clone();
        moved[i] += step;
        let (posterior, pi, _) = posterior_at(&moved);
        membership::score(x, &posterior, &pi, k)
    })?;
    Ok((gamma, covariance, log_likelihood))
}

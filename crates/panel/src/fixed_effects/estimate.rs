//! The estimators on plain arrays: linear and Poisson regression with fixed effects swept out.
//!
//! Linear (`feols`): by the Frisch–Waugh–Lovell theorem $\hat\beta$ of
//! $y = X\beta + D\alpha + \varepsilon$ is the least-squares fit of the demeaned $\tilde y$ on
//! $\tilde X$, and its residuals are the full model's.
//!
//! Poisson (`fepois`): $\log \mathrm{E}\,y = X\beta + D\alpha + o$, maximum likelihood by IRLS
//! whose weighted least-squares step sweeps the fixed effects out of the working response and
//! $X$ with the working weights $\mu$ (Guimarães 2014; Correia, Guimarães & Zylkin 2020).
//! Groups whose outcomes are all zero have $\hat\alpha = -\infty$ and no information on
//! $\beta$: their observations are removed first, repeatedly, as fixest does.
//!
//! Regressors swept to zero by the fixed effects, or collinear with other regressors, are
//! removed and reported, as fixest does.

use super::codes::FixedEffectCodes;
use super::demean::{Crossings, DemeanControl, Projector};
use super::vcov::{self, Vcov};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use strata_core::family::log_factorial;
use strata_core::numerics::{aliased_columns, aliased_in_gram, Cholesky, Matrix};
use strata_core::parallel::{fill, map_in_order, sum_blocks, SUM_BLOCK};

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixedEffectsFamily {
    /// Linear regression (fixest's `feols`).
    Gaussian,
    /// Poisson regression with a log link (fixest's `fepois`).
    Poisson,
}

/// Numerical knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedEffectsControl {
    /// The sweeps of the fixed effects.
    pub demean: DemeanControl,
    /// IRLS convergence: relative change of the deviance.
    pub epsilon: f64,
    /// IRLS iteration limit.
    pub max_iterations: usize,
    /// A regressor whose demeaned sum of squares is below this fraction of its raw one is taken
    /// as absorbed by the fixed effects.
    pub collinearity_tolerance: f64,
}

impl Default for FixedEffectsControl {
    fn default() -> Self {
        Self { demean: DemeanControl::default(), epsilon: 1e-10, max_iterations: 100, collinearity_tolerance: 1e-10 }
    }
}

/// The inputs of one fit, as plain arrays.
#[derive(Debug, Clone, Copy)]
pub struct FixedEffectsData<'a> {
    /// The response.
    pub y: &'a [f64],
    /// The regressors, one column each (no intercept: the fixed effects absorb it).
    pub x: &'a Matrix,
    /// The regressors' names.
    pub names: &'a [String],
    /// The fixed effects.
    pub fixed_effects: &'a FixedEffectCodes,
    /// Prior weights, if any.
    pub weights: Option<&'a [f64]>,
    /// An offset on the linear predictor (Poisson), if any.
    pub offset: Option<&'a [f64]>,
}

/// A fitted fixed-effects regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedEffectsFit {
    /// The model.
    pub family: FixedEffectsFamily,
    /// Names of the estimated coefficients.
    pub names: Vec<String>,
    /// The estimates.
    pub coefficients: Vec<f64>,
    /// Their covariance, of the kind in `vcov_kind`.
    pub covariance: Matrix,
    /// How the covariance was estimated.
    pub vcov_kind: String,
    /// Degrees of freedom of the t statistics (clusters − 1 for clustered errors, else n − K).
    pub df_t: f64,
    /// Observations used.
    pub n_obs: usize,
    /// Levels of each fixed effect among them.
    pub fixed_effect_sizes: Vec<usize>,
    /// Regressors removed as collinear with the fixed effects or each other.
    pub collinear: Vec<String>,
    /// Residual sum of squares (linear) or deviance (Poisson).
    pub deviance: f64,
    /// The log-likelihood (Gaussian with σ̂² = RSS/n, or Poisson).
    pub log_likelihood: f64,
    /// R² of the full model (linear only).
    pub r_squared: Option<f64>,
    /// Within R²: of the demeaned response on the demeaned regressors (linear only).
    pub within_r_squared: Option<f64>,
    /// Residual standard deviation √(RSS/(n − K)) (linear only).
    pub sigma: Option<f64>,
    /// Parameters counted: coefficients plus degrees of freedom of the fixed effects.
    pub n_parameters: usize,
    /// IRLS iterations (1 for linear).
    pub iterations: usize,
    /// Whether IRLS converged.
    pub converged: bool,
    /// Fitted means, in the order of the observations used (saved with the fit, so that a
    /// reloaded fit has them).
    #[serde(default)]
    pub fitted: Vec<f64>,
}

/// What the covariance estimators need from a fit.
pub(crate) struct Scores<'a> {
    /// The demeaned regressors kept.
    pub x: Vec<&'a [f64]>,
    /// Score multipliers: observation `i`'s score is `x̃_i` times its multiplier (the residual
    /// times the weight).
    pub multipliers: &'a [f64],
    /// (X̃ᵀWX̃)⁻¹.
    pub bread: &'a Matrix,
    /// Residual variance for iid errors.
    pub sigma2: f64,
}

/// Fits a fixed-effects regression on arrays.
///
/// # Examples
/// ```
/// use strata_core::numerics::Matrix;
/// use strata_panel::fixed_effects::{fit_fixed_effects, FixedEffectCodes, FixedEffectsControl, FixedEffectsData, FixedEffectsFamily, Vcov};
/// // Three units over three years, y = 2x + unit effect + year effect.
/// let unit = vec![0, 0, 0, 1, 1, 1, 2, 2, 2];
/// let year = vec![0, 1, 2, 0, 1, 2, 0, 1, 2];
/// let x = [1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 2.0, 2.5, 6.0];
/// let y: Vec<f64> = (0..9).map(|i| 2.0 * x[i] + [1.0, 5.0, -2.0][unit[i]] + [0.0, 0.5, 1.0][year[i]]).collect();
/// let fe = FixedEffectCodes::new(vec![unit.iter().map(|&u| u as u32).collect(), year.iter().map(|&t| t as u32).collect()])?;
/// let data = FixedEffectsData {
///     y: &y, x: &Matrix::from_column_major(9, 1, x.to_vec()), names: &["x".to_string()],
///     fixed_effects: &fe, weights: None, offset: None,
/// };
/// let fit = fit_fixed_effects(&data, FixedEffectsFamily::Gaussian, &Vcov::Iid, &FixedEffectsControl::default())?;
/// assert!((fit.coefficients[0] - 2.0).abs() < 1e-10);
/// # Ok::<(), strata_panel::Error>(())
/// ```
///
/// # Errors
/// Arrays of mismatched lengths, non-finite values, a negative Poisson count, every regressor
/// absorbed by the fixed effects, too few observations, or sweeps or IRLS that fail.
pub fn fit_fixed_effects(
    data: &FixedEffectsData<'_>,
    family: FixedEffectsFamily,
    vcov: &Vcov,
    control: &FixedEffectsControl,
) -> Result<FixedEffectsFit> {
    check_lengths(data, data.x)?;
    let regressors = data.names.iter().enumerate().map(|(j, name)| (name.as_str(), data.x.column(j)));
    check_values(data, family, regressors)?;
    match family {
        FixedEffectsFamily::Gaussian => fit_linear(data, with_column(data.x, data.y, Vec::new()), vcov, control),
        FixedEffectsFamily::Poisson => fit_poisson(data, vcov, control),
    }
}

/// A linear fit ([`fit_fixed_effects`]) that takes the regressors' storage for its working copy
/// instead of copying them (`data.x` is not read: give it an empty matrix), so the regressors'
/// pages, already the process's, cost no new ones.
pub(crate) fn fit_linear_taking(
    x: Matrix,
    data: &FixedEffectsData<'_>,
    vcov: &Vcov,
    control: &FixedEffectsControl,
) -> Result<FixedEffectsFit> {
    let n = data.y.len();
    check_lengths(data, &x)?;
    let regressors = data.names.iter().enumerate().map(|(j, name)| (name.as_str(), x.column(j)));
    check_values(data, FixedEffectsFamily::Gaussian, regressors)?;
    let mut storage = x.into_column_major();
    storage.extend_from_slice(data.y);
    fit_linear(data, Matrix::from_column_major(n, data.names.len() + 1, storage), vcov, control)
}

/// Checks the lengths of everything against the response's, with `x` as the regressors.
fn check_lengths(data: &FixedEffectsData<'_>, x: &Matrix) -> Result<()> {
    let n = data.y.len();
    let lengths = [
        ("regressors", x.nrows()),
        ("fixed effects", if data.fixed_effects.is_empty() { n } else { data.fixed_effects.nobs() }),
        ("weights", data.weights.map_or(n, <[f64]>::len)),
        ("offset", data.offset.map_or(n, <[f64]>::len)),
    ];
    for (what, found) in lengths {
        if found != n {
            return Err(Error::Length { what: what.into(), expected: n, found });
        }
    }
    if data.names.len() != x.ncols() {
        return Err(Error::Length { what: "regressor names".into(), expected: x.ncols(), found: data.names.len() });
    }
    Ok(())
}

/// Checks that every value is finite, weights are not negative and a Poisson response is not
/// negative; `regressors` are the regressors' names and values.
fn check_values<'v>(
    data: &FixedEffectsData<'v>,
    family: FixedEffectsFamily,
    regressors: impl Iterator<Item = (&'v str, &'v [f64])>,
) -> Result<()> {
    let columns = std::iter::once(("response", data.y))
        .chain(data.weights.map(|w| ("weights", w)))
        .chain(data.offset.map(|o| ("offset", o)))
        .chain(regressors);
    for (name, values) in columns {
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { name: name.into(), row: row + 1, value: values[row] });
        }
    }
    if let Some(w) = data.weights {
        if let Some(row) = w.iter().position(|&w| w < 0.0) {
            return Err(Error::Specification(format!("weight {} at observation {} is negative", w[row], row + 1)));
        }
    }
    if family == FixedEffectsFamily::Poisson {
        if let Some(row) = data.y.iter().position(|&y| y < 0.0) {
            return Err(Error::Specification(format!(
                "a Poisson response cannot be negative: {} at observation {}",
                data.y[row],
                row + 1
            )));
        }
    }
    Ok(())
}

/// The weighted least-squares fit of the demeaned response on the demeaned regressors left once
/// those absorbed by the fixed effects or collinear are removed.
struct SweptFit {
    /// Indices of the regressors kept.
    kept: Vec<usize>,
    /// Names of those removed.
    removed: Vec<String>,
    /// The estimates.
    beta: Vec<f64>,
    /// (X̃ᵀWX̃)⁻¹.
    bread: Matrix,
    /// The residuals ỹ − X̃β (unweighted).
    residuals: Vec<f64>,
    /// The weighted sum of squares of ỹ.
    within_tss: f64,
}

/// Weighted sums of squares of each column of `x`, on `threads` threads.
fn weighted_squares(x: &Matrix, weights: Option<&[f64]>, threads: usize) -> Vec<f64> {
    (0..x.ncols())
        .map(|j| {
            let column = x.column(j);
            sum_blocks(column.len(), threads, |i| weights.map_or(1.0, |w| w[i]) * column[i] * column[i])
        })
        .collect()
}

/// `XᵀWX` (`XᵀX` without weights), blocks of [`SUM_BLOCK`] rows on `threads` threads added in
/// order: the same on any number of threads.
fn weighted_gram(x: &Matrix, weights: Option<&[f64]>, threads: usize) -> Matrix {
    let n = x.nrows();
    let ones = vec![1.0; SUM_BLOCK.min(n)];
    let blocks = map_in_order(n.div_ceil(SUM_BLOCK), threads, |b| {
        let rows = b * SUM_BLOCK..((b + 1) * SUM_BLOCK).min(n);
        let w = weights.map_or(&ones[..rows.len()], |w| &w[rows.clone()]);
        let count = rows.len();
        x.rows_crossprod(rows, w, &Matrix::zeros(count, 0)).0
    });
    let mut gram = Matrix::zeros(x.ncols(), x.ncols());
    for block in blocks {
        for (g, b) in gram.as_mut_slice().iter_mut().zip(block.as_slice()) {
            *g += b;
        }
    }
    gram
}

/// Removes the regressors absorbed by the fixed effects (their weighted sum of squares falls
/// below `tolerance` of the raw one, `raw_squares`) or collinear, and solves the weighted least
/// squares of the last column of `swept` (the demeaned response) on the others (the demeaned
/// regressors), from their weighted Gram matrix, the residuals in `residuals`' storage. The
/// weights must be positive.
fn swept_least_squares(
    residuals: Vec<f64>,
    raw_squares: &[f64],
    swept: &Matrix,
    names: &[String],
    weights: Option<&[f64]>,
    tolerance: f64,
    threads: usize,
) -> Result<SweptFit> {
    let p = names.len();
    let gram = weighted_gram(swept, weights, threads);
    let candidates: Vec<usize> =
        (0..p).filter(|&j| gram[(j, j)] > tolerance * raw_squares[j].max(f64::MIN_POSITIVE)).collect();
    let candidate_gram =
        Matrix::from_fn(candidates.len(), candidates.len(), |a, b| gram[(candidates[a], candidates[b])]);
    let aliased = aliased_in_gram(&candidate_gram, 1e-7).unwrap_or_else(|| {
        let root = |i: usize| weights.map_or(1.0, |w| w[i].sqrt());
        let scaled = Matrix::from_fn(swept.nrows(), candidates.len(), |i, k| swept[(i, candidates[k])] * root(i));
        aliased_columns(&scaled, 1e-7)
    });
    let kept: Vec<usize> = candidates.iter().zip(&aliased).filter(|(_, a)| !**a).map(|(j, _)| *j).collect();
    let removed: Vec<String> = (0..p).filter(|j| !kept.contains(j)).map(|j| names[j].clone()).collect();
    if kept.is_empty() {
        return Err(Error::AllCollinear(removed.join(", ")));
    }
    let kept_gram = Matrix::from_fn(kept.len(), kept.len(), |a, b| gram[(kept[a], kept[b])]);
    let rhs: Vec<f64> = kept.iter().map(|&j| gram[(j, p)]).collect();
    let cholesky = Cholesky::new(&kept_gram).map_err(|_| {
        Error::Specification("the regressors are collinear once the fixed effects are swept out".into())
    })?;
    let beta = cholesky.solve(&rhs);
    let mut residuals = residuals;
    residuals.resize(swept.nrows(), 0.0);
    let (response, columns) = (swept.column(p), kept.iter().map(|&j| swept.column(j)).collect::<Vec<_>>());
    fill(&mut residuals, threads, |i| columns.iter().zip(&beta).fold(response[i], |e, (x, b)| e - b * x[i]));
    Ok(SweptFit { kept, removed, beta, bread: cholesky.inverse(), residuals, within_tss: gram[(p, p)] })
}

/// The regressors `x` and one more column `last`, side by side, in `storage` (reused).
fn with_column(x: &Matrix, last: &[f64], storage: Vec<f64>) -> Matrix {
    let mut data = storage;
    data.clear();
    data.extend_from_slice(x.as_slice());
    data.extend_from_slice(last);
    Matrix::from_column_major(last.len(), x.ncols() + 1, data)
}

/// Each column of `matrix` as a mutable slice.
fn columns_mut(matrix: &mut Matrix) -> Vec<&mut [f64]> {
    let n = matrix.nrows();
    if n == 0 {
        return Vec::new();
    }
    matrix.as_mut_slice().chunks_exact_mut(n).collect()
}

/// Checks that weights are positive (zero weights are removed by the front end).
fn check_positive_weights(weights: Option<&[f64]>) -> Result<()> {
    if let Some(row) = weights.and_then(|w| w.iter().position(|&w| !(w > 0.0))) {
        return Err(Error::Specification(format!(
            "weight at observation {} is not positive: remove observations with zero weight first",
            row + 1
        )));
    }
    Ok(())
}

/// The linear fit of `data` (whose `x` is not read) from `swept_columns`, the regressors and
/// the response side by side, which it demeans in place.
fn fit_linear(
    data: &FixedEffectsData<'_>,
    mut swept_columns: Matrix,
    vcov: &Vcov,
    control: &FixedEffectsControl,
) -> Result<FixedEffectsFit> {
    check_positive_weights(data.weights)?;
    let n = data.y.len();
    let threads = control.demean.thread_count();
    let raw_squares = weighted_squares(&swept_columns, data.weights, threads);
    let crossings = Crossings::new(data.fixed_effects, threads, data.weights.is_some());
    let projector = Projector::new(data.fixed_effects, &crossings, data.weights, threads);
    let mut starts: Vec<Vec<Vec<f64>>> = (0..swept_columns.ncols()).map(|_| projector.zeros()).collect();
    projector.sweep(&mut columns_mut(&mut swept_columns), &mut starts, &control.demean)?;
    drop(starts);
    let fe_df = data.fixed_effects.degrees_of_freedom(&[]);
    let swept = swept_least_squares(
        Vec::new(),
        &raw_squares,
        &swept_columns,
        data.names,
        data.weights,
        control.collinearity_tolerance,
        threads,
    )?;
    let k = swept.kept.len() + fe_df;
    if n <= k {
        return Err(Error::TooFewObservations {
            what: format!("a model with {k} parameters (fixed effects included)"),
            needed: k + 1,
            found: n,
            group: None,
        });
    }
    let weight = |i: usize| data.weights.map_or(1.0, |w| w[i]);
    let rss: f64 = swept.residuals.iter().enumerate().map(|(i, e)| weight(i) * e * e).sum();
    let total_weight: f64 = (0..n).map(weight).sum();
    let mean = (0..n).map(|i| weight(i) * data.y[i]).sum::<f64>() / total_weight;
    let tss: f64 = (0..n).map(|i| weight(i) * (data.y[i] - mean).powi(2)).sum();
    let sigma2 = rss / (n - k) as f64;
    // The residuals' storage holds the score multipliers w e, then the fitted values y − e.
    let mut values = swept.residuals;
    if let Some(w) = data.weights {
        values.iter_mut().zip(w).for_each(|(e, w)| *e *= w);
    }
    let scores = Scores {
        x: swept.kept.iter().map(|&j| swept_columns.column(j)).collect(),
        multipliers: &values,
        bread: &swept.bread,
        sigma2,
    };
    let (covariance, kind, df_t) = vcov::estimate(&scores, vcov, data.fixed_effects)?;
    for (i, (v, y)) in values.iter_mut().zip(data.y).enumerate() {
        *v = y - *v / weight(i);
    }
    let nf = n as f64;
    let log_likelihood = -0.5 * nf * ((2.0 * std::f64::consts::PI * rss / nf).ln() + 1.0);
    Ok(FixedEffectsFit {
        family: FixedEffectsFamily::Gaussian,
        names: swept.kept.iter().map(|&j| data.names[j].clone()).collect(),
        coefficients: swept.beta,
        covariance,
        vcov_kind: kind,
        df_t,
        n_obs: n,
        fixed_effect_sizes: data.fixed_effects.levels().to_vec(),
        collinear: swept.removed,
        deviance: rss,
        log_likelihood,
        r_squared: Some(1.0 - rss / tss),
        within_r_squared: Some(1.0 - rss / swept.within_tss),
        sigma: Some(sigma2.sqrt()),
        n_parameters: k,
        iterations: 1,
        converged: true,
        fitted: values,
    })
}

/// The Poisson deviance `2 Σ w (y log(y/μ) − (y − μ))`, summed on `threads` threads.
fn poisson_deviance(y: &[f64], mu: &[f64], weights: Option<&[f64]>, threads: usize) -> f64 {
    2.0 * sum_blocks(y.len(), threads, |i| {
        let (y, m) = (y[i], mu[i]);
        let term = if y > 0.0 { y * (y / m).ln() } else { 0.0 } - (y - m);
        weights.map_or(1.0, |w| w[i]) * term
    })
}

fn fit_poisson(data: &FixedEffectsData<'_>, vcov: &Vcov, control: &FixedEffectsControl) -> Result<FixedEffectsFit> {
    check_positive_weights(data.weights)?;
    let n = data.y.len();
    let prior = |i: usize| data.weights.map_or(1.0, |w| w[i]);
    let offset = |i: usize| data.offset.map_or(0.0, |o| o[i]);
    let threads = control.demean.thread_count();
    let total: f64 = (0..n).map(prior).sum();
    let mean = (0..n).map(|i| prior(i) * data.y[i]).sum::<f64>() / total;
    let mut mu = vec![0.0; n];
    fill(&mut mu, threads, |i| f64::midpoint(data.y[i], mean));
    let mut eta = vec![0.0; n];
    fill(&mut eta, threads, |i| mu[i].ln());
    let mut deviance = poisson_deviance(data.y, &mu, data.weights, threads);
    let mut converged = false;
    let mut iterations = 0;
    let crossings = Crossings::new(data.fixed_effects, threads, true);
    // Each column's fixed-effect coefficients, carried from one IRLS step to the next: the
    // sweeps start where the last step's ended.
    let mut starts: Vec<Vec<Vec<f64>>> = Vec::new();
    let mut swept_columns = Matrix::zeros(0, 0);
    let mut working = vec![0.0; n];
    let mut z = vec![0.0; n];
    let mut last = None;
    for iteration in 1..=control.max_iterations {
        iterations = iteration;
        fill(&mut working, threads, |i| prior(i) * mu[i]);
        fill(&mut z, threads, |i| eta[i] - offset(i) + (data.y[i] - mu[i]) / mu[i]);
        swept_columns = with_column(data.x, &z, swept_columns.into_column_major());
        let projector = Projector::new(data.fixed_effects, &crossings, Some(&working), threads);
        if starts.is_empty() {
            starts = (0..swept_columns.ncols()).map(|_| projector.zeros()).collect();
        }
        projector.sweep(&mut columns_mut(&mut swept_columns), &mut starts, &control.demean)?;
        let raw_squares = weighted_squares(data.x, Some(&working), threads);
        let recycled = last.take().map_or_else(Vec::new, |fit: SweptFit| fit.residuals);
        let swept = swept_least_squares(
            recycled,
            &raw_squares,
            &swept_columns,
            data.names,
            Some(&working),
            control.collinearity_tolerance,
            threads,
        )?;
        // The full model's linear predictor, the working response less the WLS residual, takes
        // the working response's storage; the means are replaced in place (the step-halving
        // needs only the old linear predictor).
        let residuals = &swept.residuals;
        z.iter_mut().enumerate().for_each(|(i, z)| *z += offset(i) - residuals[i]);
        let mut new_eta = std::mem::take(&mut z);
        fill(&mut mu, threads, |i| new_eta[i].exp());
        let mut new_deviance = poisson_deviance(data.y, &mu, data.weights, threads);
        // Step-halving when the deviance is not finite or rises; the starting means are no
        // model's fit, so the first step is judged on finiteness alone.
        let mut halvings = 0;
        let rises = |new: f64| iteration > 1 && new > deviance * (1.0 + 1e-12) + 1e-12;
        while (!new_deviance.is_finite() || rises(new_deviance)) && halvings < 30 {
            for i in 0..n {
                new_eta[i] = 0.5 * (new_eta[i] + eta[i]);
                mu[i] = new_eta[i].exp();
            }
            new_deviance = poisson_deviance(data.y, &mu, data.weights, threads);
            halvings += 1;
        }
        if !new_deviance.is_finite() {
            return Err(Error::Specification("the Poisson fit diverged (the deviance is not finite)".into()));
        }
        let change = (deviance - new_deviance).abs() / (0.1 + new_deviance.abs());
        // The old linear predictor's storage holds the next working response.
        z = std::mem::replace(&mut eta, new_eta);
        deviance = new_deviance;
        last = Some(swept);
        if change < control.epsilon {
            converged = true;
            break;
        }
    }
    let swept = last.expect("at least one iteration");
    // Scores at the fit: x̃_i w_i (y_i − μ_i)/μ_i with the working weights w = prior × μ.
    let multipliers: Vec<f64> = (0..n).map(|i| prior(i) * (data.y[i] - mu[i])).collect();
    let fe_df = data.fixed_effects.degrees_of_freedom(&[]);
    let scores = Scores {
        x: swept.kept.iter().map(|&j| swept_columns.column(j)).collect(),
        multipliers: &multipliers,
        bread: &swept.bread,
        sigma2: 1.0,
    };
    let (covariance, kind, df_t) = vcov::estimate(&scores, vcov, data.fixed_effects)?;
    // log μ is the linear predictor the means were taken from.
    let log_likelihood = sum_blocks(n, threads, |i| prior(i) * (data.y[i] * eta[i] - mu[i] - log_factorial(data.y[i])));
    Ok(FixedEffectsFit {
        family: FixedEffectsFamily::Poisson,
        names: swept.kept.iter().map(|&j| data.names[j].clone()).collect(),
        coefficients: swept.beta,
        covariance,
        vcov_kind: kind,
        df_t,
        n_obs: n,
        fixed_effect_sizes: data.fixed_effects.levels().to_vec(),
        collinear: swept.removed,
        deviance,
        log_likelihood,
        r_squared: None,
        within_r_squared: None,
        sigma: None,
        n_parameters: swept.kept.len() + fe_df,
        iterations,
        converged,
        fitted: mu,
    })
}

/// Observations left once groups of any fixed effect whose responses are all zero are removed,
/// repeatedly until none remain (they have no information for a Poisson model; `None` when
/// there is none), and the number of groups removed from each fixed effect.
pub fn drop_all_zero_groups(y: &[f64], fe: &FixedEffectCodes) -> (Option<Vec<usize>>, Vec<usize>) {
    fe.prune(Some(y), |tally| tally.positive == 0)
}

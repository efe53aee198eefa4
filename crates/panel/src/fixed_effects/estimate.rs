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

use super::demean::{demean, DemeanControl, FixedEffectCodes};
use super::vcov::{self, Vcov};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use strata_core::numerics::{aliased_columns, Cholesky, Matrix};

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
    /// Fitted means, in the order of the observations used.
    #[serde(skip)]
    pub fitted: Vec<f64>,
}

/// What the covariance estimators need from a fit.
pub(crate) struct Scores<'a> {
    /// The demeaned regressors, times √w.
    pub x: &'a Matrix,
    /// Score multipliers: the residual (times the working weight) of each observation.
    pub residuals: &'a [f64],
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
    check(data, family)?;
    match family {
        FixedEffectsFamily::Gaussian => fit_linear(data, vcov, control),
        FixedEffectsFamily::Poisson => fit_poisson(data, vcov, control),
    }
}

fn check(data: &FixedEffectsData<'_>, family: FixedEffectsFamily) -> Result<()> {
    let n = data.y.len();
    let lengths = [
        ("regressors", data.x.nrows()),
        ("fixed effects", if data.fixed_effects.is_empty() { n } else { data.fixed_effects.nobs() }),
        ("weights", data.weights.map_or(n, <[f64]>::len)),
        ("offset", data.offset.map_or(n, <[f64]>::len)),
    ];
    for (what, found) in lengths {
        if found != n {
            return Err(Error::Length { what: what.into(), expected: n, found });
        }
    }
    if data.names.len() != data.x.ncols() {
        return Err(Error::Length {
            what: "regressor names".into(),
            expected: data.x.ncols(),
            found: data.names.len(),
        });
    }
    let columns = std::iter::once(("response", data.y))
        .chain(data.weights.map(|w| ("weights", w)))
        .chain(data.offset.map(|o| ("offset", o)))
        .chain(data.names.iter().enumerate().map(|(j, name)| (name.as_str(), data.x.column(j))));
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
    /// √w x̃ for the regressors kept.
    x: Matrix,
    /// The estimates.
    beta: Vec<f64>,
    /// (X̃ᵀWX̃)⁻¹.
    bread: Matrix,
    /// The residuals ỹ − X̃β (unweighted).
    residuals: Vec<f64>,
}

/// Removes the regressors absorbed by the fixed effects (their weighted sum of squares falls
/// below `tolerance` of the raw one) or collinear, and solves the weighted least squares of
/// `y` on the rest. The weights must be positive.
fn swept_least_squares(
    raw: &Matrix,
    demeaned: &[Vec<f64>],
    y: &[f64],
    names: &[String],
    weights: Option<&[f64]>,
    tolerance: f64,
) -> Result<SweptFit> {
    let n = y.len();
    let root = |i: usize| weights.map_or(1.0, |w| w[i].sqrt());
    let weighted_ss = |v: &[f64]| -> f64 { v.iter().enumerate().map(|(i, x)| (root(i) * x).powi(2)).sum() };
    let candidates: Vec<usize> = (0..names.len())
        .filter(|&j| weighted_ss(&demeaned[j]) > tolerance * weighted_ss(raw.column(j)).max(f64::MIN_POSITIVE))
        .collect();
    let scaled = Matrix::from_fn(n, candidates.len(), |i, k| demeaned[candidates[k]][i] * root(i));
    let aliased = aliased_columns(&scaled, 1e-7);
    let kept: Vec<usize> = candidates.iter().zip(&aliased).filter(|(_, a)| !**a).map(|(j, _)| *j).collect();
    let removed: Vec<String> = (0..names.len()).filter(|j| !kept.contains(j)).map(|j| names[j].clone()).collect();
    if kept.is_empty() {
        return Err(Error::AllCollinear(removed.join(", ")));
    }
    let x = if kept.len() == candidates.len() {
        scaled
    } else {
        let columns: Vec<usize> = (0..candidates.len()).filter(|&k| !aliased[k]).collect();
        Matrix::from_fn(n, columns.len(), |i, k| scaled[(i, columns[k])])
    };
    let y_scaled: Vec<f64> = (0..n).map(|i| y[i] * root(i)).collect();
    let (gram, rhs) = x.weighted_crossprod_with(None, &y_scaled);
    let cholesky = Cholesky::new(&gram).map_err(|_| {
        Error::Specification("the regressors are collinear once the fixed effects are swept out".into())
    })?;
    let beta = cholesky.solve(&rhs);
    let fitted = x.times(&beta);
    let residuals = (0..n).map(|i| (y_scaled[i] - fitted[i]) / root(i)).collect();
    Ok(SweptFit { kept, removed, x, beta, bread: cholesky.inverse(), residuals })
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

fn fit_linear(data: &FixedEffectsData<'_>, vcov: &Vcov, control: &FixedEffectsControl) -> Result<FixedEffectsFit> {
    check_positive_weights(data.weights)?;
    let n = data.y.len();
    let p = data.x.ncols();
    let mut columns: Vec<Vec<f64>> = (0..p).map(|j| data.x.column(j).to_vec()).collect();
    columns.push(data.y.to_vec());
    demean(&mut columns, data.fixed_effects, data.weights, &control.demean)?;
    let y_tilde = columns.pop().expect("the response");
    let fe_df = data.fixed_effects.degrees_of_freedom(&[]);
    let swept =
        swept_least_squares(data.x, &columns, &y_tilde, data.names, data.weights, control.collinearity_tolerance)?;
    drop(columns);
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
    let within_tss: f64 = y_tilde.iter().enumerate().map(|(i, v)| weight(i) * v * v).sum();
    let sigma2 = rss / (n - k) as f64;
    let scaled_residuals: Vec<f64> = swept.residuals.iter().enumerate().map(|(i, e)| e * weight(i).sqrt()).collect();
    let scores = Scores { x: &swept.x, residuals: &scaled_residuals, bread: &swept.bread, sigma2 };
    let (covariance, kind, df_t) = vcov::estimate(&scores, vcov, data.fixed_effects, swept.kept.len())?;
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
        within_r_squared: Some(1.0 - rss / within_tss),
        sigma: Some(sigma2.sqrt()),
        n_parameters: k,
        iterations: 1,
        converged: true,
        fitted: data.y.iter().zip(&swept.residuals).map(|(y, e)| y - e).collect(),
    })
}

/// The Poisson deviance `2 Σ w (y log(y/μ) − (y − μ))`.
fn poisson_deviance(y: &[f64], mu: &[f64], weights: Option<&[f64]>) -> f64 {
    2.0 * y
        .iter()
        .zip(mu)
        .enumerate()
        .map(|(i, (&y, &m))| {
            let term = if y > 0.0 { y * (y / m).ln() } else { 0.0 } - (y - m);
            weights.map_or(1.0, |w| w[i]) * term
        })
        .sum::<f64>()
}

fn fit_poisson(data: &FixedEffectsData<'_>, vcov: &Vcov, control: &FixedEffectsControl) -> Result<FixedEffectsFit> {
    check_positive_weights(data.weights)?;
    let n = data.y.len();
    let p = data.x.ncols();
    let prior = |i: usize| data.weights.map_or(1.0, |w| w[i]);
    let offset = |i: usize| data.offset.map_or(0.0, |o| o[i]);
    let total: f64 = (0..n).map(prior).sum();
    let mean = (0..n).map(|i| prior(i) * data.y[i]).sum::<f64>() / total;
    let mut mu: Vec<f64> = data.y.iter().map(|y| (y + mean) / 2.0).collect();
    let mut eta: Vec<f64> = mu.iter().map(|m| m.ln()).collect();
    let mut deviance = poisson_deviance(data.y, &mu, data.weights);
    let mut converged = false;
    let mut iterations = 0;
    let mut last = None;
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); p + 1];
    for iteration in 1..=control.max_iterations {
        iterations = iteration;
        let working: Vec<f64> = (0..n).map(|i| prior(i) * mu[i]).collect();
        let z: Vec<f64> = (0..n).map(|i| eta[i] - offset(i) + (data.y[i] - mu[i]) / mu[i]).collect();
        for (j, column) in columns.iter_mut().enumerate().take(p) {
            column.clear();
            column.extend_from_slice(data.x.column(j));
        }
        columns[p].clone_from(&z);
        demean(&mut columns, data.fixed_effects, Some(&working), &control.demean)?;
        let swept = swept_least_squares(
            data.x,
            &columns[..p],
            &columns[p],
            data.names,
            Some(&working),
            control.collinearity_tolerance,
        )?;
        // The full model's linear predictor: the working response less the WLS residual.
        let mut new_eta: Vec<f64> = (0..n).map(|i| z[i] - swept.residuals[i] + offset(i)).collect();
        let mut new_mu: Vec<f64> = new_eta.iter().map(|e| e.exp()).collect();
        let mut new_deviance = poisson_deviance(data.y, &new_mu, data.weights);
        // Step-halving when the deviance is not finite or rises; the starting means are no
        // model's fit, so the first step is judged on finiteness alone.
        let mut halvings = 0;
        let rises = |new: f64| iteration > 1 && new > deviance * (1.0 + 1e-12) + 1e-12;
        while (!new_deviance.is_finite() || rises(new_deviance)) && halvings < 30 {
            for i in 0..n {
                new_eta[i] = 0.5 * (new_eta[i] + eta[i]);
                new_mu[i] = new_eta[i].exp();
            }
            new_deviance = poisson_deviance(data.y, &new_mu, data.weights);
            halvings += 1;
        }
        if !new_deviance.is_finite() {
            return Err(Error::Specification("the Poisson fit diverged (the deviance is not finite)".into()));
        }
        let change = (deviance - new_deviance).abs() / (0.1 + new_deviance.abs());
        eta = new_eta;
        mu = new_mu;
        deviance = new_deviance;
        last = Some((swept, working));
        if change < control.epsilon {
            converged = true;
            break;
        }
    }
    let (swept, working) = last.expect("at least one iteration");
    // Scores at the fit: x̃_i w_i (y_i − μ_i)/μ_i = √w_i x̃_i · √w_i (y_i − μ_i)/μ_i with the
    // working weights w = prior × μ, so with √w x̃ stored the multiplier is prior (y − μ)/√w.
    let score_residuals: Vec<f64> = (0..n).map(|i| prior(i) * (data.y[i] - mu[i]) / working[i].sqrt()).collect();
    let fe_df = data.fixed_effects.degrees_of_freedom(&[]);
    let scores = Scores { x: &swept.x, residuals: &score_residuals, bread: &swept.bread, sigma2: 1.0 };
    let (covariance, kind, df_t) = vcov::estimate(&scores, vcov, data.fixed_effects, swept.kept.len())?;
    let log_likelihood: f64 = (0..n)
        .map(|i| prior(i) * (data.y[i] * mu[i].ln() - mu[i] - statrs::function::gamma::ln_gamma(data.y[i] + 1.0)))
        .sum();
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
/// repeatedly until none remain (they have no information for a Poisson model), and the
/// number of groups removed from each fixed effect.
pub fn drop_all_zero_groups(y: &[f64], fe: &FixedEffectCodes) -> (Vec<usize>, Vec<usize>) {
    fe.prune(Some(y), |tally| tally.positive == 0)
}

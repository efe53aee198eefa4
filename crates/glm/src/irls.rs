//! The data a GLM is fitted to, and the IRLS loop itself.

use super::arrays::CheckedArrays;
use super::fit::GlmFit;
use super::response::ResponseData;
use super::{Glm, GlmArrays, GlmControl, GlmEngine};
use crate::error::{Error, Result};
use std::sync::Arc;
use strata_core::design::{check_estimable, ModelMatrix};
use strata_core::family::{Family, Link};
use strata_core::numerics::{Cholesky, Matrix};
use strata_core::parallel::{fill, sum_blocks, threads};
use strata_core::DataFrame;

/// A GLM's response, weights, offset and model matrix on the complete rows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct GlmData {
    pub x: ModelMatrix,
    pub aliased: Vec<String>,
    pub y: Vec<f64>,
    /// Prior weights times binomial trials.
    pub weights: Vec<f64>,
    /// Binomial trials (ones otherwise).
    pub trials: Vec<f64>,
    pub offset: Vec<f64>,
    pub intercept: bool,
    pub rows: Vec<usize>,
    /// The formula as written (`glm.fit(x, y)` for arrays).
    pub formula: String,
    /// The expanded formula and the factor levels of the fitted data, for predictions from a
    /// data frame (`None` for arrays).
    pub terms: Option<strata_core::formula::Terms>,
    pub levels: Vec<(String, Vec<String>)>,
}

/// The model matrix without its aliased columns, and the names of those.
fn drop_aliased(full: ModelMatrix, tolerance: f64) -> (ModelMatrix, Vec<String>) {
    let flags = full.aliased(tolerance);
    let aliased = full.names.iter().zip(&flags).filter(|(_, a)| **a).map(|(n, _)| n.clone()).collect();
    let x = if flags.iter().any(|a| *a) { full.without(&flags) } else { full };
    (x, aliased)
}

impl GlmData {
    pub fn new(glm: &Glm, frame: &DataFrame) -> Result<Self> {
        Self::from_response(glm, Self::response(glm, frame)?)
    }

    /// The response, weights and model frame of `glm` on `frame`.
    pub fn response(glm: &Glm, frame: &DataFrame) -> Result<ResponseData> {
        ResponseData::new(&glm.formula, glm.engine.family, glm.weights.as_deref(), frame)
    }

    /// The model matrix built on `data`'s model frame, which is then released.
    pub fn from_response(glm: &Glm, data: ResponseData) -> Result<Self> {
        let engine = &glm.engine;
        let full = ModelMatrix::new(&data.terms, &data.model_frame)?;
        let (x, aliased) = drop_aliased(full, engine.control.alias_tolerance);
        let used = data.weights.iter().filter(|w| **w > 0.0).count();
        check_estimable(used, x.names.len()).map_err(Error::from)?;
        Ok(Self {
            x,
            aliased,
            y: data.y,
            weights: data.weights,
            trials: data.trials,
            offset: data.offset,
            intercept: data.terms.intercept,
            rows: data.model_frame.rows().to_vec(),
            formula: glm.formula.text().to_string(),
            levels: data.model_frame.factor_levels(),
            terms: Some(data.terms),
        })
    }

    /// The arrays checked as the formula path checks the columns it reads.
    pub fn from_arrays(arrays: &GlmArrays<'_>, engine: &GlmEngine) -> Result<Self> {
        let CheckedArrays { names, weights, trials, offset } = arrays.check(engine.family)?;
        let (n, p) = (arrays.x.nrows(), arrays.x.ncols());
        let intercept = (0..p).any(|j| arrays.x.column(j).iter().all(|&v| v == 1.0));
        let full = ModelMatrix { matrix: arrays.x.clone(), names, assign: (0..p).map(Some).collect() };
        let (x, aliased) = drop_aliased(full, engine.control.alias_tolerance);
        let used = weights.iter().filter(|w| **w > 0.0).count();
        check_estimable(used, x.names.len()).map_err(Error::from)?;
        Ok(Self {
            x,
            aliased,
            y: arrays.y.to_vec(),
            weights,
            trials,
            offset,
            intercept,
            rows: (0..n).collect(),
            formula: "glm.fit(x, y)".into(),
            terms: None,
            levels: Vec::new(),
        })
    }
}

/// The converged state of one IRLS run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Irls {
    pub beta: Vec<f64>,
    pub eta: Vec<f64>,
    pub mu: Vec<f64>,
    pub deviance: f64,
    /// `(XᵀWX)⁻¹` at convergence.
    pub unscaled_covariance: Matrix,
    pub iterations: usize,
    pub converged: bool,
    pub step_halvings: usize,
    /// Whether a step left the family's valid means and was halved back inside (R's
    /// `boundary`): the estimate may lie on the edge of the parameter space.
    pub boundary: bool,
}

/// $\sum_i w_i d(y_i, \mu_i)$, summed in fixed blocks on every thread (the same on any number).
pub(crate) fn deviance(family: Family, y: &[f64], mu: &[f64], weights: &[f64]) -> f64 {
    sum_blocks(
        y.len(),
        threads(),
        |i| if weights[i] > 0.0 { weights[i] * family.unit_deviance(y[i], mu[i]) } else { 0.0 },
    )
}

fn valid_mean(family: Family, mu: f64) -> bool {
    match family {
        Family::Binomial => mu > 0.0 && mu < 1.0,
        Family::Poisson | Family::QuasiPoisson | Family::NegativeBinomial { .. } | Family::Gamma => {
            mu > 0.0 && mu.is_finite()
        }
        Family::Gaussian => mu.is_finite(),
    }
}

/// The IRLS weight $w\,(d\mu/d\eta)^2 / V(\mu)$ of one observation (0 for a zero prior weight).
fn working_weight(family: Family, link: Link, weight: f64, eta: f64, mu: f64) -> f64 {
    if weight > 0.0 {
        let d = link.mu_eta_given(eta, mu);
        weight * d * d / family.variance(mu)
    } else {
        0.0
    }
}

/// Runs IRLS from `start_eta` (or the family's starting means). The loops over the rows run on
/// every thread, each row computed alone and sums taken in fixed blocks, so the fit is the same
/// on any number of threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn irls(
    x: &Matrix,
    y: &[f64],
    weights: &[f64],
    offset: &[f64],
    family: Family,
    link: Link,
    start_eta: Option<&[f64]>,
    control: &GlmControl,
) -> Result<Irls> {
    let n = y.len();
    let p = x.ncols();
    let mut eta: Vec<f64> = match start_eta {
        Some(eta) => eta.to_vec(),
        None => y.iter().zip(weights).map(|(&y, &w)| link.link(family.start(y, w))).collect(),
    };
    let mut mu = vec![0.0; n];
    fill(&mut mu, threads(), |i| link.inverse(eta[i]));
    let mut deviance_old = deviance(family, y, &mu, weights);
    let mut beta_old: Option<Vec<f64>> = None;
    let mut step_halvings = 0;
    let mut boundary = false;
    let mut converged = false;
    let mut iterations = 0;
    let mut factor = None;
    let mut working_weights = vec![0.0; n];
    let mut beta = vec![0.0; p];
    let mut z = vec![0.0; n];
    while iterations < control.max_iterations {
        iterations += 1;
        fill(&mut z, threads(), |i| eta[i] - offset[i] + (y[i] - mu[i]) / link.mu_eta_given(eta[i], mu[i]));
        fill(&mut working_weights, threads(), |i| working_weight(family, link, weights[i], eta[i], mu[i]));
        if working_weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::Fit("working weights became non-finite".into()));
        }
        let (xtwx, xtwz) = x.weighted_crossprod_with(Some(&working_weights), &z);
        let chol = Cholesky::new(&xtwx).map_err(|_| {
            Error::Core(strata_core::Error::Singular(
                "XᵀWX is not positive definite: the fitted weights vanish (separation or all-zero counts?)".into(),
            ))
        })?;
        beta = chol.solve(&xtwz);
        factor = Some(chol);
        let mut halvings = 0;
        loop {
            eta.copy_from_slice(offset);
            x.times_add(&beta, &mut eta);
            fill(&mut mu, threads(), |i| link.inverse(eta[i]));
            let dev = deviance(family, y, &mu, weights);
            let valid = dev.is_finite() && mu.iter().all(|&m| valid_mean(family, m));
            // Halve towards the previous estimate if the step is invalid or the deviance rose.
            let diverged = !valid || (beta_old.is_some() && dev > deviance_old * (1.0 + 1e-7) + 1e-9);
            if !diverged {
                let change = (dev - deviance_old).abs() / (dev.abs() + 0.1);
                deviance_old = dev;
                if change < control.epsilon {
                    converged = true;
                }
                break;
            }
            let Some(previous) = &beta_old else {
                return Err(Error::Fit("the starting values give an invalid fit".into()));
            };
            halvings += 1;
            step_halvings += 1;
            boundary |= !valid;
            if halvings > 30 {
                return Err(Error::Fit("step-halving could not reduce the deviance".into()));
            }
            beta = beta.iter().zip(previous).map(|(b, o)| (b + o) / 2.0).collect();
        }
        beta_old = Some(beta.clone());
        if converged {
            break;
        }
    }
    // The covariance at the final estimates: recompute the weights there.
    fill(&mut working_weights, threads(), |i| working_weight(family, link, weights[i], eta[i], mu[i]));
    let xtwx = x.weighted_crossprod(Some(&working_weights));
    let unscaled_covariance = Cholesky::new(&xtwx)
        .or_else(|_| factor.ok_or(strata_core::Error::Singular("no iteration completed".into())))
        .map_err(Error::from)?
        .inverse();
    Ok(Irls {
        beta,
        eta,
        mu,
        deviance: deviance_old,
        unscaled_covariance,
        iterations,
        converged,
        step_halvings,
        boundary,
    })
}

/// Fits a GLM with a fixed family (θ known for the negative binomial).
pub(crate) fn fit_fixed(
    engine: &GlmEngine,
    data: &Arc<GlmData>,
    family: Family,
    start_eta: Option<&[f64]>,
) -> Result<GlmFit> {
    let result =
        irls(&data.x.matrix, &data.y, &data.weights, &data.offset, family, engine.link, start_eta, &engine.control)?;
    let null_deviance = null_deviance(engine, data, family)?;
    Ok(GlmFit::new(engine, data, family, result, null_deviance))
}

/// The deviance of the intercept-only model (with the same offset), or of the offset alone
/// without an intercept, as R's `glm` reports it.
pub(crate) fn null_deviance(engine: &GlmEngine, data: &GlmData, family: Family) -> Result<f64> {
    let n = data.y.len();
    if !data.intercept {
        let mu: Vec<f64> = data.offset.iter().map(|&o| engine.link.inverse(o)).collect();
        return Ok(deviance(family, &data.y, &mu, &data.weights));
    }
    if data.offset.iter().all(|&o| o == 0.0) {
        let total: f64 = data.weights.iter().sum();
        let mean = data.y.iter().zip(&data.weights).map(|(y, w)| y * w).sum::<f64>() / total;
        return Ok(deviance(family, &data.y, &vec![mean; n], &data.weights));
    }
    if matches!(family, Family::Poisson | Family::QuasiPoisson) && engine.link == Link::Log {
        // The intercept's score equation Σ w (y − e^{α + o}) = 0 has a closed form.
        let numerator: f64 = data.y.iter().zip(&data.weights).map(|(y, w)| y * w).sum();
        let denominator: f64 = data.offset.iter().zip(&data.weights).map(|(o, w)| w * o.exp()).sum();
        let alpha = (numerator / denominator).ln();
        let mu: Vec<f64> = data.offset.iter().map(|o| (alpha + o).exp()).collect();
        return Ok(deviance(family, &data.y, &mu, &data.weights));
    }
    let ones = Matrix::from_column_major(n, 1, vec![1.0; n]);
    Ok(irls(&ones, &data.y, &data.weights, &data.offset, family, engine.link, None, &engine.control)?.deviance)
}

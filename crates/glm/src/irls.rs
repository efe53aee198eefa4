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
use strata_core::parallel::{sum_blocks, threads};
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
    pub fn from_response(glm: &Glm, mut data: ResponseData) -> Result<Self> {
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
            levels: data.model_frame.factor_levels(),
            rows: data.model_frame.take_rows(),
            formula: glm.formula.text().to_string(),
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

/// $\sum_i w_i d(y_i, \mu_i)$ at the means `mu(i)`, summed in fixed blocks on every thread (the
/// same on any number).
pub(crate) fn deviance(family: Family, y: &[f64], weights: &[f64], mu: impl Fn(usize) -> f64 + Sync) -> f64 {
    sum_blocks(y.len(), threads(), |i| weighted_unit_deviance(family, weights[i], y[i], mu(i)))
}

/// $w\,d(y, \mu)$, 0 for a zero prior weight.
fn weighted_unit_deviance(family: Family, weight: f64, y: f64, mu: f64) -> f64 {
    if weight > 0.0 {
        weight * family.unit_deviance(y, mu)
    } else {
        0.0
    }
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

/// What one pass over the rows gives at a linear predictor: the deviance and whether every
/// mean is valid for the family, and the weighted least-squares system of the IRLS step from
/// there (`XᵀWX`, `XᵀWz`), with whether every working weight is finite.
struct Pass {
    deviance: f64,
    valid: bool,
    cross: Matrix,
    products: Vec<f64>,
    finite_weights: bool,
}

/// What a pass over the rows reads: the model matrix, response, prior weights and offset, and
/// the family and link.
struct Rows<'a> {
    x: &'a Matrix,
    y: &'a [f64],
    weights: &'a [f64],
    offset: &'a [f64],
    family: Family,
    link: Link,
}

impl Rows<'_> {
    /// One pass at $\eta = o + X\beta$ (or at `eta` as it stands when `beta` is `None`), writing
    /// $\eta$ and $\mu$: a block of rows at a time, $\eta$, $\mu$, the unit deviances, the working
    /// weights $w (d\mu/d\eta)^2/V(\mu)$ and response $\eta - o + (y - \mu)/(d\mu/d\eta)$,
    /// and the block's cross-products, while the rows are in cache
    /// ([`Matrix::crossprod_prepared`]). `eta` is formed in column order whatever the blocks, and
    /// the sums are added in a fixed order, so the pass is the same on any number of threads.
    fn pass(&self, beta: Option<&[f64]>, eta: &mut [f64], mu: &mut [f64]) -> Pass {
        let Self { x, y, weights, offset, family, link } = *self;
        let (cross, products, [deviance, invalid, infinite]) =
            x.crossprod_prepared([eta, mu], true, threads(), |rows, [eta, mu], w, z| {
                if let Some(beta) = beta {
                    eta.copy_from_slice(&offset[rows.clone()]);
                    for (j, &b) in beta.iter().enumerate() {
                        if b != 0.0 {
                            for (e, x) in eta.iter_mut().zip(&x.column(j)[rows.clone()]) {
                                *e += x * b;
                            }
                        }
                    }
                }
                let (y, weights, offset) = (&y[rows.clone()], &weights[rows.clone()], &offset[rows]);
                // dμ/dη waits in `w` for the working weights.
                for ((m, d), e) in mu.iter_mut().zip(w.iter_mut()).zip(&*eta) {
                    (*m, *d) = link.inverse_with_derivative(*e);
                }
                let mut deviance = 0.0;
                let mut invalid = 0usize;
                for ((y, m), w) in y.iter().zip(&*mu).zip(weights) {
                    deviance += weighted_unit_deviance(family, *w, *y, *m);
                    invalid += usize::from(!valid_mean(family, *m));
                }
                for r in 0..w.len() {
                    let d = w[r];
                    w[r] = family.working_weight(weights[r], d, mu[r]);
                    z[r] = eta[r] - offset[r] + (y[r] - mu[r]) / d;
                }
                let infinite = w.iter().filter(|w| !w.is_finite()).count();
                [deviance, invalid as f64, infinite as f64]
            });
        Pass {
            deviance,
            valid: deviance.is_finite() && invalid == 0.0,
            cross,
            products,
            finite_weights: infinite == 0.0,
        }
    }
}

/// Runs IRLS from `start_eta` (or the family's starting means). Each candidate estimate costs one
/// pass over the rows ([`Rows::pass`]), which also forms the next step's system; the pass at the
/// final estimate gives the covariance. The fit is the same on any number of threads.
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
    let rows = Rows { x, y, weights, offset, family, link };
    let mut eta: Vec<f64> = match start_eta {
        Some(eta) => eta.to_vec(),
        None => y.iter().zip(weights).map(|(&y, &w)| link.link(family.start(y, w))).collect(),
    };
    let mut mu = vec![0.0; n];
    let mut current = rows.pass(None, &mut eta, &mut mu);
    let mut beta_old: Option<Vec<f64>> = None;
    let mut step_halvings = 0;
    let mut boundary = false;
    let mut converged = false;
    let mut iterations = 0;
    let mut factor = None;
    let mut beta = vec![0.0; p];
    while iterations < control.max_iterations {
        iterations += 1;
        if !current.finite_weights {
            return Err(Error::Fit("working weights became non-finite".into()));
        }
        let chol = Cholesky::new(&current.cross).map_err(|_| {
            Error::Core(strata_core::Error::Singular(
                "XᵀWX is not positive definite: the fitted weights vanish (separation or all-zero counts?)".into(),
            ))
        })?;
        beta = chol.solve(&current.products);
        factor = Some(chol);
        let mut halvings = 0;
        loop {
            let candidate = rows.pass(Some(&beta), &mut eta, &mut mu);
            let dev = candidate.deviance;
            // Halve towards the previous estimate if the step is invalid or the deviance rose.
            let diverged = !candidate.valid || (beta_old.is_some() && dev > current.deviance * (1.0 + 1e-7) + 1e-9);
            if !diverged {
                let change = (dev - current.deviance).abs() / (dev.abs() + 0.1);
                converged = change < control.epsilon;
                current = candidate;
                break;
            }
            let Some(previous) = &beta_old else {
                return Err(Error::Fit("the starting values give an invalid fit".into()));
            };
            halvings += 1;
            step_halvings += 1;
            boundary |= !candidate.valid;
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
    // The covariance at the final estimates, from the last pass's weights.
    let unscaled_covariance = Cholesky::new(&current.cross)
        .or_else(|_| factor.ok_or(strata_core::Error::Singular("no iteration completed".into())))
        .map_err(Error::from)?
        .inverse();
    Ok(Irls {
        beta,
        eta,
        mu,
        deviance: current.deviance,
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
    let (y, weights, offset, link) = (&data.y, &data.weights, &data.offset, engine.link);
    let total = |term: &(dyn Fn(usize) -> f64 + Sync)| sum_blocks(n, threads(), term);
    if !data.intercept {
        return Ok(deviance(family, y, weights, |i| link.inverse(offset[i])));
    }
    if offset.iter().all(|&o| o == 0.0) {
        let mean = total(&|i| y[i] * weights[i]) / total(&|i| weights[i]);
        return Ok(deviance(family, y, weights, |_| mean));
    }
    if matches!(family, Family::Poisson | Family::QuasiPoisson) && link == Link::Log {
        // The intercept's score equation Σ w (y − e^{α + o}) = 0 has a closed form.
        let alpha = (total(&|i| y[i] * weights[i]) / total(&|i| weights[i] * offset[i].exp())).ln();
        return Ok(deviance(family, y, weights, |i| (alpha + offset[i]).exp()));
    }
    let ones = Matrix::from_column_major(n, 1, vec![1.0; n]);
    Ok(irls(&ones, y, weights, offset, family, link, None, &engine.control)?.deviance)
}

//! How a GLMM is estimated — family, link, quadrature points, optimiser — and its fit of
//! prepared data, shared by the formula front end and the fit from arrays.

use super::laplace::{ModeForecast, Problem};
use super::GlmmFit;
use crate::error::{Error, Result};
use crate::pls::CrossProducts;
use crate::predict::Predictor;
use crate::quadrature::gauss_hermite;
use crate::random_effects::RandomEffects;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::Arc;
use strata_core::design::ModelMatrix;
use strata_core::family::{Family, Link};
use strata_core::numerics::{
    finite_difference_derivatives, minimize_bobyqa, minimize_scalar, BobyqaControl, Cholesky, Convergence, Matrix,
};
use strata_core::{Warning, WarningKind};
use strata_glm::theta_ml;

/// The initial trust-region radius of stage 2 (θ and β together), at most: stage 2 starts where
/// stage 1 left θ (within its 1e-4) and β (at its optimum given θ), so it does not probe 0.2 away
/// from a point already near the optimum (105 evaluations became 78 on the 200,000-child
/// benchmark, the deviance equal to 1e-11).
const STAGE2_RHO_BEGIN: f64 = 0.02;

/// Where stage 2 hands over to Newton steps on the finite-difference derivatives (see
/// [`GlmmEngine::estimate_with_hessian`]): on the 200,000-child benchmark stage 2 took 27
/// evaluations to this radius, then one Newton step; to 3e-4, 24 and two steps; to 1e-3, 19 and
/// two steps of 34 evaluations each (before the Hessian took 22).
const NEWTON_RHO_END: f64 = 1e-4;

/// Newton steps at most before stage 2 is resumed instead.
const NEWTON_STEPS: usize = 3;

/// The central differences' step relative to each parameter's size (or to 0.1, if larger).
const HESSIAN_STEP: f64 = 1e-3;

/// A GLMM's response on the observations of a fit: what penalised IRLS and refits read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GlmmData {
    /// The response (a proportion for the binomial).
    pub y: Vec<f64>,
    /// Prior weights times binomial trials.
    pub weights: Vec<f64>,
    /// Binomial trials (ones otherwise).
    pub trials: Vec<f64>,
    /// The offset.
    pub offset: Vec<f64>,
}

/// A GLMM's data after a front end: the response, the fixed-effects design and the random
/// effects on the same observations, each observation's row in the data, and what names the
/// model.
pub(crate) struct Prepared {
    pub data: GlmmData,
    pub design: ModelMatrix,
    pub random: RandomEffects,
    /// The 0-based row of the data each observation comes from.
    pub rows: Vec<usize>,
    /// The formula, or what stands for it.
    pub formula: String,
    /// What evaluates new data (`None` for arrays).
    pub predictor: Option<Predictor>,
}

/// The error of quadrature asked for a model without a single scalar random effect.
pub(super) fn one_scalar_term() -> Error {
    Error::Specification("nAGQ > 1 needs a single scalar random effect such as (1 | group)".into())
}

/// How a GLMM is estimated: the family (its negative binomial shape given or estimated, as
/// `glmer.nb`), the link, the number of adaptive Gauss–Hermite points (1: Laplace) and the
/// optimiser's control — and the fit of arrays by it ([`GlmmEngine::fit`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmmEngine {
    pub(super) family: Family,
    pub(super) link: Link,
    pub(super) nagq: usize,
    pub(super) control: BobyqaControl,
    /// Whether the negative binomial shape is estimated (`glmer.nb`) rather than given.
    pub(super) estimate_shape: bool,
}

impl GlmmEngine {
    /// A binomial, Poisson or negative binomial (with the shape given) GLMM with the family's
    /// canonical link and the Laplace approximation.
    ///
    /// # Errors
    /// [`Error::Specification`] for other families or a shape that is not positive.
    pub fn new(family: Family) -> Result<Self> {
        if !matches!(family, Family::Binomial | Family::Poisson | Family::NegativeBinomial { .. }) {
            return Err(Error::Specification(format!(
                "GLMMs are implemented for the binomial, Poisson and negative binomial families, not {}",
                family.name()
            )));
        }
        if let Family::NegativeBinomial { theta } = family {
            if !(theta.is_finite() && theta > 0.0) {
                return Err(Error::Specification(format!("the negative binomial shape {theta} is not positive")));
            }
        }
        Ok(Self {
            family,
            link: family.default_link(),
            nagq: 1,
            control: BobyqaControl::default(),
            estimate_shape: false,
        })
    }

    /// A negative binomial GLMM with log link whose shape is estimated by maximum likelihood,
    /// as lme4's `glmer.nb`.
    pub fn negative_binomial() -> Self {
        let family = Family::NegativeBinomial { theta: 1.0 };
        Self { estimate_shape: true, ..Self::new(family).expect("a positive shape") }
    }

    /// The number of adaptive Gauss–Hermite points (1: Laplace). More than one needs a single
    /// scalar random effect, checked when fitting.
    ///
    /// # Errors
    /// [`Error::Specification`] for zero points.
    pub fn nagq(self, points: usize) -> Result<Self> {
        if points == 0 {
            return Err(Error::Specification("nAGQ must be at least 1".into()));
        }
        Ok(Self { nagq: points, ..self })
    }

    /// Another link (probit or cloglog for the binomial).
    #[must_use]
    pub fn link(self, link: Link) -> Self {
        Self { link, ..self }
    }

    /// Optimiser control.
    #[must_use]
    pub fn control(self, control: BobyqaControl) -> Self {
        Self { control, ..self }
    }

    /// Fits prepared data: grouped by the first grouping factor, then the family's fit (with
    /// the negative binomial shape first, when it is estimated).
    pub(super) fn fit_prepared(&self, prepared: Prepared) -> Result<GlmmFit> {
        let Prepared { data, design, random, rows, formula, predictor } = prepared;
        if self.nagq > 1 && (random.blocks.len() != 1 || random.blocks[0].p() != 1) {
            return Err(one_scalar_term());
        }
        let (data, design, random, order) = group(&data, design, &random);
        let mut fit = if self.estimate_shape {
            let (shape, warm) = self.shape(&data, &design, &random)?;
            let mut fit =
                self.fit_family(Family::NegativeBinomial { theta: shape }, &data, &design, &random, Some(&warm))?;
            fit.shape_estimated = true;
            if shape > 1e4 {
                fit.convergence.warnings.push(Warning::new(
                    WarningKind::Boundary,
                    format!(
                        "the negative binomial shape is {shape:.3e}: the counts show no overdispersion beyond the \
                         random effects, and a Poisson GLMM fits as well"
                    ),
                ));
            }
            fit
        } else {
            self.fit_family(self.family, &data, &design, &random, None)?
        };
        fit.order = order;
        fit.rows = rows;
        fit.formula = formula;
        fit.predictor = predictor;
        Ok(fit)
    }

    /// glmer.nb: the shape minimising the deviance of the negative binomial GLMM, with the θ
    /// of the last fit (a start for the final one). Only the optimisations run for each shape.
    pub(super) fn shape(
        &self,
        data: &GlmmData,
        design: &ModelMatrix,
        random: &RandomEffects,
    ) -> Result<(f64, Vec<f64>)> {
        let quadrature = gauss_hermite(self.nagq)?;
        let poisson = Problem::new(Family::Poisson, self.link, &design.matrix, data, random);
        let (theta, beta, ..) = self.estimate(&poisson, &quadrature, None)?;
        let mu = poisson.pirls(&theta, Some(&beta))?.mu;
        let start = theta_ml(&data.y, &mu, &data.weights, None).map_or(1.0, |(shape, _)| shape);
        let mut warm = theta;
        // Quadrature deviances omit −2 log p(y | y), as lme4's do; across shapes it is not a
        // constant, so it is added back to compare them.
        let saturated = |family: Family| {
            if self.nagq > 1 {
                -2.0 * family.log_likelihood(&data.y, &data.y, &data.weights, &data.trials, 0.0).unwrap_or(0.0)
            } else {
                0.0
            }
        };
        let mut deviance = |log_shape: f64| {
            let family = Family::NegativeBinomial { theta: log_shape.exp() };
            let problem = Problem::new(family, self.link, &design.matrix, data, random);
            match self.estimate(&problem, &quadrature, Some(&warm)) {
                Ok((theta, _, objective, _)) => {
                    warm = theta;
                    objective + saturated(family)
                }
                Err(_) => f64::INFINITY,
            }
        };
        // Search log φ within ±3 of the start, moving the window while the minimum is at an edge.
        let (mut low, mut high) = (start.ln() - 3.0, start.ln() + 3.0);
        let mut best = minimize_scalar(&mut deviance, low, high, 1e-6);
        for _ in 0..5 {
            if best.0 - low < 1e-3 {
                (low, high) = (low - 6.0, low);
            } else if high - best.0 < 1e-3 {
                (low, high) = (high, high + 6.0);
            } else {
                break;
            }
            best = minimize_scalar(&mut deviance, low, high, 1e-6);
        }
        Ok((best.0.exp(), warm))
    }

    /// θ, β and the deviance at their optimum, and how the optimisation went: stage 1 (θ with
    /// β inside PIRLS) from `start` or lme4's, then stage 2 (θ and β together).
    pub(super) fn estimate(
        &self,
        problem: &Problem,
        quadrature: &(Vec<f64>, Vec<f64>),
        start: Option<&[f64]>,
    ) -> Result<(Vec<f64>, Vec<f64>, f64, Convergence)> {
        let (mut parameters, mut convergence) = self.stage1(problem, start)?;
        let rho_begin = self.control.rho_begin.min(STAGE2_RHO_BEGIN).max(self.control.rho_end);
        self.stage2(problem, quadrature, &mut parameters, (rho_begin, self.control.rho_end), &mut convergence)?;
        let n_theta = problem.random.n_theta();
        let objective = problem.deviance(&parameters[..n_theta], &parameters[n_theta..], quadrature)?;
        convergence.objective = objective;
        Ok((parameters[..n_theta].to_vec(), parameters[n_theta..].to_vec(), objective, convergence))
    }

    /// As [`GlmmEngine::estimate`] (θ and β in one vector), with the Hessian of the deviance at
    /// the optimum that the standard errors need (`None` if an evaluation fails). Stage 2 stops
    /// at the radius [`NEWTON_RHO_END`], and Newton steps $x - H^{-1}g$ on the central-difference
    /// gradient and Hessian finish it: the gradient comes from the Hessian's own evaluations, so
    /// the optimum's last digits cost one evaluation instead of stage 2's slow end (113
    /// evaluations in all became 96 on the 200,000-child benchmark, the deviance the same to
    /// 1e-15, and 84 with the Hessian's seven-point off-diagonal elements). A step is taken only
    /// where the Hessian is positive definite, the step stays inside the bounds and lowers the
    /// deviance; one no longer than a tenth of the difference step ends the search and keeps the
    /// Hessian where it was taken (the standard errors moved 2e-5 relatively against the Hessian
    /// at the BOBYQA optimum to 2e-7). Otherwise stage 2 goes on to the control's radius and the
    /// Hessian is taken there. The derivatives' PIRLS start from modes forecast around their
    /// centre ([`ModeForecast`]).
    pub(super) fn estimate_with_hessian(
        &self,
        problem: &Problem,
        quadrature: &(Vec<f64>, Vec<f64>),
        start: Option<&[f64]>,
    ) -> Result<(Vec<f64>, f64, Convergence, Option<Matrix>)> {
        let n_theta = problem.random.n_theta();
        // The derivatives' evaluations start PIRLS from modes forecast around their centre.
        let derivatives = |centre: &[f64]| {
            let forecast = RefCell::new(ModeForecast::new(centre));
            let deviance = |x: &[f64]| problem.deviance_forecast(x, n_theta, quadrature, &forecast).ok();
            finite_difference_derivatives(&deviance, centre, HESSIAN_STEP).map(|(g, h)| (g, h, forecast))
        };
        let (mut parameters, mut convergence) = self.stage1(problem, start)?;
        let coarse = self.control.rho_end.max(NEWTON_RHO_END);
        let rho_begin = self.control.rho_begin.min(STAGE2_RHO_BEGIN).max(coarse);
        let mut objective = self.stage2(problem, quadrature, &mut parameters, (rho_begin, coarse), &mut convergence)?;
        let evaluations = 1 + parameters.len() + parameters.len() * parameters.len();
        let lower = problem.random.lower_bounds();
        let mut hessian = None;
        // The last derivatives' centre and Hessian, which stand if the search ends there.
        let mut latest: Option<(Vec<f64>, Matrix)> = None;
        for _ in 0..NEWTON_STEPS {
            let Some((gradient, at, forecast)) = derivatives(&parameters) else { break };
            convergence.evaluations += evaluations;
            latest = Some((parameters.clone(), at.clone()));
            let Ok(factor) = Cholesky::new(&at) else { break };
            let step = factor.solve(&gradient);
            let next: Vec<f64> = parameters.iter().zip(&step).map(|(x, s)| x - s).collect();
            let inside = next[..n_theta].iter().zip(&lower).all(|(t, l)| t >= l);
            let value =
                if inside { problem.deviance_forecast(&next, n_theta, quadrature, &forecast).ok() } else { None };
            convergence.evaluations += usize::from(inside);
            let small = parameters.iter().zip(&step).all(|(x, s)| s.abs() <= 0.1 * HESSIAN_STEP * x.abs().max(0.1));
            let lower_value = value.filter(|&v| v <= objective);
            if let Some(value) = lower_value {
                (parameters, objective) = (next, value);
            }
            if small {
                // At the optimum to within the step: the Hessian where it was taken stands.
                hessian = Some(at);
                convergence.message.push_str("; then a Newton step on finite-difference derivatives");
                break;
            }
            if lower_value.is_none() {
                break;
            }
        }
        if hessian.is_none() {
            if coarse > self.control.rho_end {
                objective = self.stage2(
                    problem,
                    quadrature,
                    &mut parameters,
                    (coarse, self.control.rho_end),
                    &mut convergence,
                )?;
            }
            // The Hessian at the search's end: the last one, if it was taken there.
            hessian = match latest {
                Some((centre, at)) if centre == parameters => Some(at),
                _ => {
                    convergence.evaluations += evaluations;
                    derivatives(&parameters).map(|(_, hessian, _)| hessian)
                }
            };
        }
        convergence.objective = objective;
        Ok((parameters, objective, convergence, hessian))
    }

    /// Stage 1: θ by BOBYQA on the deviance with β inside PIRLS (lme4's nAGQ = 0), from `start`
    /// or lme4's, only to bring θ near the optimum; then β at its optimum given θ. Returns θ
    /// then β.
    fn stage1(&self, problem: &Problem, start: Option<&[f64]>) -> Result<(Vec<f64>, Convergence)> {
        let random = problem.random;
        let mut theta = start.map_or_else(|| random.initial_theta(), <[f64]>::to_vec);
        let lower = random.lower_bounds();
        let upper = vec![f64::INFINITY; theta.len()];
        let stage1 = |t: &[f64]| problem.pirls(t, None).map_or(f64::INFINITY, |m| problem.laplace(m));
        let coarse = BobyqaControl { rho_end: self.control.rho_end.max(1e-4), ..self.control };
        let convergence = minimize_bobyqa(stage1, &mut theta, &lower, &upper, &coarse)?;
        let mode = problem.pirls(&theta, None)?;
        Ok((theta.iter().chain(&mode.beta).copied().collect(), convergence))
    }

    /// Stage 2: θ and β together by BOBYQA on the deviance, from `parameters` with the trust
    /// region's radius from `rho_begin` to `rho_end`; returns the deviance there and adds its
    /// work to `convergence`.
    fn stage2(
        &self,
        problem: &Problem,
        quadrature: &(Vec<f64>, Vec<f64>),
        parameters: &mut [f64],
        (rho_begin, rho_end): (f64, f64),
        convergence: &mut Convergence,
    ) -> Result<f64> {
        let n_theta = problem.random.n_theta();
        let lower: Vec<f64> = problem
            .random
            .lower_bounds()
            .into_iter()
            .chain(std::iter::repeat_n(f64::NEG_INFINITY, parameters.len() - n_theta))
            .collect();
        let upper = vec![f64::INFINITY; parameters.len()];
        let deviance = |x: &[f64]| problem.deviance(&x[..n_theta], &x[n_theta..], quadrature);
        let control = BobyqaControl { rho_begin, rho_end, ..self.control };
        let stage2 = minimize_bobyqa(|x| deviance(x).unwrap_or(f64::INFINITY), parameters, &lower, &upper, &control)?;
        convergence.iterations += stage2.iterations;
        convergence.evaluations += stage2.evaluations;
        convergence.converged &= stage2.converged;
        Ok(stage2.objective)
    }

    /// Fits one family to prepared data, stage 1 starting from `start` (θ) when given, with
    /// standard errors and conditional modes (the caller names the fit and places its rows).
    fn fit_family(
        &self,
        family: Family,
        data: &GlmmData,
        design: &ModelMatrix,
        random: &RandomEffects,
        start: Option<&[f64]>,
    ) -> Result<GlmmFit> {
        let problem = Problem::new(family, self.link, &design.matrix, data, random);
        let quadrature = gauss_hermite(self.nagq)?;
        let (parameters, objective, mut convergence, hessian) =
            self.estimate_with_hessian(&problem, &quadrature, start)?;
        let (theta, beta) = parameters.split_at(random.n_theta());
        let (theta, beta) = (theta.to_vec(), beta.to_vec());
        let covariance = hessian.and_then(|h| hessian_covariance(&h, theta.len())).map_or_else(
            || {
                convergence.warnings.push(Warning::new(
                    WarningKind::Information,
                    "the Hessian of the deviance is not positive definite: standard errors from the PIRLS system",
                ));
                let weights = problem.pirls(&theta, Some(&beta))?.weights;
                let zero = vec![0.0; data.y.len()];
                CrossProducts::new(&design.matrix, &zero, Some(&weights), random)
                    .solve(random, &theta)
                    .map(|system| system.schur_inverse)
            },
            Ok,
        )?;
        let mode = problem.pirls(&theta, Some(&beta))?;
        let modes = random.lambda_times(&theta, &mode.u);
        // The conditional variances of b at the mode: diag(Λ (ΛᵀZᵀWZΛ + I)⁻¹ Λᵀ) with the
        // working weights W there (lme4's `ranef(fit, condVar = TRUE)`).
        let conditional_covariances_flat =
            CrossProducts::new(&Matrix::zeros(data.y.len(), 0), &vec![0.0; data.y.len()], Some(&mode.weights), random)
                .conditional_covariances(random, &theta)?;
        if random.blocks.iter().any(|b| (0..b.p()).any(|j| b.factor(&theta)[(j, j)] < 1e-4)) {
            convergence
                .warnings
                .push(Warning::new(WarningKind::Boundary, "singular fit: a random-effect variance is zero"));
        }
        let fit = GlmmFit {
            order: Vec::new(),
            rows: Vec::new(),
            design: Arc::new(design.clone()),
            engine: self.clone(),
            data: Arc::new(data.clone()),
            formula: String::new(),
            family,
            shape_estimated: false,
            nagq: self.nagq,
            names: design.names.clone(),
            beta,
            covariance,
            theta,
            objective,
            n_obs: data.y.len(),
            random: random.clone(),
            b: modes,
            conditional_covariances_flat,
            link: self.link,
            predictor: None,
            convergence,
        };
        Ok(fit)
    }
}

/// The observations grouped by the level of the first (largest) grouping factor, so that every
/// pass over them touches that factor's arrays in order; `order[k]` is the observation at
/// position k. Nothing reported depends on the order.
pub(super) fn group(
    data: &GlmmData,
    design: ModelMatrix,
    random: &RandomEffects,
) -> (GlmmData, ModelMatrix, RandomEffects, Vec<usize>) {
    let mut order: Vec<usize> = (0..data.y.len()).collect();
    order.sort_by_key(|&i| random.blocks[0].codes[i]);
    let permute = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let data = GlmmData {
        y: permute(&data.y),
        weights: permute(&data.weights),
        trials: permute(&data.trials),
        offset: permute(&data.offset),
    };
    let p = design.names.len();
    let design = ModelMatrix { matrix: Matrix::from_fn(order.len(), p, |i, j| design.matrix[(order[i], j)]), ..design };
    let random = random.permuted(&order);
    (data, design, random, order)
}

/// `2 H⁻¹` restricted to β from the Hessian H of the deviance in (θ, β); `None` if it is not
/// positive definite.
fn hessian_covariance(hessian: &Matrix, n_theta: usize) -> Option<Matrix> {
    let inverse = Cholesky::new(hessian).ok()?.inverse();
    let p = hessian.nrows() - n_theta;
    Some(Matrix::from_fn(p, p, |i, j| 2.0 * inverse[(n_theta + i, n_theta + j)]))
}

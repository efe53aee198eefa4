//! Linear mixed models.
//!
//! The model: $y = X\beta + Z b + \varepsilon$, $b = \Lambda_\theta u$, $u \sim N(0, \sigma^2 I_q)$,
//! $\varepsilon \sim N(0, \sigma^2 I_n)$. For a given θ the penalised least-squares problem
//! $\min_{u,\beta} \|y - X\beta - Z\Lambda_\theta u\|^2 + \|u\|^2$ has the solution of
//! $$\begin{pmatrix}\Lambda^\top Z^\top Z\Lambda + I & \Lambda^\top Z^\top X\\ X^\top Z\Lambda & X^\top X\end{pmatrix}\begin{pmatrix}u\\ \beta\end{pmatrix} = \begin{pmatrix}\Lambda^\top Z^\top y\\ X^\top y\end{pmatrix},$$
//! with $L_\theta L_\theta^\top = \Lambda^\top Z^\top Z\Lambda + I$ and $R_X^\top R_X$ the Schur
//! complement. With $r^2$ the minimised penalised residual sum of squares, the profiled
//! deviances are (Bates et al. 2015, eqs. 34 and 41)
//! $-2\ell(\theta) = \log|L_\theta|^2 + n\{1 + \log(2\pi r^2/n)\}$ and
//! $-2\ell_R(\theta) = \log|L_\theta|^2 + \log|R_X|^2 + (n-p)\{1 + \log(2\pi r^2/(n-p))\}$,
//! minimised over θ by BOBYQA with θ's diagonal elements bounded below by zero.

use crate::error::{check_design, Error, Result};
use crate::pls::{CrossProducts, PlsSolution};
use crate::predict::Predictor;
use crate::random_effects::RandomEffects;
use std::sync::Arc;
use strata_core::design::{model_expressions, ModelMatrix};
use strata_core::model_frame::ModelFrame;
use strata_core::numerics::{finite_difference_hessian, minimize_bobyqa, BobyqaControl, Cholesky, Matrix};
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};

mod arrays;
mod components;
mod fit;
mod summary;

pub(crate) use arrays::{check_terms, random_effects};
pub use arrays::{GroupingTerm, LmmArrays, LmmEngine};
pub(crate) use components::percentile_intervals;
pub use components::{BootstrapInterval, RandomEffect, VarianceComponent};
pub use fit::LmmFit;
pub use summary::LmmSummary;

/// A linear mixed model specification.
///
/// # Examples
/// ```no_run
/// use strata_core::csv::{read_csv, CsvOptions};
/// use strata_multilevel::LinearMixedModel;
/// let frame = read_csv("sleepstudy.csv", &CsvOptions::default())?;
/// let fit = LinearMixedModel::new("Reaction ~ Days + (Days | Subject)")?.fit(&frame)?;
/// println!("{}", fit.summary());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearMixedModel {
    formula: Formula,
    engine: LmmEngine,
    weights: Option<String>,
}

impl LinearMixedModel {
    /// A model fitted by REML (lme4's default).
    ///
    /// # Errors
    /// A formula error, or [`Error::Specification`] for a formula without a response or
    /// random-effect terms.
    pub fn new(formula: &str) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if formula.response().is_none() {
            return Err(Error::Specification("the formula needs a response on the left of `~`".into()));
        }
        if terms.random.is_empty() {
            return Err(Error::Specification(
                "no random-effect term: add one such as (1 | group), or fit a GLM".into(),
            ));
        }
        if !terms.offsets.is_empty() || !terms.specials.is_empty() {
            return Err(Error::Specification(
                "offsets and survival specials are not supported in linear mixed models".into(),
            ));
        }
        Ok(Self { formula, engine: LmmEngine::reml(), weights: None })
    }

    /// Maximum likelihood instead of REML.
    #[must_use]
    pub fn ml(mut self) -> Self {
        self.engine.reml = false;
        self
    }

    /// REML (`true`) or ML (`false`).
    #[must_use]
    pub fn reml(mut self, reml: bool) -> Self {
        self.engine.reml = reml;
        self
    }

    /// Prior weights from a column (lme4's `weights`): observation i has residual variance
    /// σ²/wᵢ.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Optimiser control.
    #[must_use]
    pub fn control(mut self, control: BobyqaControl) -> Self {
        self.engine.control = control;
        self
    }

    /// Fits the model.
    ///
    /// # Errors
    /// Unknown or non-numeric columns, NaN, no complete rows, a grouping factor with as many
    /// levels as observations, or a rank-deficient fixed-effects design.
    pub fn fit(&self, frame: &DataFrame) -> Result<LmmFit> {
        let terms = self.formula.terms().map_err(strata_core::Error::from)?;
        let response = self.formula.response().expect("checked on construction");
        let weight_expr = self
            .weights
            .as_deref()
            .map(strata_core::formula::Expr::parse)
            .transpose()
            .map_err(strata_core::Error::from)?;
        let mut extra = vec![response];
        extra.extend(weight_expr.iter());
        let model_frame = ModelFrame::new(frame, &model_expressions(&terms, &extra))?;
        let y = model_frame.numeric(response)?.to_vec();
        crate::error::check_response_varies(&response.to_string(), &y)?;
        let weights = weight_expr.as_ref().map(|w| model_frame.numeric(w).map(<[f64]>::to_vec)).transpose()?;
        let rows = model_frame.rows().to_vec();
        check_weights(weights.as_deref(), self.weights.as_deref().unwrap_or_default(), &rows)?;
        let design = ModelMatrix::new(&terms, &model_frame)?;
        check_design(&design.matrix, &design.names, 1)?;
        let random = RandomEffects::new(&terms, &model_frame)?;
        self.engine.estimate(Prepared {
            x: design.matrix,
            names: design.names,
            y,
            weights,
            random,
            rows,
            formula: self.formula.text().to_string(),
            predictor: Some(Predictor::new(&self.formula, &terms, &model_frame)),
        })
    }
}

/// [`strata_core::Error::InvalidValue`] for a weight that is not positive, by its row in the
/// data (`rows`).
pub(crate) fn check_weights(weights: Option<&[f64]>, name: &str, rows: &[usize]) -> Result<()> {
    match weights.into_iter().flatten().enumerate().find(|(_, w)| !(**w > 0.0)) {
        Some((i, w)) => Err(Error::Core(strata_core::Error::InvalidValue {
            name: name.to_string(),
            row: rows[i] + 1,
            value: w.to_string(),
            reason: "weights must be positive".into(),
        })),
        None => Ok(()),
    }
}

/// A linear mixed model's data after a front end has checked them (a response that varies,
/// positive weights, a full-rank design: [`check_weights`], [`crate::error::check_design`]): the
/// fixed-effects design and its column names, the response, prior weights and the random
/// effects on the same rows, each row's place in the data, and what describes the model.
pub(crate) struct Prepared {
    pub x: Matrix,
    pub names: Vec<String>,
    pub y: Vec<f64>,
    pub weights: Option<Vec<f64>>,
    pub random: RandomEffects,
    /// The 0-based row of the data each observation comes from.
    pub rows: Vec<usize>,
    /// The formula, or what stands for it.
    pub formula: String,
    /// What evaluates new data (`None` for arrays).
    pub predictor: Option<Predictor>,
}

impl LmmEngine {
    /// Fits checked data: the profiled criterion optimised over θ.
    pub(crate) fn estimate(&self, prepared: Prepared) -> Result<LmmFit> {
        let Prepared { x, names, y, weights, random, rows, formula, predictor } = prepared;
        // −Σ log wᵢ: the weights' part of the log-determinant of the residual covariance.
        let log_weights = weights.as_ref().map_or(0.0, |w| -w.iter().map(|v| v.ln()).sum::<f64>());
        let n = y.len();
        let p = names.len();
        let system = CrossProducts::new(&x, &y, weights.as_deref(), &random);
        let mut theta = random.initial_theta();
        let lower = random.lower_bounds();
        let upper = vec![f64::INFINITY; theta.len()];
        let reml = self.reml;
        let objective =
            |t: &[f64]| system.solve(&random, t).map_or(f64::INFINITY, |s| profiled_deviance(&s, n, p, reml));
        let mut convergence = minimize_bobyqa(objective, &mut theta, &lower, &upper, &self.control)?;
        let solution = system.solve(&random, &theta)?;
        let objective = profiled_deviance(&solution, n, p, reml) + log_weights;
        convergence.objective = objective;
        let singular: Vec<String> = random
            .blocks
            .iter()
            .filter(|b| (0..b.p()).any(|j| b.factor(&theta)[(j, j)] < 1e-4))
            .map(|b| b.group.clone())
            .collect();
        if !singular.is_empty() {
            convergence.warnings.push(Warning::new(WarningKind::Boundary, format!(
                "singular fit: the random-effects covariance of {} is on the boundary (a variance is zero or correlations are ±1)",
                singular.join(", ")
            )));
        }
        if !convergence.converged {
            convergence.warnings.push(Warning::new(
                WarningKind::NotConverged,
                format!("BOBYQA did not converge: {}", convergence.message),
            ));
        }
        let df = if reml { n - p } else { n };
        let sigma2 = solution.pwrss / df as f64;
        let covariance = solution.schur_inverse.clone();
        let covariance = Matrix::from_fn(p, p, |i, j| covariance[(i, j)] * sigma2);
        let b = random.lambda_times(&theta, &solution.u);
        let satterthwaite = satterthwaite(&system, &random, &theta, sigma2.sqrt(), n, p, reml);
        let conditional_covariances_flat = system.conditional_covariances(&random, &theta)?;
        Ok(LmmFit {
            formula,
            reml,
            names,
            beta: solution.beta,
            covariance,
            theta,
            sigma: sigma2.sqrt(),
            objective,
            n_obs: n,
            random,
            b,
            x: Arc::new(x),
            y: Arc::new(y),
            weights: weights.map(Arc::new),
            rows,
            control: self.control,
            conditional_covariances_flat,
            satterthwaite,
            predictor,
            convergence,
        })
    }
}

/// Satterthwaite's degrees of freedom for each fixed effect (Kuznetsova, Brockhoff & Christensen
/// 2017, as lmerTest): with φ = (θ, σ), the variance $f_j(φ) = σ^2[(R_X^\top R_X)^{-1}]_{jj}$ of
/// coefficient j and the asymptotic covariance $2H^{-1}$ of φ from the Hessian H of the
/// (unprofiled) deviance, $ν_j = 2 f_j^2 / (\nabla f_j^\top\, 2H^{-1} \nabla f_j)$, derivatives
/// by central differences. `NaN` where H is not positive definite (a fit on the boundary).
fn satterthwaite(
    system: &CrossProducts,
    random: &RandomEffects,
    theta: &[f64],
    sigma: f64,
    n: usize,
    p: usize,
    reml: bool,
) -> Vec<f64> {
    let two_pi = 2.0 * std::f64::consts::PI;
    let deviance = |phi: &[f64]| -> Option<f64> {
        let (t, s) = phi.split_at(phi.len() - 1);
        let solution = system.solve(random, t).ok()?;
        let s2 = s[0] * s[0];
        let df = if reml { (n - p) as f64 } else { n as f64 };
        let determinants = solution.log_det_l + if reml { solution.log_det_rx } else { 0.0 };
        Some(determinants + df * (two_pi * s2).ln() + solution.pwrss / s2)
    };
    // The variances of every coefficient at φ, from one solve.
    let variances = |phi: &[f64]| -> Option<Vec<f64>> {
        let (t, s) = phi.split_at(phi.len() - 1);
        let inverse = system.solve(random, t).ok()?.schur_inverse;
        Some((0..p).map(|j| s[0] * s[0] * inverse[(j, j)]).collect())
    };
    let phi: Vec<f64> = theta.iter().copied().chain([sigma]).collect();
    let Some(covariance) =
        finite_difference_hessian(&deviance, &phi, 1e-4).and_then(|h| Cholesky::new(&h).ok()).map(|c| c.inverse())
    else {
        return vec![f64::NAN; p];
    };
    let Some(at) = variances(&phi) else { return vec![f64::NAN; p] };
    // ∂f_j/∂φ_k for all j from two solves per parameter.
    let mut gradients = vec![vec![0.0; phi.len()]; p];
    for k in 0..phi.len() {
        let h = 1e-4 * phi[k].abs().max(0.1);
        let mut up = phi.clone();
        up[k] += h;
        let mut down = phi.clone();
        down[k] -= h;
        let (Some(plus), Some(minus)) = (variances(&up), variances(&down)) else { return vec![f64::NAN; p] };
        for j in 0..p {
            gradients[j][k] = (plus[j] - minus[j]) / (2.0 * h);
        }
    }
    (0..p).map(|j| 2.0 * at[j] * at[j] / (2.0 * covariance.quadratic_form(&gradients[j], &gradients[j]))).collect()
}

/// The profiled ML deviance or REML criterion at one θ.
pub(super) fn profiled_deviance(solution: &PlsSolution, n: usize, p: usize, reml: bool) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    if reml {
        let df = (n - p) as f64;
        solution.log_det_l + solution.log_det_rx + df * (1.0 + (two_pi * solution.pwrss / df).ln())
    } else {
        let n = n as f64;
        solution.log_det_l + n * (1.0 + (two_pi * solution.pwrss / n).ln())
    }
}

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

use crate::error::{Error, Result};
use crate::pls::{CrossProducts, PlsSolution};
use crate::predict::{MixedPrediction, Predictor};
use crate::profile::{ProfileInterval, Profiler};
use crate::random_effects::{LevelCovariance, RandomEffects};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use strata_core::design::{check_estimable, model_expressions, ModelMatrix};
use strata_core::model_frame::ModelFrame;
use strata_core::numerics::{
    aliased_columns, finite_difference_hessian, minimize_bobyqa, BobyqaControl, Cholesky, Convergence, Matrix,
};
use strata_core::random::{Replicates, Rng};
use strata_core::results::{significant, CoefTable, Coefficient, FittedModel, LrTest, Statistic};
use strata_core::{DataFrame, Formula};
use strata_core::{Warning, WarningKind};

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
    reml: bool,
    control: BobyqaControl,
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
        Ok(Self { formula, reml: true, control: BobyqaControl::default(), weights: None })
    }

    /// Maximum likelihood instead of REML.
    #[must_use]
    pub fn ml(mut self) -> Self {
        self.reml = false;
        self
    }

    /// REML (`true`) or ML (`false`).
    #[must_use]
    pub fn reml(mut self, reml: bool) -> Self {
        self.reml = reml;
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
        self.control = control;
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
        let weights = match &weight_expr {
            Some(expr) => {
                let w = model_frame.numeric(expr)?.to_vec();
                if let Some(i) = w.iter().position(|v| !(*v > 0.0)) {
                    return Err(Error::Core(strata_core::Error::InvalidValue {
                        name: self.weights.clone().unwrap_or_default(),
                        row: model_frame.rows()[i] + 1,
                        value: w[i].to_string(),
                        reason: "weights must be positive".into(),
                    }));
                }
                Some(w)
            }
            None => None,
        };
        // −Σ log wᵢ: the weights' part of the log-determinant of the residual covariance.
        let log_weights = weights.as_ref().map_or(0.0, |w| -w.iter().map(|v| v.ln()).sum::<f64>());
        let design = ModelMatrix::new(&terms, &model_frame)?;
        let flags = aliased_columns(&design.matrix, 1e-7);
        if flags.iter().any(|a| *a) {
            let names: Vec<&str> =
                design.names.iter().zip(&flags).filter(|(_, a)| **a).map(|(n, _)| n.as_str()).collect();
            return Err(Error::Core(strata_core::Error::Singular(format!(
                "fixed-effect columns {} are linearly dependent on earlier ones",
                names.join(", ")
            ))));
        }
        let n = y.len();
        let p = design.names.len();
        check_estimable(n, p + 1)?;
        let random = RandomEffects::new(&terms, &model_frame)?;
        let system = CrossProducts::new(&design.matrix, &y, weights.as_deref(), &random);
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
            formula: self.formula.text().to_string(),
            reml,
            names: design.names.clone(),
            beta: solution.beta,
            covariance,
            theta,
            sigma: sigma2.sqrt(),
            objective,
            n_obs: n,
            random,
            b,
            x: Arc::new(design.matrix),
            y: Arc::new(y),
            weights: weights.map(Arc::new),
            rows: model_frame.rows().to_vec(),
            control: self.control,
            conditional_covariances_flat,
            satterthwaite,
            predictor: Predictor::new(&self.formula, &terms, &model_frame),
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
fn profiled_deviance(solution: &PlsSolution, n: usize, p: usize, reml: bool) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    if reml {
        let df = (n - p) as f64;
        solution.log_det_l + solution.log_det_rx + df * (1.0 + (two_pi * solution.pwrss / df).ln())
    } else {
        let n = n as f64;
        solution.log_det_l + n * (1.0 + (two_pi * solution.pwrss / n).ln())
    }
}

/// A fitted linear mixed model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LmmFit {
    formula: String,
    reml: bool,
    names: Vec<String>,
    beta: Vec<f64>,
    covariance: Matrix,
    theta: Vec<f64>,
    sigma: f64,
    objective: f64,
    n_obs: usize,
    random: RandomEffects,
    b: Vec<f64>,
    /// The fixed-effects design and the response, kept for the bootstrap and the profiles.
    x: Arc<Matrix>,
    y: Arc<Vec<f64>>,
    weights: Option<Arc<Vec<f64>>>,
    rows: Vec<usize>,
    control: BobyqaControl,
    /// The conditional covariance blocks of b, flattened (see `CrossProducts::conditional_covariances`).
    conditional_covariances_flat: Vec<f64>,
    satterthwaite: Vec<f64>,
    predictor: Predictor,
    convergence: Convergence,
}

impl LmmFit {
    /// A seeded parametric bootstrap (as lme4's `bootMer`): `replicates` responses simulated
    /// from the fitted model, `y* = Xβ̂ + ZΛθ̂u* + ε*` with `u* ~ N(0, σ̂²I)` and
    /// `ε* ~ N(0, σ̂²I)`, each refitted from θ̂; percentile intervals at `level` for every fixed
    /// effect, the standard deviations and correlations of the random effects and σ (named as
    /// lme4's `confint(fit, method = "boot", oldNames = FALSE)`: `sd_(Intercept)|Subject`,
    /// `cor_Days.(Intercept)|Subject`, `sigma`), and the intraclass correlation of each random
    /// intercept (`ICC|Subject`).
    ///
    /// # Errors
    /// [`Error::Specification`] for fewer than two replicates or a level outside (0, 1); a
    /// refit that fails.
    pub fn parametric_bootstrap(&self, replicates: usize, level: f64, rng: &mut Rng) -> Result<Vec<BootstrapInterval>> {
        if replicates < 2 || !(level > 0.0 && level < 1.0) {
            return Err(Error::Specification(
                "the bootstrap needs at least two replicates and a level in (0, 1)".into(),
            ));
        }
        let (n, p, q) = (self.n_obs, self.beta.len(), self.random.q());
        let fixed = self.x.times(&self.beta);
        let lower = self.random.lower_bounds();
        let upper = vec![f64::INFINITY; self.theta.len()];
        let mut draws: Vec<Vec<f64>> = Vec::with_capacity(replicates);
        for _ in 0..replicates {
            let u: Vec<f64> = (0..q).map(|_| self.sigma * rng.normal()).collect();
            let mut y = fixed.clone();
            self.random.z_times_add(&self.random.lambda_times(&self.theta, &u), &mut y);
            for (i, v) in y.iter_mut().enumerate() {
                let scale = self.weights.as_ref().map_or(1.0, |w| w[i].sqrt());
                *v += self.sigma / scale * rng.normal();
            }
            let system = CrossProducts::new(&self.x, &y, self.weights.as_deref().map(Vec::as_slice), &self.random);
            let mut theta = self.theta.clone();
            let reml = self.reml;
            let objective =
                |t: &[f64]| system.solve(&self.random, t).map_or(f64::INFINITY, |s| profiled_deviance(&s, n, p, reml));
            minimize_bobyqa(objective, &mut theta, &lower, &upper, &self.control)?;
            let solution = system.solve(&self.random, &theta)?;
            let sigma = (solution.pwrss / if reml { n - p } else { n } as f64).sqrt();
            draws.push(bootstrap_statistics(&self.random, &solution.beta, &theta, sigma));
        }
        let names: Vec<String> = self
            .names
            .iter()
            .cloned()
            .chain(self.variance_parameter_names())
            .chain(self.variance_partition().into_iter().map(|v| format!("ICC|{}", v.group)))
            .collect();
        let estimates = bootstrap_statistics(&self.random, &self.beta, &self.theta, self.sigma);
        Ok(percentile_intervals(names, &estimates, &draws, level))
    }

    /// The names of the variance parameters on lme4's `confint(..., oldNames = FALSE)` scale:
    /// `sd_TERM|GROUP`, `cor_TERM2.TERM1|GROUP`, then `sigma`.
    fn variance_parameter_names(&self) -> Vec<String> {
        self.variance_components().iter().map(VarianceComponent::parameter_name).collect()
    }

    /// Profile-likelihood confidence intervals at `level` for the standard deviations and
    /// correlations of the random effects, σ and the fixed effects (see [`crate::profile`]; lme4's
    /// `confint(fit, method = "profile", oldNames = FALSE)`).
    ///
    /// # Errors
    /// A level outside (0, 1), or an ML refit that fails.
    pub fn profile_intervals(&self, level: f64) -> Result<Vec<ProfileInterval>> {
        let weights = self.weights.as_deref().map(Vec::as_slice);
        let profiler = Profiler::new(&self.x, &self.y, weights, &self.random, &self.theta, self.control)?;
        let std_errors: Vec<f64> = (0..self.beta.len()).map(|j| self.covariance[(j, j)].sqrt()).collect();
        profiler.intervals(&self.names, &self.variance_parameter_names(), &std_errors, level)
    }

    /// Predictions for the complete rows of `frame`, population-level and conditional on the
    /// random effects (see [`crate::predict`]; lme4's `predict(fit, newdata,
    /// allow.new.levels = TRUE)` with `re.form = NA` and `NULL`).
    ///
    /// # Errors
    /// Unknown columns, a level of a fixed factor the model has not seen, non-finite values.
    pub fn predict(&self, frame: &DataFrame) -> Result<Vec<MixedPrediction>> {
        self.predictor.linear(frame, &self.names, &self.beta, &self.random, &self.b)
    }

    /// Satterthwaite's degrees of freedom of each fixed effect (lmerTest's method).
    pub fn satterthwaite_df(&self) -> &[f64] {
        &self.satterthwaite
    }

    /// The optimised relative covariance parameters θ.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// The residual standard deviation σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The REML criterion or ML deviance at the optimum.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// How the optimisation ended, with warnings such as a singular fit.
    pub fn convergence(&self) -> &Convergence {
        &self.convergence
    }

    /// Whether the fit is singular (a variance at zero or a correlation at ±1).
    pub fn is_singular(&self) -> bool {
        self.convergence.warnings.iter().any(|w| w.kind == WarningKind::Boundary)
    }

    /// The variance components: for each random term its variances and covariances, then the
    /// residual, in lme4's `as.data.frame(VarCorr(fit))` order.
    pub fn variance_components(&self) -> Vec<VarianceComponent> {
        variance_components(&self.random, &self.theta, self.sigma)
    }

    /// The intraclass correlation of each random intercept: its variance over the total of the
    /// intercept variances and the residual variance.
    pub fn variance_partition(&self) -> Vec<crate::partition::VariancePartition> {
        variance_partition(&self.random, &self.theta, self.sigma)
    }

    /// The likelihood-ratio test of this fit against a nested `smaller` one fitted to the same
    /// data (both by ML, or by REML with the same fixed effects): χ² = difference of the
    /// objectives on the difference in parameter counts. A variance tested at its boundary of
    /// zero makes the test conservative (the p-value could be halved).
    ///
    /// # Errors
    /// [`Error::Specification`] if `smaller` has no fewer parameters, other observations, or a
    /// different criterion.
    pub fn lr_test(&self, smaller: &LmmFit) -> Result<LrTest> {
        if smaller.n_obs != self.n_obs || smaller.reml != self.reml {
            return Err(Error::Specification("the two fits differ in their data or criterion (ML vs REML)".into()));
        }
        if self.reml && smaller.names != self.names {
            return Err(Error::Specification(
                "REML fits can be compared only with the same fixed effects: refit by ML".into(),
            ));
        }
        let df = self.n_parameters().checked_sub(smaller.n_parameters()).filter(|d| *d > 0).ok_or_else(|| {
            Error::Specification("the other model must be nested in this one, with fewer parameters".into())
        })?;
        let chisq = (smaller.objective - self.objective).max(0.0);
        Ok(LrTest::new(chisq, df as f64))
    }

    /// The conditional modes (BLUPs) of the random effects with their conditional standard
    /// deviations, `σ √diag(Λ A⁻¹ Λᵀ)` (lme4's `ranef(fit, condVar = TRUE)`): one row per level
    /// and effect.
    pub fn ranef(&self) -> Vec<RandomEffect> {
        self.random.conditional_modes(&self.b, &self.conditional_covariances_flat, self.sigma)
    }

    /// The data rows (0-based) the model used: those complete in every model variable.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// Fitted values $X\hat\beta + Z\hat b$ of the complete rows (lme4's `fitted`).
    pub fn fitted(&self) -> Vec<f64> {
        let mut fitted = self.x.times(&self.beta);
        self.random.z_times_add(&self.b, &mut fitted);
        fitted
    }

    /// Residuals $y - X\hat\beta - Z\hat b$ of the complete rows (lme4's `residuals`).
    pub fn residuals(&self) -> Vec<f64> {
        self.y.iter().zip(self.fitted()).map(|(y, f)| y - f).collect()
    }

    /// Each level's conditional covariance matrix of its random effects (lme4's `postVar`),
    /// whose diagonal gives the standard deviations of [`LmmFit::ranef`].
    pub fn conditional_covariances(&self) -> Vec<LevelCovariance> {
        self.random.level_covariances(&self.conditional_covariances_flat, self.sigma)
    }

    /// Everything `summary(lmer)` reports, ready to print or serialise.
    pub fn summary(&self) -> LmmSummary {
        // t tests on Satterthwaite's degrees of freedom, each coefficient its own.
        let mut table = CoefTable::new(&self.names, &self.beta, &self.std_errors(), Statistic::T(f64::NAN));
        for (row, &df) in table.rows.iter_mut().zip(&self.satterthwaite) {
            row.p_value = if df.is_finite() {
                strata_core::results::t_two_sided(row.statistic, df)
            } else {
                strata_core::results::normal_two_sided(row.statistic)
            };
        }
        LmmSummary {
            model: "lmm",
            formula: self.formula.clone(),
            reml: self.reml,
            coefficients: table.rows,
            random_effects: self.variance_components(),
            sigma: self.sigma,
            log_likelihood: -self.objective / 2.0,
            objective: self.objective,
            aic: self.aic().unwrap_or(f64::NAN),
            bic: self.bic().unwrap_or(f64::NAN),
            n_obs: self.n_obs,
            n_groups: self.random.blocks.iter().map(|b| (b.group.clone(), b.levels.len())).collect(),
            theta: self.theta.clone(),
            variance_partition: self.variance_partition(),
            satterthwaite_df: self.satterthwaite.clone(),
            convergence: self.convergence.clone(),
        }
    }
}

impl FittedModel for LmmFit {
    fn coef(&self) -> &[f64] {
        &self.beta
    }

    fn coef_names(&self) -> &[String] {
        &self.names
    }

    fn vcov(&self) -> &Matrix {
        &self.covariance
    }

    /// The maximised log-likelihood, or for a REML fit the maximised restricted one, as lme4.
    fn log_likelihood(&self) -> Option<f64> {
        Some(-self.objective / 2.0)
    }

    fn nobs(&self) -> usize {
        self.n_obs
    }

    fn n_parameters(&self) -> usize {
        self.beta.len() + self.theta.len() + 1
    }
}

/// The variance components at (θ, σ), in lme4's `as.data.frame(VarCorr(fit))` order.
fn variance_components(random: &RandomEffects, theta: &[f64], sigma: f64) -> Vec<VarianceComponent> {
    let mut out = random.variance_components(theta, sigma * sigma);
    out.push(VarianceComponent {
        group: "Residual".into(),
        term1: None,
        term2: None,
        vcov: sigma * sigma,
        sdcor: sigma,
    });
    out
}

/// The intraclass correlations at (θ, σ).
fn variance_partition(random: &RandomEffects, theta: &[f64], sigma: f64) -> Vec<crate::partition::VariancePartition> {
    crate::partition::partition(&random.intercept_variances(theta, sigma * sigma), sigma * sigma, false)
}

/// Every quantity the bootstrap reports at (β, θ, σ): the fixed effects, the standard
/// deviations and correlations of the random effects and σ (lme4's `.sig01`, …, `.sigma`), and
/// the intraclass correlations.
fn bootstrap_statistics(random: &RandomEffects, beta: &[f64], theta: &[f64], sigma: f64) -> Vec<f64> {
    beta.iter()
        .copied()
        .chain(variance_components(random, theta, sigma).into_iter().map(|c| c.sdcor))
        .chain(variance_partition(random, theta, sigma).into_iter().map(|v| v.share))
        .collect()
}

/// Percentile intervals at `level` of each statistic (named `names`, estimated `estimates`)
/// from the bootstrap `draws` (one vector of statistics per replicate).
pub(crate) fn percentile_intervals(
    names: Vec<String>,
    estimates: &[f64],
    draws: &[Vec<f64>],
    level: f64,
) -> Vec<BootstrapInterval> {
    names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let values = Replicates::new(draws.iter().map(|d| d[k]).collect());
            BootstrapInterval {
                parameter: name,
                estimate: estimates[k],
                std_error: values.std_dev(),
                lower: values.quantile((1.0 - level) / 2.0),
                upper: values.quantile(0.5 + level / 2.0),
            }
        })
        .collect()
}

/// A percentile interval from the parametric bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapInterval {
    /// The parameter: a fixed effect, `sd_TERM|GROUP`, `cor_TERM2.TERM1|GROUP`, `sigma`,
    /// `ICC|GROUP` (linear models), or `VPC|GROUP` and `MOR|GROUP` / `MRR|GROUP` (GLMMs).
    pub parameter: String,
    /// Its estimate.
    pub estimate: f64,
    /// The standard deviation of its bootstrap replicates.
    pub std_error: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

impl VarianceComponent {
    /// Its name on lme4's `confint(..., oldNames = FALSE)` scale: `sd_TERM|GROUP`,
    /// `cor_TERM2.TERM1|GROUP`, or `sigma` for the residual.
    pub fn parameter_name(&self) -> String {
        match (&self.term1, &self.term2) {
            (Some(a), None) => format!("sd_{a}|{}", self.group),
            (Some(a), Some(b)) => format!("cor_{b}.{a}|{}", self.group),
            _ => "sigma".to_string(),
        }
    }
}

/// One variance or covariance of the random effects (or the residual variance).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VarianceComponent {
    /// The grouping factor, or `Residual`.
    pub group: String,
    /// The effect.
    pub term1: Option<String>,
    /// The second effect of a covariance.
    pub term2: Option<String>,
    /// The variance or covariance.
    pub vcov: f64,
    /// The standard deviation, or for a covariance the correlation.
    pub sdcor: f64,
}

/// A conditional mode of one random effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandomEffect {
    /// The grouping factor.
    pub group: String,
    /// The level.
    pub level: String,
    /// The effect.
    pub term: String,
    /// The conditional mode.
    pub value: f64,
    /// Its conditional standard deviation (lme4's `condsd`), when computed.
    pub std_error: Option<f64>,
}

/// What `summary(lmer)` reports, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LmmSummary {
    /// Always `"lmm"`.
    pub model: &'static str,
    /// The formula.
    pub formula: String,
    /// REML (`true`) or ML.
    pub reml: bool,
    /// Fixed effects, with Wald z statistics.
    pub coefficients: Vec<Coefficient>,
    /// Variance components.
    pub random_effects: Vec<VarianceComponent>,
    /// Residual standard deviation.
    pub sigma: f64,
    /// Log-likelihood (restricted for REML).
    pub log_likelihood: f64,
    /// REML criterion or deviance.
    pub objective: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// Observations.
    pub n_obs: usize,
    /// Levels of each grouping factor.
    pub n_groups: Vec<(String, usize)>,
    /// θ.
    pub theta: Vec<f64>,
    /// Intraclass correlations of the random intercepts.
    pub variance_partition: Vec<crate::partition::VariancePartition>,
    /// Satterthwaite's degrees of freedom of the fixed effects' t tests.
    pub satterthwaite_df: Vec<f64>,
    /// How the fit ended.
    pub convergence: Convergence,
}

impl fmt::Display for LmmSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = if self.reml { "REML" } else { "maximum likelihood" };
        writeln!(f, "Linear mixed model fit by {method}: {}", self.formula)?;
        let criterion = if self.reml { "REML criterion" } else { "deviance" };
        writeln!(
            f,
            "{criterion}: {}   AIC: {}   BIC: {}",
            significant(self.objective, 7),
            significant(self.aic, 7),
            significant(self.bic, 7)
        )?;
        writeln!(f, "\nRandom effects:")?;
        writeln!(f, " {:<12} {:<12} {:>12} {:>10} {:>6}", "Groups", "Name", "Variance", "Std.Dev.", "Corr")?;
        for c in &self.random_effects {
            match (&c.term1, &c.term2) {
                (_, Some(term2)) => {
                    writeln!(f, " {:<12} {:<12} {:>12} {:>10} {:>6.2}", c.group, format!("~{term2}"), "", "", c.sdcor)?;
                }
                (term1, None) => writeln!(
                    f,
                    " {:<12} {:<12} {:>12} {:>10}",
                    c.group,
                    term1.as_deref().unwrap_or(""),
                    significant(c.vcov, 5),
                    significant(c.sdcor, 5)
                )?,
            }
        }
        let groups: Vec<String> = self.n_groups.iter().map(|(g, k)| format!("{g}, {k}")).collect();
        writeln!(f, "Number of obs: {}, groups: {}", self.n_obs, groups.join("; "))?;
        for v in &self.variance_partition {
            writeln!(f, "Intraclass correlation, {}: {:.4}", v.group, v.share)?;
        }
        writeln!(f, "\nFixed effects (t tests on Satterthwaite's degrees of freedom):")?;
        writeln!(f, "{}", CoefTable { rows: self.coefficients.clone(), statistic: Statistic::T(f64::NAN) })?;
        let df: Vec<String> =
            self.coefficients.iter().zip(&self.satterthwaite_df).map(|(c, d)| format!("{} {d:.2}", c.term)).collect();
        writeln!(f, "df: {}", df.join(", "))?;
        for warning in &self.convergence.warnings {
            write!(f, "\nWarning: {warning}")?;
        }
        Ok(())
    }
}

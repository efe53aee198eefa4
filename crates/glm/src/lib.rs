//! strata-glm: generalised linear models fitted by iteratively reweighted least squares — the
//! general GLM the deprivation-gradient models, the mixed models, the inequality indices and the
//! fixed-effects panels are built on.
//!
//! The model: $g(\mathrm{E}(y_i)) = \eta_i = x_i^\top \beta + o_i$, with
//! $\operatorname{Var}(y_i) = \phi V(\mu_i) / w_i$ (McCullagh & Nelder 1989). Fisher scoring is
//! IRLS on the working response $z = \eta - o + (y - \mu)/g'^{-1}(\eta)$ with working weights
//! $w\,(d\mu/d\eta)^2 / V(\mu)$; the negative binomial's θ is estimated by alternating the GLM
//! fit with a Newton solve of θ's score equation, as `MASS::glm.nb` (Venables & Ripley 2002).
//!
//! Checked against R's `glm` and `MASS::glm.nb` on the reference cases `glm_birthwt_binomial`,
//! `glm_insurance_poisson`, `glm_quine_negbin` and `real_cla2024_negbin`.

mod arrays;
pub mod error;
mod fit;
mod irls;
mod negative_binomial;
mod predict;
mod profile;
mod response;
mod robust;

pub use arrays::{CheckedArrays, GlmArrays};
pub use fit::{GlmFit, GlmSummary, ResidualKind};
pub use negative_binomial::theta_ml;
pub use predict::{Prediction, PredictionScale};
pub use response::{Response, ResponseData};
pub use robust::RobustKind;
pub use strata_core::results::LrTest;

pub use error::{Error, Result};
use strata_core::family::{Family, Link};
use strata_core::{DataFrame, Formula};

/// Numerical knobs for IRLS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlmControl {
    /// Convergence when `|dev − dev_old| / (|dev| + 0.1)` falls below this (R: 1e-8; tighter here
    /// so that estimates sit closer to the optimum than R's own; IRLS converges quadratically, so
    /// the estimates are then accurate to about 1e-10).
    pub epsilon: f64,
    /// Iteration limit.
    pub max_iterations: usize,
    /// Tolerance for declaring a model-matrix column aliased (R's `qr` tolerance).
    pub alias_tolerance: f64,
}

impl Default for GlmControl {
    fn default() -> Self {
        Self { epsilon: 1e-10, max_iterations: 100, alias_tolerance: 1e-7 }
    }
}

/// The formula-free part of a GLM — family, link, whether the negative binomial's θ is
/// estimated, numerical control — and the engine under every formula: [`GlmEngine::fit`] fits
/// plain arrays (a model matrix, a response, weights, an offset), as R's `glm.fit` does, and
/// [`Glm::fit`] evaluates a formula on a data frame and hands the arrays to it.
///
/// # Examples
/// ```
/// use strata_core::{family::Family, numerics::Matrix, results::FittedModel};
/// use strata_glm::{GlmArrays, GlmEngine};
/// let x = Matrix::from_fn(9, 2, |i, j| if j == 0 { 1.0 } else { (i + 1) as f64 });
/// let y = [2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 15.0];
/// let names = ["(Intercept)".to_string(), "x".to_string()];
/// let fit = GlmEngine::new(Family::Poisson)?.fit(&GlmArrays::new(&x, &y).names(&names))?;
/// assert_eq!(fit.coef_names(), ["(Intercept)", "x"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlmEngine {
    family: Family,
    link: Link,
    estimate_theta: bool,
    control: GlmControl,
}

impl GlmEngine {
    /// A GLM of `family` with its default link.
    ///
    /// # Errors
    /// [`Error::Specification`] for a negative binomial θ that is not a positive number.
    pub fn new(family: Family) -> Result<Self> {
        if let Family::NegativeBinomial { theta } = family {
            if !(theta > 0.0 && theta.is_finite()) {
                return Err(Error::Specification(format!("the negative binomial θ must be positive, not {theta}")));
            }
        }
        Ok(Self { family, link: family.default_link(), estimate_theta: false, control: GlmControl::default() })
    }

    /// A negative binomial GLM whose θ is estimated by maximum likelihood (`MASS::glm.nb`).
    pub fn negative_binomial() -> Self {
        Self {
            family: Family::NegativeBinomial { theta: 1.0 },
            link: Link::Log,
            estimate_theta: true,
            control: GlmControl::default(),
        }
    }

    /// Uses `link` instead of the family's default.
    ///
    /// # Errors
    /// [`Error::Specification`] for a link the family cannot use (e.g. logit for counts).
    pub fn link(mut self, link: Link) -> Result<Self> {
        let allowed = match self.family {
            Family::Binomial => matches!(link, Link::Logit | Link::Probit | Link::Cloglog | Link::Log),
            Family::Gaussian => matches!(link, Link::Identity | Link::Log | Link::Inverse),
            Family::Gamma => matches!(link, Link::Inverse | Link::Log | Link::Identity),
            Family::Poisson | Family::QuasiPoisson | Family::NegativeBinomial { .. } => {
                matches!(link, Link::Log | Link::Identity)
            }
        };
        if !allowed {
            return Err(Error::Specification(format!(
                "the {} family cannot use the {link:?} link",
                self.family.name()
            )));
        }
        self.link = link;
        Ok(self)
    }

    /// Numerical control.
    #[must_use]
    pub fn control(mut self, control: GlmControl) -> Self {
        self.control = control;
        self
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Fits the model to plain arrays. Aliased columns are dropped as R's `glm.fit` drops them;
    /// the null deviance has an intercept when `x` has a column of ones.
    ///
    /// # Errors
    /// Arrays of different lengths, non-finite values, a response outside the family's range,
    /// negative weights, more coefficients than observations, or a fit that diverges.
    pub fn fit(&self, data: &GlmArrays<'_>) -> Result<GlmFit> {
        self.fit_data(&std::sync::Arc::new(irls::GlmData::from_arrays(data, self)?))
    }

    /// Fits the model to prepared data: the one path of both front ends.
    fn fit_data(&self, data: &std::sync::Arc<irls::GlmData>) -> Result<GlmFit> {
        if self.estimate_theta {
            negative_binomial::fit(self, data)
        } else {
            irls::fit_fixed(self, data, self.family, None)
        }
    }
}

/// A GLM specification: formula, family, link, weights and control. Validated before fitting.
///
/// # Examples
/// ```
/// use strata_core::{DataFrame, family::Family, results::FittedModel};
/// use strata_glm::Glm;
/// let frame = DataFrame::new()
///     .with_floats("y", &[2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 15.0])?
///     .with_floats("x", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])?;
/// let fit = Glm::new("y ~ x", Family::Poisson)?.fit(&frame)?;
/// assert_eq!(fit.coef_names(), ["(Intercept)", "x"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Glm {
    formula: Formula,
    weights: Option<String>,
    engine: GlmEngine,
}

impl Glm {
    /// A GLM of `formula` with `family` and its default link.
    ///
    /// # Errors
    /// A formula error, or [`Error::Specification`] for a formula without a response or with
    /// random-effect or survival terms.
    pub fn new(formula: &str, family: Family) -> Result<Self> {
        Self::with_engine(formula, GlmEngine::new(family)?)
    }

    /// A negative binomial GLM whose θ is estimated by maximum likelihood (`MASS::glm.nb`).
    ///
    /// # Errors
    /// As [`Glm::new`].
    pub fn negative_binomial(formula: &str) -> Result<Self> {
        Self::with_engine(formula, GlmEngine::negative_binomial())
    }

    /// A GLM of `formula` fitted by `engine`.
    ///
    /// # Errors
    /// As [`Glm::new`].
    pub fn with_engine(formula: &str, engine: GlmEngine) -> Result<Self> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if formula.response().is_none() {
            return Err(Error::Specification("the formula needs a response on the left of `~`".into()));
        }
        if !terms.random.is_empty() {
            return Err(Error::Specification("random-effect terms need a mixed model (strata glmm)".into()));
        }
        if !terms.specials.is_empty() {
            return Err(Error::Specification("strata() and cluster() belong to survival models".into()));
        }
        Ok(Self { formula, weights: None, engine })
    }

    /// Uses `link` instead of the family's default.
    ///
    /// # Errors
    /// [`Error::Specification`] for a link the family cannot use (e.g. logit for counts).
    pub fn link(mut self, link: Link) -> Result<Self> {
        self.engine = self.engine.link(link)?;
        Ok(self)
    }

    /// Prior weights from column `name`.
    #[must_use]
    pub fn weights(mut self, name: &str) -> Self {
        self.weights = Some(name.to_string());
        self
    }

    /// Numerical control.
    #[must_use]
    pub fn control(mut self, control: GlmControl) -> Self {
        self.engine = self.engine.control(control);
        self
    }

    /// The engine: family, link and control.
    pub fn engine(&self) -> &GlmEngine {
        &self.engine
    }

    /// The formula.
    pub fn formula(&self) -> &Formula {
        &self.formula
    }

    /// Fits the model to `frame`.
    ///
    /// # Errors
    /// Unknown or non-numeric columns, NaN, an impossible response, no complete rows, more
    /// coefficients than observations, or a fit that diverges beyond rescue.
    pub fn fit(&self, frame: &DataFrame) -> Result<GlmFit> {
        self.engine.fit_data(&std::sync::Arc::new(irls::GlmData::new(self, frame)?))
    }

    /// As [`Glm::fit`], taking the frame: its columns are released once the response and model
    /// frame are built, so a fit to ten million rows peaks at the model's memory rather than
    /// the model's and the frame's (the command line fits this way).
    ///
    /// # Errors
    /// As [`Glm::fit`].
    pub fn fit_owned(&self, frame: DataFrame) -> Result<GlmFit> {
        let response = irls::GlmData::response(self, &frame)?;
        // The model frame shares the columns it uses whole; the rest go now.
        drop(frame);
        self.engine.fit_data(&std::sync::Arc::new(irls::GlmData::from_response(self, response)?))
    }
}

//! Generalised linear mixed models: binomial, Poisson and negative binomial responses with
//! random effects.
//!
//! The model: $g(\mu) = X\beta + Z\Lambda_\theta u + o$, $u \sim N(0, I)$, with $y$ from the
//! family given $u$. The likelihood $\int p(y\mid u)\varphi(u)\,du$ is approximated by Laplace's
//! method at the conditional mode $\tilde u$, found by penalised IRLS (PIRLS):
//! $-2\ell \approx -2\log p(y\mid\tilde u) + \|\tilde u\|^2 + \log|L_\theta|^2$ with
//! $L_\theta L_\theta^\top = \Lambda^\top Z^\top W Z\Lambda + I$ at the mode; or, for a single
//! scalar random effect, by adaptive Gauss–Hermite quadrature centred on each group's mode with
//! its Laplace scale (Pinheiro & Bates 1995; Bates et al. 2015). As lme4, θ is first optimised
//! with β profiled inside PIRLS, then θ and β together; the covariance of β̂ is twice the
//! inverse of the finite-difference Hessian of the deviance in (θ, β).
//!
//! Negative binomial GLMMs with the shape estimated (lme4's `glmer.nb`): for each shape φ the
//! model is fitted as above with $\mathrm{Var}(y\mid u) = \mu + \mu^2/\varphi$, and
//! $\hat\varphi$ minimises the resulting $-2\ell(\varphi)$ — the full likelihood, whose
//! normalising constants depend on φ — by Brent's method on $\log\varphi$, starting from
//! the maximum-likelihood φ given a Poisson GLMM's conditional means.
//!
//! Checked against `lme4::glmer` on `glmm_cbpp_laplace`, `glmm_cbpp_agq25` and
//! `glmm_grouseticks_poisson`.

use crate::error::{check_design, Error, Result};
use crate::predict::Predictor;
use crate::random_effects::RandomEffects;
use serde::{Deserialize, Serialize};
use strata_core::design::ModelMatrix;
use strata_core::family::{Family, Link};
use strata_core::{DataFrame, Formula};
use strata_glm::ResponseData;

mod arrays;
mod engine;
mod fit;
mod laplace;
mod summary;

pub use crate::lmm::{RandomEffect, VarianceComponent};
pub use arrays::GlmmArrays;
pub use engine::GlmmEngine;
use engine::{GlmmData, Prepared};
pub use fit::GlmmFit;
pub use summary::GlmmSummary;

/// A generalised linear mixed model specification: a formula and prior weights over a
/// [`GlmmEngine`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralizedLinearMixedModel {
    formula: Formula,
    weights: Option<String>,
    engine: GlmmEngine,
}

impl GeneralizedLinearMixedModel {
    /// A binomial, Poisson or negative binomial (with the shape given) GLMM with the family's
    /// canonical link and the Laplace approximation.
    ///
    /// # Errors
    /// A formula error; [`Error::Specification`] for other families or a formula without
    /// random effects.
    pub fn new(formula: &str, family: Family) -> Result<Self> {
        let formula = Self::parse(formula)?;
        Ok(Self { formula, weights: None, engine: GlmmEngine::new(family)? })
    }

    /// A negative binomial GLMM with log link whose shape is estimated by maximum likelihood,
    /// as lme4's `glmer.nb`.
    ///
    /// # Errors
    /// As [`GeneralizedLinearMixedModel::new`].
    pub fn negative_binomial(formula: &str) -> Result<Self> {
        Ok(Self { formula: Self::parse(formula)?, weights: None, engine: GlmmEngine::negative_binomial() })
    }

    fn parse(formula: &str) -> Result<Formula> {
        let formula = Formula::parse(formula).map_err(strata_core::Error::from)?;
        let terms = formula.terms().map_err(strata_core::Error::from)?;
        if terms.random.is_empty() {
            return Err(Error::Specification(
                "no random-effect term: add one such as (1 | group), or fit a GLM".into(),
            ));
        }
        Ok(formula)
    }

    /// The number of adaptive Gauss–Hermite points (1: Laplace). More than one needs a single
    /// scalar random effect.
    ///
    /// # Errors
    /// [`Error::Specification`] for zero points or more than one random term.
    pub fn nagq(mut self, points: usize) -> Result<Self> {
        let terms = self.formula.terms().map_err(strata_core::Error::from)?;
        if points > 1 && (terms.random.len() != 1 || !terms.random[0].terms.terms.is_empty()) {
            return Err(engine::one_scalar_term());
        }
        self.engine = self.engine.nagq(points)?;
        Ok(self)
    }

    /// Another link (probit or cloglog for the binomial).
    #[must_use]
    pub fn link(mut self, link: Link) -> Self {
        self.engine = self.engine.link(link);
        self
    }

    /// Prior weights from a column.
    #[must_use]
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// Fits the model.
    ///
    /// # Examples
    /// ```
    /// use strata_core::family::Family;
    /// use strata_core::results::FittedModel;
    /// use strata_core::DataFrame;
    /// use strata_multilevel::GeneralizedLinearMixedModel;
    /// // Referrals in eight authorities, five years each, rising with a deprivation score.
    /// let la: Vec<String> = (0..40).map(|i| format!("la{}", i / 5)).collect();
    /// let score: Vec<f64> = (0..40).map(|i| f64::from(i % 5)).collect();
    /// let level = [3.0, 5.0, 2.0, 8.0, 4.0, 6.0, 3.0, 7.0];
    /// let referrals: Vec<f64> = (0..40).map(|i| level[i / 5] + 2.0 * score[i] + f64::from((i * 7 % 3) as u8)).collect();
    /// let frame = DataFrame::new().with_levels("la", &la)?.with_floats("score", &score)?.with_floats("referrals", &referrals)?;
    /// let fit = GeneralizedLinearMixedModel::new("referrals ~ score + (1 | la)", Family::Poisson)?.fit(&frame)?;
    /// assert!(fit.coef()[1] > 0.0);
    /// assert_eq!(fit.nobs(), 40);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Data and formula errors, an impossible response, a rank-deficient design, or a fit that
    /// fails numerically.
    pub fn fit(&self, frame: &DataFrame) -> Result<GlmmFit> {
        self.engine.fit_prepared(self.prepare(frame)?)
    }

    /// The response, fixed-effects design and random effects on the complete rows.
    fn prepare(&self, frame: &DataFrame) -> Result<Prepared> {
        let data = ResponseData::new(&self.formula, self.engine.family, self.weights.as_deref(), frame)?;
        let response = self.formula.response().map(ToString::to_string).unwrap_or_default();
        crate::error::check_response_varies(&response, &data.y)?;
        let design = ModelMatrix::new(&data.terms, &data.model_frame)?;
        check_design(&design.matrix, &design.names, 0)?;
        let random = RandomEffects::new(&data.terms, &data.model_frame)?;
        Ok(Prepared {
            rows: data.model_frame.rows().to_vec(),
            predictor: Some(Predictor::new(&self.formula, &data.terms, &data.model_frame)),
            formula: self.formula.text().to_string(),
            data: GlmmData { y: data.y, weights: data.weights, trials: data.trials, offset: data.offset },
            design,
            random,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::laplace::Problem;
    use super::*;
    use strata_core::csv::{read_csv, CsvOptions};
    use strata_core::random::Rng;
    use strata_core::results::FittedModel;

    fn cbpp() -> DataFrame {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/glmm_cbpp_laplace/data.csv");
        read_csv(path, &CsvOptions::default()).unwrap()
    }

    /// The Laplace deviance equals an independent computation in R that, for each herd,
    /// minimises −2 Σ log dbinom(y | plogis(xβ + θu)) + u² with `optimize()` (tolerance 1e-12)
    /// and adds log(1 + θ² Σ size·μ(1 − μ)): 184.052571218033, 184.63560760685 and
    /// 184.295343269746 at these three points.
    #[test]
    fn laplace_matches_an_independent_computation() {
        let model = GeneralizedLinearMixedModel::new(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            Family::Binomial,
        )
        .unwrap();
        let frame = cbpp();
        let prepared = model.prepare(&frame).unwrap();
        let (data, design, random, _) = engine::group(&prepared.data, prepared.design, &prepared.random);
        let problem = Problem::new(model.engine.family, model.engine.link, &design.matrix, &data, &random);
        let laplace = (vec![0.0], vec![1.0]);
        let points: [([f64; 1], [f64; 4], f64); 3] = [
            (
                [0.642_261_389_354_629_5],
                [-1.398_342_863_274, -0.991_924_976_035, -1.128_216_216_971, -1.579_745_414_859],
                184.052_571_218_033,
            ),
            ([0.7], [-1.3, -0.9, -1.1, -1.5], 184.635_607_606_85),
            (
                [0.642_261_389_354_629_5],
                [-1.298_342_863_274, -0.991_924_976_035, -1.128_216_216_971, -1.579_745_414_859],
                184.295_343_269_746,
            ),
        ];
        for (theta, beta, expected) in points {
            let value = problem.deviance(&theta, &beta, &laplace).unwrap();
            // optimize() places each herd's mode to about 1e-8, which moves log|L|² by as much.
            assert!((value - expected).abs() < 1e-7, "{value} vs {expected}");
        }
    }

    fn grouseticks() -> DataFrame {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/reference/glmm_grouseticks_poisson/data.csv");
        read_csv(path, &CsvOptions::default()).unwrap()
    }

    const TICKS: &str = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)";

    /// The negative binomial Laplace deviance equals an independent computation in R on the
    /// crossed grouseticks model: the mode of −2 Σ log dnbinom(y | size = φ, μ) + ‖u‖² by
    /// `optim(method = "BFGS", reltol = 1e-15)` over all 181 effects, plus log det(ΛZᵀWZΛ + I)
    /// with Fisher weights μ²/V(μ): 1777.68103584 at this point. (lme4's own deviance function
    /// gives 1777.68423 there: its inner iterations stop early, as on cbpp.)
    #[test]
    fn negative_binomial_laplace_matches_an_independent_computation() {
        let shape = 3.303_394_979_018_294;
        let model = GeneralizedLinearMixedModel::new(TICKS, Family::NegativeBinomial { theta: shape }).unwrap();
        let prepared = model.prepare(&grouseticks()).unwrap();
        let (data, design, random, _) = engine::group(&prepared.data, prepared.design, &prepared.random);
        let problem = Problem::new(model.engine.family, model.engine.link, &design.matrix, &data, &random);
        let theta = [0.707_925_822_068_576, 0.578_091_946_945_920_4];
        let beta =
            [0.488_432_845_869_532_1, 1.162_765_875_248_449_3, -0.979_604_459_579_428, -0.023_582_437_495_375_11];
        let value = problem.deviance(&theta, &beta, &(vec![0.0], vec![1.0])).unwrap();
        assert!((value - 1_777.681_035_84).abs() < 1e-6, "{value}");
    }

    /// Neighbourhoods (1,500) crossed with nearby schools (1,100), solved sparse: the Laplace
    /// deviance at θ = (0.6, 0.4), β = (−0.2, 0.3) equals an independent computation in R (the
    /// same data from the same integer recurrence; Newton steps for the mode with the Matrix
    /// package to 1e-13, then −2 Σ log dbinom + ‖u‖² + log det(ΛZᵀWZΛ + I)): 8319.36110846944.
    /// (glmer's own deviance function differs from this by a few hundredths on such designs:
    /// its log-determinant is not taken at the converged mode's weights.)
    #[test]
    fn crossed_laplace_with_many_levels_matches_an_independent_computation() {
        let (frame, signal, uniform) = crate::pls::testing::neighbourhoods_and_schools(6_000);
        let y: Vec<f64> =
            signal.iter().zip(&uniform).map(|(s, u)| f64::from(u8::from(*u < 1.0 / (1.0 + (0.2 - s).exp())))).collect();
        assert_eq!(y.iter().sum::<f64>(), 2_840.0, "R's data");
        let frame = frame.with_floats("y", &y).unwrap();
        let model = GeneralizedLinearMixedModel::new("y ~ x + (1 | a) + (1 | b)", Family::Binomial).unwrap();
        let prepared = model.prepare(&frame).unwrap();
        assert!(matches!(prepared.random.layout, crate::random_effects::Layout::Sparse(_)));
        let (data, design, random, _) = engine::group(&prepared.data, prepared.design, &prepared.random);
        let problem = Problem::new(model.engine.family, model.engine.link, &design.matrix, &data, &random);
        let value = problem.deviance(&[0.6, 0.4], &[-0.2, 0.3], &(vec![0.0], vec![1.0])).unwrap();
        assert!((value - 8_319.361_108_469_44).abs() < 1e-7, "{value}");
    }

    /// `glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION))` (lme4 1.1): shape
    /// 3.30339470796, −2 log L 1777.68140036 (with convergence warnings; strata's optimum is
    /// 4e-4 lower), fixed effects 0.48848, 1.16271, −0.97961, −0.023582, θ 0.70794, 0.57802.
    #[test]
    fn the_negative_binomial_shape_is_estimated_as_glmer_nb() {
        let fit = GeneralizedLinearMixedModel::negative_binomial(TICKS).unwrap().fit(&grouseticks()).unwrap();
        let summary = fit.summary();
        let shape = summary.negbin_shape.unwrap();
        assert!((shape / 3.303_394_707_96 - 1.0).abs() < 1e-4, "{shape}");
        assert!(fit.objective() <= 1_777.681_400_36 + 1e-6, "{}", fit.objective());
        let lme4 = [0.488_476_289_414_3, 1.162_710_125_173_7, -0.979_614_482_497_9, -0.023_582_060_448_3];
        for (ours, theirs) in fit.coef().iter().zip(lme4) {
            assert!((ours - theirs).abs() < 2e-3, "{ours} vs {theirs}");
        }
        for (ours, theirs) in fit.theta().iter().zip([0.707_944_334_779, 0.578_015_993_978]) {
            assert!((ours - theirs).abs() < 5e-3, "{ours} vs {theirs}");
        }
        // The shape counts as a parameter: lme4's AIC 1791.68140036 has df = 7.
        assert!((summary.aic - (fit.objective() + 14.0)).abs() < 1e-9);
        assert!(GeneralizedLinearMixedModel::new(TICKS, Family::NegativeBinomial { theta: -1.0 }).is_err());
    }

    /// The GLMM bootstrap on cbpp: replicate standard deviations of the fixed effects near
    /// their Wald standard errors (lme4: 0.231, 0.303, 0.323, 0.429) within Monte Carlo error,
    /// intervals for the VPC and median odds ratio, and a seed reproduces the draws.
    #[test]
    fn the_glmm_bootstrap_agrees_with_the_wald_errors() {
        let model = GeneralizedLinearMixedModel::new(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            Family::Binomial,
        )
        .unwrap();
        let fit = model.fit(&cbpp()).unwrap();
        let draws = fit.parametric_bootstrap(200, 0.95, &mut Rng::new(3)).unwrap();
        for (interval, wald) in draws.iter().zip(fit.std_errors()) {
            assert!((interval.std_error / wald - 1.0).abs() < 0.2, "{interval:?} vs Wald {wald}");
            assert!(interval.lower < interval.estimate && interval.estimate < interval.upper);
        }
        let names: Vec<&str> = draws.iter().map(|d| d.parameter.as_str()).collect();
        assert_eq!(&names[4..], ["sd_(Intercept)|herd", "VPC|herd", "MOR|herd"]);
        assert_eq!(
            fit.parametric_bootstrap(3, 0.95, &mut Rng::new(9)).unwrap(),
            fit.parametric_bootstrap(3, 0.95, &mut Rng::new(9)).unwrap()
        );
        // Poisson responses are simulated and refitted too.
        let poisson = GeneralizedLinearMixedModel::new(TICKS, Family::Poisson).unwrap().fit(&grouseticks()).unwrap();
        let draws = poisson.parametric_bootstrap(10, 0.9, &mut Rng::new(1)).unwrap();
        assert!(draws.iter().any(|d| d.parameter == "MRR|BROOD") && draws.iter().all(|d| d.std_error.is_finite()));
    }

    /// Modes forecast around a centre are right to second order in the shifts: a smooth u(x)
    /// recorded at the centre and at one side of each parameter predicts the other sides, the
    /// stencil's diagonal pairs and a short step within h² (the last point's mode, the start
    /// without a forecast, is h away).
    #[test]
    fn modes_are_forecast_to_second_order() {
        let mode = |x: &[f64]| -> Vec<f64> {
            (1..=5).map(|k| (f64::from(k) * x[0]).sin() + x[1] * x[1] + x[0] * x[1] * f64::from(k)).collect()
        };
        let centre = [0.4, -0.7];
        let h = 1e-3;
        let mut forecast = super::laplace::ModeForecast::new(&centre);
        let at = |shift: [f64; 2]| [centre[0] + shift[0], centre[1] + shift[1]];
        assert!(forecast.predict(&at([h, 0.0])).is_none(), "nothing recorded");
        forecast.record(&centre, &mode(&centre));
        for shift in [[h, 0.0], [0.0, h]] {
            forecast.record(&at(shift), &mode(&at(shift)));
        }
        assert!(forecast.predict(&centre).is_none(), "the centre is not forecast");
        for shift in [[-h, 0.0], [0.0, -h], [h, h], [-h, -h], [0.3 * h, -0.2 * h]] {
            let x = at(shift);
            let error =
                forecast.predict(&x).unwrap().iter().zip(mode(&x)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(error < 30.0 * h * h, "{shift:?}: {error}");
        }
    }

    /// The optimum finished by a Newton step on the finite-difference derivatives is BOBYQA's
    /// to 2e-7, on cbpp (one term, four fixed effects, Laplace and 25 quadrature points) and on
    /// grouseticks (two crossed terms, Poisson): the deviance no higher, θ and β the same, and
    /// the Hessian kept for the standard errors that at BOBYQA's optimum.
    #[test]
    fn a_newton_step_finishes_at_the_bobyqa_optimum() {
        let herd = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
        let cases = [(herd, Family::Binomial, 1, cbpp()), (herd, Family::Binomial, 25, cbpp())].into_iter().chain([(
            TICKS,
            Family::Poisson,
            1,
            grouseticks(),
        )]);
        for (formula, family, nagq, frame) in cases {
            let model = GeneralizedLinearMixedModel::new(formula, family).unwrap().nagq(nagq).unwrap();
            let prepared = model.prepare(&frame).unwrap();
            let (data, design, random, _) = engine::group(&prepared.data, prepared.design, &prepared.random);
            let problem = Problem::new(family, model.engine.link, &design.matrix, &data, &random);
            let quadrature = crate::quadrature::gauss_hermite(nagq).unwrap();
            let (theta, beta, objective, _) = model.engine.estimate(&problem, &quadrature, None).unwrap();
            let (newton, value, convergence, hessian) =
                model.engine.estimate_with_hessian(&problem, &quadrature, None).unwrap();
            assert!(convergence.message.contains("Newton"), "{formula} {nagq}: {}", convergence.message);
            assert!(value <= objective + 1e-9 * objective.abs(), "{formula} {nagq}: {value} vs {objective}");
            for (a, b) in newton.iter().zip(theta.iter().chain(&beta)) {
                assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{formula} {nagq}: {newton:?} vs {theta:?} {beta:?}");
            }
            let n_theta = theta.len();
            let deviance = |x: &[f64]| problem.deviance(&x[..n_theta], &x[n_theta..], &quadrature).ok();
            let parameters: Vec<f64> = theta.iter().chain(&beta).copied().collect();
            let at_bobyqa = strata_core::numerics::finite_difference_hessian(&deviance, &parameters, 1e-3).unwrap();
            let hessian = hessian.unwrap();
            for (a, b) in hessian.as_slice().iter().zip(at_bobyqa.as_slice()) {
                assert!((a - b).abs() < 1e-3 * (1.0 + b.abs()), "{formula} {nagq}: {a} vs {b}");
            }
        }
    }

    /// A logistic model whose groups are copies of one another: θ at its bound of zero (where
    /// the deviance, even in θ, is smooth across the bound), the fit the same as BOBYQA's alone.
    #[test]
    fn at_a_bound_the_fit_is_bobyqas() {
        let mut rng = Rng::new(11);
        let pattern: Vec<f64> = (0..20).map(|_| f64::from(u8::from(rng.uniform() < 0.3))).collect();
        let y: Vec<f64> = (0..400).map(|i| pattern[i / 20]).collect();
        let x: Vec<f64> = (0..400).map(|i| f64::from(u8::try_from(i / 20 % 7).unwrap()) / 7.0).collect();
        let g: Vec<String> = (0..400).map(|i| format!("g{}", i % 20)).collect();
        let frame =
            DataFrame::new().with_floats("y", &y).unwrap().with_floats("x", &x).unwrap().with_levels("g", &g).unwrap();
        let model = GeneralizedLinearMixedModel::new("y ~ x + (1 | g)", Family::Binomial).unwrap();
        let fit = model.fit(&frame).unwrap();
        assert!(fit.theta()[0] < 1e-3, "{:?}", fit.theta());
        let prepared = model.prepare(&frame).unwrap();
        let (data, design, random, _) = engine::group(&prepared.data, prepared.design, &prepared.random);
        let problem = Problem::new(Family::Binomial, model.engine.link, &design.matrix, &data, &random);
        let (_, _, objective, _) = model.engine.estimate(&problem, &(vec![0.0], vec![1.0]), None).unwrap();
        assert!((fit.objective() - objective).abs() < 1e-9 * objective, "{} vs {objective}", fit.objective());
        assert!(fit.std_errors().iter().all(|s| s.is_finite() && *s > 0.0));
    }

    #[test]
    fn quadrature_needs_one_scalar_random_effect() {
        let model = GeneralizedLinearMixedModel::new("y ~ x + (1 | g) + (1 | h)", Family::Poisson).unwrap();
        assert!(model.nagq(5).is_err());
        let error = GeneralizedLinearMixedModel::new("y ~ x", Family::Poisson).unwrap_err();
        assert!(error.to_string().contains("no random-effect term"), "{error}");
    }
}

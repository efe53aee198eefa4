//! The matrix-level engines and the formula front ends are one path: fitting the arrays a
//! formula stands for gives the formula's fit to the last bit that matters (1e-12).

use strata_core::family::Family;
use strata_core::numerics::Matrix;
use strata_core::random::Rng;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_glm::{GlmArrays, PredictionScale};
use strata_multilevel::glmm::{GlmmArrays, GlmmEngine};
use strata_multilevel::lmm::{GroupingTerm, LmmArrays, LmmEngine};
use strata_multilevel::{GeneralizedLinearMixedModel, GlmmFit, LinearMixedModel, LmmFit};

const N: usize = 240;

/// Children (rows) in twelve authorities crossed with eight years, a covariate whose slope
/// varies by authority, and prior weights.
struct Data {
    y: Vec<f64>,
    x: Vec<f64>,
    w: Vec<f64>,
    la: Vec<u32>,
    year: Vec<u32>,
}

fn data() -> Data {
    let mut rng = Rng::new(17);
    let la_effect: Vec<(f64, f64)> = (0..12).map(|_| (rng.normal(), 0.4 * rng.normal())).collect();
    let year_effect: Vec<f64> = (0..8).map(|_| 0.5 * rng.normal()).collect();
    let (mut y, mut x, mut w, mut la, mut year) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..N {
        let (g, t) = ((i * 7) % 12, (i * 5) % 8);
        let xi = rng.normal();
        let (a, b) = la_effect[g];
        y.push(2.0 + a + (0.5 + b) * xi + year_effect[t] + rng.normal());
        x.push(xi);
        w.push(0.5 + (i % 4) as f64 / 2.0);
        la.push(g as u32);
        year.push(t as u32);
    }
    Data { y, x, w, la, year }
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{what}: {a} vs {b}");
}

/// The coefficients and their standard errors, θ and the deviance of two fits.
fn same_estimates<F: FittedModel>(a: &F, b: &F, theta: fn(&F) -> &[f64], objective: fn(&F) -> f64) {
    assert_eq!(a.coef_names(), b.coef_names());
    for (u, v) in a.coef().iter().zip(b.coef()) {
        close(*u, *v, "coefficient");
    }
    for (u, v) in a.std_errors().iter().zip(&b.std_errors()) {
        close(*u, *v, "standard error");
    }
    for (u, v) in theta(a).iter().zip(theta(b)) {
        close(*u, *v, "theta");
    }
    close(objective(a), objective(b), "objective");
}

fn same(a: &LmmFit, b: &LmmFit) {
    same_estimates(a, b, LmmFit::theta, LmmFit::objective);
    close(a.sigma(), b.sigma(), "sigma");
    let (ra, rb) = (a.ranef(), b.ranef());
    assert_eq!(ra.len(), rb.len());
    for (u, v) in ra.iter().zip(&rb) {
        assert_eq!((&u.group, &u.term), (&v.group, &v.term));
        close(u.value, v.value, "random effect");
    }
}

#[test]
fn arrays_give_the_formula_fit_with_slopes_crossed_terms_and_weights() {
    let d = data();
    let label =
        |prefix: &str, codes: &[u32]| -> Vec<String> { codes.iter().map(|c| format!("{prefix}{c:02}")).collect() };
    let frame = DataFrame::new()
        .with_floats("y", &d.y)
        .and_then(|f| f.with_floats("x", &d.x))
        .and_then(|f| f.with_floats("w", &d.w))
        .and_then(|f| f.with_levels("la", &label("la", &d.la)))
        .and_then(|f| f.with_levels("year", &label("y", &d.year)))
        .unwrap();
    let x = Matrix::from_fn(N, 2, |i, j| if j == 0 { 1.0 } else { d.x[i] });
    let names = ["(Intercept)", "x"].map(String::from);
    let la_levels: Vec<String> = (0..12).map(|c| format!("la{c:02}")).collect();
    let year_levels: Vec<String> = (0..8).map(|c| format!("y{c:02}")).collect();
    let slopes = GroupingTerm::intercept("la", &d.la).effects(&x, Some(&names)).levels(&la_levels);
    let intercepts = GroupingTerm::intercept("year", &d.year).levels(&year_levels);

    for reml in [true, false] {
        let model = LinearMixedModel::new("y ~ x + (1 + x | la) + (1 | year)").unwrap().reml(reml);
        let formula = model.clone().weights("w").fit(&frame).unwrap();
        let engine = if reml { LmmEngine::reml() } else { LmmEngine::ml() };
        let arrays = LmmArrays::new(&x, &d.y, vec![slopes, intercepts]).names(&names).weights(&d.w);
        same(&formula, &engine.fit(&arrays).unwrap());
        // Without weights, and the terms in the other order (lme4 orders them by their levels).
        let formula = model.fit(&frame).unwrap();
        let arrays = LmmArrays::new(&x, &d.y, vec![intercepts, slopes]).names(&names);
        same(&formula, &engine.fit(&arrays).unwrap());
    }
}

#[test]
fn bad_arrays_are_named_errors() {
    let d = data();
    let x = Matrix::from_fn(N, 2, |i, j| if j == 0 { 1.0 } else { d.x[i] });
    let term = GroupingTerm::intercept("la", &d.la);
    let engine = LmmEngine::reml();
    let error = |arrays: LmmArrays<'_>| engine.fit(&arrays).unwrap_err().to_string();
    assert!(error(LmmArrays::new(&x, &d.y[1..], vec![term])).contains("y has 239 values for the 240 rows"));
    assert!(error(LmmArrays::new(&x, &d.y, vec![])).contains("random-effect term"));
    let short = GroupingTerm::intercept("la", &d.la[1..]);
    assert!(error(LmmArrays::new(&x, &d.y, vec![short])).contains("grouping factor `la`: 239 codes"));
    let one_level = vec![0u32; N];
    let message = error(LmmArrays::new(&x, &d.y, vec![GroupingTerm::intercept("la", &one_level)]));
    assert!(message.contains("one level"), "{message}");
    let constant = vec![1.5; N];
    assert!(error(LmmArrays::new(&x, &constant, vec![term])).contains("every row used"));
    let mut nan = d.y.clone();
    nan[3] = f64::NAN;
    assert!(error(LmmArrays::new(&x, &nan, vec![term])).contains("row 4"));
    let twice = Matrix::from_fn(N, 3, |i, j| if j == 0 { 1.0 } else { d.x[i] });
    assert!(error(LmmArrays::new(&twice, &d.y, vec![term])).contains("linearly dependent"));
    let negative = vec![-1.0; N];
    assert!(error(LmmArrays::new(&x, &d.y, vec![term]).weights(&negative)).contains("weights must be positive"));
    // Codes no observation has are dropped, as R drops unused levels.
    let sparse: Vec<u32> = d.la.iter().map(|c| c * 3).collect();
    let dense = engine.fit(&LmmArrays::new(&x, &d.y, vec![term])).unwrap();
    let spread = engine.fit(&LmmArrays::new(&x, &d.y, vec![GroupingTerm::intercept("la", &sparse)])).unwrap();
    same(&dense, &spread);
    // A fit from arrays has no formula to predict new data with.
    assert!(dense.predict(&DataFrame::new()).unwrap_err().to_string().contains("arrays"));
}

fn same_glmm(a: &GlmmFit, b: &GlmmFit) {
    same_estimates(a, b, GlmmFit::theta, GlmmFit::objective);
    for (u, v) in a.fitted().iter().zip(&b.fitted()) {
        close(*u, *v, "fitted value");
    }
}

#[test]
fn glmm_arrays_give_the_formula_fit_for_every_family() {
    let d = data();
    let label =
        |prefix: &str, codes: &[u32]| -> Vec<String> { codes.iter().map(|c| format!("{prefix}{c:02}")).collect() };
    let count: Vec<f64> = d.y.iter().map(|v| (v.abs() * 2.0).floor()).collect();
    let trials: Vec<f64> = (0..N).map(|i| 4.0 + (i % 3) as f64).collect();
    let successes: Vec<f64> = d.y.iter().zip(&trials).map(|(v, t)| (t * (v.tanh() + 1.0) / 2.0).round()).collect();
    let failures: Vec<f64> = successes.iter().zip(&trials).map(|(s, t)| t - s).collect();
    let proportion: Vec<f64> = successes.iter().zip(&trials).map(|(s, t)| s / t).collect();
    let exposure: Vec<f64> = (0..N).map(|i| 1.0 + (i % 5) as f64 / 4.0).collect();
    let log_exposure: Vec<f64> = exposure.iter().map(|e| e.ln()).collect();
    let frame = DataFrame::new()
        .with_floats("count", &count)
        .and_then(|f| f.with_floats("s", &successes))
        .and_then(|f| f.with_floats("f", &failures))
        .and_then(|f| f.with_floats("exposure", &exposure))
        .and_then(|f| f.with_floats("x", &d.x))
        .and_then(|f| f.with_levels("la", &label("la", &d.la)))
        .and_then(|f| f.with_levels("year", &label("y", &d.year)))
        .unwrap();
    let x = Matrix::from_fn(N, 2, |i, j| if j == 0 { 1.0 } else { d.x[i] });
    let names = ["(Intercept)", "x"].map(String::from);
    let la = GroupingTerm::intercept("la", &d.la);
    let year = GroupingTerm::intercept("year", &d.year);

    let formula = GeneralizedLinearMixedModel::new("cbind(s, f) ~ x + (1 | la) + (1 | year)", Family::Binomial)
        .unwrap()
        .fit(&frame)
        .unwrap();
    let arrays = GlmmArrays::new(GlmArrays::new(&x, &proportion).names(&names).trials(&trials), vec![la, year]);
    same_glmm(&formula, &GlmmEngine::new(Family::Binomial).unwrap().fit(&arrays).unwrap());

    let formula = GeneralizedLinearMixedModel::new("count ~ x + offset(log(exposure)) + (1 | la)", Family::Poisson)
        .unwrap()
        .nagq(7)
        .unwrap()
        .fit(&frame)
        .unwrap();
    let arrays = GlmmArrays::new(GlmArrays::new(&x, &count).names(&names).offset(&log_exposure), vec![la]);
    let engine = GlmmEngine::new(Family::Poisson).unwrap().nagq(7).unwrap();
    same_glmm(&formula, &engine.fit(&arrays).unwrap());
    // Quadrature needs one scalar random effect, whichever way the model comes.
    let two = GlmmArrays::new(GlmArrays::new(&x, &count), vec![la, year]);
    assert!(engine.fit(&two).unwrap_err().to_string().contains("single scalar random effect"));

    let formula = GeneralizedLinearMixedModel::negative_binomial("count ~ x + (1 | la)").unwrap().fit(&frame).unwrap();
    let arrays = GlmmArrays::new(GlmArrays::new(&x, &count).names(&names), vec![la]);
    same_glmm(&formula, &GlmmEngine::negative_binomial().fit(&arrays).unwrap());
}

#[test]
fn bad_glmm_arrays_are_named_errors() {
    let d = data();
    let x = Matrix::from_fn(N, 2, |i, j| if j == 0 { 1.0 } else { d.x[i] });
    let count: Vec<f64> = d.y.iter().map(|v| (v.abs() * 2.0).floor()).collect();
    let la = GroupingTerm::intercept("la", &d.la);
    let poisson = GlmmEngine::new(Family::Poisson).unwrap();
    let error = |engine: &GlmmEngine, arrays: GlmmArrays<'_>| engine.fit(&arrays).unwrap_err().to_string();
    let negative: Vec<f64> = count.iter().map(|c| c - 1.0).collect();
    assert!(error(&poisson, GlmmArrays::new(GlmArrays::new(&x, &negative), vec![la])).contains("row"));
    assert!(error(&poisson, GlmmArrays::new(GlmArrays::new(&x, &count).trials(&count), vec![la])).contains("binomial"));
    assert!(error(&poisson, GlmmArrays::new(GlmArrays::new(&x, &count[1..]), vec![la])).contains("239 values"));
    assert!(error(&poisson, GlmmArrays::new(GlmArrays::new(&x, &count), vec![])).contains("random-effect term"));
    assert!(GlmmEngine::new(Family::Gaussian).is_err());
    assert!(poisson.clone().nagq(0).is_err());
    let fit = poisson.fit(&GlmmArrays::new(GlmArrays::new(&x, &count), vec![la])).unwrap();
    assert!(fit.predict(&DataFrame::new(), PredictionScale::Link).unwrap_err().to_string().contains("arrays"));
}

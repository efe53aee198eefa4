//! The matrix-level engines and the formula front ends are one path: fitting the arrays a
//! formula stands for gives the formula's fit to the last bit that matters (1e-12).

use strata_core::numerics::Matrix;
use strata_core::random::Rng;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_multilevel::lmm::{GroupingTerm, LmmArrays, LmmEngine};
use strata_multilevel::{LinearMixedModel, LmmFit};

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

fn same(a: &LmmFit, b: &LmmFit) {
    assert_eq!(a.coef_names(), b.coef_names());
    for (u, v) in a.coef().iter().zip(b.coef()) {
        close(*u, *v, "coefficient");
    }
    for (u, v) in a.std_errors().iter().zip(&b.std_errors()) {
        close(*u, *v, "standard error");
    }
    for (u, v) in a.theta().iter().zip(b.theta()) {
        close(*u, *v, "theta");
    }
    close(a.sigma(), b.sigma(), "sigma");
    close(a.objective(), b.objective(), "objective");
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

//! The matrix-level engine and the formula front end are one path: fitting the arrays a formula
//! stands for gives the formula's fit to the last bit that matters (1e-12), for every family.

use strata_core::family::{Family, Link};
use strata_core::numerics::Matrix;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_glm::{Glm, GlmArrays, GlmEngine, GlmFit, PredictionScale};

const N: usize = 60;

fn covariates() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..N).map(|i| ((i * 7) % 13) as f64 / 4.0 - 1.0).collect();
    let z: Vec<f64> = (0..N).map(|i| ((i * 5) % 11) as f64 / 5.0).collect();
    (x, z)
}

fn design() -> (Matrix, Vec<String>) {
    let (x, z) = covariates();
    let matrix = Matrix::from_fn(N, 3, |i, j| match j {
        0 => 1.0,
        1 => x[i],
        _ => z[i],
    });
    (matrix, ["(Intercept)", "x", "z"].map(String::from).to_vec())
}

fn same(a: &GlmFit, b: &GlmFit) {
    for (u, v) in a.coef().iter().zip(b.coef()) {
        assert!((u - v).abs() < 1e-12 * u.abs().max(1.0), "coefficients {u} vs {v}");
    }
    for (u, v) in a.std_errors().iter().zip(b.std_errors()) {
        assert!((u - v).abs() < 1e-12 * u.abs().max(1.0), "standard errors {u} vs {v}");
    }
    assert!((a.deviance() - b.deviance()).abs() < 1e-12 * a.deviance().abs().max(1.0));
    assert!((a.null_deviance() - b.null_deviance()).abs() < 1e-12 * a.null_deviance().abs().max(1.0));
    assert_eq!(a.coef_names(), b.coef_names());
}

#[test]
fn arrays_give_the_formula_fit_for_every_family() {
    let (x, z) = covariates();
    let (matrix, names) = design();
    let counts: Vec<f64> = (0..N).map(|i| ((i * 3) % 7 + (i % 4)) as f64).collect();
    let exposure: Vec<f64> = (0..N).map(|i| 1.0 + (i % 5) as f64).collect();
    let positive: Vec<f64> = counts.iter().map(|c| c + 0.5).collect();
    let trials: Vec<f64> = (0..N).map(|i| 5.0 + (i % 3) as f64).collect();
    let successes: Vec<f64> = (0..N).map(|i| ((i * 11) % 6) as f64).collect();
    let failures: Vec<f64> = successes.iter().zip(&trials).map(|(s, t)| t - s).collect();
    let proportions: Vec<f64> = successes.iter().zip(&trials).map(|(s, t)| s / t).collect();
    let weights: Vec<f64> = (0..N).map(|i| 0.5 + (i % 3) as f64 / 2.0).collect();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("z", &z))
        .and_then(|f| f.with_floats("y", &counts))
        .and_then(|f| f.with_floats("exposure", &exposure))
        .and_then(|f| f.with_floats("positive", &positive))
        .and_then(|f| f.with_floats("s", &successes))
        .and_then(|f| f.with_floats("f", &failures))
        .and_then(|f| f.with_floats("w", &weights))
        .unwrap();
    let log_exposure: Vec<f64> = exposure.iter().map(|e| e.ln()).collect();
    let arrays = GlmArrays::new(&matrix, &counts).names(&names);

    let formula = Glm::new("y ~ x + z + offset(log(exposure))", Family::Poisson).unwrap().fit(&frame).unwrap();
    let engine = GlmEngine::new(Family::Poisson).unwrap().fit(&arrays.offset(&log_exposure)).unwrap();
    same(&formula, &engine);

    let formula = Glm::new("y ~ x + z", Family::QuasiPoisson).unwrap().weights("w").fit(&frame).unwrap();
    let engine = GlmEngine::new(Family::QuasiPoisson).unwrap().fit(&arrays.weights(&weights)).unwrap();
    same(&formula, &engine);

    let formula = Glm::negative_binomial("y ~ x + z").unwrap().fit(&frame).unwrap();
    let engine = GlmEngine::negative_binomial().fit(&arrays).unwrap();
    same(&formula, &engine);
    assert!((formula.theta().unwrap().0 - engine.theta().unwrap().0).abs() < 1e-10);

    let formula = Glm::new("cbind(s, f) ~ x + z", Family::Binomial).unwrap().fit(&frame).unwrap();
    let binomial = GlmArrays::new(&matrix, &proportions).names(&names).trials(&trials);
    let engine = GlmEngine::new(Family::Binomial).unwrap().fit(&binomial).unwrap();
    same(&formula, &engine);

    let formula = Glm::new("positive ~ x + z", Family::Gamma).unwrap().link(Link::Log).unwrap().fit(&frame).unwrap();
    let gamma = GlmArrays::new(&matrix, &positive).names(&names);
    let engine = GlmEngine::new(Family::Gamma).unwrap().link(Link::Log).unwrap().fit(&gamma).unwrap();
    same(&formula, &engine);

    let formula = Glm::new("positive ~ x + z", Family::Gaussian).unwrap().fit(&frame).unwrap();
    let engine = GlmEngine::new(Family::Gaussian).unwrap().fit(&gamma).unwrap();
    same(&formula, &engine);
    assert!((formula.log_likelihood().unwrap() - engine.log_likelihood().unwrap()).abs() < 1e-10);
}

#[test]
fn a_fit_from_arrays_predicts_from_a_matrix_and_checks_its_input() {
    let (matrix, names) = design();
    let y: Vec<f64> = (0..N).map(|i| ((i * 3) % 7) as f64).collect();
    let fit = GlmEngine::new(Family::Poisson).unwrap().fit(&GlmArrays::new(&matrix, &y).names(&names)).unwrap();
    let predictions = fit.predict_matrix(&matrix, None, PredictionScale::Response).unwrap();
    for (p, mu) in predictions.iter().zip(fit.fitted()) {
        assert!((p.fit - mu).abs() < 1e-10);
    }
    assert!(fit.predict(&DataFrame::new(), PredictionScale::Link).is_err());
    // Hostile arrays: a response of another length, a negative count, NaN in x.
    let short = [1.0, 2.0];
    assert!(GlmEngine::new(Family::Poisson).unwrap().fit(&GlmArrays::new(&matrix, &short)).is_err());
    let mut negative = y.clone();
    negative[3] = -1.0;
    let error = GlmEngine::new(Family::Poisson).unwrap().fit(&GlmArrays::new(&matrix, &negative)).unwrap_err();
    assert!(error.to_string().contains("row 4"), "{error}");
    let bad = Matrix::from_fn(N, 3, |i, j| if i == 5 && j == 2 { f64::NAN } else { matrix[(i, j)] });
    let error = GlmEngine::new(Family::Poisson).unwrap().fit(&GlmArrays::new(&bad, &y).names(&names)).unwrap_err();
    assert!(error.to_string().contains("`z`") && error.to_string().contains("row 6"), "{error}");
}

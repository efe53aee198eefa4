//! The regression fits that answer `FittedModel` beyond the GLM, Cox and mixed models: the
//! Fine–Gray model (its log pseudo-likelihood, as cmprsk's `crr`) and the interrupted time
//! series (its Newey–West covariance and the Gaussian log-likelihood, AIC and BIC, as R's `glm`).
//! R's values were computed on the reference cases' data with cmprsk 2.2 and R 4.

use strata::panel::its::InterruptedTimeSeries;
use strata::pathways::fine_gray::FineGray;
use strata::prelude::*;

fn case(name: &str) -> DataFrame {
    let path = format!("{}/tests/reference/{name}/data.csv", env!("CARGO_MANIFEST_DIR"));
    read_csv(path, &CsvOptions::default()).expect("a reference case's data")
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1.0)
}

#[test]
fn fine_gray_answers_the_fitted_model_questions() {
    let fit = FineGray::new("Surv(etime, event) ~ age + sex", 1, 0).unwrap().fit(&case("cr_mgus2_finegray")).unwrap();
    // crr(etime, event, model.matrix(~ age + sex)[, -1], failcode = 1, cencode = 0)$loglik
    assert!(close(fit.log_likelihood().unwrap(), -790.121_315_169_541, 1e-8), "{}", fit.log_likelihood().unwrap());
    assert_eq!(fit.coef_names(), ["age", "sexM"]);
    assert_eq!(fit.nobs(), 1384);
    for ((coefficient, estimate), se) in fit.coefficients.iter().zip(fit.coef()).zip(fit.std_errors()) {
        assert_eq!(coefficient.estimate, *estimate);
        assert!(close(se, coefficient.std_error, 1e-14));
    }
    assert!(close(fit.aic().unwrap(), 2.0 * 790.121_315_169_541 + 4.0, 1e-8));
}

#[test]
fn an_interrupted_time_series_answers_the_fitted_model_questions() {
    let fit = InterruptedTimeSeries::new("s47_rate", "month", &[45.0], 4).fit(&case("its_s47_gaussian_hac")).unwrap();
    // glm(s47_rate ~ month + post + since): logLik, AIC, BIC.
    assert!(close(fit.log_likelihood().unwrap(), -120.417_359_351_651, 1e-9));
    assert!(close(fit.aic().unwrap(), 250.834_718_703_301, 1e-9));
    assert!(close(fit.bic().unwrap(), 263.656_459_660_64, 1e-9));
    assert_eq!(fit.nobs(), 96);
    for (coefficient, se) in fit.coefficients.iter().zip(fit.std_errors()) {
        assert!(close(se, coefficient.std_error, 1e-12), "{} {se}", coefficient.std_error);
    }
}

#[test]
fn a_multi_state_markov_model_answers_the_fitted_model_questions() {
    use strata::core::numerics::Matrix;
    let initial = Matrix::from_fn(4, 4, |i, j| if j == i + 1 { 0.1 } else { 0.0 });
    let model = MultiStateModel::new(initial, "ptnum", "months", "state").unwrap();
    let fit = model.fit(&case("msm_psor_progressive")).unwrap();
    // msm(state ~ months, subject = ptnum, qmatrix = Q): −2ℓ = 1246.01528049667 on 806 visits,
    // three log intensities (AIC(fit) = −2ℓ + 6).
    assert!(close(fit.log_likelihood().unwrap(), -1_246.015_280_496_67 / 2.0, 1e-7));
    assert_eq!((fit.nobs(), fit.n_parameters()), (806, 3));
    assert_eq!(fit.coef_names(), ["log(q 1-2)", "log(q 2-3)", "log(q 3-4)"]);
    assert!(close(fit.aic().unwrap(), 1_246.015_280_496_67 + 6.0, 1e-7));
    // The intensities' standard errors are the log scale's by the delta method.
    for ((transition, log_q), se) in fit.transitions.iter().zip(fit.coef()).zip(fit.std_errors()) {
        assert!(close(log_q.exp(), transition.intensity, 1e-12));
        assert!(close(transition.intensity * se, transition.std_error, 1e-12));
    }
}

//! The Cox engine on plain arrays and the formula front end are one path: the arrays a formula
//! stands for give the formula's fit to 1e-12 — with strata, weights, offsets, counting-process
//! times and clustered errors.

use strata_core::numerics::Matrix;
use strata_core::results::FittedModel;
use strata_core::DataFrame;
use strata_pathways::cox::{CoxArrays, CoxEngine};
use strata_pathways::{CoxPh, Ties};

const N: usize = 90;

#[test]
fn arrays_give_the_formula_fit() {
    let x: Vec<f64> = (0..N).map(|i| ((i * 7) % 13) as f64 / 4.0 - 1.0).collect();
    let z: Vec<f64> = (0..N).map(|i| ((i * 5) % 11) as f64 / 5.0).collect();
    let start: Vec<f64> = (0..N).map(|i| (i % 4) as f64).collect();
    let stop: Vec<f64> = (0..N).map(|i| start[i] + 1.0 + ((i * 17) % 23) as f64 / 2.0).collect();
    let event: Vec<bool> = (0..N).map(|i| (i * 3) % 5 != 0).collect();
    let status: Vec<f64> = event.iter().map(|&e| f64::from(u8::from(e))).collect();
    let group: Vec<String> = (0..N).map(|i| ["a", "b", "c"][i % 3].to_string()).collect();
    let codes: Vec<u32> = (0..N).map(|i| (i % 3) as u32).collect();
    let cluster: Vec<u32> = (0..N).map(|i| (i / 6) as u32).collect();
    let cluster_labels: Vec<String> = cluster.iter().map(|c| format!("k{c:02}")).collect();
    let weights: Vec<f64> = (0..N).map(|i| 1.0 + (i % 2) as f64).collect();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("z", &z))
        .and_then(|f| f.with_floats("start", &start))
        .and_then(|f| f.with_floats("stop", &stop))
        .and_then(|f| f.with_floats("status", &status))
        .and_then(|f| f.with_levels("g", &group))
        .and_then(|f| f.with_levels("id", &cluster_labels))
        .and_then(|f| f.with_floats("w", &weights))
        .unwrap();
    let design = Matrix::from_fn(N, 2, |i, j| if j == 0 { x[i] } else { z[i] });
    let names = ["x".to_string(), "z".to_string()];
    for ties in [Ties::Efron, Ties::Breslow] {
        let formula = CoxPh::new("Surv(start, stop, status) ~ x + z + strata(g) + cluster(id)")
            .unwrap()
            .ties(ties)
            .weights("w")
            .fit(&frame)
            .unwrap();
        let arrays = CoxArrays::new(&design, &stop, &event)
            .names(&names)
            .start(&start)
            .strata(&codes)
            .weights(&weights)
            .cluster(&cluster);
        let engine = CoxEngine::new().ties(ties).fit(&arrays).unwrap();
        for (a, b) in formula.coef().iter().zip(engine.coef()) {
            assert!((a - b).abs() < 1e-12, "{ties:?}: {a} vs {b}");
        }
        for (a, b) in formula.std_errors().iter().zip(engine.std_errors()) {
            assert!((a - b).abs() < 1e-12, "{ties:?} robust SE: {a} vs {b}");
        }
        assert!((formula.log_likelihood().unwrap() - engine.log_likelihood().unwrap()).abs() < 1e-10);
        assert_eq!(formula.coef_names(), engine.coef_names());
    }
}

#[test]
fn hostile_arrays_are_refused_with_the_row() {
    let x = Matrix::from_fn(4, 1, |i, _| i as f64);
    let events = [true, false, true, true];
    let error = CoxEngine::new().fit(&CoxArrays::new(&x, &[1.0, 2.0, -3.0, 4.0], &events)).unwrap_err();
    assert!(error.to_string().contains("row 3"), "{error}");
    let error = CoxEngine::new().fit(&CoxArrays::new(&x, &[1.0, 2.0, 3.0], &events)).unwrap_err();
    assert!(error.to_string().contains("3 values"), "{error}");
    let none = [false; 4];
    assert!(CoxEngine::new().fit(&CoxArrays::new(&x, &[1.0, 2.0, 3.0, 4.0], &none)).is_err());
    let error = CoxEngine::new()
        .fit(&CoxArrays::new(&x, &[1.0, 2.0, 3.0, 4.0], &events).start(&[0.0, 2.0, 0.0, 0.0]))
        .unwrap_err();
    assert!(error.to_string().contains("row 2"), "{error}");
}

/// Fine–Gray on arrays gives the formula fit to 1e-12, with tied times and both competing
/// causes modelled in turn, and refuses bad arrays with the row.
#[test]
fn fine_gray_arrays_give_the_formula_fit() {
    use strata_pathways::fine_gray::{FineGray, FineGrayArrays, FineGrayEngine};
    let x: Vec<f64> = (0..N).map(|i| ((i * 7) % 13) as f64 / 4.0 - 1.0).collect();
    let z: Vec<f64> = (0..N).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
    let time: Vec<f64> = (0..N).map(|i| 1.0 + ((i * 17) % 23) as f64).collect();
    let status: Vec<i64> = (0..N).map(|i| [0, 1, 2, 1, 2][(i * 3) % 5]).collect();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("z", &z))
        .and_then(|f| f.with_floats("time", &time))
        .and_then(|f| f.with_floats("status", &status.iter().map(|&s| s as f64).collect::<Vec<_>>()))
        .unwrap();
    let design = Matrix::from_fn(N, 2, |i, j| if j == 0 { x[i] } else { z[i] });
    let names = ["x".to_string(), "z".to_string()];
    for cause in [1, 2] {
        let formula = FineGray::new("Surv(time, status) ~ x + z", cause, 0).unwrap().fit(&frame).unwrap();
        let engine = FineGrayEngine::new(cause, 0).unwrap();
        let arrays = engine.fit(&FineGrayArrays::new(&design, &time, &status).names(&names)).unwrap();
        assert_eq!((formula.n_obs, formula.n_events), (arrays.n_obs, arrays.n_events));
        for (a, b) in formula.coefficients.iter().zip(&arrays.coefficients) {
            assert_eq!(a.term, b.term);
            assert!((a.estimate - b.estimate).abs() < 1e-12 * a.estimate.abs().max(1.0), "{a:?} vs {b:?}");
            assert!((a.std_error - b.std_error).abs() < 1e-12 * a.std_error.abs().max(1.0), "{a:?} vs {b:?}");
        }
    }
    let engine = FineGrayEngine::new(1, 0).unwrap();
    let error = |arrays: FineGrayArrays<'_>| engine.fit(&arrays).unwrap_err().to_string();
    let mut negative = time.clone();
    negative[4] = -1.0;
    assert!(error(FineGrayArrays::new(&design, &negative, &status)).contains("row 5"));
    assert!(error(FineGrayArrays::new(&design, &time[1..], &status)).contains("time has 89 values"));
    let censored = vec![0; N];
    assert!(error(FineGrayArrays::new(&design, &time, &censored)).contains("no"));
    let other = vec![2; N];
    assert!(error(FineGrayArrays::new(&design, &time, &other)).contains("no event of cause 1"));
    assert!(FineGrayEngine::new(1, 1).is_err());
}

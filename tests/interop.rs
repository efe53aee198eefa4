//! Fitting from ndarray and nalgebra matrices gives the formula path's estimates, and a data
//! frame read from Parquet gives the CSV's fit (run with `cargo test --features
//! ndarray,nalgebra,arrow --test interop`; CI does).

use strata::core::numerics::Matrix;
use strata::glm::{GlmArrays, GlmEngine};
use strata::prelude::*;

const N: usize = 80;

fn columns() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..N).map(|i| ((i * 7) % 13) as f64 / 4.0 - 1.0).collect();
    let z: Vec<f64> = (0..N).map(|i| ((i * 5) % 11) as f64 / 5.0).collect();
    let y: Vec<f64> = (0..N).map(|i| ((i * 3) % 7 + (i % 4)) as f64).collect();
    (x, z, y)
}

fn close(a: &[f64], b: &[f64]) {
    for (u, v) in a.iter().zip(b) {
        assert!((u - v).abs() < 1e-12 * u.abs().max(1.0), "{u} vs {v}");
    }
}

#[test]
fn glm_from_ndarray_and_nalgebra_equals_the_formula_fit() {
    let (x, z, y) = columns();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("z", &z))
        .and_then(|f| f.with_floats("y", &y))
        .unwrap();
    let formula = Glm::negative_binomial("y ~ x + z").unwrap().fit(&frame).unwrap();
    let names = ["(Intercept)", "x", "z"].map(String::from);

    // A row-major ndarray (copied into column-major order) and a column vector view.
    let rows = ndarray::Array2::from_shape_fn((N, 3), |(i, j)| [1.0, x[i], z[i]][j]);
    let response = ndarray::Array1::from(y.clone());
    let response = strata::core::interop::vector(&response.view());
    let design = Matrix::from(rows);
    let from_ndarray = GlmEngine::negative_binomial().fit(&GlmArrays::new(&design, &response).names(&names)).unwrap();
    close(formula.coef(), from_ndarray.coef());
    close(&formula.std_errors(), &from_ndarray.std_errors());

    // An owned nalgebra matrix (its buffer taken over) and a DVector.
    let dmatrix = nalgebra::DMatrix::from_fn(N, 3, |i, j| [1.0, x[i], z[i]][j]);
    let dvector = nalgebra::DVector::from_vec(y.clone());
    let design = Matrix::from(dmatrix);
    let from_nalgebra =
        GlmEngine::negative_binomial().fit(&GlmArrays::new(&design, dvector.as_slice()).names(&names)).unwrap();
    close(formula.coef(), from_nalgebra.coef());
    close(&formula.std_errors(), &from_nalgebra.std_errors());

    // Results back as arrays: the covariance as an ndarray and as a DMatrix.
    let covariance = ndarray::Array2::from(formula.vcov().clone());
    assert_eq!(covariance.dim(), (3, 3));
    let covariance = nalgebra::DMatrix::from(from_nalgebra.vcov().clone());
    assert!((covariance[(1, 2)] - covariance[(2, 1)]).abs() < 1e-15);
}

#[test]
fn cox_from_ndarray_and_nalgebra_equals_the_formula_fit() {
    use strata::pathways::cox::{CoxArrays, CoxEngine};
    let (x, z, _) = columns();
    let time: Vec<f64> = (0..N).map(|i| 1.0 + ((i * 17) % 23) as f64 / 2.0).collect();
    let event: Vec<bool> = (0..N).map(|i| (i * 3) % 5 != 0).collect();
    let status: Vec<f64> = event.iter().map(|&e| f64::from(u8::from(e))).collect();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("z", &z))
        .and_then(|f| f.with_floats("time", &time))
        .and_then(|f| f.with_floats("status", &status))
        .unwrap();
    let formula = CoxPh::new("Surv(time, status) ~ x + z").unwrap().fit(&frame).unwrap();
    let names = ["x", "z"].map(String::from);
    let rows = ndarray::Array2::from_shape_fn((N, 2), |(i, j)| [x[i], z[i]][j]);
    let times = ndarray::Array1::from(time.clone());
    let times = strata::core::interop::vector(&times.view());
    let design = Matrix::from(rows.view());
    let from_ndarray = CoxEngine::new().fit(&CoxArrays::new(&design, &times, &event).names(&names)).unwrap();
    close(formula.coef(), from_ndarray.coef());
    close(&formula.std_errors(), &from_ndarray.std_errors());
    let design = Matrix::from(&nalgebra::DMatrix::from_fn(N, 2, |i, j| [x[i], z[i]][j]));
    let from_nalgebra = CoxEngine::new().fit(&CoxArrays::new(&design, &time, &event).names(&names)).unwrap();
    close(formula.coef(), from_nalgebra.coef());
    close(&formula.std_errors(), &from_nalgebra.std_errors());
}

/// A covariate, a response and nine groups, as arrays and as a frame.
fn grouped() -> (Vec<f64>, Vec<f64>, Vec<u32>, DataFrame) {
    let (x, _, y) = columns();
    let group: Vec<u32> = (0..N as u32).map(|i| (i * 7) % 9).collect();
    let labels: Vec<String> = group.iter().map(|g| format!("g{g}")).collect();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("y", &y))
        .and_then(|f| f.with_levels("g", &labels))
        .unwrap();
    (x, y, group, frame)
}

#[test]
fn lmm_from_ndarray_and_nalgebra_equals_the_formula_fit() {
    use strata::multilevel::lmm::{GroupingTerm, LmmArrays, LmmEngine};
    let (x, y, group, frame) = grouped();
    let formula = LinearMixedModel::new("y ~ x + (1 + x | g)").unwrap().fit(&frame).unwrap();
    let names = ["(Intercept)", "x"].map(String::from);
    let design = Matrix::from(ndarray::Array2::from_shape_fn((N, 2), |(i, j)| [1.0, x[i]][j]));
    let response = ndarray::Array1::from(y.clone());
    let response = strata::core::interop::vector(&response.view());
    let term = GroupingTerm::intercept("g", &group).effects(&design, Some(&names));
    let from_ndarray = LmmEngine::reml().fit(&LmmArrays::new(&design, &response, vec![term]).names(&names)).unwrap();
    close(formula.coef(), from_ndarray.coef());
    close(&formula.std_errors(), &from_ndarray.std_errors());
    close(formula.theta(), from_ndarray.theta());
    let design = Matrix::from(nalgebra::DMatrix::from_fn(N, 2, |i, j| [1.0, x[i]][j]));
    let dvector = nalgebra::DVector::from_vec(y.clone());
    let term = GroupingTerm::intercept("g", &group).effects(&design, Some(&names));
    let from_nalgebra =
        LmmEngine::reml().fit(&LmmArrays::new(&design, dvector.as_slice(), vec![term]).names(&names)).unwrap();
    close(formula.coef(), from_nalgebra.coef());
    close(&[formula.sigma()], &[from_nalgebra.sigma()]);
}

#[test]
fn glmm_from_ndarray_and_nalgebra_equals_the_formula_fit() {
    use strata::core::family::Family;
    use strata::multilevel::glmm::{GlmmArrays, GlmmEngine};
    use strata::multilevel::lmm::GroupingTerm;
    let (x, y, group, frame) = grouped();
    let formula = GeneralizedLinearMixedModel::new("y ~ x + (1 | g)", Family::Poisson).unwrap().fit(&frame).unwrap();
    let names = ["(Intercept)", "x"].map(String::from);
    let engine = GlmmEngine::new(Family::Poisson).unwrap();
    let design = Matrix::from(ndarray::Array2::from_shape_fn((N, 2), |(i, j)| [1.0, x[i]][j]));
    let term = GroupingTerm::intercept("g", &group);
    let from_ndarray = engine.fit(&GlmmArrays::new(GlmArrays::new(&design, &y).names(&names), vec![term])).unwrap();
    close(formula.coef(), from_ndarray.coef());
    close(&formula.std_errors(), &from_ndarray.std_errors());
    let design = Matrix::from(nalgebra::DMatrix::from_fn(N, 2, |i, j| [1.0, x[i]][j]));
    let dvector = nalgebra::DVector::from_vec(y.clone());
    let from_nalgebra =
        engine.fit(&GlmmArrays::new(GlmArrays::new(&design, dvector.as_slice()).names(&names), vec![term])).unwrap();
    close(formula.coef(), from_nalgebra.coef());
    close(formula.theta(), from_nalgebra.theta());
}

#[test]
fn fine_gray_from_ndarray_equals_the_formula_fit() {
    use strata::pathways::fine_gray::{FineGray, FineGrayArrays, FineGrayEngine};
    let (x, z, _) = columns();
    let time: Vec<f64> = (0..N).map(|i| 2.0 + ((i * 13) % 19) as f64).collect();
    let status: Vec<i64> = (0..N).map(|i| [1, 0, 2, 2, 1][(i * 7) % 5]).collect();
    let frame = DataFrame::new()
        .with_floats("x", &x)
        .and_then(|f| f.with_floats("z", &z))
        .and_then(|f| f.with_floats("time", &time))
        .and_then(|f| f.with_floats("status", &status.iter().map(|&s| s as f64).collect::<Vec<_>>()))
        .unwrap();
    let formula = FineGray::new("Surv(time, status) ~ x + z", 1, 0).unwrap().fit(&frame).unwrap();
    let design = Matrix::from(ndarray::Array2::from_shape_fn((N, 2), |(i, j)| [x[i], z[i]][j]));
    let times = ndarray::Array1::from(time.clone());
    let times = strata::core::interop::vector(&times.view());
    let fit = FineGrayEngine::new(1, 0).unwrap().fit(&FineGrayArrays::new(&design, &times, &status)).unwrap();
    let estimates = |fit: &strata::pathways::fine_gray::FineGrayFit| -> Vec<f64> {
        fit.coefficients.iter().flat_map(|c| [c.estimate, c.std_error]).collect()
    };
    close(&estimates(&formula), &estimates(&fit));
}

#[test]
fn a_parquet_file_gives_the_csv_fit() {
    use strata::core::interop::arrow::{read_parquet, write_parquet};
    let csv = format!("{}/tests/reference/glm_insurance_poisson/data.csv", env!("CARGO_MANIFEST_DIR"));
    let frame = read_csv(csv, &CsvOptions::default()).unwrap();
    let path = std::env::temp_dir().join(format!("strata-interop-{}.parquet", std::process::id()));
    write_parquet(&frame, &path).unwrap();
    let columns = ["Claims", "District", "Group", "Age", "Holders"];
    let parquet = read_parquet(&path, Some(&columns));
    std::fs::remove_file(&path).unwrap();
    let glm = Glm::new("Claims ~ District + Group + Age + offset(log(Holders))", Family::Poisson).unwrap();
    let (from_csv, from_parquet) = (glm.fit(&frame).unwrap(), glm.fit(&parquet.unwrap()).unwrap());
    assert_eq!(from_csv.coef(), from_parquet.coef());
    assert_eq!(from_csv.coef_names(), from_parquet.coef_names());
}

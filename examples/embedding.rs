//! strata embedded in a Rust program whose data are already arrays, or in a Parquet file: no
//! CSV. The engines under every formula take a model matrix and vectors — here from ndarray and
//! nalgebra — and a data frame comes from Arrow record batches or a Parquet file
//! (`cargo run --release --example embedding --features ndarray,nalgebra,arrow`).
//!
//! A synthetic set of 50,000 children referred to children's social care in 150 authorities: a
//! Poisson model of re-referrals with the months observed as exposure (the GLM engine, as R's
//! `glm.fit`), and a Cox model of the time to re-referral (the Cox engine, as `coxph.fit`), both
//! on deprivation and caseload, with the results back as ndarray and nalgebra matrices; then the
//! same children written to a Parquet file (as a pipeline in polars or DuckDB would leave them),
//! read back and fitted with a formula: a Poisson GLMM with each authority's own level.

use ndarray::{Array1, Array2};
use strata::core::interop::arrow::{read_parquet, write_parquet};
use strata::core::interop::vector;
use strata::core::numerics::Matrix;
use strata::core::random::Rng;
use strata::glm::{GlmArrays, GlmEngine};
use strata::multilevel::GeneralizedLinearMixedModel;
use strata::pathways::cox::{CoxArrays, CoxEngine};
use strata::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = 50_000;
    let mut rng = Rng::new(7);
    // Row-major arrays, as a program would hold them: deprivation step (0–9) and the caseload
    // of the child's authority (standardised).
    let covariates =
        Array2::from_shape_fn((n, 2), |(_, j)| if j == 0 { (rng.uniform() * 10.0).floor() } else { rng.normal() });
    let (beta_deprivation, beta_caseload) = (0.06, 0.15);
    let mut time = Array1::zeros(n);
    let mut event = vec![false; n];
    let mut months = Array1::zeros(n);
    let mut count = Array1::zeros(n);
    // Each authority's own level of re-referral.
    let authority_effect: Vec<f64> = (0..150).map(|_| 0.3 * rng.normal()).collect();
    let authority: Vec<usize> = (0..n).map(|i| i % 150).collect();
    for i in 0..n {
        let hazard = 0.02
            * (beta_deprivation * (covariates[(i, 0)] - 4.5)
                + beta_caseload * covariates[(i, 1)]
                + authority_effect[authority[i]])
                .exp();
        let followed = 12.0 + 24.0 * rng.uniform();
        let first = rng.exponential(hazard);
        time[i] = first.min(followed);
        event[i] = first <= followed;
        months[i] = followed;
        // Re-referrals within follow-up: a Poisson count with the same rate.
        let mut t = first;
        while t <= followed {
            count[i] += 1.0;
            t += rng.exponential(hazard);
        }
    }

    // The Cox engine takes the covariates as a strata Matrix (a row-major array is copied into
    // column-major order once) and the times as a slice (borrowed when contiguous).
    let x = Matrix::from(covariates.view());
    let names = ["deprivation".to_string(), "caseload".to_string()];
    let times = vector(&time.view());
    let cox = CoxEngine::new().fit(&CoxArrays::new(&x, &times, &event).names(&names))?;
    println!("Cox model of the first re-referral (generated log hazard ratios 0.06, 0.15):\n{}\n", cox.summary());

    // The GLM engine: an intercept column, the log of the months observed as offset.
    let with_intercept = Matrix::from_fn(n, 3, |i, j| if j == 0 { 1.0 } else { x[(i, j - 1)] });
    let names = ["(Intercept)".to_string(), "deprivation".to_string(), "caseload".to_string()];
    let offset: Vec<f64> = months.iter().map(|m: &f64| m.ln()).collect();
    let counts = vector(&count.view());
    let poisson = GlmEngine::new(Family::Poisson)?
        .fit(&GlmArrays::new(&with_intercept, &counts).names(&names).offset(&offset))?;
    println!("Poisson model of re-referrals per month observed:\n{}\n", poisson.summary());

    // Results back as arrays: the covariance matrices as ndarray and nalgebra matrices.
    let covariance: Array2<f64> = poisson.vcov().clone().into();
    let cox_covariance: nalgebra::DMatrix<f64> = cox.vcov().clone().into();
    println!("Poisson covariance (ndarray):\n{covariance:.2e}\n\nCox covariance (nalgebra):{cox_covariance:.2e}\n");

    // The same children as a Parquet file, read back (only the model's columns) and fitted with
    // a formula: a random intercept for each authority.
    let labels: Vec<String> = authority.iter().map(|a| format!("E{:08}", 10_000 + a)).collect();
    let frame = DataFrame::new()
        .with_levels("la", &labels)?
        .with_floats("deprivation", &covariates.column(0).to_vec())?
        .with_floats("caseload", &covariates.column(1).to_vec())?
        .with_floats("months", &months.to_vec())?
        .with_floats("rereferrals", &count.to_vec())?;
    let path = std::env::temp_dir().join(format!("strata-embedding-{}.parquet", std::process::id()));
    write_parquet(&frame, &path)?;
    let columns = ["rereferrals", "deprivation", "caseload", "months", "la"];
    let read = read_parquet(&path, Some(&columns));
    std::fs::remove_file(&path)?;
    let glmm = GeneralizedLinearMixedModel::new(
        "rereferrals ~ deprivation + caseload + offset(log(months)) + (1 | la)",
        Family::Poisson,
    )?
    .fit(&read?)?;
    println!("Poisson GLMM from the Parquet file (authority SD generated as 0.3):\n{}", glmm.summary());
    Ok(())
}

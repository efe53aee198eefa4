//! Demand typologies: latent classes of the factors recorded at the end of assessment, how
//! membership varies with deprivation, and re-referral by class — as poLCA/stepmix and survival
//! would do it in R or Python.
//!
//! 1. 15,000 synthetic assessments in six local authorities whose forty factors have the DfE's
//!    national prevalences for 2024–25 (`c3_factors_identified_at_end_of_assessment`, read from
//!    ../shared/data; Open Government Licence v3.0), generated from seven latent classes; each
//!    child's neighbourhood deprivation decile leans with its class, and its time to re-referral
//!    has a class-specific hazard;
//! 2. latent class models with 1–9 classes (BIC, entropy, how many starts reached the best), then
//!    the chosen model with standard errors and each class's most distinctive factors;
//! 3. deprivation as a covariate of class membership, in three steps with the BCH correction
//!    (`StepMix(n_steps = 3, correction = "BCH")`);
//! 4. re-referral by class: Kaplan–Meier curves and a Cox model in which each assessment enters once
//!    per class, weighted by its posterior probability, standard errors clustered by child.
//!
//! Run: `cargo run --release --example demand_typologies` (reads ../shared/data/england; says so
//! and stops when it is absent). Writes `target/examples/latent/profiles.svg` and `criteria.svg`.

use strata::prelude::*;
use strata_core::numerics::Matrix;
use strata_latent::covariates::{fit_membership, Steps};
use strata_latent::indicators::Indicators;
use strata_latent::select::{fit_range, Criteria};
use strata_pathways::{CoxPh, KaplanMeier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/england/raw/c3_factors_identified_at_end_of_assessment_2018_to_2025.csv"
    );
    if !std::path::Path::new(path).exists() {
        eprintln!("{path} is absent: this example reads the DfE factors table beside the checkout");
        return Ok(());
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/examples/latent");
    std::fs::create_dir_all(&out)?;

    // 1. Assessments with the national prevalences of 2025, from seven classes.
    // Factors no longer recorded separately (zero in 2025) are left out.
    let prevalences: Vec<(String, f64)> =
        strata::data::dfe::read_factor_prevalences(path, 2025)?.into_iter().filter(|(_, p)| *p > 0.0).collect();
    let names: Vec<String> = prevalences.iter().map(|(n, _)| n.to_lowercase()).collect();
    let shares: Vec<f64> = prevalences.iter().map(|(_, p)| *p).collect();
    let n = 15_000;
    let truth = strata::data::synthetic::assessment_factors(n, &shares, 7, 1.2, 2025)?;
    let mut rng = Rng::new(9);
    // Deprivation leans with the class; re-referral hazards differ by class (per year).
    let lean = [0.0, 1.5, -1.0, 2.5, 0.5, -2.0, 1.0];
    let hazard = [0.15, 0.30, 0.10, 0.45, 0.20, 0.08, 0.25];
    let deprivation: Vec<f64> =
        truth.class.iter().map(|&k| (5.5 + lean[k] + 2.5 * rng.normal()).round().clamp(1.0, 10.0)).collect();
    let (time, event): (Vec<f64>, Vec<f64>) = truth
        .class
        .iter()
        .map(|&k| {
            let t = rng.exponential(hazard[k]);
            if t < 2.0 {
                (t, 1.0)
            } else {
                (2.0, 0.0)
            }
        })
        .unzip();
    let indicators =
        Indicators::from_codes(names.clone(), vec![vec!["0".into(), "1".into()]; names.len()], truth.codes.clone())?;
    println!(
        "{n} assessments, {} factors, generated from 7 classes of sizes {:?}",
        names.len(),
        rounded(&truth.proportions)
    );

    // 2. K = 1..9, then the chosen K with standard errors.
    let model = LatentClassModel::new(1).starts(20).seed(1);
    let fits = fit_range(&model.clone().standard_errors(false), &indicators, 1..=9)?;
    println!("\n  K        log-lik   npar        BIC  entropy  smallest  best of 20");
    let criteria: Vec<Criteria> = fits.iter().map(Criteria::of).collect();
    for c in &criteria {
        println!(
            "{:>3} {:>14.2} {:>6} {:>10.1} {:>8.3} {:>9.3} {:>11}",
            c.n_classes, c.log_likelihood, c.n_parameters, c.bic, c.entropy, c.smallest_class, c.n_best
        );
    }
    std::fs::write(out.join("criteria.svg"), strata_latent::plot::criteria_chart(&criteria).to_svg())?;
    let k = criteria.iter().min_by(|a, b| a.bic.total_cmp(&b.bic)).map_or(7, |c| c.n_classes);
    let fit = model.with_classes(k).fit(&indicators)?;
    println!("\nLowest BIC: {k} classes (generated: 7). Relative entropy {:.3}.", fit.entropy);
    std::fs::write(out.join("profiles.svg"), strata_latent::plot::profiles_svg(&fit))?;
    for c in 0..k {
        // The factors most raised in this class above their prevalence.
        let mut lift: Vec<(f64, usize)> =
            (0..names.len()).map(|j| (fit.parameters.items[j][2 * c + 1] - shares[j], j)).collect();
        lift.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top: Vec<String> = lift[..3]
            .iter()
            .map(|&(_, j)| format!("{} {:.0}%", names[j], 100.0 * fit.parameters.items[j][2 * c + 1]))
            .collect();
        let se = fit.std_errors.as_ref().map_or(f64::NAN, |s| s.proportions[c]);
        println!(
            "class {} ({:.1}% ± {:.1}): {}",
            c + 1,
            100.0 * fit.parameters.proportions[c],
            100.0 * se,
            top.join(", ")
        );
    }

    // 3. Deprivation and class membership, three steps with BCH.
    let x = Matrix::from_fn(n, 1, |i, _| deprivation[i]);
    let membership = fit_membership(&indicators, &fit, &["deprivation".to_string()], &x, Steps::ThreeBch)?;
    println!("\nClass membership by deprivation decile ({}), log odds against class 1:", membership.method);
    for c in membership.coefficients.iter().filter(|c| c.term == "deprivation") {
        println!("  class {}: {:+.3} ({:.3}), p = {:.2e}", c.class, c.estimate, c.std_error, c.p_value);
    }

    // 4. Re-referral by class, posterior-weighted.
    let mut rows = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        for (c, &w) in fit.posterior(i).iter().enumerate() {
            if w > 1e-6 {
                rows.0.push(time[i]);
                rows.1.push(event[i]);
                rows.2.push((c + 1).to_string());
                rows.3.push(w);
                rows.4.push(format!("child{i}"));
            }
        }
    }
    let expanded = DataFrame::new()
        .with_floats("time", &rows.0)?
        .with_floats("event", &rows.1)?
        .with_levels("class", &rows.2)?
        .with_floats("weight", &rows.3)?;
    let km = KaplanMeier::new("Surv(time, event) ~ class")?.weights("weight").fit(&expanded)?;
    println!("\nRe-referred within a year (posterior-weighted Kaplan–Meier):");
    for curve in km.curves() {
        let at = curve.time.partition_point(|&t| t <= 1.0);
        let survival = if at == 0 { 1.0 } else { curve.survival[at - 1] };
        println!("  {}: {:.1}%", curve.stratum, 100.0 * (1.0 - survival));
    }
    let cox = CoxPh::new("Surv(time, event) ~ class")?.weights("weight").fit(&expanded)?;
    let robust = cox.robust_vcov(Some(&rows.4))?;
    println!("\nCox model of re-referral by class (hazard ratios against class 1, errors clustered by child):");
    for (j, name) in cox.coef_names().iter().enumerate() {
        println!("  {name}: {:.2} (robust SE of log HR {:.3})", cox.coef()[j].exp(), robust[(j, j)].sqrt());
    }
    println!("Generated hazards per year by true class: {hazard:?}");
    println!("\nWrote {}", out.display());
    Ok(())
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values.iter().map(|v| (v * 1000.0).round() / 1000.0).collect()
}

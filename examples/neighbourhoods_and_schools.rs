//! Is a child's chance of referral shaped more by the neighbourhood they live in or by the school
//! they attend?
//!
//! Neighbourhoods and schools are crossed, not nested: children from one neighbourhood go to
//! several nearby schools, and each school draws on several neighbourhoods. A logistic GLMM with
//! a random intercept for each (R: `lme4::glmer(referred ~ deprivation + (1 | lsoa) +
//! (1 | school), family = binomial)`) separates the two. With 6,000 neighbourhoods and 4,000
//! schools the random effects are solved as one sparse system, as lme4 solves them.
//!
//! The data are synthetic (no child-level school data are public): 200,000 children, each in a
//! neighbourhood of known deprivation decile, at one of the five schools nearest it; true
//! standard deviations 0.6 (neighbourhoods) and 0.4 (schools). Prints the model and how the
//! variation divides between neighbourhoods and schools, with median odds ratios.
//!
//! Run: `cargo run --release --example neighbourhoods_and_schools`.

use strata::prelude::*;
use strata_core::random::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (children, neighbourhoods, schools) = (200_000, 6_000, 4_000);
    let mut rng = Rng::new(2026);
    let neighbourhood_effect: Vec<f64> = (0..neighbourhoods).map(|_| 0.6 * rng.normal()).collect();
    let school_effect: Vec<f64> = (0..schools).map(|_| 0.4 * rng.normal()).collect();
    let (mut referred, mut deprivation, mut lsoa, mut school) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..children {
        let n = rng.index(neighbourhoods);
        let s = (n * schools / neighbourhoods + rng.index(5)).saturating_sub(2).min(schools - 1);
        let decile = (n % 10 + 1) as f64;
        let eta = -3.0 + 0.15 * decile + neighbourhood_effect[n] + school_effect[s];
        referred.push(f64::from(u8::from(rng.uniform() < 1.0 / (1.0 + (-eta).exp()))));
        deprivation.push(decile);
        lsoa.push(format!("N{n:05}"));
        school.push(format!("S{s:05}"));
    }
    let frame = DataFrame::new()
        .with_floats("referred", &referred)?
        .with_floats("deprivation", &deprivation)?
        .with_levels("lsoa", &lsoa)?
        .with_levels("school", &school)?;
    let model =
        GeneralizedLinearMixedModel::new("referred ~ deprivation + (1 | lsoa) + (1 | school)", Family::Binomial)?;
    let fit = model.fit(&frame)?;
    println!("{}\n", fit.summary());
    for part in fit.variance_partition() {
        println!(
            "{:<8} variance {:.3} ({:.1}% of the latent variation), median odds ratio {:.2}",
            part.group,
            part.variance,
            100.0 * part.share,
            part.median_ratio.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}

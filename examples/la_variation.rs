//! How much do local authorities differ in starting child protection plans, once the
//! deprivation of their populations is accounted for?
//!
//! A Poisson GLMM of protection plans started in each authority and year, 2013–2025, with the
//! child population as offset, a linear time trend, IMD 2019 and a random intercept per
//! authority (R: `lme4::glmer(cpp_starts ~ year_c + imd2019_score + offset(log(children_0_17_mye))
//! + (1 | la_code), family = poisson)`). Prints the model, the median rate ratio between two
//! authorities, and writes a caterpillar plot of the authority effects to
//! `la_variation.svg`.
//!
//! Run: `cargo run --release --example la_variation` (reads ../shared/data/england).

use strata::prelude::*;
use strata_core::plot::{Chart, Series, BLUE};
use strata_core::results::normal_quantile;
use strata_multilevel::GeneralizedLinearMixedModel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/england/la_panel.csv");
    let panel = read_csv(path, &CsvOptions::default())?;
    let years: Vec<f64> = panel.numbers("year")?.iter().map(|y| y.map_or(f64::NAN, |y| y - 2019.0)).collect();
    let panel = panel.with_floats("year_c", &years)?;
    let model = GeneralizedLinearMixedModel::new(
        "cpp_starts ~ year_c + imd2019_score + offset(log(children_0_17_mye)) + (1 | la_code)",
        Family::Poisson,
    )?;
    let fit = model.fit(&panel)?;
    println!("{}\n", fit.summary());
    let sd = fit.theta()[0];
    // Median rate ratio (Larsen & Merlo 2005): exp(√2 σ Φ⁻¹(0.75)).
    let mrr = (2f64.sqrt() * sd * normal_quantile(0.75)).exp();
    println!("Between-authority SD on the log scale {sd:.3}: median rate ratio {mrr:.2}");

    let mut effects: Vec<(String, f64)> = fit.ranef().into_iter().map(|e| (e.level, e.value)).collect();
    effects.sort_by(|a, b| a.1.total_cmp(&b.1));
    let chart = Chart::new(
        "Local-authority effects on protection-plan starts, 2013–2025",
        "rank of authority",
        "effect on the log rate",
    )
    .with(Series::Points {
        points: effects.iter().enumerate().map(|(k, (_, v))| (k as f64 + 1.0, *v, f64::NAN, f64::NAN)).collect(),
        colour: BLUE,
        label: "conditional mode".into(),
    });
    std::fs::write("la_variation.svg", chart.to_svg())?;
    println!(
        "Highest: {:?}\nLowest: {:?}\nCaterpillar plot written to la_variation.svg",
        effects.last(),
        effects.first()
    );
    Ok(())
}

//! How much do local authorities differ in starting child protection plans, once the
//! deprivation of their populations is accounted for?
//!
//! A negative binomial GLMM of protection plans started in each authority and year, 2013–2025
//! (the counts vary far more than a Poisson model allows), with the child population as offset,
//! a linear time trend, IMD 2019 and a random intercept per authority (R:
//! `lme4::glmer.nb(cpp_starts ~ year_c + imd2019_score + offset(log(children_0_17_mye)) +
//! (1 | la_code))`). Prints the model, the median rate ratio between two authorities with its
//! profile-likelihood interval, and writes a caterpillar plot of the authority effects with
//! 95% intervals from their conditional standard deviations (lme4's
//! `dotplot(ranef(fit, condVar = TRUE))`) to `la_variation.svg`.
//!
//! Run: `cargo run --release --example la_variation` (reads ../shared/data/england).

use strata::prelude::*;
use strata_core::results::normal_quantile;
use strata_plot::{Chart, Series, BLUE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/england/la_panel.csv");
    let panel = read_csv(path, &CsvOptions::default())?;
    let years: Vec<f64> = panel.numbers("year")?.iter().map(|y| y.map_or(f64::NAN, |y| y - 2019.0)).collect();
    let panel = panel.with_floats("year_c", &years)?;
    let model = GeneralizedLinearMixedModel::negative_binomial(
        "cpp_starts ~ year_c + imd2019_score + offset(log(children_0_17_mye)) + (1 | la_code)",
    )?;
    let fit = model.fit(&panel)?;
    println!("{}\n", fit.summary());
    let profile = fit.profile_intervals(0.95)?;
    for interval in fit.partition_intervals(&profile) {
        let (low, high) = interval.median_ratio;
        let estimate = fit.variance_partition().iter().find(|v| v.group == interval.group).and_then(|v| v.median_ratio);
        println!(
            "Median rate ratio between two authorities ({}): {:.3} (95% profile interval {low:.3} to {high:.3})",
            interval.group,
            estimate.unwrap_or(f64::NAN)
        );
    }

    let z = normal_quantile(0.975);
    let mut effects: Vec<(String, f64, f64)> =
        fit.ranef().into_iter().map(|e| (e.level, e.value, e.std_error.unwrap_or(f64::NAN))).collect();
    effects.sort_by(|a, b| a.1.total_cmp(&b.1));
    let chart = Chart::new(
        "Local-authority effects on protection-plan starts, 2013–2025",
        "rank of authority",
        "effect on the log rate (95% interval)",
    )
    .with(Series::Points {
        points: effects
            .iter()
            .enumerate()
            .map(|(k, (_, v, se))| (k as f64 + 1.0, *v, v - z * se, v + z * se))
            .collect(),
        colour: BLUE,
        label: "conditional mode".into(),
    });
    std::fs::write("la_variation.svg", chart.to_svg())?;
    let name = |e: Option<&(String, f64, f64)>| e.map(|(la, v, _)| format!("{la} ({v:+.3})")).unwrap_or_default();
    println!(
        "Highest: {}\nLowest: {}\nCaterpillar plot written to la_variation.svg",
        name(effects.last()),
        name(effects.first())
    );
    Ok(())
}

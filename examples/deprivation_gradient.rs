//! How steeply do rates of children in care rise with local-authority deprivation, and do
//! workforce conditions matter once deprivation is accounted for?
//!
//! A negative binomial model of children looked after on 31 March 2024 in each English local
//! authority, with the child population as offset (R: `MASS::glm.nb(cla_31_march ~
//! imd2019_score + caseload_fte + agency_rate_fte + offset(log(children_0_17)))`), standard errors
//! clustered by region, and rate ratios per 10 IMD points.
//!
//! Run: `cargo run --release --example deprivation_gradient` (reads ../shared/data/england).

use strata::prelude::*;
use strata_core::results::normal_quantile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/england/la_panel.csv");
    let panel = read_csv(path, &CsvOptions::default())?;
    let rows = panel.rows_where("year", |v| v == Some("2024"))?;
    let frame = panel.take(&rows);
    let fit = Glm::negative_binomial(
        "cla_31_march ~ imd2019_score + caseload_fte + agency_rate_fte + offset(log(children_0_17))",
    )?
    .fit(&frame)?;
    println!("{}\n", fit.summary());

    let regions = frame.column("region_name")?;
    let labels: Vec<String> = fit.rows().iter().map(|&i| regions.text(i).unwrap_or_default()).collect();
    let robust = fit.robust_vcov(&RobustKind::Cluster(labels))?;
    let z = normal_quantile(0.975);
    println!("Rate ratios per 10 IMD points / per unit, with region-clustered 95% intervals:");
    for (j, name) in fit.coef_names().iter().enumerate().skip(1) {
        let scale = if name == "imd2019_score" { 10.0 } else { 1.0 };
        let (b, se) = (fit.coef()[j] * scale, robust[(j, j)].sqrt() * scale);
        println!("  {name:<18} {:.3} ({:.3} to {:.3})", b.exp(), (b - z * se).exp(), (b + z * se).exp());
    }
    Ok(())
}

//! Did the correlations between local authorities' intervention rates and deprivation persist
//! from year to year, and what goes with changes within an authority over time?
//!
//! On the real local-authority panel 2013–2025 (DfE children in need and workforce returns,
//! IMD 2019; Open Government Licence v3.0):
//!
//! 1. the correlation of child protection plan rates with deprivation (IMD 2019) and with
//!    social workers' caseloads in each year, and the test that it is the same in every year
//!    (R: `cor.test` per year; Q = Σ (nᵢ − 3)(zᵢ − z̄)² on k − 1 df);
//! 2. protection plans started, with authority and year fixed effects, on workforce measures,
//!    errors clustered by authority (R: `fixest::fepois(cpp_starts ~ caseload_fte +
//!    agency_rate_fte + turnover_rate_fte + offset(log(children_0_17_mye)) | la_code + year)`);
//! 3. the same with last year's caseload (`l(caseload_fte, 1)`, `panel.id = ~la_code + year`).
//!
//! Run: `cargo run --release --example panel_persistence` (reads ../shared/data/england; says
//! so and stops when it is absent).

use strata::prelude::*;
use strata_panel::fixed_effects::{FixedEffectsModel, VcovChoice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/england/la_panel.csv");
    if !std::path::Path::new(path).exists() {
        eprintln!("{path} is absent: this example reads the real DfE panel beside the checkout");
        return Ok(());
    }
    let panel = read_csv(path, &CsvOptions::default())?;
    // Children on a protection plan at 31 March per 10,000 children.
    let panel = strata_data::dfe::with_rate(panel, "cpp_rate", "cpp_31_march", "children_0_17_mye", 10_000.0)?;

    println!("1. Do the correlations persist?\n");
    for other in ["imd2019_score", "caseload_fte"] {
        let by_year = Correlation::new(&["cpp_rate", other])?.fit_by(&panel, "year")?;
        println!("{}\n", by_year[0]);
    }

    println!("2. Within authorities over time: protection plans started and the workforce\n");
    let model = FixedEffectsModel::poisson(
        "cpp_starts ~ caseload_fte + agency_rate_fte + turnover_rate_fte + offset(log(children_0_17_mye)) | la_code + year",
    )?
    .vcov(VcovChoice::Cluster(vec!["la_code".into()]));
    let fit = model.fit(&panel)?;
    println!("{}\n", fit.summary());
    for ((name, b), (low, high)) in fit.coef_names().iter().zip(fit.coef()).zip(fit.conf_int(0.95)) {
        println!("  {name:<18} rate ratio {:.4} (95% CI {:.4} to {:.4})", b.exp(), low.exp(), high.exp());
    }

    println!("\n3. Last year's caseload\n");
    let lagged = FixedEffectsModel::ols("cpp_rate ~ l(caseload_fte, 1) + agency_rate_fte | la_code + year")?
        .panel("la_code", "year")
        .fit(&panel)?;
    println!("{}", lagged.summary());
    println!("\nContains public sector information licensed under the Open Government Licence v3.0.");
    Ok(())
}

//! Do Ofsted's judgements of children's services go with deprivation, caseloads and spending?
//!
//! Each local authority's latest ILACS judgement of the impact of leaders (Inadequate <
//! Requires improvement < Good < Outstanding) joined to its 2024 row of the LA panel (IMD 2019,
//! social workers' caseloads) and its children's services spending per child in 2024–25; a
//! proportional-odds model of the grade (R: `ordinal::clm(grade ~ imd2019_score + caseload_fte +
//! spend_k)`), the test that each effect is the same at every threshold (`nominal_test`), and
//! the predicted probability of each grade across deprivation, the other covariates at their
//! means, drawn to `ofsted_grades.svg`.
//!
//! Run: `cargo run --release --example ofsted_grades` (reads ../shared/data/england; says so
//! and stops when it is absent).

use strata::prelude::*;
use strata_categorical::ordinal::nominal_test;
use strata_data::dfe::{read_ofsted_judgements, read_spending, read_statistics, OFSTED_GRADES};
use strata_plot::{Chart, Series, BLUE, GREEN, GREY, RED};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let england = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/england");
    if !std::path::Path::new(england).is_dir() {
        eprintln!("{england} is absent: this example reads the real DfE and Ofsted data beside the checkout");
        return Ok(());
    }
    let panel = read_statistics(format!("{england}/la_panel.csv"))?;
    let latest = panel.take(&panel.rows_where("year", |y| y == Some("2024"))?);
    let ofsted = read_ofsted_judgements(format!("{england}/raw/ofsted_ilacs_impact_of_leaders_latest.csv"))?;
    let spending = read_spending(format!("{england}/raw/la_childrens_services_spending_2024_25.csv"))?;
    let joined = latest.left_join(&ofsted, "old_la_code")?.left_join(&spending, "old_la_code")?;
    let per_child = joined.numbers("cs_expenditure_per_child")?;
    let joined = joined.with("spend_k", Column::Float(per_child.iter().map(|v| v.map(|v| v / 1000.0)).collect()))?;

    let levels: Vec<String> = OFSTED_GRADES.map(String::from).to_vec();
    let model = CumulativeLinkModel::new("impact_of_leaders ~ imd2019_score + caseload_fte + spend_k", Some(&levels))?;
    let fit = model.fit(&joined)?;
    println!("{}\n", fit.summary());
    println!("Odds ratios of a better grade (95% CI):");
    let last = fit.threshold_names.len();
    for ((name, b), (low, high)) in fit.coef_names().iter().zip(fit.coef()).zip(fit.conf_int(0.95)).skip(last) {
        println!("  {name:<16} {:.3} ({:.3} to {:.3})", b.exp(), low.exp(), high.exp());
    }
    println!("\nTests of proportional odds:");
    for test in nominal_test(&model, &joined, &fit)? {
        println!("  {:<16} LR = {:.3} on {} df, p = {:.3}", test.term, test.statistic, test.df, test.p_value);
    }

    // Predicted probabilities across deprivation, caseload and spending at their means.
    let mean = |name: &str| -> Result<f64, Box<dyn std::error::Error>> {
        let values: Vec<f64> = joined.numbers(name)?.into_iter().flatten().collect();
        Ok(values.iter().sum::<f64>() / values.len() as f64)
    };
    let imd: Vec<f64> = (0..=40).map(|k| 5.0 + f64::from(k)).collect();
    let grid = DataFrame::new()
        .with_floats("imd2019_score", &imd)?
        .with_floats("caseload_fte", &vec![mean("caseload_fte")?; imd.len()])?
        .with_floats("spend_k", &vec![mean("spend_k")?; imd.len()])?;
    let probabilities = fit.predict(&grid)?;
    let mut chart = Chart::new(
        "Predicted Ofsted grade by deprivation (proportional-odds model)",
        "IMD 2019 average score",
        "probability",
    )
    .y_range(0.0, 1.0);
    for (k, (grade, colour)) in OFSTED_GRADES.iter().zip([RED, GREY, BLUE, GREEN]).enumerate() {
        chart = chart.with(Series::Line {
            points: imd.iter().zip(&probabilities).map(|(x, p)| (*x, p[k])).collect(),
            colour,
            label: grade.replace(" to be good", ""),
            dashed: false,
        });
    }
    std::fs::write("ofsted_grades.svg", chart.to_svg())?;
    println!("\nWrote ofsted_grades.svg");
    println!("Contains public sector information licensed under the Open Government Licence v3.0.");
    Ok(())
}

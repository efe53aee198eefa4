//! How concentrated are children in care among the most deprived local authorities?
//!
//! Children looked after on 31 March 2024, with local authorities ranked from least to most
//! deprived by their IMD 2019 average score: the concentration index, slope and relative
//! indices of inequality across authorities, and the Gini coefficient of their rates.
//!
//! Run: `cargo run --release --example inequality_la` (reads ../shared/data/england).

use strata::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/england/la_panel.csv");
    let panel = read_csv(path, &CsvOptions::default())?;
    let year = panel.rows_where("year", |v| v == Some("2024"))?;
    let frame = panel.take(&year);
    let (score, children, cla) =
        (frame.numbers("imd2019_score")?, frame.numbers("children_0_17")?, frame.numbers("cla_31_march")?);
    let complete: Vec<usize> =
        (0..frame.nrows()).filter(|&i| [&score, &children, &cla].iter().all(|v| !v.is_missing(i))).collect();
    let pick = |v: &Masked<f64>| complete.iter().map(|&i| v.values()[i]).collect::<Vec<_>>();
    let (score, children, cla) = (pick(&score), pick(&children), pick(&cla));
    println!("{} local authorities with complete data\n", complete.len());
    let grouped = GroupedData::new(&score, &children, &cla, RankOrder::LeastDeprivedFirst)?;
    let indices = grouped.indices(10_000.0)?;
    println!("Concentration index {:.4}", indices.concentration_index);
    println!("Slope index of inequality {:.1} per 10,000 (SE {:.1})", indices.sii, indices.sii_std_error_wls);
    println!(
        "Relative index of inequality (Poisson) {:.2} (95% CI {:.2} to {:.2})",
        indices.rii_poisson, indices.rii_poisson_ci95[0], indices.rii_poisson_ci95[1]
    );
    let rates: Vec<f64> = cla.iter().zip(&children).map(|(c, n)| c / n * 1e4).collect();
    let distribution = Distribution::weighted(&rates, &children)?;
    println!("\nAcross authorities, weighted by children:\n{}", distribution.summary(&[0.5, 1.0, 2.0])?);
    Ok(())
}

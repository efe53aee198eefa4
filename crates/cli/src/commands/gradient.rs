//! `strata gradient`: rates by deprivation group and the deprivation-gradient model.

use super::{emit, read_data};
use crate::args::{list, positive};
use serde::Serialize;
use std::fmt;
use strata_core::Masked;
use strata_gradient::deprivation::{DeprivationGradient, GradientSummary};
use strata_gradient::rates::{decile_table, DecileTable};

#[derive(clap::Args)]
pub struct GradientArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// Events (children looked after, plans started…)
    #[arg(long, value_name = "COLUMN")]
    count: String,
    /// Population at risk (children)
    #[arg(long, value_name = "COLUMN")]
    population: String,
    /// Numeric deprivation: IMD decile or score
    #[arg(long, value_name = "COLUMN")]
    deprivation: String,
    /// Decile 1 is the most deprived (as IMD deciles are numbered)
    #[arg(long)]
    most_deprived_first: bool,
    /// Further terms to adjust for, comma-separated
    #[arg(long, value_name = "TERMS", value_parser = list)]
    covariates: Option<::std::vec::Vec<String>>,
    /// Compare the gradient between the levels of this column (interaction test)
    #[arg(long, value_name = "COLUMN")]
    by: Option<String>,
    /// The family of the gradient model
    #[arg(long, value_enum, default_value = "poisson")]
    family: GradientFamily,
    /// Rates per this many people
    #[arg(long, default_value_t = 10_000.0, value_parser = positive)]
    per: f64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The families of the gradient model.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GradientFamily {
    Poisson,
    Negbin,
}

#[derive(Serialize)]
struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<DecileTable>,
    gradient: GradientSummary,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(table) = &self.table {
            writeln!(f, "{table}\n")?;
        }
        write!(f, "{}", self.gradient)
    }
}

pub fn run(args: &GradientArgs) -> Result<(), String> {
    let frame = read_data(&args.data)?;
    let (count, population, deprivation) = (&args.count, &args.population, &args.deprivation);
    let per = args.per;
    let column = |name: &str| frame.numbers(name).map_err(|e| e.to_string());
    let (counts, populations, levels) = (column(count)?, column(population)?, column(deprivation)?);
    let complete: Vec<usize> =
        (0..frame.nrows()).filter(|&i| [&counts, &populations, &levels].iter().all(|v| !v.is_missing(i))).collect();
    let mut distinct: Vec<f64> = complete.iter().map(|&i| levels.values()[i]).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if args.most_deprived_first {
        distinct.reverse();
    }
    // A rate table when deprivation is grouped (deciles, quintiles), not for a continuous score.
    let table = if distinct.len() <= 20 {
        let label = |v: f64| strata_core::frame::format_number(v);
        let groups: Vec<String> = complete.iter().map(|&i| label(levels.values()[i])).collect();
        let pick = |v: &Masked<f64>| complete.iter().map(|&i| v.values()[i]).collect::<Vec<_>>();
        let order: Vec<String> = distinct.iter().map(|&v| label(v)).collect();
        Some(decile_table(&groups, &pick(&counts), &pick(&populations), &order, per, 0.95).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let mut model = DeprivationGradient::new(count, population, deprivation);
    if let Some(covariates) = &args.covariates {
        model = model.covariates(&covariates.iter().map(String::as_str).collect::<Vec<_>>());
    }
    if let Some(by) = &args.by {
        model = model.by(by);
    }
    if args.family == GradientFamily::Negbin {
        model = model.negative_binomial();
    }
    let gradient = model.fit(&frame).map_err(|e| e.to_string())?;
    emit(args.json, &Report { table, gradient })
}

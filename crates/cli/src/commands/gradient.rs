//! `strata gradient`: rates by deprivation group and the deprivation-gradient model.

use super::{emit, read_data, Command};
use crate::args::{switch, value, Args};
use serde::Serialize;
use std::fmt;
use strata_core::Masked;
use strata_gradient::deprivation::{DeprivationGradient, GradientSummary};
use strata_gradient::rates::{decile_table, DecileTable};

pub const COMMAND: Command = Command {
    name: "gradient",
    about: "rates by deprivation decile and the deprivation-gradient model (Poisson or negative binomial)",
    flags: &[
        value("data", "the CSV file"),
        value("count", "events (children looked after, plans started…)"),
        value("population", "population at risk (children)"),
        value("deprivation", "numeric deprivation: IMD decile or score"),
        switch("most-deprived-first", "decile 1 is the most deprived (as IMD deciles are numbered)"),
        value("covariates", "further terms to adjust for, comma-separated"),
        value("by", "compare the gradient between the levels of this column (interaction test)"),
        value("family", "poisson (default) | negbin"),
        value("per", "rates per this many people (default 10000)"),
        switch("json", "print one JSON object"),
    ],
    run,
};

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

fn run(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    let (count, population, deprivation) =
        (args.required("count")?, args.required("population")?, args.required("deprivation")?);
    let per = args.number("per", 10_000.0)?;
    if per <= 0.0 {
        return Err(format!("--per {per}: rates are per a positive number of people"));
    }
    let column = |name: &str| frame.numbers(name).map_err(|e| e.to_string());
    let (counts, populations, levels) = (column(count)?, column(population)?, column(deprivation)?);
    let complete: Vec<usize> =
        (0..frame.nrows()).filter(|&i| [&counts, &populations, &levels].iter().all(|v| !v.is_missing(i))).collect();
    let mut distinct: Vec<f64> = complete.iter().map(|&i| levels.values()[i]).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if args.has("most-deprived-first") {
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
    if let Some(list) = args.get("covariates") {
        model = model.covariates(&list.split(',').map(str::trim).collect::<Vec<_>>());
    }
    if let Some(by) = args.get("by") {
        model = model.by(by);
    }
    match args.get("family").unwrap_or("poisson") {
        "poisson" => {}
        "negbin" => model = model.negative_binomial(),
        other => return Err(format!("--family `{other}`: use poisson or negbin")),
    }
    let gradient = model.fit(&frame).map_err(|e| e.to_string())?;
    emit(args, &Report { table, gradient })
}

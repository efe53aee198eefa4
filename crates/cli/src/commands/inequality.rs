//! `strata inequality`: inequality indices of a column, or gradient indices of grouped data.

use super::{emit, read_data, Command};
use crate::args::{switch, value, Args};
use strata_inequality::{Distribution, GroupedData, RankOrder};

pub const COMMAND: Command = Command {
    name: "inequality",
    about: "inequality indices (Gini, Theil, Atkinson…) or, with --grouped, SII/RII/concentration index",
    flags: &[
        value("data", "the CSV file"),
        value("value", "column of values (incomes, rates) for individual-data indices"),
        value("weight", "column of weights for --value"),
        value("index", "indices to show, comma-separated: gini,theil,mld,ge2,atkinson,cv,palma,p90p10 (default all)"),
        value("epsilon", "Atkinson inequality aversions, comma-separated (default 0.5,1,2)"),
        switch("grouped", "grouped data: --rank, --population and --count columns"),
        value("rank", "deprivation rank of each group (ascending = less deprived, unless --most-deprived-first)"),
        switch("most-deprived-first", "rank 1 is the most deprived (as IMD deciles are numbered)"),
        value("population", "population of each group"),
        value("count", "events in each group"),
        value("per", "rates per this many people (default 10000)"),
        switch("json", "print one JSON object"),
    ],
    run,
};

const INDICES: [&str; 8] = ["gini", "theil", "mld", "ge2", "atkinson", "cv", "palma", "p90p10"];

fn numbers(text: &str, what: &str) -> Result<Vec<f64>, String> {
    text.split(',').map(|v| v.trim().parse::<f64>().map_err(|_| format!("{what}: `{v}` is not a number"))).collect()
}

fn run(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    if args.has("grouped") {
        let order =
            if args.has("most-deprived-first") { RankOrder::MostDeprivedFirst } else { RankOrder::LeastDeprivedFirst };
        let data = GroupedData::from_frame(
            &frame,
            args.required("rank")?,
            args.required("population")?,
            args.required("count")?,
            order,
        )
        .map_err(|e| e.to_string())?;
        let per = args.get("per").map_or(Ok(10_000.0), |p| numbers(p, "--per").map(|v| v[0]))?;
        return emit(args, &data.indices(per).map_err(|e| e.to_string())?);
    }
    let name = args.required("value")?;
    let complete = |column: &str| -> Result<Vec<f64>, String> {
        frame
            .numbers(column)
            .map_err(|e| e.to_string())?
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| format!("`{column}` is missing at data row {}", i + 1)))
            .collect()
    };
    let values = complete(name)?;
    let distribution = match args.get("weight") {
        Some(weight) => Distribution::weighted(&values, &complete(weight)?),
        None => Distribution::new(&values),
    }
    .map_err(|e| e.to_string())?;
    if let Some(list) = args.get("index") {
        for index in list.split(',') {
            if !INDICES.contains(&index.trim()) {
                return Err(format!("unknown index `{index}` (known: {})", INDICES.join(", ")));
            }
        }
    }
    let epsilons = args.get("epsilon").map_or(Ok(vec![0.5, 1.0, 2.0]), |e| numbers(e, "--epsilon"))?;
    emit(args, &distribution.summary(&epsilons).map_err(|e| e.to_string())?)
}

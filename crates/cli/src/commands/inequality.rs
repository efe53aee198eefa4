//! `strata inequality`: inequality indices of a column (with concentration over a ranking,
//! entropy decompositions and bootstrap intervals), or gradient indices of grouped data.

use super::{emit, read_data, Command};
use crate::args::{switch, value, Args};
use serde::Serialize;
use std::fmt;
use strata_core::random::Rng;
use strata_core::DataFrame;
use strata_inequality::bootstrap::{bootstrap, BootstrapInterval, BootstrapMethod};
use strata_inequality::concentration::{self, Concentration};
use strata_inequality::decomposition::{decompose_entropy, EntropyDecomposition};
use strata_inequality::{Distribution, GroupedData, IndexSummary, RankOrder, INDEX_NAMES};
use strata_plot::{Chart, Series, BLUE, GREY};

pub const COMMAND: Command = Command {
    name: "inequality",
    about: "inequality indices (Gini, Theil, Atkinson…) or, with --grouped, SII/RII/concentration index",
    flags: &[
        value("data", "the CSV file"),
        value("value", "column of values (incomes, rates) for individual-data indices"),
        value("weight", "column of weights for --value"),
        value(
            "index",
            "indices to print, comma-separated: gini,theil,mld,ge2,atkinson,cv,palma,p90p10 (default all; --json has all)",
        ),
        value("epsilon", "Atkinson inequality aversions, comma-separated (default 0.5,1,2)"),
        value("rank", "with --value: concentration index of the value over this ranking column; with --grouped: the groups' deprivation rank"),
        value("bounds", "LOW,HIGH bounds of a bounded outcome, for the Wagstaff and Erreygers corrections"),
        value("group", "with --value: decompose GE(0), GE(1), GE(2) within and between these groups"),
        value("bootstrap", "with --value: number of bootstrap replicates for intervals of the Gini, Theil and concentration indices"),
        value("ci", "bootstrap interval: percentile (default) | bca"),
        value("cluster", "resample whole clusters (e.g. local authorities) in the bootstrap"),
        value("seed", "bootstrap seed (default 1)"),
        switch("grouped", "grouped data: --rank, --population and --count columns"),
        switch("most-deprived-first", "rank 1 is the most deprived (as IMD deciles are numbered)"),
        value("population", "population of each group"),
        value("count", "events in each group"),
        value("per", "rates per this many people (default 10000)"),
        value("plot", "write the Lorenz or concentration curve to this SVG file"),
        switch("json", "print one JSON object"),
    ],
    run,
};

fn complete(frame: &DataFrame, column: &str) -> Result<Vec<f64>, String> {
    frame
        .numbers(column)
        .map_err(|e| e.to_string())?
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| format!("`{column}` is missing at data row {}", i + 1)))
        .collect()
}

/// An index's error with the input named by the column it was read from, and its position as a
/// data row (columns are read whole, so position i is data row i + 1).
fn located(error: strata_inequality::Error, columns: &[(&str, Option<&str>)]) -> String {
    match error {
        strata_inequality::Error::InvalidValue { input, index, value, reason } => {
            let column = columns.iter().find(|(name, _)| *name == input).and_then(|(_, c)| *c).unwrap_or(&input);
            format!("`{column}` has the value {value} at data row {}: {reason}", index + 1)
        }
        other => other.to_string(),
    }
}

fn curve_plot(path: &str, title: &str, y_label: &str, curve: Vec<(f64, f64)>) -> Result<(), String> {
    let chart = Chart::new(title, "cumulative share of the population", y_label)
        .y_range(0.0, 1.0)
        .with(Series::Line {
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            colour: GREY,
            label: "equality".into(),
            dashed: true,
        })
        .with(Series::Line { points: curve, colour: BLUE, label: String::new(), dashed: false });
    super::write_file(path, &chart.to_svg())
}

/// Everything the value mode reports: every index in the JSON (its fixed shape), the ones
/// `--index` names in the printed table.
#[derive(Serialize)]
struct ValueReport {
    #[serde(flatten)]
    indices: IndexSummary,
    #[serde(skip)]
    shown: IndexSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    concentration: Option<Concentration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    decompositions: Vec<EntropyDecomposition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bootstrap: Vec<(String, BootstrapInterval)>,
}

impl fmt::Display for ValueReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.shown)?;
        if let Some(c) = &self.concentration {
            write!(f, "\n  Concentration index       {:.6}", c.index)?;
            if let (Some(w), Some(e)) = (c.wagstaff, c.erreygers) {
                write!(f, "\n    Wagstaff-corrected      {w:.6}\n    Erreygers-corrected     {e:.6}")?;
            }
        }
        for d in &self.decompositions {
            write!(f, "\n  GE({}) = {:.6}: within groups {:.6}, between {:.6}", d.alpha, d.total, d.within, d.between)?;
        }
        for (name, b) in &self.bootstrap {
            write!(
                f,
                "\n  {name}: {:.6}, bootstrap SE {:.6}, {}% {:?} interval {:.6} to {:.6} ({} replicates)",
                b.estimate,
                b.std_error,
                b.level * 100.0,
                b.method,
                b.lower,
                b.upper,
                b.replicates
            )?;
        }
        Ok(())
    }
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
        .map_err(|e| located(e, &[]))?;
        let per = args.numbers("per")?.map_or(10_000.0, |v| v[0]);
        let indices = data.indices(per).map_err(|e| e.to_string())?;
        if let Some(path) = args.get("plot") {
            curve_plot(
                path,
                "Concentration curve, least to most deprived",
                "cumulative share of events",
                indices.concentration_curve.clone(),
            )?;
        }
        return emit(args, &indices);
    }
    let selected: Option<Vec<&str>> = args.get("index").map(|list| list.split(',').map(str::trim).collect());
    if let Some(names) = &selected {
        // Checked before any work is done.
        if let Some(unknown) = names.iter().find(|n| !INDEX_NAMES.contains(n)) {
            return Err(format!("unknown index `{unknown}` (known: {})", INDEX_NAMES.join(", ")));
        }
    }
    let values = complete(&frame, args.required("value")?)?;
    let weights = match args.get("weight") {
        Some(column) => complete(&frame, column)?,
        None => vec![1.0; values.len()],
    };
    let columns = [
        ("values", args.get("value")),
        ("outcome", args.get("value")),
        ("weights", args.get("weight")),
        ("rank", args.get("rank")),
    ];
    let distribution = Distribution::weighted(&values, &weights).map_err(|e| located(e, &columns))?;
    // ε may be `Inf` (only the worst-off count), never NaN or negative.
    let epsilons = match args.get("epsilon") {
        None => vec![0.5, 1.0, 2.0],
        Some(list) => list
            .split(',')
            .map(|v| match v.trim().parse::<f64>() {
                Ok(e) if e >= 0.0 => Ok(e),
                _ => Err(format!("--epsilon: `{v}` is not a number from 0 to Inf")),
            })
            .collect::<Result<Vec<f64>, String>>()?,
    };
    let bounds = match args.numbers("bounds")? {
        Some(values) => match values.as_slice() {
            [low, high] if low < high => Some((*low, *high)),
            _ => return Err("--bounds takes LOW,HIGH with LOW < HIGH".into()),
        },
        None => None,
    };
    let rank = args.get("rank").map(|column| complete(&frame, column)).transpose()?;
    let concentration = rank
        .as_ref()
        .map(|r| concentration::concentration(&values, r, &weights, bounds))
        .transpose()
        .map_err(|e| located(e, &columns))?;
    let codes = |column: &str| -> Result<Vec<u32>, String> {
        let c = frame.column(column).map_err(|e| e.to_string())?;
        let labels: Vec<Option<String>> = (0..c.len()).map(|i| c.text(i)).collect();
        match strata_core::Column::categorical_from(&labels) {
            strata_core::Column::Categorical { codes, .. } => codes
                .into_iter()
                .enumerate()
                .map(|(i, code)| code.ok_or_else(|| format!("`{column}` is missing at data row {}", i + 1)))
                .collect(),
            _ => unreachable!("categorical_from returns a categorical column"),
        }
    };
    let decompositions = match args.get("group") {
        Some(column) => {
            let groups = codes(column)?;
            [0.0, 1.0, 2.0]
                .iter()
                .map(|&alpha| decompose_entropy(&values, &weights, &groups, alpha))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    let mut intervals = Vec::new();
    if args.get("bootstrap").is_some() {
        let replicates = args.whole("bootstrap", 0, 1, super::MAX_REPLICATES)?;
        let method = match args.get("ci").unwrap_or("percentile") {
            "percentile" => BootstrapMethod::Percentile,
            "bca" => BootstrapMethod::Bca,
            other => return Err(format!("--ci `{other}`: use percentile or bca")),
        };
        let clusters = args.get("cluster").map(codes).transpose()?;
        let seed = args.seed()?;
        let pick = |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let mut rng = Rng::new(seed);
        let mut run_one = |name: &str,
                           statistic: &dyn Fn(&[usize]) -> strata_inequality::Result<f64>|
         -> Result<(), String> {
            let interval = bootstrap(values.len(), clusters.as_deref(), statistic, replicates, 0.95, method, &mut rng)
                .map_err(|e| e.to_string())?;
            intervals.push((name.to_string(), interval));
            Ok(())
        };
        run_one("gini", &|idx| Ok(Distribution::weighted(&pick(&values, idx), &pick(&weights, idx))?.gini()))?;
        run_one("theil_t", &|idx| Ok(Distribution::weighted(&pick(&values, idx), &pick(&weights, idx))?.theil()))?;
        if let Some(r) = &rank {
            run_one("concentration_index", &|idx| {
                Ok(concentration::concentration(&pick(&values, idx), &pick(r, idx), &pick(&weights, idx), None)?.index)
            })?;
        }
    }
    if let Some(path) = args.get("plot") {
        match &concentration {
            Some(c) => curve_plot(path, "Concentration curve", "cumulative share of the value", c.curve.clone())?,
            None => {
                curve_plot(path, "Lorenz curve", "cumulative share of the value", thin(distribution.lorenz_curve()))?;
            }
        }
    }
    let indices = distribution.summary(&epsilons).map_err(|e| e.to_string())?;
    let shown = match &selected {
        Some(names) => indices.clone().retain(names).map_err(|e| e.to_string())?,
        None => indices.clone(),
    };
    let report = ValueReport { indices, shown, concentration, decompositions, bootstrap: intervals };
    emit(args, &report)
}

/// At most about 1,000 points of a curve, for plotting.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let step = (points.len() / 1000).max(1);
    let last = points.len().saturating_sub(1);
    points.into_iter().enumerate().filter(|(k, _)| k % step == 0 || *k == last).map(|(_, p)| p).collect()
}

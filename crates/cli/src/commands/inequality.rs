//! `strata inequality`: inequality indices of a column (with concentration over a ranking,
//! entropy decompositions and bootstrap intervals), or gradient indices of grouped data.

use super::{emit, read_columns};
use crate::args::{finite_list, list, positive, whole};
use serde::Serialize;
use std::fmt;
use strata_core::random::Rng;
use strata_core::DataFrame;
use strata_inequality::bootstrap::{bootstrap, BootstrapInterval, BootstrapMethod};
use strata_inequality::concentration::{self, Concentration};
use strata_inequality::decomposition::{decompose_entropy, EntropyDecomposition};
use strata_inequality::{Distribution, GroupedData, IndexSummary, RankOrder, INDEX_NAMES};
use strata_plot::{Chart, Series, BLUE, GREY};

#[derive(clap::Args)]
pub struct InequalityArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// Column of values (incomes, rates) for individual-data indices
    #[arg(long, value_name = "COLUMN", required_unless_present = "grouped")]
    value: Option<String>,
    /// Column of weights for --value
    #[arg(long, value_name = "COLUMN")]
    weight: Option<String>,
    /// Indices to print, comma-separated: gini,theil,mld,ge2,atkinson,cv,palma,p90p10 (default all; --json has all)
    #[arg(long, value_name = "NAMES", value_parser = list)]
    index: Option<::std::vec::Vec<String>>,
    /// Atkinson inequality aversions, comma-separated (Inf allowed)
    #[arg(long, value_name = "VALUES", default_value = "0.5,1,2", value_parser = aversions)]
    epsilon: ::std::vec::Vec<f64>,
    /// With --value: concentration index of the value over this ranking column; with --grouped: the groups' deprivation rank
    #[arg(long, value_name = "COLUMN")]
    rank: Option<String>,
    /// LOW,HIGH bounds of a bounded outcome, for the Wagstaff and Erreygers corrections
    #[arg(long, value_name = "LOW,HIGH", value_parser = finite_list)]
    bounds: Option<::std::vec::Vec<f64>>,
    /// With --value: decompose GE(0), GE(1), GE(2) within and between these groups
    #[arg(long, value_name = "COLUMN")]
    group: Option<String>,
    /// With --value: number of bootstrap replicates for intervals of the Gini, Theil and concentration indices
    #[arg(long, value_name = "REPLICATES", value_parser = whole(1, super::MAX_REPLICATES))]
    bootstrap: Option<usize>,
    /// The bootstrap interval
    #[arg(long, value_enum, default_value = "percentile")]
    ci: IntervalName,
    /// Resample whole clusters (e.g. local authorities) in the bootstrap
    #[arg(long, value_name = "COLUMN")]
    cluster: Option<String>,
    /// The bootstrap's seed
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Grouped data: --rank, --population and --count columns
    #[arg(long, requires_all = ["rank", "population", "count"])]
    grouped: bool,
    /// Rank 1 is the most deprived (as IMD deciles are numbered)
    #[arg(long)]
    most_deprived_first: bool,
    /// Population of each group
    #[arg(long, value_name = "COLUMN")]
    population: Option<String>,
    /// Events in each group
    #[arg(long, value_name = "COLUMN")]
    count: Option<String>,
    /// Rates per this many people
    #[arg(long, default_value_t = 10_000.0, value_parser = positive)]
    per: f64,
    /// Write the Lorenz or concentration curve to this SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The bootstrap intervals of `--ci`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum IntervalName {
    Percentile,
    Bca,
}

/// Inequality aversions ε: numbers from 0 to `Inf` (only the worst-off count), never NaN.
fn aversions(text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(|v| match v.trim().parse::<f64>() {
            Ok(e) if e >= 0.0 => Ok(e),
            _ => Err(format!("`{v}` is not a number from 0 to Inf")),
        })
        .collect()
}

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

pub fn run(args: &InequalityArgs) -> Result<(), String> {
    let named = [&args.value, &args.weight, &args.rank, &args.group, &args.cluster, &args.population, &args.count];
    let columns: Vec<String> = named.into_iter().flatten().cloned().collect();
    let frame = read_columns(&args.data, &columns)?;
    if args.grouped {
        let order = if args.most_deprived_first { RankOrder::MostDeprivedFirst } else { RankOrder::LeastDeprivedFirst };
        let (Some(rank), Some(population), Some(count)) = (&args.rank, &args.population, &args.count) else {
            return Err("--grouped needs --rank, --population and --count".into());
        };
        let data = GroupedData::from_frame(&frame, rank, population, count, order).map_err(|e| located(e, &[]))?;
        let indices = data.indices(args.per).map_err(|e| e.to_string())?;
        if let Some(path) = &args.plot {
            curve_plot(
                path,
                "Concentration curve, least to most deprived",
                "cumulative share of events",
                indices.concentration_curve.clone(),
            )?;
        }
        return emit(args.json, &indices);
    }
    let selected: Option<Vec<&str>> = args.index.as_ref().map(|names| names.iter().map(String::as_str).collect());
    if let Some(names) = &selected {
        // Checked before any work is done.
        if let Some(unknown) = names.iter().find(|n| !INDEX_NAMES.contains(n)) {
            return Err(format!("unknown index `{unknown}` (known: {})", INDEX_NAMES.join(", ")));
        }
    }
    let value = args.value.as_deref().ok_or("--value is required (or --grouped)")?;
    let values = complete(&frame, value)?;
    let weights = match args.weight.as_deref() {
        Some(column) => complete(&frame, column)?,
        None => vec![1.0; values.len()],
    };
    let columns = [
        ("values", Some(value)),
        ("outcome", Some(value)),
        ("weights", args.weight.as_deref()),
        ("rank", args.rank.as_deref()),
    ];
    let distribution = Distribution::weighted(&values, &weights).map_err(|e| located(e, &columns))?;
    let bounds = match args.bounds.as_deref() {
        Some([low, high]) if low < high => Some((*low, *high)),
        Some(_) => return Err("--bounds takes LOW,HIGH with LOW < HIGH".into()),
        None => None,
    };
    let rank = args.rank.as_deref().map(|column| complete(&frame, column)).transpose()?;
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
    let decompositions = match args.group.as_deref() {
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
    if let Some(replicates) = args.bootstrap {
        let method = match args.ci {
            IntervalName::Percentile => BootstrapMethod::Percentile,
            IntervalName::Bca => BootstrapMethod::Bca,
        };
        let clusters = args.cluster.as_deref().map(codes).transpose()?;
        let seed = args.seed;
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
    if let Some(path) = &args.plot {
        match &concentration {
            Some(c) => curve_plot(path, "Concentration curve", "cumulative share of the value", c.curve.clone())?,
            None => {
                curve_plot(path, "Lorenz curve", "cumulative share of the value", thin(distribution.lorenz_curve()))?;
            }
        }
    }
    let indices = distribution.summary(&args.epsilon).map_err(|e| e.to_string())?;
    let shown = match &selected {
        Some(names) => indices.clone().retain(names).map_err(|e| e.to_string())?,
        None => indices.clone(),
    };
    let report = ValueReport { indices, shown, concentration, decompositions, bootstrap: intervals };
    emit(args.json, &report)
}

/// At most about 1,000 points of a curve, for plotting.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let step = (points.len() / 1000).max(1);
    let last = points.len().saturating_sub(1);
    points.into_iter().enumerate().filter(|(k, _)| k % step == 0 || *k == last).map(|(_, p)| p).collect()
}

//! The panel subcommands: `strata cor` (R's `cor.test`, by group with the homogeneity test) and
//! `strata feols` / `strata fepois` (fixest's fixed-effects regressions).

use super::{emit_model, read_columns, read_data, write_chart};
use crate::args::{finite, finite_list, list, whole};
use strata_panel::correlation::{Correlation, CorrelationByGroup, Method};
use strata_panel::fixed_effects::{FixedEffectsModel, VcovChoice};
use strata_panel::its::{InterruptedTimeSeries, InterruptedTimeSeriesFit};
use strata_plot::{Chart, Series, BLUE, GREY};

#[derive(clap::Args)]
pub struct ItsArgs {
    /// The CSV file: one row per period
    #[arg(long, value_name = "FILE")]
    data: String,
    /// The outcome column (a rate for gaussian, a count for poisson)
    #[arg(long, value_name = "COLUMN")]
    outcome: String,
    /// The time column (numeric: month or year number)
    #[arg(long, value_name = "COLUMN")]
    time: String,
    /// The interruptions: times at which the level and slope may change, comma-separated
    #[arg(long, value_name = "TIMES", value_parser = finite_list)]
    breaks: ::std::vec::Vec<f64>,
    /// The family of the segmented regression
    #[arg(long, value_enum, default_value = "gaussian")]
    family: ItsFamily,
    /// Poisson: the population column, whose log is the offset (a model of rates)
    #[arg(long, value_name = "COLUMN")]
    population: Option<String>,
    /// The Newey–West lag (default: floor(4 (n/100)^(2/9)), the Newey–West rule of thumb)
    #[arg(long, value_parser = whole(0, 100_000))]
    lag: Option<usize>,
    /// Write the series, the fitted segments and the counterfactual to this SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The families of `strata its`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ItsFamily {
    Gaussian,
    Poisson,
}

pub fn run_its(args: &ItsArgs) -> Result<(), String> {
    let frame = read_data(&args.data)?;
    let lag = args.lag.unwrap_or_else(|| (4.0 * (frame.nrows() as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize);
    let mut its = InterruptedTimeSeries::new(&args.outcome, &args.time, &args.breaks, lag);
    match args.family {
        ItsFamily::Gaussian => {
            if args.population.is_some() {
                return Err("--population is the offset of a poisson model: add --family poisson".into());
            }
        }
        ItsFamily::Poisson => its = its.poisson(args.population.as_deref()),
    }
    let fit = its.fit(&frame).map_err(|e| e.to_string())?;
    if let Some(path) = &args.plot {
        write_chart(path, &its_chart(&fit, &args.outcome, &args.time))?;
    }
    emit_model(args.json, "its", &fit)
}

/// The observed series, the fitted segments and the counterfactual pre-interruption trend.
fn its_chart(fit: &InterruptedTimeSeriesFit, outcome: &str, time: &str) -> Chart {
    let points = |value: fn(&strata_panel::its::SeriesPoint) -> f64| -> Vec<(f64, f64)> {
        fit.series.iter().map(|p| (p.time, value(p))).collect()
    };
    let first_break = fit.breaks.first().map_or(f64::INFINITY, |b| b.at);
    let mut chart = Chart::new(&format!("Interrupted time series of {outcome}"), time, outcome)
        .with(Series::Points {
            points: fit.series.iter().map(|p| (p.time, p.observed, p.observed, p.observed)).collect(),
            colour: GREY,
            label: "observed".into(),
        })
        .with(Series::Line {
            points: fit.series.iter().filter(|p| p.time >= first_break).map(|p| (p.time, p.counterfactual)).collect(),
            colour: strata_plot::RED,
            label: "counterfactual".into(),
            dashed: true,
        });
    let mut edges: Vec<f64> = fit.breaks.iter().map(|b| b.at).collect();
    edges.insert(0, f64::NEG_INFINITY);
    edges.push(f64::INFINITY);
    for (k, w) in edges.windows(2).enumerate() {
        let segment: Vec<(f64, f64)> =
            points(|p| p.fitted).into_iter().filter(|(t, _)| *t >= w[0] && *t < w[1]).collect();
        chart = chart.with(Series::Line {
            points: segment,
            colour: BLUE,
            label: if k == 0 { "fitted".into() } else { String::new() },
            dashed: false,
        });
    }
    chart
}

/// The options of `strata feols` and `strata fepois`.
#[derive(clap::Args)]
pub struct FixestArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// fixest formula: "y ~ x1 + x2 | la + year" (fixed effects after |, combined with ^)
    #[arg(long)]
    formula: String,
    /// Cluster the standard errors on one or two columns, comma-separated (default: the first fixed effect)
    #[arg(long, value_name = "COLUMNS", value_parser = list)]
    cluster: Option<::std::vec::Vec<String>>,
    /// The variance (default: clustered on --cluster or the first fixed effect)
    #[arg(long, value_enum)]
    vcov: Option<VcovName>,
    /// Column of prior weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Unit and time columns, comma-separated, for lags l(x, k) and leads f(x, k) in the formula
    #[arg(long, value_name = "UNIT,TIME", value_parser = list)]
    panel: Option<::std::vec::Vec<String>>,
    /// Keep observations alone in a fixed-effect group (removed by default, as pyfixest)
    #[arg(long)]
    keep_singletons: bool,
    /// Write the estimated fixed effects (fixest's fixef()) to this CSV file: fixed_effect,level,value
    #[arg(long, value_name = "FILE")]
    fixef: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The variances of `--vcov`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum VcovName {
    Iid,
    Hetero,
    Cluster,
}

pub fn run_feols(args: &FixestArgs) -> Result<(), String> {
    run_fixed_effects(args, "feols")
}

pub fn run_fepois(args: &FixestArgs) -> Result<(), String> {
    run_fixed_effects(args, "fepois")
}

fn run_fixed_effects(args: &FixestArgs, model: &str) -> Result<(), String> {
    let formula = args.formula.as_str();
    let mut spec = if model == "feols" { FixedEffectsModel::ols(formula) } else { FixedEffectsModel::poisson(formula) }
        .map_err(|e| e.to_string())?;
    let choice = match (args.vcov, args.cluster.clone()) {
        (None | Some(VcovName::Cluster), Some(columns)) => VcovChoice::Cluster(columns),
        (None | Some(VcovName::Cluster), None) => VcovChoice::Default,
        (Some(VcovName::Iid), None) => VcovChoice::Iid,
        (Some(VcovName::Hetero), None) => VcovChoice::Hetero,
        (Some(VcovName::Iid), Some(_)) => return Err("--vcov iid takes no --cluster".into()),
        (Some(VcovName::Hetero), Some(_)) => return Err("--vcov hetero takes no --cluster".into()),
    };
    spec = spec.vcov(choice).drop_singletons(!args.keep_singletons).estimate_fixef(args.fixef.is_some());
    if let Some(weights) = &args.weights {
        spec = spec.weights(weights);
    }
    if let Some(panel) = &args.panel {
        let [id, time] = panel.as_slice() else { return Err("--panel takes two columns: unit,time".into()) };
        spec = spec.panel(id, time);
    }
    // Only the model's columns are read from the file.
    let frame = read_columns(&args.data, &spec.columns())?;
    let fit = spec.fit(&frame).map_err(|e| e.to_string())?;
    for note in &fit.notes {
        eprintln!("note: {note}");
    }
    super::warn_all(&fit.warnings);
    if let Some(path) = &args.fixef {
        use std::fmt::Write as _;
        let mut text = String::from("fixed_effect,level,value\n");
        for effect in &fit.fixef {
            for (level, value) in effect.levels.iter().zip(&effect.values) {
                let _ = writeln!(text, "\"{}\",\"{}\",{value}", effect.name, level.replace('"', "\"\""));
            }
        }
        super::write_file(path, &text)?;
    }
    emit_model(args.json, model, &fit.summary())
}

#[derive(clap::Args)]
pub struct CorArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// The variables, comma-separated (every pair is tested on its complete rows)
    #[arg(long, value_name = "COLUMNS", value_parser = list)]
    vars: ::std::vec::Vec<String>,
    /// The correlation
    #[arg(long, value_enum, default_value = "pearson")]
    method: MethodName,
    /// Control variables, comma-separated: partial correlations given them
    #[arg(long, value_name = "COLUMNS", value_parser = list)]
    partial: Option<::std::vec::Vec<String>>,
    /// A grouping column (a year, a period): the correlation in each group, the test that they are equal
    #[arg(long, value_name = "COLUMN")]
    by: Option<String>,
    /// Confidence level of Pearson's intervals
    #[arg(long, default_value_t = 0.95, value_parser = finite)]
    level: f64,
    /// With --by: write the correlation against the group with its interval to this SVG file
    #[arg(long, value_name = "FILE", requires = "by")]
    plot: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The correlations of `--method`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MethodName {
    Pearson,
    Spearman,
    Kendall,
}

pub fn run_cor(args: &CorArgs) -> Result<(), String> {
    let method = match args.method {
        MethodName::Pearson => Method::Pearson,
        MethodName::Spearman => Method::Spearman,
        MethodName::Kendall => Method::Kendall,
    };
    let mut correlation = Correlation::new(&args.vars).map_err(|e| e.to_string())?.method(method);
    if let Some(controls) = &args.partial {
        correlation = correlation.partial(controls).map_err(|e| e.to_string())?;
    }
    correlation = correlation.level(args.level).map_err(|e| e.to_string())?;
    let frame = read_data(&args.data)?;
    let Some(by) = &args.by else {
        let matrix = correlation.fit(&frame).map_err(|e| e.to_string())?;
        return emit_model(args.json, "cor", &matrix);
    };
    let comparisons = correlation.fit_by(&frame, by).map_err(|e| e.to_string())?;
    if let Some(path) = &args.plot {
        write_chart(path, &by_group_chart(&comparisons))?;
    }
    match comparisons.as_slice() {
        [one] => emit_model(args.json, "cor_by_group", one),
        _ => emit_model(args.json, "cor_by_group", &Comparisons { by: by.clone(), comparisons }),
    }
}

/// Several pairs' correlations by group.
#[derive(serde::Serialize)]
struct Comparisons {
    by: String,
    comparisons: Vec<CorrelationByGroup>,
}

impl std::fmt::Display for Comparisons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<String> = self.comparisons.iter().map(ToString::to_string).collect();
        write!(f, "{}", texts.join("\n\n"))
    }
}

/// The correlation in each group with its interval, the pooled value dashed; groups that are not
/// numbers are placed 1, 2, ….
fn by_group_chart(comparisons: &[CorrelationByGroup]) -> Chart {
    let first = &comparisons[0];
    let title = if comparisons.len() == 1 {
        format!("Correlation of {} and {} by {}", first.x, first.y, first.by)
    } else {
        format!("Correlations by {}", first.by)
    };
    let mut chart = Chart::new(&title, &first.by, "correlation");
    let colours = [BLUE, strata_plot::RED, strata_plot::GREEN, GREY];
    for (k, c) in comparisons.iter().enumerate() {
        let x: Vec<f64> =
            c.groups.iter().enumerate().map(|(i, g)| g.group.parse::<f64>().unwrap_or((i + 1) as f64)).collect();
        let colour = colours[k % colours.len()];
        if c.groups.iter().all(|g| g.test.lower.is_some()) {
            chart = chart.with(Series::Band {
                x: x.clone(),
                lower: c.groups.iter().map(|g| g.test.lower.unwrap_or(f64::NAN)).collect(),
                upper: c.groups.iter().map(|g| g.test.upper.unwrap_or(f64::NAN)).collect(),
                colour,
                step: false,
            });
        }
        chart = chart
            .with(Series::Line {
                points: x.iter().zip(&c.groups).map(|(x, g)| (*x, g.test.estimate)).collect(),
                colour,
                label: if comparisons.len() == 1 { "r by group".into() } else { format!("{} ~ {}", c.x, c.y) },
                dashed: false,
            })
            .with(Series::Line {
                points: vec![(x[0], c.homogeneity.pooled_estimate), (x[x.len() - 1], c.homogeneity.pooled_estimate)],
                colour,
                label: format!("pooled (equal: p = {:.3})", c.homogeneity.p_value),
                dashed: true,
            });
    }
    chart
}

//! The panel subcommands: `strata cor` (R's `cor.test`, by group with the homogeneity test) and
//! `strata feols` / `strata fepois` (fixest's fixed-effects regressions).

use super::{emit_model, read_columns, read_data, write_chart, Command};
use crate::args::{list, switch, value, Args};
use strata_panel::correlation::{Correlation, CorrelationByGroup, Method};
use strata_panel::fixed_effects::{FixedEffectsModel, VcovChoice};
use strata_panel::its::{InterruptedTimeSeries, InterruptedTimeSeriesFit};
use strata_plot::{Chart, Series, BLUE, GREY};

pub const ITS: Command = Command {
    name: "its",
    about: "interrupted time series: segmented regression with Newey-West errors and the counterfactual trend",
    flags: &[
        value("data", "the CSV file: one row per period"),
        value("outcome", "the outcome column (a rate for gaussian, a count for poisson)"),
        value("time", "the time column (numeric: month or year number)"),
        value("breaks", "the interruptions: times at which the level and slope may change, comma-separated"),
        value("family", "gaussian (default) | poisson"),
        value("population", "poisson: the population column, whose log is the offset (a model of rates)"),
        value("lag", "the Newey-West lag (default: floor(4 (n/100)^(2/9)), the Newey-West rule of thumb)"),
        value("plot", "write the series, the fitted segments and the counterfactual to this SVG file"),
        switch("json", "print one JSON object"),
    ],
    run: run_its,
};

fn run_its(args: &Args) -> Result<(), String> {
    let breaks = args.numbers("breaks")?.ok_or("--breaks is required")?;
    if let Some(b) = breaks.iter().find(|b| !b.is_finite()) {
        return Err(format!("--breaks: {b} is not a finite time"));
    }
    let frame = read_data(args)?;
    let lag = match args.get("lag") {
        Some(text) => super::glm::parse_lag(text)?,
        None => (4.0 * (frame.nrows() as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize,
    };
    let mut its = InterruptedTimeSeries::new(args.required("outcome")?, args.required("time")?, &breaks, lag);
    match args.get("family") {
        None | Some("gaussian") => {
            if args.get("population").is_some() {
                return Err("--population is the offset of a poisson model: add --family poisson".into());
            }
        }
        Some("poisson") => its = its.poisson(args.get("population")),
        Some(other) => return Err(format!("--family `{other}`: use gaussian or poisson")),
    }
    let fit = its.fit(&frame).map_err(|e| e.to_string())?;
    if let Some(path) = args.get("plot") {
        write_chart(path, &its_chart(&fit, args.required("outcome")?, args.required("time")?))?;
    }
    emit_model(args, "its", &fit)
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

const FIXED_EFFECTS_FLAGS: &[crate::args::Flag] = &[
    value("data", "the CSV file"),
    value("formula", "fixest formula: \"y ~ x1 + x2 | la + year\" (fixed effects after |, combined with ^)"),
    value(
        "cluster",
        "cluster the standard errors on one or two columns, comma-separated (default: the first fixed effect)",
    ),
    value("vcov", "iid | hetero | cluster (default: clustered on --cluster or the first fixed effect)"),
    value("weights", "column of prior weights"),
    value("panel", "unit and time columns, comma-separated, for lags l(x, k) and leads f(x, k) in the formula"),
    switch("keep-singletons", "keep observations alone in a fixed-effect group (removed by default, as pyfixest)"),
    value("fixef", "write the estimated fixed effects (fixest's fixef()) to this CSV file: fixed_effect,level,value"),
    switch("json", "print one JSON object"),
];

pub const FEOLS: Command = Command {
    name: "feols",
    about: "linear regression with high-dimensional fixed effects and clustered errors (fixest's feols)",
    flags: FIXED_EFFECTS_FLAGS,
    run: |args| run_fixed_effects(args, "feols"),
};

pub const FEPOIS: Command = Command {
    name: "fepois",
    about: "Poisson regression with high-dimensional fixed effects, offsets and clustered errors (fixest's fepois)",
    flags: FIXED_EFFECTS_FLAGS,
    run: |args| run_fixed_effects(args, "fepois"),
};

fn run_fixed_effects(args: &Args, model: &str) -> Result<(), String> {
    let formula = args.required("formula")?;
    let mut spec = if model == "feols" { FixedEffectsModel::ols(formula) } else { FixedEffectsModel::poisson(formula) }
        .map_err(|e| e.to_string())?;
    let cluster = args.get("cluster").map(list);
    let choice = match (args.get("vcov"), cluster) {
        (None | Some("cluster"), Some(columns)) => VcovChoice::Cluster(columns),
        (None | Some("cluster"), None) => VcovChoice::Default,
        (Some("iid"), None) => VcovChoice::Iid,
        (Some("hetero"), None) => VcovChoice::Hetero,
        (Some(kind @ ("iid" | "hetero")), Some(_)) => return Err(format!("--vcov {kind} takes no --cluster")),
        (Some(other), _) => return Err(format!("--vcov `{other}`: use iid, hetero or cluster")),
    };
    spec = spec.vcov(choice).drop_singletons(!args.has("keep-singletons")).estimate_fixef(args.get("fixef").is_some());
    if let Some(weights) = args.get("weights") {
        spec = spec.weights(weights);
    }
    if let Some(panel) = args.get("panel") {
        let [id, time] = list(panel).try_into().map_err(|_| "--panel takes two columns: unit,time".to_string())?;
        spec = spec.panel(&id, &time);
    }
    // Only the model's columns are read from the file.
    let frame = read_columns(args, &spec.columns())?;
    let fit = spec.fit(&frame).map_err(|e| e.to_string())?;
    for note in &fit.notes {
        eprintln!("note: {note}");
    }
    super::warn_all(&fit.warnings);
    if let Some(path) = args.get("fixef") {
        use std::fmt::Write as _;
        let mut text = String::from("fixed_effect,level,value\n");
        for effect in &fit.fixef {
            for (level, value) in effect.levels.iter().zip(&effect.values) {
                let _ = writeln!(text, "\"{}\",\"{}\",{value}", effect.name, level.replace('"', "\"\""));
            }
        }
        super::write_file(path, &text)?;
    }
    emit_model(args, model, &fit.summary())
}

pub const COR: Command = Command {
    name: "cor",
    about: "correlations with cor.test's inference; partial, adjusted p-values, by year with the homogeneity test",
    flags: &[
        value("data", "the CSV file"),
        value("vars", "the variables, comma-separated (every pair is tested on its complete rows)"),
        value("method", "pearson (default) | spearman | kendall"),
        value("partial", "control variables, comma-separated: partial correlations given them"),
        value(
            "by",
            "a grouping column (a year, a period): the correlation in each group, the test that they are equal",
        ),
        value("level", "confidence level of Pearson's intervals (default 0.95)"),
        value("plot", "with --by: write the correlation against the group with its interval to this SVG file"),
        switch("json", "print one JSON object"),
    ],
    run: run_cor,
};

fn run_cor(args: &Args) -> Result<(), String> {
    let variables = list(args.required("vars")?);
    let mut correlation = Correlation::new(&variables).map_err(|e| e.to_string())?;
    if let Some(method) = args.get("method") {
        correlation = correlation.method(Method::parse(method).map_err(|e| e.to_string())?);
    }
    if let Some(controls) = args.get("partial") {
        correlation = correlation.partial(&list(controls)).map_err(|e| e.to_string())?;
    }
    if args.get("level").is_some() {
        let level = args.number("level", 0.95)?;
        correlation = correlation.level(level).map_err(|e| e.to_string())?;
    }
    let frame = read_data(args)?;
    let Some(by) = args.get("by") else {
        if args.get("plot").is_some() {
            return Err("--plot draws correlations by group: give --by too".into());
        }
        let matrix = correlation.fit(&frame).map_err(|e| e.to_string())?;
        return emit_model(args, "cor", &matrix);
    };
    let comparisons = correlation.fit_by(&frame, by).map_err(|e| e.to_string())?;
    if let Some(path) = args.get("plot") {
        write_chart(path, &by_group_chart(&comparisons))?;
    }
    match comparisons.as_slice() {
        [one] => emit_model(args, "cor_by_group", one),
        _ => emit_model(args, "cor_by_group", &Comparisons { by: by.to_string(), comparisons }),
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

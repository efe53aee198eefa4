//! `strata cuminc` and `strata fine-gray`: cmprsk's `cuminc` and `crr`.

use super::super::{emit, read_data, write_chart};
use super::PALETTE;
use crate::args::{finite, finite_list};
use strata_core::{Warning, WarningKind};
use strata_pathways::competing::{CumulativeIncidence, IncidenceByGroup};
use strata_pathways::fine_gray::FineGray;
use strata_plot::{Chart, Series};

#[derive(clap::Args)]
pub struct CumincArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// Column of event or censoring times
    #[arg(long, value_name = "COLUMN")]
    time: String,
    /// Column of integer cause codes
    #[arg(long, value_name = "COLUMN")]
    event: String,
    /// The code of censored observations
    #[arg(long, value_name = "CODE", default_value_t = 0)]
    censor_code: i64,
    /// Column of groups: curves by group and Gray's test of each cause
    #[arg(long, value_name = "COLUMN")]
    group: Option<String>,
    /// Column of strata for Gray's test
    #[arg(long, value_name = "COLUMN", requires = "group")]
    strata: Option<String>,
    /// Gray's test weight exponent
    #[arg(long, default_value_t = 0.0, value_parser = finite)]
    rho: f64,
    /// Times at which to report, comma-separated (default: every event time)
    #[arg(long, value_name = "TIMES", value_parser = finite_list)]
    at: Option<::std::vec::Vec<f64>>,
    /// Write the cumulative incidence curves to this SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run_cuminc(args: &CumincArgs) -> Result<(), String> {
    let frame = read_data(&args.data)?;
    let (time_column, event_column) = (args.time.as_str(), args.event.as_str());
    let times = frame.numbers(time_column).map_err(|e| e.to_string())?;
    let events = frame.numbers(event_column).map_err(|e| e.to_string())?;
    let column =
        |name: &Option<String>| name.as_deref().map(|name| frame.column(name).map_err(|e| e.to_string())).transpose();
    let (group_column, strata_column) = (column(&args.group)?, column(&args.strata)?);
    let (mut time, mut status, mut groups, mut strata) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (t, e)) in times.iter().zip(&events).enumerate() {
        let (Some(t), Some(e)) = (t, e) else { continue };
        let group = group_column.map(|c| c.text(i));
        let stratum = strata_column.map(|c| c.text(i));
        if matches!(group, Some(None)) || matches!(stratum, Some(None)) {
            continue;
        }
        if e.fract() != 0.0 {
            return Err(format!("`{event_column}` at data row {} is {e}, not a whole-number cause code", i + 1));
        }
        time.push(t);
        status.push(e as i64);
        groups.extend(group.flatten());
        strata.extend(stratum.flatten());
    }
    let censor = args.censor_code;
    if !status.contains(&censor) {
        super::super::warn(Warning::new(
            WarningKind::Data,
            format!("no observation has the censoring code {censor}: every status is taken as a cause (check --censor-code)"),
        ));
    }
    let rho = args.rho;
    if group_column.is_none() {
        let pooled = CumulativeIncidence::new(&time, &status, censor).map_err(|e| e.to_string())?;
        let at = args.at.clone().unwrap_or_else(|| pooled.times.clone());
        if let Some(path) = &args.plot {
            write_chart(path, &cuminc_chart(&[(String::new(), &pooled)]))?;
        }
        return emit(args.json, &pooled.at(&at));
    }
    let (group, labels) = codes(&groups);
    let strata = strata_column.map(|_| codes(&strata).0);
    let fit = IncidenceByGroup::new(&time, &status, &group, &labels, strata.as_deref(), censor, rho)
        .map_err(|e| e.to_string())?;
    if let Some(path) = &args.plot {
        let curves: Vec<(String, &CumulativeIncidence)> =
            fit.groups.iter().map(|g| format!("{g}, ")).zip(&fit.curves).collect();
        write_chart(path, &cuminc_chart(&curves))?;
    }
    let at = args.at.clone().unwrap_or_else(|| fit.times());
    emit(args.json, &fit.at(&at))
}

/// Codes into the sorted distinct labels (numerically when every label is a number, as R
/// orders a numeric factor), and the labels.
fn codes(values: &[String]) -> (Vec<usize>, Vec<String>) {
    let labels = strata_core::frame::sorted_distinct(values);
    let codes = values.iter().map(|v| labels.iter().position(|l| l == v).unwrap_or(0)).collect();
    (codes, labels)
}

/// Each cause's cumulative incidence as a step function, for each (label prefix, curves).
fn cuminc_chart(curves: &[(String, &CumulativeIncidence)]) -> Chart {
    let mut chart =
        Chart::new("Cumulative incidence (Aalen–Johansen)", "time", "cumulative incidence").y_range(0.0, 1.0);
    let mut k = 0;
    for (prefix, fit) in curves {
        for (cause, estimates) in fit.causes.iter().zip(&fit.estimates) {
            let mut points = vec![(0.0, 0.0)];
            points.extend(fit.times.iter().copied().zip(estimates.iter().copied()));
            let (colour, label) = (PALETTE[k % PALETTE.len()], format!("{prefix}cause {cause}"));
            chart = chart.with(Series::Step { points, colour, label });
            k += 1;
        }
    }
    chart
}

#[derive(clap::Args)]
pub struct FineGrayArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// e.g. "Surv(time, status) ~ age + sex", status holding cause codes
    #[arg(long)]
    formula: String,
    /// The cause of interest
    #[arg(long, value_name = "CODE", default_value_t = 1)]
    cause: i64,
    /// The code of censored observations
    #[arg(long, value_name = "CODE", default_value_t = 0)]
    censor_code: i64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run_fine_gray(args: &FineGrayArgs) -> Result<(), String> {
    let model = FineGray::new(&args.formula, args.cause, args.censor_code).map_err(|e| e.to_string())?;
    let frame = read_data(&args.data)?;
    emit(args.json, &model.fit(&frame).map_err(|e| e.to_string())?)
}

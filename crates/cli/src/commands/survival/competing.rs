//! `strata cuminc` and `strata fine-gray`: cmprsk's `cuminc` and `crr`.

use super::super::{emit, read_data, write_chart, Command};
use super::PALETTE;
use crate::args::{switch, value, Args};
use strata_core::{Warning, WarningKind};
use strata_pathways::competing::{CumulativeIncidence, IncidenceByGroup};
use strata_pathways::fine_gray::FineGray;
use strata_plot::{Chart, Series};

pub const CUMINC: Command = Command {
    name: "cuminc",
    about: "cumulative incidence of competing causes (Aalen–Johansen), as cmprsk's cuminc",
    flags: &[
        value("data", "the CSV file"),
        value("time", "column of event or censoring times"),
        value("event", "column of integer cause codes"),
        value("censor-code", "the code of censored observations (default 0)"),
        value("group", "column of groups: curves by group and Gray's test of each cause"),
        value("strata", "column of strata for Gray's test (needs --group)"),
        value("rho", "Gray's test weight exponent (default 0)"),
        value("at", "times at which to report, comma-separated (default: every event time)"),
        value("plot", "write the cumulative incidence curves to this SVG file"),
        switch("json", "print one JSON object"),
    ],
    run: run_cuminc,
};

fn run_cuminc(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    let (time_column, event_column) = (args.required("time")?, args.required("event")?);
    let times = frame.numbers(time_column).map_err(|e| e.to_string())?;
    let events = frame.numbers(event_column).map_err(|e| e.to_string())?;
    let column = |flag: &str| args.get(flag).map(|name| frame.column(name).map_err(|e| e.to_string())).transpose();
    let (group_column, strata_column) = (column("group")?, column("strata")?);
    if strata_column.is_some() && group_column.is_none() {
        return Err("--strata stratifies Gray's test between groups: give --group too".into());
    }
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
    let censor: i64 = args
        .get("censor-code")
        .map_or(Ok(0), |c| c.parse().map_err(|_| format!("--censor-code: `{c}` is not a whole number")))?;
    if !status.contains(&censor) {
        super::super::warn(Warning::new(
            WarningKind::Data,
            format!("no observation has the censoring code {censor}: every status is taken as a cause (check --censor-code)"),
        ));
    }
    let rho = args.number("rho", 0.0)?;
    if group_column.is_none() {
        let pooled = CumulativeIncidence::new(&time, &status, censor).map_err(|e| e.to_string())?;
        let at = args.numbers("at")?.unwrap_or_else(|| pooled.times.clone());
        if let Some(path) = args.get("plot") {
            write_chart(path, &cuminc_chart(&[(String::new(), &pooled)]))?;
        }
        return emit(args, &pooled.at(&at));
    }
    let (group, labels) = codes(&groups);
    let strata = strata_column.map(|_| codes(&strata).0);
    let fit = IncidenceByGroup::new(&time, &status, &group, &labels, strata.as_deref(), censor, rho)
        .map_err(|e| e.to_string())?;
    if let Some(path) = args.get("plot") {
        let curves: Vec<(String, &CumulativeIncidence)> =
            fit.groups.iter().map(|g| format!("{g}, ")).zip(&fit.curves).collect();
        write_chart(path, &cuminc_chart(&curves))?;
    }
    let at = args.numbers("at")?.unwrap_or_else(|| fit.times());
    emit(args, &fit.at(&at))
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

pub const FINE_GRAY: Command = Command {
    name: "fine-gray",
    about: "Fine–Gray subdistribution hazards regression, as cmprsk's crr",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "e.g. \"Surv(time, status) ~ age + sex\", status holding cause codes"),
        value("cause", "the cause of interest (default 1)"),
        value("censor-code", "the code of censored observations (default 0)"),
        switch("json", "print one JSON object"),
    ],
    run: run_fine_gray,
};

fn run_fine_gray(args: &Args) -> Result<(), String> {
    let whole = |name: &str, default: i64| -> Result<i64, String> {
        args.get(name).map_or(Ok(default), |v| v.parse().map_err(|_| format!("--{name}: `{v}` is not a whole number")))
    };
    let model = FineGray::new(args.required("formula")?, whole("cause", 1)?, whole("censor-code", 0)?)
        .map_err(|e| e.to_string())?;
    let frame = read_data(args)?;
    emit(args, &model.fit(&frame).map_err(|e| e.to_string())?)
}

//! `strata km` and `strata logrank`: R's `survfit` and `survdiff`.

use super::super::{emit, read_data, write_chart, Command};
use super::km_chart;
use crate::args::{switch, value, Args};
use strata_pathways::kaplan_meier::ConfType;
use strata_pathways::logrank::logrank;
use strata_pathways::KaplanMeier;

pub const KM: Command = Command {
    name: "km",
    about: "Kaplan–Meier curves: Surv(time, status) ~ groups",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "e.g. \"Surv(time, status) ~ sex\" or \"Surv(start, stop, event) ~ 1\""),
        value("conf-type", "log (default) | log-log | plain"),
        value("conf-level", "confidence level (default 0.95)"),
        value("weights", "column of case weights"),
        value("plot", "write the curves with confidence bands and numbers at risk to this SVG file"),
        switch("json", "print one JSON object"),
    ],
    run: run_km,
};

pub const LOGRANK: Command = Command {
    name: "logrank",
    about: "log-rank (G-rho) test between groups: Surv(time, status) ~ group [+ strata(s)]",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "e.g. \"Surv(time, status) ~ sex\""),
        value("rho", "Fleming–Harrington rho (default 0, the log-rank test)"),
        switch("json", "print one JSON object"),
    ],
    run: run_logrank,
};

fn run_km(args: &Args) -> Result<(), String> {
    let conf_type = match args.get("conf-type").unwrap_or("log") {
        "log" => ConfType::Log,
        "log-log" => ConfType::LogLog,
        "plain" => ConfType::Plain,
        other => return Err(format!("--conf-type `{other}`: use log, log-log or plain")),
    };
    let level = args.number("conf-level", 0.95)?;
    if !(level > 0.0 && level < 1.0) {
        return Err(format!("--conf-level must lie between 0 and 1, not {level}"));
    }
    let mut km =
        KaplanMeier::new(args.required("formula")?).map_err(|e| e.to_string())?.conf_type(conf_type).conf_level(level);
    if let Some(w) = args.get("weights") {
        km = km.weights(w);
    }
    let frame = read_data(args)?;
    let fit = km.fit(&frame).map_err(|e| e.to_string())?;
    if let Some(path) = args.get("plot") {
        write_chart(path, &km_chart(&fit))?;
    }
    emit(args, &fit.summary())
}

fn run_logrank(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    let test = logrank(args.required("formula")?, &frame, args.number("rho", 0.0)?).map_err(|e| e.to_string())?;
    emit(args, &test)
}

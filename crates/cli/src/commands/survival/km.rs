//! `strata km` and `strata logrank`: R's `survfit` and `survdiff`.

use super::super::{emit, read_model_data, write_chart};
use super::km_chart;
use crate::args::{finite, level};
use strata_pathways::kaplan_meier::ConfType;
use strata_pathways::logrank::logrank;
use strata_pathways::KaplanMeier;

#[derive(clap::Args)]
pub struct KmArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// e.g. "Surv(time, status) ~ sex" or "Surv(start, stop, event) ~ 1"
    #[arg(long)]
    formula: String,
    /// The confidence interval's scale
    #[arg(long, value_enum, default_value = "log")]
    conf_type: ConfTypeName,
    /// Confidence level
    #[arg(long, default_value_t = 0.95, value_parser = level)]
    conf_level: f64,
    /// Column of case weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Write the curves with confidence bands and numbers at risk to this SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The interval scales of `--conf-type`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConfTypeName {
    Log,
    LogLog,
    Plain,
}

#[derive(clap::Args)]
pub struct LogrankArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// e.g. "Surv(time, status) ~ sex" or "Surv(time, status) ~ group + strata(site)"
    #[arg(long)]
    formula: String,
    /// Fleming–Harrington rho (0: the log-rank test)
    #[arg(long, default_value_t = 0.0, value_parser = finite)]
    rho: f64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run_km(args: &KmArgs) -> Result<(), String> {
    let conf_type = match args.conf_type {
        ConfTypeName::Log => ConfType::Log,
        ConfTypeName::LogLog => ConfType::LogLog,
        ConfTypeName::Plain => ConfType::Plain,
    };
    let mut km =
        KaplanMeier::new(&args.formula).map_err(|e| e.to_string())?.conf_type(conf_type).conf_level(args.conf_level);
    if let Some(w) = &args.weights {
        km = km.weights(w);
    }
    let frame = read_model_data(&args.data, &args.formula, &[args.weights.as_deref()])?;
    let fit = km.fit(&frame).map_err(|e| e.to_string())?;
    if let Some(path) = &args.plot {
        write_chart(path, &km_chart(&fit))?;
    }
    emit(args.json, &fit.summary())
}

pub fn run_logrank(args: &LogrankArgs) -> Result<(), String> {
    let frame = read_model_data(&args.data, &args.formula, &[])?;
    let test = logrank(&args.formula, &frame, args.rho).map_err(|e| e.to_string())?;
    emit(args.json, &test)
}

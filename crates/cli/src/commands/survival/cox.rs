//! `strata cox`: R's `coxph`.

use super::super::{emit, read_model_data};
use std::fmt::Write as _;
use strata_pathways::cox::CoxResidual;
use strata_pathways::{CoxPh, Ties};

#[derive(clap::Args)]
pub struct CoxArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// e.g. "Surv(time, status) ~ age + sex + strata(site)"
    #[arg(long)]
    formula: String,
    /// The handling of tied event times
    #[arg(long, value_enum, default_value = "efron")]
    ties: TiesName,
    /// Column of case weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Add the proportional-hazards tests (R's cox.zph, transform "km")
    #[arg(long)]
    zph: bool,
    /// Write martingale and deviance residuals to this CSV file
    #[arg(long, value_name = "FILE")]
    residuals: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The tie methods of `--ties`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum TiesName {
    Efron,
    Breslow,
}

pub fn run(args: &CoxArgs) -> Result<(), String> {
    let ties = match args.ties {
        TiesName::Efron => Ties::Efron,
        TiesName::Breslow => Ties::Breslow,
    };
    let mut cox = CoxPh::new(&args.formula).map_err(|e| e.to_string())?.ties(ties);
    if let Some(w) = &args.weights {
        cox = cox.weights(w);
    }
    let frame = read_model_data(&args.data, &args.formula, &[args.weights.as_deref()])?;
    let fit = cox.fit_owned(frame).map_err(|e| e.to_string())?;
    super::super::warn_all(&fit.convergence().warnings);
    if let Some(path) = &args.residuals {
        let martingale = fit.residuals(CoxResidual::Martingale);
        let deviance = fit.residuals(CoxResidual::Deviance);
        let mut text = String::from("row,martingale,deviance\n");
        for (i, (m, d)) in martingale.iter().zip(&deviance).enumerate() {
            let _ = writeln!(text, "{},{m},{d}", fit.rows()[i] + 1);
        }
        super::super::write_file(path, &text)?;
    }
    let mut summary = fit.summary();
    if args.zph {
        summary.proportional_hazards = fit.proportional_hazards_test();
    }
    emit(args.json, &summary)
}

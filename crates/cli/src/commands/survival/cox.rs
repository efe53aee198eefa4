//! `strata cox`: R's `coxph`.

use super::super::{emit, read_data, Command};
use crate::args::{switch, value, Args};
use std::fmt::Write as _;
use strata_pathways::cox::CoxResidual;
use strata_pathways::{CoxPh, Ties};

pub const COX: Command = Command {
    name: "cox",
    about: "Cox proportional hazards: Surv(time, status) ~ x + strata(s)",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "e.g. \"Surv(time, status) ~ age + sex + strata(site)\""),
        value("ties", "efron (default) | breslow"),
        value("weights", "column of case weights"),
        switch("zph", "add the proportional-hazards tests (R's cox.zph, transform \"km\")"),
        value("residuals", "write martingale and deviance residuals to this CSV file"),
        switch("json", "print one JSON object"),
    ],
    run: run_cox,
};

fn run_cox(args: &Args) -> Result<(), String> {
    let ties = match args.get("ties").unwrap_or("efron") {
        "efron" => Ties::Efron,
        "breslow" => Ties::Breslow,
        other => return Err(format!("--ties `{other}`: use efron or breslow")),
    };
    let mut cox = CoxPh::new(args.required("formula")?).map_err(|e| e.to_string())?.ties(ties);
    if let Some(w) = args.get("weights") {
        cox = cox.weights(w);
    }
    let frame = read_data(args)?;
    let fit = cox.fit(&frame).map_err(|e| e.to_string())?;
    super::super::warn_all(&fit.convergence().warnings);
    if let Some(path) = args.get("residuals") {
        let martingale = fit.residuals(CoxResidual::Martingale);
        let deviance = fit.residuals(CoxResidual::Deviance);
        let mut text = String::from("row,martingale,deviance\n");
        for (i, (m, d)) in martingale.iter().zip(&deviance).enumerate() {
            let _ = writeln!(text, "{},{m},{d}", fit.rows()[i] + 1);
        }
        super::super::write_file(path, &text)?;
    }
    let mut summary = fit.summary();
    if args.has("zph") {
        summary.proportional_hazards = fit.proportional_hazards_test();
    }
    emit(args, &summary)
}

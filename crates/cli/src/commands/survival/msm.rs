//! `strata msm`: R's msm for panel data.

use super::super::{emit, read_data, Command};
use crate::args::{switch, value, Args};
use strata_core::{Warning, WarningKind};
use strata_pathways::msm::MultiStateModel;

pub const MSM: Command = Command {
    name: "msm",
    about: "continuous-time Markov multi-state model for panel data (R's msm)",
    flags: &[
        value("data", "the CSV file: one row per visit"),
        value("subject", "column identifying the child"),
        value("time", "column of visit times"),
        value("state", "column of observed states, numbered 1 to k"),
        value("qmatrix", "allowed transitions and starting intensities, rows separated by ';', e.g. '0,0.1;0,0'"),
        value(
            "covariates",
            "numeric columns on every log intensity, 'x,z' (centred at their means); or per transition, '1-2:x;2-3:x,z'",
        ),
        value("death-exact", "absorbing states entered at exactly observed times, comma-separated (msm's deathexact)"),
        value("qconstraint", "equal intensities, one code per allowed transition in row order, e.g. 1,1,2 (msm's)"),
        value("at", "also report P(t) at these intervals, comma-separated (msm's pmatrix.msm)"),
        switch("json", "print one JSON object"),
    ],
    run: run_msm,
};

fn run_msm(args: &Args) -> Result<(), String> {
    let rows: Vec<Vec<f64>> = args
        .required("qmatrix")?
        .split(';')
        .map(|row| {
            row.split(',')
                .map(|v| v.trim().parse::<f64>().map_err(|_| format!("--qmatrix: `{v}` is not a number")))
                .collect()
        })
        .collect::<Result<_, _>>()?;
    let k = rows.len();
    if rows.iter().any(|r| r.len() != k) {
        return Err(format!("--qmatrix must be square: {k} rows of {k} values"));
    }
    let initial = strata_core::numerics::Matrix::from_fn(k, k, |i, j| rows[i][j]);
    let model =
        MultiStateModel::new(initial, args.required("subject")?, args.required("time")?, args.required("state")?)
            .map_err(|e| e.to_string())?;
    let model = match args.get("covariates") {
        None => model,
        Some(text) if text.contains(':') => {
            let parsed = text.split(';').map(transition_covariates).collect::<Result<Vec<_>, _>>()?;
            let borrowed: Vec<((usize, usize), Vec<&str>)> =
                parsed.iter().map(|(t, c)| (*t, c.iter().map(String::as_str).collect())).collect();
            let pairs: Vec<((usize, usize), &[&str])> = borrowed.iter().map(|(t, c)| (*t, c.as_slice())).collect();
            model.covariates_on(&pairs).map_err(|e| e.to_string())?
        }
        Some(text) => model.covariates(&text.split(',').map(str::trim).collect::<Vec<_>>()),
    };
    let exact: Vec<usize> = args
        .numbers("death-exact")?
        .unwrap_or_default()
        .iter()
        .map(|&s| {
            if s.fract() == 0.0 && s >= 1.0 {
                Ok(s as usize)
            } else {
                Err(format!("--death-exact: {s} is not a state number"))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut model = model.exact_death(&exact).map_err(|e| e.to_string())?;
    if let Some(codes) = args.numbers("qconstraint")? {
        let codes: Vec<usize> = codes
            .iter()
            .map(|&c| {
                if c.fract() == 0.0 && c >= 1.0 {
                    Ok(c as usize)
                } else {
                    Err(format!("--qconstraint: {c} is not a code"))
                }
            })
            .collect::<Result<_, _>>()?;
        model = model.intensity_constraint(&codes).map_err(|e| e.to_string())?;
    }
    let frame = read_data(args)?;
    let intervals = args.numbers("at")?.unwrap_or_default();
    if let Some(t) = intervals.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
        return Err(format!("--at: {t} is not a non-negative interval"));
    }
    let fit = model.fit(&frame).map_err(|e| e.to_string())?.with_probabilities_at(&intervals);
    if !fit.convergence.converged {
        super::super::warn(Warning::new(
            WarningKind::NotConverged,
            format!("the optimiser did not converge: {}", fit.convergence.message),
        ));
    }
    emit(args, &fit)
}

/// One `FROM-TO:x,z` item of `--covariates`.
fn transition_covariates(item: &str) -> Result<((usize, usize), Vec<String>), String> {
    let bad = || format!("--covariates: `{item}` is not FROM-TO:x,z (for example 1-2:x)");
    let (transition, columns) = item.split_once(':').ok_or_else(bad)?;
    let (from, to) = transition.split_once('-').ok_or_else(bad)?;
    let state = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
    let columns: Vec<String> = columns.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    if columns.is_empty() {
        return Err(bad());
    }
    Ok(((state(from)?, state(to)?), columns))
}

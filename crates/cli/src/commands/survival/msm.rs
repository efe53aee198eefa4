//! `strata msm`: R's msm for panel data.

use super::super::{emit, read_data};
use crate::args::{finite_list, list};
use strata_core::{Warning, WarningKind};
use strata_pathways::msm::MultiStateModel;

#[derive(clap::Args)]
pub struct MsmArgs {
    /// The CSV file: one row per visit
    #[arg(long, value_name = "FILE")]
    data: String,
    /// Column identifying the child
    #[arg(long, value_name = "COLUMN")]
    subject: String,
    /// Column of visit times
    #[arg(long, value_name = "COLUMN")]
    time: String,
    /// Column of observed states, numbered 1 to k
    #[arg(long, value_name = "COLUMN")]
    state: String,
    /// Allowed transitions and starting intensities, rows separated by ';', e.g. '0,0.1;0,0'
    #[arg(long, value_name = "ROWS")]
    qmatrix: String,
    /// Numeric columns on every log intensity, 'x,z' (centred at their means); or per transition, '1-2:x;2-3:x,z'
    #[arg(long, value_name = "COLUMNS")]
    covariates: Option<String>,
    /// Absorbing states entered at exactly observed times, comma-separated (msm's deathexact)
    #[arg(long, value_name = "STATES", value_parser = finite_list)]
    death_exact: Option<::std::vec::Vec<f64>>,
    /// Equal intensities, one code per allowed transition in row order, e.g. 1,1,2 (msm's)
    #[arg(long, value_name = "CODES", value_parser = finite_list)]
    qconstraint: Option<::std::vec::Vec<f64>>,
    /// Also report P(t) at these intervals, comma-separated (msm's pmatrix.msm)
    #[arg(long, value_name = "TIMES", value_parser = finite_list)]
    at: Option<::std::vec::Vec<f64>>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(args: &MsmArgs) -> Result<(), String> {
    let rows: Vec<Vec<f64>> = args
        .qmatrix
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
    let model = MultiStateModel::new(initial, &args.subject, &args.time, &args.state).map_err(|e| e.to_string())?;
    let model = match args.covariates.as_deref() {
        None => model,
        Some(text) if text.contains(':') => {
            let parsed = text.split(';').map(transition_covariates).collect::<Result<Vec<_>, _>>()?;
            let borrowed: Vec<((usize, usize), Vec<&str>)> =
                parsed.iter().map(|(t, c)| (*t, c.iter().map(String::as_str).collect())).collect();
            let pairs: Vec<((usize, usize), &[&str])> = borrowed.iter().map(|(t, c)| (*t, c.as_slice())).collect();
            model.covariates_on(&pairs).map_err(|e| e.to_string())?
        }
        Some(text) => model.covariates(&list(text)?.iter().map(String::as_str).collect::<Vec<_>>()),
    };
    let exact: Vec<usize> = args
        .death_exact
        .iter()
        .flatten()
        .map(|&s| {
            if s.fract() == 0.0 && s >= 1.0 {
                Ok(s as usize)
            } else {
                Err(format!("--death-exact: {s} is not a state number"))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut model = model.exact_death(&exact).map_err(|e| e.to_string())?;
    if let Some(codes) = &args.qconstraint {
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
    let frame = read_data(&args.data)?;
    let intervals = args.at.clone().unwrap_or_default();
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
    emit(args.json, &fit)
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

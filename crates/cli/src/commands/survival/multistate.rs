//! `strata multistate`: Aalen–Johansen estimates as mstate and etm, and the multi-state Cox model.

use super::super::{emit, read_data, write_chart, Command};
use super::PALETTE;
use crate::args::{switch, value, Args};
use strata_pathways::cox::CoxEngine;
use strata_pathways::multistate::{stays_from_entries, AalenJohansen, Entry, MultiStateCox, Stay};
use strata_plot::{Chart, Series};

pub const MULTISTATE: Command = Command {
    name: "multistate",
    about: "Aalen–Johansen state occupation and transition probabilities from exactly observed moves",
    flags: &[
        value("data", "the CSV file: one row per stay in a state, or (with --time) per state entered"),
        value("subject", "column identifying the child"),
        value("state", "column of the state of the stay (or the state entered)"),
        value("next", "column of the state moved to (empty when censored)"),
        value("start", "column of entry times"),
        value("stop", "column of exit or censoring times"),
        value("time", "instead of --next/--start/--stop: column of the time each state was entered"),
        value("end", "with --time: the end of follow-up, where stays not yet ended are censored"),
        value("absorbing", "comma-separated states that are never left (e.g. exit); a move out of one is an error"),
        value("at", "times at which to report occupation probabilities, comma-separated"),
        value("tau", "horizon for P(from, tau) and expected lengths of stay (default: the last time)"),
        value("from", "start s of the transition probabilities P(s, tau) (default 0; mstate's predt)"),
        value(
            "cox",
            "multi-state Cox model with transition-specific effects of these baseline columns (each child's first row)",
        ),
        value("plot", "write the stacked state-occupation probabilities to this SVG file"),
        switch("json", "print one JSON object"),
    ],
    run: run_multistate,
};

fn run_multistate(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    let text = |name: &str| -> Result<strata_core::Column, String> {
        frame.column(args.required(name)?).cloned().map_err(|e| e.to_string())
    };
    let number = |name: &str| -> Result<strata_core::Masked<f64>, String> {
        frame.numbers(args.required(name)?).map_err(|e| e.to_string())
    };
    let (subject, state) = (text("subject")?, text("state")?);
    let next = if args.get("time").is_some() { None } else { Some(text("next")?) };
    let mut states: Vec<String> = (0..frame.nrows())
        .filter_map(|i| state.text(i))
        .chain(next.iter().flat_map(|next| (0..frame.nrows()).filter_map(|i| next.text(i))))
        .collect();
    states.sort();
    states.dedup();
    let index = |s: Option<String>| s.and_then(|s| states.iter().position(|n| *n == s));
    let mut absorbing = vec![false; states.len()];
    for name in args.get("absorbing").into_iter().flat_map(|list| list.split(',')) {
        let k = states
            .iter()
            .position(|s| s == name.trim())
            .ok_or_else(|| format!("--absorbing: no state `{}` in the data", name.trim()))?;
        absorbing[k] = true;
    }
    let stays = if let Some(next) = next {
        let (start, stop) = (number("start")?, number("stop")?);
        let mut stays = Vec::with_capacity(frame.nrows());
        for i in 0..frame.nrows() {
            let (Some(id), Some(from), Some(a), Some(b)) =
                (subject.text(i), index(state.text(i)), start.get(i), stop.get(i))
            else {
                continue;
            };
            let to = index(next.text(i));
            if absorbing[from] && to.is_some() {
                return Err(format!(
                    "data row {}: `{id}` leaves `{}`, which --absorbing says is never left",
                    i + 1,
                    states[from]
                ));
            }
            stays.push(Stay { subject: id, state: from, start: a, stop: b, next: to });
        }
        stays
    } else {
        let time = number("time")?;
        args.required("end")?;
        let end = args.number("end", 0.0)?;
        let entries: Vec<Entry> = (0..frame.nrows())
            .filter_map(|i| Some(Entry { subject: subject.text(i)?, time: time.get(i)?, state: index(state.text(i))? }))
            .collect();
        stays_from_entries(&entries, end, &absorbing).map_err(|e| e.to_string())?
    };
    let fit = AalenJohansen::new(&states, &stays).map_err(|e| e.to_string())?;
    let last = fit.times.last().copied().unwrap_or(0.0);
    let tau = args.number("tau", last)?;
    if tau < 0.0 {
        return Err(format!("--tau {tau}: a time from 0 on"));
    }
    let at = args.numbers("at")?.unwrap_or_else(|| vec![tau]);
    if let Some(path) = args.get("plot") {
        write_chart(path, &occupation_chart(&fit))?;
    }
    let from = args.numbers("from")?.map_or(0.0, |v| v[0]);
    let (transitions, cox) = match args.get("cox") {
        Some(list) => {
            let covariates: Vec<&str> = list.split(',').map(str::trim).collect();
            let (labels, cox) = multistate_cox(&frame, &subject, &states, &stays, &covariates)?;
            (labels, Some(cox))
        }
        None => (Vec::new(), None),
    };
    emit(args, &MultiStateReport { summary: fit.summary_from(from, &at, tau), transitions, cox })
}

/// The Aalen–Johansen summary, with the multi-state Cox model when asked for.
#[derive(serde::Serialize)]
struct MultiStateReport {
    #[serde(flatten)]
    summary: strata_pathways::multistate::MultiStateSummary,
    /// `k: from -> to` for each transition of the Cox model, numbered as its effects (`x.k`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transitions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cox: Option<strata_pathways::cox::CoxSummary>,
}

impl std::fmt::Display for MultiStateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.summary)?;
        if let Some(cox) = &self.cox {
            write!(f, "\n\nMulti-state Cox model, stratified by transition:")?;
            for t in &self.transitions {
                write!(f, "\n  transition {t}")?;
            }
            write!(f, "\n\n{cox}")?;
        }
        Ok(())
    }
}

/// The multi-state Cox model ([`MultiStateCox`]) with each child's baseline covariates taken
/// from its first row with every one of them present.
fn multistate_cox(
    frame: &strata_core::DataFrame,
    subject: &strata_core::Column,
    states: &[String],
    stays: &[Stay],
    covariates: &[&str],
) -> Result<(Vec<String>, strata_pathways::cox::CoxSummary), String> {
    let columns =
        covariates.iter().map(|c| frame.numbers(c).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
    let mut baseline: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
    for i in 0..frame.nrows() {
        let values: Option<Vec<f64>> = columns.iter().map(|c| c.get(i)).collect();
        if let (Some(id), Some(values)) = (subject.text(i), values) {
            baseline.entry(id).or_insert(values);
        }
    }
    let names: Vec<String> = covariates.iter().map(|c| (*c).to_string()).collect();
    let model =
        MultiStateCox::fit(states, stays, &names, &baseline, &CoxEngine::new()).map_err(|e| format!("--cox: {e}"))?;
    Ok((model.transitions, model.fit.summary()))
}

/// The state-occupation probabilities stacked: state k fills the band between the sums of the
/// probabilities of states before it and up to it.
fn occupation_chart(fit: &AalenJohansen) -> Chart {
    let mut times = vec![0.0];
    times.extend(fit.times.iter().copied());
    let occupation: Vec<Vec<f64>> = times.iter().map(|&t| fit.occupation(t)).collect();
    let mut chart = Chart::new("State occupation (Aalen–Johansen)", "time", "probability").y_range(0.0, 1.0);
    let mut below = vec![0.0; times.len()];
    for (k, state) in fit.states.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let above: Vec<f64> = below.iter().zip(&occupation).map(|(b, p)| b + p[k]).collect();
        chart = chart
            .with(Series::Band { x: times.clone(), lower: below, upper: above.clone(), colour, step: true })
            .with(Series::Step {
                points: times.iter().copied().zip(above.iter().copied()).collect(),
                colour,
                label: state.clone(),
            });
        below = above;
    }
    chart
}

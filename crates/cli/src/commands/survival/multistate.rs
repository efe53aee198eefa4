//! `strata multistate`: Aalen–Johansen estimates as mstate and etm, and the multi-state Cox model.

use super::super::{emit, read_data, write_chart};
use super::PALETTE;
use crate::args::{finite, finite_list, list};
use strata_pathways::cox::CoxEngine;
use strata_pathways::multistate::{stays_from_entries, AalenJohansen, Entry, MultiStateCox, Stay};
use strata_plot::{Chart, Series};

#[derive(clap::Args)]
pub struct MultistateArgs {
    /// The CSV file: one row per stay in a state, or (with --time) per state entered
    #[arg(long, value_name = "FILE")]
    data: String,
    /// Column identifying the child
    #[arg(long, value_name = "COLUMN")]
    subject: String,
    /// Column of the state of the stay (or the state entered)
    #[arg(long, value_name = "COLUMN")]
    state: String,
    /// Column of the state moved to (empty when censored)
    #[arg(long, value_name = "COLUMN", required_unless_present = "time")]
    next: Option<String>,
    /// Column of entry times
    #[arg(long, value_name = "COLUMN", required_unless_present = "time")]
    start: Option<String>,
    /// Column of exit or censoring times
    #[arg(long, value_name = "COLUMN", required_unless_present = "time")]
    stop: Option<String>,
    /// Instead of --next/--start/--stop: column of the time each state was entered
    #[arg(long, value_name = "COLUMN", conflicts_with_all = ["next", "start", "stop"], requires = "end")]
    time: Option<String>,
    /// With --time: the end of follow-up, where stays not yet ended are censored
    #[arg(long, value_parser = finite, requires = "time")]
    end: Option<f64>,
    /// Comma-separated states that are never left (e.g. exit); a move out of one is an error
    #[arg(long, value_name = "STATES", value_parser = list)]
    absorbing: Option<::std::vec::Vec<String>>,
    /// Times at which to report occupation probabilities, comma-separated (default: --tau)
    #[arg(long, value_name = "TIMES", value_parser = finite_list)]
    at: Option<::std::vec::Vec<f64>>,
    /// Horizon for P(from, tau) and expected lengths of stay (default: the last time)
    #[arg(long, value_parser = finite)]
    tau: Option<f64>,
    /// Start s of the transition probabilities P(s, tau) (mstate's predt)
    #[arg(long, default_value_t = 0.0, value_parser = finite)]
    from: f64,
    /// Multi-state Cox model with transition-specific effects of these baseline columns (each child's first row)
    #[arg(long, value_name = "COLUMNS", value_parser = list)]
    cox: Option<::std::vec::Vec<String>>,
    /// Write the stacked state-occupation probabilities to this SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(args: &MultistateArgs) -> Result<(), String> {
    let frame = read_data(&args.data)?;
    let text =
        |name: &str| -> Result<strata_core::Column, String> { frame.column(name).cloned().map_err(|e| e.to_string()) };
    let number =
        |name: &str| -> Result<strata_core::Masked<f64>, String> { frame.numbers(name).map_err(|e| e.to_string()) };
    let (subject, state) = (text(&args.subject)?, text(&args.state)?);
    let next = args.next.as_deref().map(text).transpose()?;
    let mut states: Vec<String> = (0..frame.nrows())
        .filter_map(|i| state.text(i))
        .chain(next.iter().flat_map(|next| (0..frame.nrows()).filter_map(|i| next.text(i))))
        .collect();
    states.sort();
    states.dedup();
    let index = |s: Option<String>| s.and_then(|s| states.iter().position(|n| *n == s));
    let mut absorbing = vec![false; states.len()];
    for name in args.absorbing.iter().flatten() {
        let k = states
            .iter()
            .position(|s| s == name)
            .ok_or_else(|| format!("--absorbing: no state `{name}` in the data"))?;
        absorbing[k] = true;
    }
    let stays = if let (Some(next), Some(start), Some(stop)) = (next, &args.start, &args.stop) {
        let (start, stop) = (number(start)?, number(stop)?);
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
        let (Some(time), Some(end)) = (&args.time, args.end) else {
            return Err("give --next, --start and --stop, or --time and --end".into());
        };
        let time = number(time)?;
        let entries: Vec<Entry> = (0..frame.nrows())
            .filter_map(|i| Some(Entry { subject: subject.text(i)?, time: time.get(i)?, state: index(state.text(i))? }))
            .collect();
        stays_from_entries(&entries, end, &absorbing).map_err(|e| e.to_string())?
    };
    let fit = AalenJohansen::new(&states, &stays).map_err(|e| e.to_string())?;
    let last = fit.times.last().copied().unwrap_or(0.0);
    let tau = args.tau.unwrap_or(last);
    if tau < 0.0 {
        return Err(format!("--tau {tau}: a time from 0 on"));
    }
    let at = args.at.clone().unwrap_or_else(|| vec![tau]);
    if let Some(path) = &args.plot {
        write_chart(path, &occupation_chart(&fit))?;
    }
    let from = args.from;
    let (transitions, cox) = match &args.cox {
        Some(covariates) => {
            let (labels, cox) = multistate_cox(&frame, &subject, &states, &stays, covariates)?;
            (labels, Some(cox))
        }
        None => (Vec::new(), None),
    };
    emit(args.json, &MultiStateReport { summary: fit.summary_from(from, &at, tau), transitions, cox })
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
    covariates: &[String],
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
    let model = MultiStateCox::fit(states, stays, covariates, &baseline, &CoxEngine::new())
        .map_err(|e| format!("--cox: {e}"))?;
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

//! `strata km`, `strata logrank` and `strata cox`: R's `survfit`, `survdiff` and `coxph`.

use super::{emit, read_data, write_chart, Command};
use crate::args::{switch, value, Args};
use std::fmt::Write as _;
use strata_core::plot::{ticks, Chart, RiskTable, Series, BLUE, GREEN, GREY, RED};
use strata_core::{Warning, WarningKind};
use strata_pathways::competing::{CumulativeIncidence, IncidenceByGroup};
use strata_pathways::cox::{CoxEngine, CoxResidual};
use strata_pathways::fine_gray::FineGray;
use strata_pathways::kaplan_meier::{ConfType, KmCurve, KmFit};
use strata_pathways::logrank::logrank;
use strata_pathways::msm::MultiStateModel;
use strata_pathways::multistate::{stays_from_entries, AalenJohansen, Entry, MultiStateCox, Stay};
use strata_pathways::{CoxPh, KaplanMeier, Ties};

/// The colours of successive curves.
const PALETTE: [&str; 6] = [BLUE, RED, GREEN, "#9467bd", "#ff7f0e", GREY];

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

/// Adds one stratum's survival curve, a step function from 1 at time 0, over its confidence band.
pub fn with_km_curve(chart: Chart, curve: &KmCurve, colour: &'static str) -> Chart {
    let mut points = vec![(0.0, 1.0)];
    points.extend(curve.time.iter().copied().zip(curve.survival.iter().copied()));
    chart
        .with(Series::Band {
            x: curve.time.clone(),
            lower: curve.lower.clone(),
            upper: curve.upper.clone(),
            colour,
            step: true,
        })
        .with(Series::Step { points, colour, label: curve.stratum.clone() })
}

/// Survival curves with their confidence bands and a numbers-at-risk table at the axis ticks.
pub fn km_chart(fit: &KmFit) -> Chart {
    let last = fit.curves().iter().filter_map(|c| c.time.last().copied()).fold(0.0, f64::max);
    let times = ticks(0.0, last);
    let mut chart = Chart::new("Kaplan–Meier estimate", "time", "survival").y_range(0.0, 1.0);
    let mut rows = Vec::new();
    for (k, curve) in fit.curves().iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        chart = with_km_curve(chart, curve, colour);
        let at_risk = times
            .iter()
            .map(|&t| curve.time.iter().position(|&s| s >= t).map_or(0.0, |i| curve.n_risk[i]).to_string())
            .collect();
        rows.push((curve.stratum.clone(), colour, at_risk));
    }
    chart.with_table(RiskTable { title: "Number at risk".into(), times, rows })
}

fn run_logrank(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    let test = logrank(args.required("formula")?, &frame, args.number("rho", 0.0)?).map_err(|e| e.to_string())?;
    emit(args, &test)
}

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
    super::warn_all(&fit.convergence().warnings);
    if let Some(path) = args.get("residuals") {
        let martingale = fit.residuals(CoxResidual::Martingale);
        let deviance = fit.residuals(CoxResidual::Deviance);
        let mut text = String::from("row,martingale,deviance\n");
        for (i, (m, d)) in martingale.iter().zip(&deviance).enumerate() {
            let _ = writeln!(text, "{},{m},{d}", fit.rows()[i] + 1);
        }
        super::write_file(path, &text)?;
    }
    let mut summary = fit.summary();
    if args.has("zph") {
        summary.proportional_hazards = fit.proportional_hazards_test();
    }
    emit(args, &summary)
}

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
        super::warn(Warning::new(
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
        time.push(*t);
        status.push(*e as i64);
        groups.extend(group.flatten());
        strata.extend(stratum.flatten());
    }
    let censor: i64 = args
        .get("censor-code")
        .map_or(Ok(0), |c| c.parse().map_err(|_| format!("--censor-code: `{c}` is not a whole number")))?;
    if !status.contains(&censor) {
        super::warn(Warning::new(
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
    let number = |name: &str| -> Result<Vec<Option<f64>>, String> {
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
            let (Some(id), Some(from), Some(a), Some(b)) = (subject.text(i), index(state.text(i)), start[i], stop[i])
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
            .filter_map(|i| Some(Entry { subject: subject.text(i)?, time: time[i]?, state: index(state.text(i))? }))
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
        let values: Option<Vec<f64>> = columns.iter().map(|c| c[i]).collect();
        if let (Some(id), Some(values)) = (subject.text(i), values) {
            baseline.entry(id).or_insert(values);
        }
    }
    let names: Vec<String> = covariates.iter().map(|c| (*c).to_string()).collect();
    let model =
        MultiStateCox::fit(states, stays, &names, &baseline, &CoxEngine::new()).map_err(|e| format!("--cox: {e}"))?;
    Ok((model.transitions, model.fit.summary()))
}

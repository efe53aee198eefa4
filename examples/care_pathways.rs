//! Which pathways do children take through children's social care, and does deprivation push
//! them further along?
//!
//! Synthetic children (`strata_data::synthetic::pathways`) move referral → assessment → child in
//! need → protection plan → looked after → closed, with escalating moves 10% more likely per
//! deprivation step. The program estimates, as R's mstate, cmprsk and msm would:
//! 1. state occupation and expected days in each state over three years (Aalen–Johansen);
//! 2. from a child-in-need episode, the cumulative incidence of a protection plan against the
//!    case closing, by deprivation, with Gray's test;
//! 3. the deprivation effect on child in need → protection plan (cause-specific Cox);
//! 4. the same process seen only at quarterly reviews, with closure dates known exactly: a
//!    Markov model for panel data with deprivation on the escalating moves (`msm(...,
//!    covariates = list("2-3" = ~ deprivation, …), deathexact = 6)`), whose hazard ratios
//!    should be near e^0.1 = 1.105.
//!
//! Run: `cargo run --release --example care_pathways`.

use strata::prelude::*;
use strata_core::numerics::Matrix;
use strata_data::synthetic::{pathways, PATHWAY_STATES};
use strata_pathways::multistate::Stay;

const YEARS: f64 = 3.0 * 365.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frame = pathways(5_000, 0.1, 7)?;
    let names: Vec<String> = PATHWAY_STATES.iter().map(|s| (*s).to_string()).collect();
    let index = |text: Option<String>| text.and_then(|t| names.iter().position(|n| *n == t));
    let (child, state, next) = (frame.column("child")?, frame.column("state")?, frame.column("next")?);
    let (start, stop, deprivation) = (frame.numbers("start")?, frame.numbers("stop")?, frame.numbers("deprivation")?);
    let stays: Vec<Stay> = (0..frame.nrows())
        .map(|i| Stay {
            subject: child.text(i).unwrap_or_default(),
            state: index(state.text(i)).unwrap_or(0),
            start: start.get(i).unwrap_or(0.0),
            stop: stop.get(i).unwrap_or(0.0),
            next: index(next.text(i)),
        })
        .collect();

    // 1. Where children are, and for how long.
    let occupation = AalenJohansen::new(&names, &stays)?;
    println!("{}\n", occupation.summary(&[90.0, 365.0, YEARS], YEARS));

    // 2. From child in need: a protection plan (cause 1) or the case closing (cause 2), by
    // deprivation (the most deprived three steps against the rest).
    let cin: Vec<usize> = (0..stays.len()).filter(|&i| stays[i].state == 2).collect();
    let time: Vec<f64> = cin.iter().map(|&i| stays[i].stop - stays[i].start).collect();
    let cause: Vec<i64> = cin
        .iter()
        .map(|&i| match stays[i].next {
            Some(3) => 1,
            Some(_) => 2,
            None => 0,
        })
        .collect();
    let most_deprived: Vec<usize> =
        cin.iter().map(|&i| usize::from(deprivation.get(i).unwrap_or(0.0) >= 7.0)).collect();
    let labels = ["less deprived".to_string(), "most deprived".to_string()];
    let incidence = IncidenceByGroup::new(&time, &cause, &most_deprived, &labels, None, 0, 0.0)?;
    println!("From a child-in-need episode (cause 1: protection plan, cause 2: closed):");
    println!("{}\n", incidence.at(&[90.0, 180.0, 365.0]));

    // 3. The deprivation effect on escalation to a protection plan.
    let to_plan: Vec<f64> = cause.iter().map(|&c| f64::from(u8::from(c == 1))).collect();
    let episodes = frame.take(&cin).with_floats("to_plan", &to_plan)?;
    let cox = CoxPh::new("Surv(start, stop, to_plan) ~ deprivation")?.fit(&episodes)?;
    let (low, high) = cox.conf_int(0.95)[0];
    println!("child in need → protection plan: log hazard ratio per deprivation step {:.3} (95% CI {low:.3} to {high:.3}; generated 0.1)\n", cox.coef()[0]);

    // 4. The same children seen only at quarterly reviews; closures dated exactly.
    let panel = quarterly_reviews(&stays, &deprivation)?;
    let mut q = Matrix::zeros(6, 6);
    for (from, to) in [(0, 1), (0, 5), (1, 2), (1, 5), (2, 3), (2, 5), (3, 4), (3, 2), (4, 5)] {
        q[(from, to)] = 0.01;
    }
    // Deprivation on the escalating moves only (msm's `covariates = list("2-3" = ~ deprivation, …)`).
    let escalation: &[&str] = &["deprivation"];
    let msm = MultiStateModel::new(q, "child", "day", "state")?
        .covariates_on(&[((2, 3), escalation), ((3, 4), escalation), ((4, 5), escalation)])?
        .exact_death(&[6])?;
    let fit = msm.fit(&panel)?.with_probabilities_at(&[365.0]);
    println!("{fit}");
    Ok(())
}

/// Each child's state every 91 days over three years (states numbered 1–6), stopping at the
/// exact day the case closed.
fn quarterly_reviews(stays: &[Stay], deprivation: &Masked<f64>) -> Result<DataFrame, Box<dyn std::error::Error>> {
    let (mut child, mut day, mut state, mut step) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut first = 0;
    while first < stays.len() {
        let last = first + stays[first..].iter().take_while(|s| s.subject == stays[first].subject).count();
        let history = &stays[first..last];
        let closed = history.iter().find(|s| s.next == Some(5)).map(|s| s.stop);
        let mut t = 0.0;
        while t <= YEARS {
            let (at, now) = match closed {
                Some(c) if c <= t => (c, 5),
                _ => (
                    t,
                    history
                        .iter()
                        .find(|s| s.start <= t && t < s.stop)
                        .map_or(history[history.len() - 1].state, |s| s.state),
                ),
            };
            child.push(stays[first].subject.clone());
            day.push(at);
            state.push((now + 1) as f64);
            step.push(deprivation.get(first).unwrap_or(0.0));
            if now == 5 {
                break;
            }
            t += 91.0;
        }
        first = last;
    }
    Ok(DataFrame::new()
        .with_levels("child", &child)?
        .with_floats("day", &day)?
        .with_floats("state", &state)?
        .with_floats("deprivation", &step)?)
}

//! The data of a multi-state model: stays in states, their checks, the transitions and who is
//! at risk of each, and stays built from entry records.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use strata_core::numerics::Matrix;

/// One stay in a state.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    /// The subject.
    pub subject: String,
    /// The state (0-based).
    pub state: usize,
    /// Entry time.
    pub start: f64,
    /// Exit or censoring time.
    pub stop: f64,
    /// The state moved to, or `None` if censored.
    pub next: Option<usize>,
}

/// Checks that each subject's stays form one history: in time order they do not overlap, each
/// move leads to the state of the next stay, which starts when it ends, and only the last stay
/// may be censored.
///
/// # Errors
/// [`Error::Specification`] naming the subject and the stays that disagree.
pub fn check_histories(states: &[String], stays: &[Stay]) -> Result<()> {
    let mut by_subject: BTreeMap<&str, Vec<&Stay>> = BTreeMap::new();
    for stay in stays {
        by_subject.entry(stay.subject.as_str()).or_default().push(stay);
    }
    let name = |s: usize| states.get(s).map_or_else(|| s.to_string(), Clone::clone);
    for (subject, mut history) in by_subject {
        history.sort_by(|a, b| a.start.total_cmp(&b.start));
        for pair in history.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.start < a.stop {
                return Err(Error::Specification(format!(
                    "stays of `{subject}` overlap: in `{}` from {} to {}, and in `{}` from {}",
                    name(a.state),
                    a.start,
                    a.stop,
                    name(b.state),
                    b.start
                )));
            }
            match a.next {
                None => {
                    return Err(Error::Specification(format!(
                        "`{subject}` is censored in `{}` at {} but has a later stay (in `{}` from {})",
                        name(a.state),
                        a.stop,
                        name(b.state),
                        b.start
                    )))
                }
                Some(next) if next != b.state => {
                    return Err(Error::Specification(format!(
                        "`{subject}` leaves `{}` for `{}` at {}, but its next stay is in `{}`",
                        name(a.state),
                        name(next),
                        a.stop,
                        name(b.state)
                    )))
                }
                Some(_) if b.start != a.stop => {
                    return Err(Error::Specification(format!(
                        "`{subject}` leaves `{}` at {} but enters `{}` only at {}: histories must not have gaps",
                        name(a.state),
                        a.stop,
                        name(b.state),
                        b.start
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The allowed transitions between named states (mstate's `transMat`): transitions are
/// numbered in the order given, and a state with no transition out of it is absorbing.
#[derive(Debug, Clone, PartialEq)]
pub struct Transitions {
    states: Vec<String>,
    allowed: Vec<(usize, usize)>,
}

/// One row of the long format: a stay at risk of one transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtRisk {
    /// The stay (an index into the stays given).
    pub stay: usize,
    /// The transition (an index into the allowed transitions).
    pub transition: usize,
    /// Whether the stay ended by this transition.
    pub status: bool,
}

impl Transitions {
    /// The states and the allowed transitions between them, as (from, to) names.
    ///
    /// # Errors
    /// [`Error::Specification`] for an unknown state name, a transition from a state to itself,
    /// or a transition listed twice.
    pub fn new(states: &[&str], allowed: &[(&str, &str)]) -> Result<Self> {
        let index = |name: &str| {
            states
                .iter()
                .position(|s| *s == name)
                .ok_or_else(|| Error::Specification(format!("transition names the unknown state `{name}`")))
        };
        let mut pairs = Vec::with_capacity(allowed.len());
        for &(from, to) in allowed {
            let pair = (index(from)?, index(to)?);
            if pair.0 == pair.1 || pairs.contains(&pair) {
                return Err(Error::Specification(format!(
                    "the transition {from} -> {to} moves to itself or is listed twice"
                )));
            }
            pairs.push(pair);
        }
        Ok(Self { states: states.iter().map(|s| (*s).to_string()).collect(), allowed: pairs })
    }

    /// The state names.
    pub fn states(&self) -> &[String] {
        &self.states
    }

    /// The allowed transitions as (from, to) state indices, in transition order.
    pub fn allowed(&self) -> &[(usize, usize)] {
        &self.allowed
    }

    /// Whether each state is absorbing (no transition out).
    pub fn absorbing(&self) -> Vec<bool> {
        (0..self.states.len()).map(|s| !self.allowed.iter().any(|t| t.0 == s)).collect()
    }

    /// The long format of mstate's `msprep`: each stay is at risk of every transition out of its
    /// state, with status true for the one it made. Transition-specific Cox models are Cox
    /// models on these rows with `strata(transition)` and covariates expanded per transition.
    ///
    /// # Errors
    /// [`Error::Specification`] for a stay in an unknown state or a move that is not allowed.
    pub fn at_risk(&self, stays: &[Stay]) -> Result<Vec<AtRisk>> {
        let mut rows = Vec::new();
        for (index, stay) in stays.iter().enumerate() {
            if stay.state >= self.states.len() {
                return Err(Error::Specification(format!("stay of `{}`: state out of range", stay.subject)));
            }
            if let Some(next) = stay.next {
                if !self.allowed.contains(&(stay.state, next)) {
                    return Err(Error::Specification(format!(
                        "`{}` moves from {} to {}, which the transition matrix does not allow",
                        stay.subject,
                        self.states[stay.state],
                        self.states.get(next).map_or("an unknown state", String::as_str)
                    )));
                }
            }
            for (transition, &(from, to)) in self.allowed.iter().enumerate() {
                if from == stay.state {
                    rows.push(AtRisk { stay: index, transition, status: stay.next == Some(to) });
                }
            }
        }
        Ok(rows)
    }
}

impl Transitions {
    /// Transition probabilities $P(0, t)$ for one subject from a multi-state Cox model (mstate's
    /// `msfit` then `probtrans`): transition k has cumulative hazard
    /// $\hat A_k(t) = \hat A_{0k}(t)\,e^{\eta_k}$ from the baseline of its stratum and the subject's
    /// linear predictor $\eta_k$, and $\hat P(0, t) = \prod_{u \le t}(I + d\hat A(u))$. Returns
    /// each time at which a hazard jumps, with $\hat P(0, t)$ just after it.
    ///
    /// `baseline` is [`crate::cox::CoxFit::baseline_hazard`] of a Cox model stratified by
    /// transition; `strata[k]` names the stratum of transition k and `linear_predictors[k]` is
    /// $\eta_k$ (its expanded covariates times their coefficients).
    ///
    /// # Errors
    /// [`Error::Specification`] if the lengths differ from the number of transitions or a
    /// stratum has no baseline hazard.
    pub fn predict(
        &self,
        baseline: &[crate::cox::BaselineHazard],
        strata: &[&str],
        linear_predictors: &[f64],
    ) -> Result<Vec<(f64, Matrix)>> {
        if strata.len() != self.allowed.len() || linear_predictors.len() != self.allowed.len() {
            return Err(Error::Specification(format!(
                "{} strata and {} linear predictors for {} transitions",
                strata.len(),
                linear_predictors.len(),
                self.allowed.len()
            )));
        }
        // Each transition's hazard increments, as (time, transition, increment).
        let mut jumps: Vec<(f64, usize, f64)> = Vec::new();
        for (k, (stratum, eta)) in strata.iter().zip(linear_predictors).enumerate() {
            let mut previous = 0.0;
            let mut found = false;
            for b in baseline.iter().filter(|b| b.stratum == *stratum) {
                found = true;
                if b.hazard > previous {
                    jumps.push((b.time, k, (b.hazard - previous) * eta.exp()));
                }
                previous = b.hazard;
            }
            if !found {
                return Err(Error::Specification(format!("no baseline hazard for the stratum `{stratum}`")));
            }
        }
        jumps.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = self.states.len();
        let mut probability = Matrix::identity(n);
        let mut out = Vec::new();
        for group in jumps.chunk_by(|a, b| a.0 == b.0) {
            let mut step = Matrix::identity(n);
            for &(_, k, increment) in group {
                let (from, to) = self.allowed[k];
                step[(from, to)] += increment;
                step[(from, from)] -= increment;
            }
            probability = probability.matmul(&step);
            out.push((group[0].0, probability.clone()));
        }
        Ok(out)
    }
}

/// A subject entering a state at a time: one row of a per-child event history.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The subject.
    pub subject: String,
    /// When the state was entered.
    pub time: f64,
    /// The state entered (0-based).
    pub state: usize,
}

/// Converts per-subject event histories into stays (mstate's `msprep` for histories given as
/// entries): each subject's entries, in time order, give one stay per state, ending in the move
/// to the next state; the last stay is censored at `end` (the end of follow-up, e.g. the census
/// date) unless its state is `absorbing`. Entering the state already occupied is ignored.
///
/// # Errors
/// [`Error::Specification`] for a non-finite time, a state out of range, two different states
/// entered at the same time, or an entry after `end`.
pub fn stays_from_entries(entries: &[Entry], end: f64, absorbing: &[bool]) -> Result<Vec<Stay>> {
    let mut order: Vec<&Entry> = entries.iter().collect();
    for entry in &order {
        if !entry.time.is_finite() || entry.state >= absorbing.len() {
            return Err(Error::Specification(format!(
                "entry of `{}` at {}: the time is not finite or state {} is out of range",
                entry.subject, entry.time, entry.state
            )));
        }
        if entry.time > end {
            return Err(Error::Specification(format!(
                "`{}` enters a state at {}, after the end of follow-up {end}",
                entry.subject, entry.time
            )));
        }
    }
    order.sort_by(|a, b| a.subject.cmp(&b.subject).then(a.time.total_cmp(&b.time)));
    let mut stays = Vec::new();
    for history in order.chunk_by(|a, b| a.subject == b.subject) {
        let mut current = history[0];
        for &entry in &history[1..] {
            if entry.state == current.state {
                continue;
            }
            if entry.time == current.time {
                return Err(Error::Specification(format!(
                    "`{}` enters two different states at {}",
                    entry.subject, entry.time
                )));
            }
            stays.push(Stay {
                subject: current.subject.clone(),
                state: current.state,
                start: current.time,
                stop: entry.time,
                next: Some(entry.state),
            });
            current = entry;
        }
        if !absorbing[current.state] && end > current.time {
            stays.push(Stay {
                subject: current.subject.clone(),
                state: current.state,
                start: current.time,
                stop: end,
                next: None,
            });
        }
    }
    Ok(stays)
}

//! Multi-state models from exactly observed transitions: Nelson–Aalen cumulative hazards per
//! transition and the Aalen–Johansen estimate of the transition probability matrix (Aalen &
//! Johansen 1978; Putter, Fiocco & Geskus 2007, the approach of R's mstate and etm).
//!
//! Data are stays: a subject in state r from `start` to `stop`, ending in a move to state s or
//! censored. At each distinct transition time t, with $n_r(t)$ subjects in r just before t and
//! $d_{rs}(t)$ moves from r to s: $d\hat A_{rs} = d_{rs}/n_r$, $d\hat A_{rr} = -\sum_s d\hat A_{rs}$,
//! and $\hat P(0, t) = \prod_{u \le t}(I + d\hat A(u))$. State occupation probabilities are
//! $\hat p(t) = \hat p(0)\hat P(0, t)$ from the observed initial states, and the expected time
//! spent in each state up to τ is $\int_0^\tau \hat p(t)\,dt$.
//!
//! Variances are Greenwood-type (Andersen, Borgan, Gill & Keiding 1993, §IV.4; mstate's
//! `probtrans(variance.type = "greenwood")`): with $B = I + d\hat A(t)$ and the moves out of each
//! state multinomial given $n_r$,
//!
//! $$\mathrm{cov}(\mathrm{vec}\,\hat P(t)) = (B^\top \otimes I)\,\mathrm{cov}(\mathrm{vec}\,\hat P(t-))\,(B \otimes I)
//!   + (I \otimes \hat P(t-))\,\mathrm{cov}(\mathrm{vec}\,d\hat A)\,(I \otimes \hat P(t-))^\top,$$
//!
//! with $\mathrm{cov}(d\hat A_{rs}, d\hat A_{ru}) = (\delta_{su} d_{rs} n_r - d_{rs} d_{ru})/n_r^3$ for
//! $s, u \ne r$ (the diagonal following from $d\hat A_{rr} = -\sum_s d\hat A_{rs}$). With one
//! transition this is Greenwood's variance of Kaplan–Meier (tested). Occupation variances treat
//! the initial distribution as fixed.

mod cox;

pub use cox::MultiStateCox;

use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
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

/// The Aalen–Johansen estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AalenJohansen {
    /// State names.
    pub states: Vec<String>,
    /// Distinct transition times.
    pub times: Vec<f64>,
    /// `P(0, t)` after each time (k × k, rows as lists).
    #[serde(skip)]
    pub probabilities: Vec<Matrix>,
    /// `I + dÂ(t)` at each time: `P(s, t)` is their product over the times in (s, t].
    #[serde(skip)]
    pub steps: Vec<Matrix>,
    /// The moves between states and the numbers at risk in each state at each time (for the
    /// variances of `P(s, t)`).
    #[serde(skip)]
    moves: Vec<(Matrix, Vec<f64>)>,
    /// Nelson–Aalen cumulative hazard of each observed transition, at each time.
    pub cumulative_hazards: BTreeMap<String, Vec<f64>>,
    /// The initial state distribution.
    pub initial: Vec<f64>,
    /// The variance of each entry of `P(0, t)` after each time.
    #[serde(skip)]
    pub variances: Vec<Matrix>,
    /// The variance of each state's occupation probability after each time.
    #[serde(skip)]
    pub occupation_variances: Vec<Vec<f64>>,
}

impl AalenJohansen {
    /// Estimates from stays in `states.len()` states.
    ///
    /// # Errors
    /// [`Error::Specification`] for a state out of range, a stay ending before it starts, or
    /// no transitions.
    pub fn new(states: &[String], stays: &[Stay]) -> Result<Self> {
        let k = states.len();
        for stay in stays {
            if stay.state >= k || stay.next.is_some_and(|s| s >= k || s == stay.state) {
                return Err(Error::Specification(format!(
                    "stay of `{}`: a state is out of range or moves to itself",
                    stay.subject
                )));
            }
            if !(stay.stop > stay.start) {
                return Err(Error::Specification(format!(
                    "stay of `{}` ends at {} before it starts at {}",
                    stay.subject, stay.stop, stay.start
                )));
            }
        }
        check_histories(states, stays)?;
        let mut times: Vec<f64> = stays.iter().filter(|s| s.next.is_some()).map(|s| s.stop).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        if times.is_empty() {
            return Err(Error::NoEvents(stays.len()));
        }
        // The initial state of each subject: its earliest stay.
        let mut first: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
        for stay in stays {
            let entry = first.entry(stay.subject.as_str()).or_insert((stay.start, stay.state));
            if stay.start < entry.0 {
                *entry = (stay.start, stay.state);
            }
        }
        let mut initial = vec![0.0; k];
        for (_, state) in first.values() {
            initial[*state] += 1.0 / first.len() as f64;
        }
        let mut probability = Matrix::identity(k);
        let mut probabilities = Vec::with_capacity(times.len());
        let mut steps = Vec::with_capacity(times.len());
        let mut counts = Vec::with_capacity(times.len());
        let mut covariance = Covariance::zeros(k);
        let mut variances = Vec::with_capacity(times.len());
        let mut occupation_variances = Vec::with_capacity(times.len());
        let mut hazards: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
        let mut totals: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for stay in stays {
            if let Some(next) = stay.next {
                totals.entry((stay.state, next)).or_insert(0.0);
            }
        }
        // One sweep: stays enter the risk set once their start is before t and leave once their
        // stop is before t.
        let mut by_start: Vec<&Stay> = stays.iter().collect();
        by_start.sort_by(|a, b| a.start.total_cmp(&b.start));
        let mut by_stop: Vec<&Stay> = stays.iter().collect();
        by_stop.sort_by(|a, b| a.stop.total_cmp(&b.stop));
        let (mut entered, mut left, mut at_risk) = (0, 0, vec![0.0; k]);
        for &t in &times {
            while entered < by_start.len() && by_start[entered].start < t {
                at_risk[by_start[entered].state] += 1.0;
                entered += 1;
            }
            while left < by_stop.len() && by_stop[left].stop < t {
                at_risk[by_stop[left].state] -= 1.0;
                left += 1;
            }
            let mut moves = Matrix::zeros(k, k);
            for stay in by_stop[left..].iter().take_while(|s| s.stop == t) {
                if let Some(next) = stay.next {
                    moves[(stay.state, next)] += 1.0;
                }
            }
            let mut step = Matrix::identity(k);
            for r in 0..k {
                for s in 0..k {
                    if r != s && moves[(r, s)] > 0.0 {
                        let increment = moves[(r, s)] / at_risk[r];
                        step[(r, s)] += increment;
                        step[(r, r)] -= increment;
                    }
                }
            }
            for (&(r, s), total) in &mut totals {
                if moves[(r, s)] > 0.0 {
                    *total += moves[(r, s)] / at_risk[r];
                }
                hazards.entry((r, s)).or_default().push(*total);
            }
            covariance.advance(&probability, &step, &moves, &at_risk);
            variances.push(Matrix::from_fn(k, k, |i, j| covariance.get(i, j, i, j)));
            occupation_variances.push(
                (0..k)
                    .map(|s| {
                        (0..k)
                            .flat_map(|r| (0..k).map(move |q| (r, q)))
                            .map(|(r, q)| initial[r] * initial[q] * covariance.get(r, s, q, s))
                            .sum()
                    })
                    .collect(),
            );
            probability = probability.matmul(&step);
            probabilities.push(probability.clone());
            steps.push(step);
            counts.push((moves, at_risk.clone()));
        }
        let cumulative_hazards =
            hazards.into_iter().map(|((r, s), v)| (format!("{} -> {}", states[r], states[s]), v)).collect();
        Ok(Self {
            states: states.to_vec(),
            times,
            probabilities,
            steps,
            moves: counts,
            cumulative_hazards,
            initial,
            variances,
            occupation_variances,
        })
    }

    /// `P(0, t)` (the identity before the first transition).
    pub fn transition_probabilities(&self, t: f64) -> Matrix {
        match self.times.partition_point(|&s| s <= t) {
            0 => Matrix::identity(self.states.len()),
            i => self.probabilities[i - 1].clone(),
        }
    }

    /// `P(s, t)`: where a child in each state at s is at t (mstate's `probtrans(..., predt = s)`),
    /// the product of `I + dÂ(u)` over the transition times s < u ≤ t.
    pub fn transition_probabilities_between(&self, s: f64, t: f64) -> Matrix {
        let (first, last) = (self.times.partition_point(|&u| u <= s), self.times.partition_point(|&u| u <= t));
        self.steps[first..last.max(first)].iter().fold(Matrix::identity(self.states.len()), |p, step| p.matmul(step))
    }

    /// The Greenwood-type variances of the entries of `P(s, t)`: the recursion of the module
    /// documentation run from `P(s, s) = I` with no variance (equal to
    /// [`AalenJohansen::transition_variances`] for s = 0).
    pub fn transition_variances_between(&self, s: f64, t: f64) -> Matrix {
        let k = self.states.len();
        let (first, last) = (self.times.partition_point(|&u| u <= s), self.times.partition_point(|&u| u <= t));
        let mut probability = Matrix::identity(k);
        let mut covariance = Covariance::zeros(k);
        for index in first..last.max(first) {
            let (moves, at_risk) = &self.moves[index];
            covariance.advance(&probability, &self.steps[index], moves, at_risk);
            probability = probability.matmul(&self.steps[index]);
        }
        Matrix::from_fn(k, k, |i, j| covariance.get(i, j, i, j))
    }

    /// State occupation probabilities `p(0) P(0, t)`.
    pub fn occupation(&self, t: f64) -> Vec<f64> {
        let p = self.transition_probabilities(t);
        let k = self.states.len();
        (0..k).map(|s| (0..k).map(|r| self.initial[r] * p[(r, s)]).sum()).collect()
    }

    /// The variances of the entries of `P(0, t)` (zero before the first transition).
    pub fn transition_variances(&self, t: f64) -> Matrix {
        match self.times.partition_point(|&s| s <= t) {
            0 => Matrix::zeros(self.states.len(), self.states.len()),
            i => self.variances[i - 1].clone(),
        }
    }

    /// Standard errors of the state occupation probabilities at `t`.
    pub fn occupation_std_errors(&self, t: f64) -> Vec<f64> {
        match self.times.partition_point(|&s| s <= t) {
            0 => vec![0.0; self.states.len()],
            i => self.occupation_variances[i - 1].iter().map(|v| v.max(0.0).sqrt()).collect(),
        }
    }

    /// Expected time spent in each state between 0 and `tau` (the area under the occupation
    /// curves).
    pub fn expected_length_of_stay(&self, tau: f64) -> Vec<f64> {
        let k = self.states.len();
        let mut total = vec![0.0; k];
        let mut previous = 0.0;
        let mut current = self.occupation(0.0);
        for &t in self.times.iter().filter(|&&t| t <= tau) {
            for s in 0..k {
                total[s] += current[s] * (t - previous);
            }
            previous = t;
            current = self.occupation(t);
        }
        for s in 0..k {
            total[s] += current[s] * (tau - previous).max(0.0);
        }
        total
    }

    /// Occupation probabilities at chosen times, for printing or serialising, with `P(0, τ)`.
    pub fn summary(&self, at: &[f64], tau: f64) -> MultiStateSummary {
        self.summary_from(0.0, at, tau)
    }

    /// As [`AalenJohansen::summary`], with the transition probabilities `P(from, τ)`.
    pub fn summary_from(&self, from: f64, at: &[f64], tau: f64) -> MultiStateSummary {
        MultiStateSummary {
            model: "multistate",
            states: self.states.clone(),
            times: at.to_vec(),
            occupation: at.iter().map(|&t| self.occupation(t)).collect(),
            occupation_std_error: at.iter().map(|&t| self.occupation_std_errors(t)).collect(),
            from,
            transition_probabilities: self.transition_probabilities_between(from, tau).to_rows(),
            transition_std_errors: self
                .transition_variances_between(from, tau)
                .to_rows()
                .into_iter()
                .map(|row| row.into_iter().map(|v| v.max(0.0).sqrt()).collect())
                .collect(),
            expected_length_of_stay: self.expected_length_of_stay(tau),
            tau,
        }
    }
}

/// The covariance of vec P(0, t), k² × k², indexed by pairs of entries.
struct Covariance {
    k: usize,
    values: Vec<f64>,
}

impl Covariance {
    fn zeros(k: usize) -> Self {
        Self { k, values: vec![0.0; k.pow(4)] }
    }

    fn index(&self, i: usize, j: usize, l: usize, m: usize) -> usize {
        let k = self.k;
        ((i * k + j) * k + l) * k + m
    }

    /// cov(P_ij, P_lm).
    fn get(&self, i: usize, j: usize, l: usize, m: usize) -> f64 {
        self.values[self.index(i, j, l, m)]
    }

    /// From cov(vec P(t−)) to cov(vec P(t)), with `p` = P(t−), `step` = I + dA, and the moves
    /// and numbers at risk at t (the recursion of the module documentation).
    fn advance(&mut self, p: &Matrix, step: &Matrix, moves: &Matrix, at_risk: &[f64]) {
        let k = self.k;
        // The propagated part: Σ'(ij, lm) = Σ_a Σ_b B_aj B_bm Σ(ia, lb), in two passes.
        let mut half = vec![0.0; k.pow(4)];
        for i in 0..k {
            for a in 0..k {
                for l in 0..k {
                    for m in 0..k {
                        half[self.index(i, a, l, m)] = (0..k).map(|b| self.get(i, a, l, b) * step[(b, m)]).sum();
                    }
                }
            }
        }
        let mut next = vec![0.0; k.pow(4)];
        for i in 0..k {
            for j in 0..k {
                for l in 0..k {
                    for m in 0..k {
                        next[self.index(i, j, l, m)] =
                            (0..k).map(|a| step[(a, j)] * half[self.index(i, a, l, m)]).sum();
                    }
                }
            }
        }
        // The new increments: rows of dA are independent, each multinomial.
        for a in 0..k {
            let n = at_risk[a];
            let out: f64 = (0..k).filter(|&s| s != a).map(|s| moves[(a, s)]).sum();
            if out == 0.0 {
                continue;
            }
            // The signed counts of row a: d_as off the diagonal, −d_a· on it.
            let signed = |s: usize| if s == a { -out } else { moves[(a, s)] };
            // cov(dA_aj, dA_am) = (δ_jm d_aj n − d_aj d_am)/n³ off the diagonal; by linearity
            // the same form with signed counts holds when j or m is a, except that the δ term
            // becomes −d_am (j = a ≠ m), or d_a· (j = m = a).
            let increment = |j: usize, m: usize| {
                let delta = match (j == a, m == a) {
                    (false, false) => {
                        if j == m {
                            moves[(a, j)]
                        } else {
                            0.0
                        }
                    }
                    (true, false) => -moves[(a, m)],
                    (false, true) => -moves[(a, j)],
                    (true, true) => out,
                };
                (delta * n - signed(j) * signed(m)) / n.powi(3)
            };
            for i in 0..k {
                for l in 0..k {
                    let weight = p[(i, a)] * p[(l, a)];
                    if weight == 0.0 {
                        continue;
                    }
                    for j in 0..k {
                        for m in 0..k {
                            next[self.index(i, j, l, m)] += weight * increment(j, m);
                        }
                    }
                }
            }
        }
        self.values = next;
    }
}

/// State occupation at chosen times, `P(0, τ)` and expected lengths of stay up to τ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiStateSummary {
    /// Always `"multistate"`.
    pub model: &'static str,
    /// State names.
    pub states: Vec<String>,
    /// The times.
    pub times: Vec<f64>,
    /// Occupation probabilities at each time (one list per time).
    pub occupation: Vec<Vec<f64>>,
    /// Their Greenwood-type standard errors.
    pub occupation_std_error: Vec<Vec<f64>>,
    /// The start s of `transition_probabilities`.
    pub from: f64,
    /// `P(s, τ)` (s = 0 unless asked otherwise).
    pub transition_probabilities: Vec<Vec<f64>>,
    /// Their Greenwood-type standard errors.
    pub transition_std_errors: Vec<Vec<f64>>,
    /// Expected time in each state up to τ.
    pub expected_length_of_stay: Vec<f64>,
    /// τ.
    pub tau: f64,
}

impl fmt::Display for MultiStateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "State occupation probabilities (Aalen–Johansen)")?;
        write!(f, "{:<10}", "time")?;
        for s in &self.states {
            write!(f, " {s:>12}")?;
        }
        for ((t, p), se) in self.times.iter().zip(&self.occupation).zip(&self.occupation_std_error) {
            write!(f, "\n{t:<10}")?;
            for v in p {
                write!(f, " {v:>12.4}")?;
            }
            write!(f, "\n{:<10}", "  (SE)")?;
            for v in se {
                write!(f, " {v:>12.4}")?;
            }
        }
        write!(f, "\n\nTransition probabilities P({}, {}) (rows: state at {}):", self.from, self.tau, self.from)?;
        write!(f, "\n{:<14}", "")?;
        for s in &self.states {
            write!(f, " {s:>12}")?;
        }
        for ((s, row), errors) in
            self.states.iter().zip(&self.transition_probabilities).zip(&self.transition_std_errors)
        {
            write!(f, "\n{s:<14}")?;
            for v in row {
                write!(f, " {v:>12.4}")?;
            }
            write!(f, "\n{:<14}", "  (SE)")?;
            for v in errors {
                write!(f, " {v:>12.4}")?;
            }
        }
        write!(f, "\n\nExpected time in each state up to {}:", self.tau)?;
        let width = self.states.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        for (s, v) in self.states.iter().zip(&self.expected_length_of_stay) {
            write!(f, "\n  {s:<width$} {v:>10.3}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KaplanMeier;
    use strata_core::DataFrame;

    #[test]
    fn with_one_transition_it_is_kaplan_meier() {
        let times = [2.0, 3.0, 3.0, 5.0, 7.0, 8.0];
        let died = [true, true, false, true, false, true];
        let stays: Vec<Stay> = times
            .iter()
            .zip(died)
            .enumerate()
            .map(|(i, (&t, d))| Stay { subject: format!("c{i}"), state: 0, start: 0.0, stop: t, next: d.then_some(1) })
            .collect();
        let fit = AalenJohansen::new(&["alive".into(), "dead".into()], &stays).unwrap();
        let frame = DataFrame::new()
            .with_floats("t", &times)
            .unwrap()
            .with_floats("d", &died.map(|d| f64::from(u8::from(d))))
            .unwrap();
        let km = KaplanMeier::new("Surv(t, d) ~ 1").unwrap().fit(&frame).unwrap();
        let curve = &km.curves()[0];
        for (t, s) in curve.time.iter().zip(&curve.survival) {
            assert!((fit.transition_probabilities(*t)[(0, 0)] - s).abs() < 1e-14, "at {t}");
            // Greenwood's variance, for P₀₀ and (P₀₁ = 1 − P₀₀) alike; where the curve reaches
            // zero Greenwood's formula is undefined and the recursion gives zero.
            if *s == 0.0 {
                assert_eq!(fit.transition_variances(*t)[(0, 0)], 0.0);
                continue;
            }
            let variances = fit.transition_variances(*t);
            let greenwood = curve.std_error[curve.time.iter().position(|u| u == t).unwrap()].powi(2);
            assert!(
                (variances[(0, 0)] - greenwood).abs() < 1e-14 && (variances[(0, 1)] - greenwood).abs() < 1e-14,
                "at {t}"
            );
            assert!((fit.occupation_std_errors(*t)[0] - greenwood.sqrt()).abs() < 1e-14);
            let occupation = fit.occupation(*t);
            assert!((occupation.iter().sum::<f64>() - 1.0).abs() < 1e-14);
            assert_eq!(fit.transition_variances_between(0.0, *t), variances);
        }
        // From s = 3 to 7 only the death at 5 (3 at risk) counts: P₀₀(3, 7) = 2/3, and Greenwood
        // conditional on survival to 3 gives (2/3)² · 1/(3 · 2) = 2/27.
        assert!((fit.transition_probabilities_between(3.0, 7.0)[(0, 0)] - 2.0 / 3.0).abs() < 1e-15);
        assert!((fit.transition_variances_between(3.0, 7.0)[(0, 0)] - 2.0 / 27.0).abs() < 1e-15);
    }

    #[test]
    fn histories_become_stays() {
        let entry = |subject: &str, time: f64, state: usize| Entry { subject: subject.into(), time, state };
        // Child a: referral (0) at 0, plan (1) at 2, a repeated plan entry, exit (2) at 5.
        // Child b: referral at 1, still there at the census date 10.
        let entries =
            [entry("a", 2.0, 1), entry("b", 1.0, 0), entry("a", 0.0, 0), entry("a", 3.0, 1), entry("a", 5.0, 2)];
        let stays = stays_from_entries(&entries, 10.0, &[false, false, true]).unwrap();
        let expected = [
            Stay { subject: "a".into(), state: 0, start: 0.0, stop: 2.0, next: Some(1) },
            Stay { subject: "a".into(), state: 1, start: 2.0, stop: 5.0, next: Some(2) },
            Stay { subject: "b".into(), state: 0, start: 1.0, stop: 10.0, next: None },
        ];
        assert_eq!(stays, expected);
        let clash = [entry("a", 0.0, 0), entry("a", 0.0, 1)];
        assert!(stays_from_entries(&clash, 10.0, &[false, false, true])
            .unwrap_err()
            .to_string()
            .contains("two different states"));
        assert!(stays_from_entries(&[entry("a", 11.0, 0)], 10.0, &[false]).is_err());
        assert!(stays_from_entries(&[entry("a", 1.0, 3)], 10.0, &[false]).is_err());
    }

    #[test]
    fn bad_stays_are_errors() {
        let stay = Stay { subject: "a".into(), state: 0, start: 2.0, stop: 1.0, next: Some(1) };
        assert!(AalenJohansen::new(&["x".into(), "y".into()], &[stay]).is_err());
    }
}

#[cfg(test)]
mod recovery {
    use super::*;
    use crate::CoxPh;
    use strata_core::results::FittedModel;
    use strata_data::synthetic::{pathways, PATHWAY_STATES};

    /// The generator's escalation effect is recovered by a transition-specific Cox model on the
    /// stays in "child in need" (counting-process data), and the occupation probabilities sum
    /// to one.
    #[test]
    fn the_pathway_generator_is_recovered() {
        let frame = pathways(4000, 0.1, 17).unwrap();
        let cin: Vec<usize> = frame.rows_where("state", |s| s == Some("child in need")).unwrap();
        let next = frame.column("next").unwrap();
        let to_plan: Vec<f64> =
            cin.iter().map(|&i| f64::from(u8::from(next.text(i).as_deref() == Some("protection plan")))).collect();
        let stays = frame.take(&cin).with_floats("to_plan", &to_plan).unwrap();
        let cox = CoxPh::new("Surv(start, stop, to_plan) ~ deprivation").unwrap().fit(&stays).unwrap();
        let (low, high) = cox.conf_int(0.95)[0];
        assert!(low < 0.1 && 0.1 < high, "({low}, {high})");

        let names: Vec<String> = PATHWAY_STATES.iter().map(|s| (*s).to_string()).collect();
        let column = |name: &str| frame.column(name).unwrap().clone();
        let (child, state, starts, stops) =
            (column("child"), column("state"), frame.numbers("start").unwrap(), frame.numbers("stop").unwrap());
        let index = |text: Option<String>| text.and_then(|t| names.iter().position(|n| *n == t));
        let stays: Vec<Stay> = (0..frame.nrows())
            .map(|i| Stay {
                subject: child.text(i).unwrap(),
                state: index(state.text(i)).unwrap(),
                start: starts.get(i).unwrap(),
                stop: stops.get(i).unwrap(),
                next: index(next.text(i)),
            })
            .collect();
        let fit = AalenJohansen::new(&names, &stays).unwrap();
        for t in [30.0, 365.0, 1000.0] {
            let p = fit.occupation(t);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        assert!(fit.occupation(1000.0)[5] > 0.5, "most cases are closed within three years");
        // P(s, t) composes as the product integral does: P(0, t) = P(0, s) P(s, t).
        let (early, late) = (fit.transition_probabilities(200.0), fit.transition_probabilities_between(200.0, 900.0));
        let composed = early.matmul(&late);
        let direct = fit.transition_probabilities(900.0);
        for r in 0..6 {
            for c in 0..6 {
                assert!((composed[(r, c)] - direct[(r, c)]).abs() < 1e-12);
            }
            let row: f64 = (0..6).map(|c| late[(r, c)]).sum();
            assert!((row - 1.0).abs() < 1e-12);
        }
        assert_eq!(fit.transition_probabilities_between(500.0, 400.0), Matrix::identity(6));

        // The multi-state Cox model: the long format, one stratum per transition and the
        // deprivation effect expanded per transition. Its log partial likelihood is the sum of
        // the transition-specific ones, and its coefficients are theirs.
        let moves: Vec<(&str, &str)> = vec![
            ("referral", "assessment"),
            ("referral", "closed"),
            ("assessment", "child in need"),
            ("assessment", "closed"),
            ("child in need", "protection plan"),
            ("child in need", "closed"),
            ("protection plan", "looked after"),
            ("protection plan", "child in need"),
            ("looked after", "closed"),
        ];
        let transitions = Transitions::new(&PATHWAY_STATES, &moves).unwrap();
        assert_eq!(transitions.absorbing(), [false, false, false, false, false, true]);
        let rows = transitions.at_risk(&stays).unwrap();
        let indices: Vec<usize> = rows.iter().map(|r| r.stay).collect();
        let deprivation = frame.numbers("deprivation").unwrap();
        let mut long = frame
            .take(&indices)
            .with_floats("status", &rows.iter().map(|r| f64::from(u8::from(r.status))).collect::<Vec<_>>())
            .unwrap()
            .with_levels("trans", &rows.iter().map(|r| format!("t{}", r.transition + 1)).collect::<Vec<_>>())
            .unwrap();
        let k = moves.len();
        for t in 0..k {
            let expanded: Vec<f64> =
                rows.iter().map(|r| if r.transition == t { deprivation.get(r.stay).unwrap() } else { 0.0 }).collect();
            long = long.with_floats(format!("dep{}", t + 1), &expanded).unwrap();
        }
        let terms: Vec<String> = (1..=k).map(|t| format!("dep{t}")).collect();
        let formula = format!("Surv(start, stop, status) ~ {} + strata(trans)", terms.join(" + "));
        let joint = CoxPh::new(&formula).unwrap().fit(&long).unwrap();
        let mut total = 0.0;
        for t in 0..k {
            let label = format!("t{}", t + 1);
            let only = long.take(&long.rows_where("trans", |v| v == Some(label.as_str())).unwrap());
            let own = CoxPh::new(&format!("Surv(start, stop, status) ~ dep{}", t + 1)).unwrap().fit(&only).unwrap();
            total += own.log_likelihood().unwrap();
            assert!((own.coef()[0] - joint.coef()[t]).abs() < 1e-6, "transition {}", t + 1);
        }
        let joint_loglik = joint.log_likelihood().unwrap();
        assert!((joint_loglik - total).abs() < 1e-6 * total.abs(), "{joint_loglik} vs {total}");

        // With β held at zero (no Newton steps) and Breslow's ties, the baseline hazards are
        // the Nelson–Aalen estimates, so the predicted transition probabilities are the
        // Aalen–Johansen ones.
        let null = CoxPh::new(&formula)
            .unwrap()
            .ties(crate::Ties::Breslow)
            .control(crate::cox::CoxControl { max_iterations: 0, ..Default::default() })
            .fit(&long)
            .unwrap();
        assert!(null.coef().iter().all(|b| *b == 0.0));
        let labels: Vec<String> = null.baseline_hazard().iter().map(|b| b.stratum.clone()).collect();
        let stratum_of = |t: usize| labels.iter().find(|l| l.ends_with(&format!("t{}", t + 1))).unwrap().as_str();
        let strata: Vec<&str> = (0..k).map(stratum_of).collect();
        let predicted = transitions.predict(&null.baseline_hazard(), &strata, &vec![0.0; k]).unwrap();
        for (t, p) in predicted.iter().step_by(97) {
            let expected = fit.transition_probabilities(*t);
            for r in 0..6 {
                for s in 0..6 {
                    assert!((p[(r, s)] - expected[(r, s)]).abs() < 1e-10, "P{r}{s}({t})");
                }
            }
        }
        // A higher linear predictor on referral → assessment moves children on sooner.
        let mut eta = vec![0.0; k];
        eta[0] = 1.0;
        let faster = transitions.predict(&joint.baseline_hazard(), &strata, &eta).unwrap();
        let slower = transitions.predict(&joint.baseline_hazard(), &strata, &vec![0.0; k]).unwrap();
        assert!(faster[20].1[(0, 0)] < slower[20].1[(0, 0)]);
        assert!(transitions.predict(&joint.baseline_hazard(), &strata[1..], &eta).is_err());

        let forbidden = Stay { subject: "x".into(), state: 0, start: 0.0, stop: 1.0, next: Some(3) };
        assert!(transitions.at_risk(&[forbidden]).unwrap_err().to_string().contains("does not allow"));
    }
}

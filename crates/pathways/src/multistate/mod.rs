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

mod covariance;
mod cox;
#[cfg(test)]
mod recovery;
mod stays;
mod summary;
#[cfg(test)]
mod tests;

use covariance::Covariance;
pub use cox::MultiStateCox;
pub use stays::{check_histories, stays_from_entries, AtRisk, Entry, Stay, Transitions};
pub use summary::MultiStateSummary;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_core::numerics::Matrix;

/// The Aalen–Johansen estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AalenJohansen {
    /// State names.
    pub states: Vec<String>,
    /// Distinct transition times.
    pub times: Vec<f64>,
    /// `P(0, t)` after each time (k × k, rows as lists).
    pub probabilities: Vec<Matrix>,
    /// `I + dÂ(t)` at each time: `P(s, t)` is their product over the times in (s, t].
    pub steps: Vec<Matrix>,
    /// The moves between states and the numbers at risk in each state at each time (for the
    /// variances of `P(s, t)`).
    moves: Vec<(Matrix, Vec<f64>)>,
    /// Nelson–Aalen cumulative hazard of each observed transition, at each time.
    pub cumulative_hazards: BTreeMap<String, Vec<f64>>,
    /// The initial state distribution.
    pub initial: Vec<f64>,
    /// The variance of each entry of `P(0, t)` after each time.
    pub variances: Vec<Matrix>,
    /// The variance of each state's occupation probability after each time.
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

//! The multi-state Cox model: transition-specific covariate effects with a baseline hazard per
//! transition, fitted as one Cox model on the stays at risk of each transition (de Wreede,
//! Fiocco & Putter 2011, mstate's `msprep`, `expand.covs` and
//! `coxph(Surv(start, stop, status) ~ x.1 + x.2 + … + strata(trans))`).
//!
//! Every observed move is a transition k; each stay is a row at risk of every transition out of
//! its state, with status 1 for the transition it ended in; covariate x gets one column per
//! transition, $x_{.k} = x$ on transition k's rows and 0 elsewhere, so that
//! $h_k(t \mid x) = h_{0k}(t)\exp(\beta_k x)$. Checked against survival 3.5.3 on the long format
//! built by hand in R (`crates/cli/tests/multistate.rs`).

use super::{Stay, Transitions};
use crate::cox::{CoxArrays, CoxEngine, CoxFit};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use strata_core::numerics::Matrix;

/// A fitted multi-state Cox model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MultiStateCox {
    /// `k: from -> to` for each transition, numbered as its effects are (`x.k`).
    pub transitions: Vec<String>,
    /// The Cox model stratified by transition, its coefficients named `x.k`.
    pub fit: CoxFit,
}

impl MultiStateCox {
    /// Fits the model to `stays` between `states`, with each subject's baseline covariates
    /// (`baseline[subject]`, in the order of `names`); subjects without baseline values are
    /// left out, as rows with a missing covariate are.
    ///
    /// # Examples
    /// ```
    /// use std::collections::BTreeMap;
    /// use strata_pathways::cox::CoxEngine;
    /// use strata_pathways::multistate::{MultiStateCox, Stay};
    /// // Children referred (0) move to a protection plan (1) or to care (2), some from the plan.
    /// let states = ["referral", "plan", "care"].map(String::from).to_vec();
    /// let stay = |subject: usize, state, start, stop, next| Stay { subject: format!("c{subject}"), state, start, stop, next };
    /// let mut stays = Vec::new();
    /// let mut baseline = BTreeMap::new();
    /// for child in 0..40 {
    ///     let deprived = f64::from(u8::from(child % 2 == 0));
    ///     let first = 1.0 + f64::from((child * 7 % 13) as u8) / (1.0 + deprived);
    ///     let next = if child % 3 == 0 { 2 } else { 1 };
    ///     stays.push(stay(child, 0, 0.0, first, Some(next)));
    ///     if next == 1 {
    ///         let into_care = child % 4 == 1;
    ///         stays.push(stay(child, 1, first, first + 2.0 + f64::from((child % 5) as u8), into_care.then_some(2)));
    ///     }
    ///     baseline.insert(format!("c{child}"), vec![deprived]);
    /// }
    /// let fit = MultiStateCox::fit(&states, &stays, &["deprived".to_string()], &baseline, &CoxEngine::new())?;
    /// assert_eq!(fit.transitions, ["1: referral -> plan", "2: referral -> care", "3: plan -> care"]);
    /// assert_eq!(fit.fit.coef_names(), ["deprived.1", "deprived.2", "deprived.3"]);
    /// # use strata_core::results::FittedModel;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// No subject with covariates, a covariate vector of the wrong length, moves the histories
    /// cannot make, or the Cox fit's errors.
    pub fn fit(
        states: &[String],
        stays: &[Stay],
        names: &[String],
        baseline: &BTreeMap<String, Vec<f64>>,
        engine: &CoxEngine,
    ) -> Result<Self> {
        if let Some((subject, values)) = baseline.iter().find(|(_, v)| v.len() != names.len()) {
            return Err(Error::Specification(format!(
                "subject `{subject}` has {} covariate values for {} names",
                values.len(),
                names.len()
            )));
        }
        let mut moves: Vec<(usize, usize)> = stays.iter().filter_map(|s| s.next.map(|n| (s.state, n))).collect();
        moves.sort_unstable();
        moves.dedup();
        let labels: Vec<&str> = states.iter().map(String::as_str).collect();
        let allowed: Vec<(&str, &str)> = moves.iter().map(|&(a, b)| (labels[a], labels[b])).collect();
        let transitions = Transitions::new(&labels, &allowed)?;
        let rows: Vec<_> =
            transitions.at_risk(stays)?.into_iter().filter(|r| baseline.contains_key(&stays[r.stay].subject)).collect();
        if rows.is_empty() {
            return Err(Error::Specification(format!("no subject has every one of {}", names.join(", "))));
        }
        let k = moves.len();
        let x = Matrix::from_fn(rows.len(), names.len() * k, |i, j| {
            let (c, t) = (j / k, j % k);
            if rows[i].transition == t {
                baseline[&stays[rows[i].stay].subject][c]
            } else {
                0.0
            }
        });
        let columns: Vec<String> = names.iter().flat_map(|n| (1..=k).map(move |t| format!("{n}.{t}"))).collect();
        let start: Vec<f64> = rows.iter().map(|r| stays[r.stay].start).collect();
        let stop: Vec<f64> = rows.iter().map(|r| stays[r.stay].stop).collect();
        let status: Vec<bool> = rows.iter().map(|r| r.status).collect();
        let strata: Vec<u32> = rows.iter().map(|r| r.transition as u32).collect();
        let arrays = CoxArrays::new(&x, &stop, &status).names(&columns).start(&start).strata(&strata);
        let fit = engine.fit(&arrays)?;
        let transitions =
            moves.iter().enumerate().map(|(t, &(a, b))| format!("{}: {} -> {}", t + 1, states[a], states[b])).collect();
        Ok(Self { transitions, fit })
    }
}

//! Survival responses: `Surv(time, status)` (right-censored) and `Surv(start, stop, event)`
//! (counting process: at risk on `(start, stop]`), with strata, weights and the covariates of
//! the right-hand side.

use crate::error::{Error, Result};
use strata_core::design::{model_expressions, offset_values, ModelMatrix};
use strata_core::formula::{Expr, SpecialKind, Terms};
use strata_core::model_frame::ModelFrame;
use strata_core::ranks::RankTable;
use strata_core::{DataFrame, Formula};

/// Survival times, events and strata on the complete rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalData {
    /// Entry times for counting-process data (`None` for right-censored data: at risk from −∞).
    pub start: Option<Vec<f64>>,
    /// Event or censoring times.
    pub stop: Vec<f64>,
    /// Whether the observation ended in the event.
    pub event: Vec<bool>,
    /// Case weights.
    pub weights: Vec<f64>,
    /// Stratum of each observation.
    pub strata: Vec<u32>,
    /// Stratum labels as R writes them (`sex=female`), or `["all"]`.
    pub strata_labels: Vec<String>,
    /// 0-based rows of the original data used.
    pub rows: Vec<usize>,
}

impl SurvivalData {
    /// Number of observations.
    pub fn len(&self) -> usize {
        self.stop.len()
    }

    /// Whether there are no observations.
    pub fn is_empty(&self) -> bool {
        self.stop.is_empty()
    }

    /// Number of events.
    pub fn n_events(&self) -> usize {
        self.event.iter().filter(|e| **e).count()
    }

    /// Entry time of observation `i` (−∞ for right-censored data).
    pub fn entry(&self, i: usize) -> f64 {
        self.start.as_ref().map_or(f64::NEG_INFINITY, |s| s[i])
    }
}

/// Where a model's strata come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrataFrom {
    /// Every right-hand-side variable (Kaplan–Meier curves, log-rank groups).
    RightHandSide,
    /// The `strata()` terms (Cox models).
    Specials,
    /// The `strata()` terms, with the right-hand-side variables as groups (log-rank tests).
    SpecialsWithGroups,
}

/// A survival formula evaluated on a frame.
#[derive(Debug, Clone)]
pub(crate) struct SurvivalModel {
    pub data: SurvivalData,
    pub x: ModelMatrix,
    pub offset: Vec<f64>,
    /// The `cluster()` label of each observation.
    pub cluster: Option<Vec<String>>,
    /// The factor levels of the fitted data and the expanded formula, for predictions.
    pub levels: Vec<(String, Vec<String>)>,
    pub terms: Terms,
    /// The combinations of the right-hand-side variables (log-rank groups; empty otherwise).
    pub groups: (Vec<u32>, Vec<String>),
}

/// Codes for the combinations of several factors, labelled as R labels strata
/// (`sex=female, ph.ecog=1`) and ordered by the factors' levels, the first slowest; one
/// stratum `all` when there are no factors. The factors are folded in one at a time: an
/// observation's combination so far (its code among those present, in their order) and its code
/// in the next factor make one number, and the numbers present are ranked ([`RankTable`]).
fn combine_factors(model_frame: &ModelFrame, exprs: &[(String, Expr)]) -> (Vec<u32>, Vec<String>) {
    let mut codes = vec![0u32; model_frame.nrows()];
    let mut factors = Vec::new();
    for (label, expr) in exprs {
        let (next, levels) = model_frame.factor(expr);
        let size = levels.len() as u64;
        let key = |(&c, &l): (&u32, &u32)| u64::from(c) * size + u64::from(l);
        let table = RankTable::new(codes.iter().zip(&next).map(key), codes.len());
        codes = codes.iter().zip(&next).map(|pair| table.rank(key(pair))).collect();
        factors.push((label, next, levels));
    }
    if factors.is_empty() {
        return (codes, vec!["all".to_string()]);
    }
    // Each combination's label from an observation that has it (the codes are dense).
    let mut example = vec![0; codes.iter().max().map_or(0, |&c| c as usize + 1)];
    for (i, &c) in codes.iter().enumerate() {
        example[c as usize] = i;
    }
    let labels = example
        .iter()
        .map(|&i| {
            let parts: Vec<String> =
                factors.iter().map(|(label, codes, levels)| format!("{label}={}", levels[codes[i] as usize])).collect();
            parts.join(", ")
        })
        .collect();
    (codes, labels)
}

fn surv_arguments(formula: &Formula) -> Result<&[Expr]> {
    match formula.response().and_then(Expr::as_call) {
        Some(("Surv", arguments)) if matches!(arguments.len(), 2 | 3) => Ok(arguments),
        Some(("Surv", _)) => Err(Error::Specification("Surv() takes (time, status) or (start, stop, event)".into())),
        _ => Err(Error::Specification("the response must be Surv(time, status) or Surv(start, stop, event)".into())),
    }
}

/// R's status coding: 0/1 (or FALSE/TRUE), or 1/2 with 2 the event when every status is 1 or 2.
/// One pass finds which codes occur and a second makes the events, or finds the first status
/// that is neither 0 nor 1 when the coding is 0/1.
fn events(status: &[f64], rows: &[usize]) -> Result<Vec<bool>> {
    let (mut zero, mut two, mut other) = (false, false, false);
    for &s in status {
        zero |= s == 0.0;
        two |= s == 2.0;
        other |= s != 0.0 && s != 1.0 && s != 2.0;
    }
    let one_two = two && !zero && !other;
    if !one_two && (two || other) {
        let i = status.iter().position(|&s| s != 0.0 && s != 1.0).expect("a status other than 0 or 1");
        return Err(Error::InvalidSurvival {
            row: rows[i] + 1,
            reason: format!("status {} is not 0/1 (censored/event) or 1/2", status[i]),
        });
    }
    let event = if one_two { 2.0 } else { 1.0 };
    Ok(status.iter().map(|&s| s == event).collect())
}

impl SurvivalModel {
    pub fn new(formula: &Formula, frame: &DataFrame, weights: Option<&str>, strata_from: StrataFrom) -> Result<Self> {
        let arguments = surv_arguments(formula)?;
        let terms: Terms = formula.terms().map_err(strata_core::Error::from)?;
        if !terms.random.is_empty() {
            return Err(Error::Specification("random-effect terms are not supported in survival models".into()));
        }
        let weight_expr =
            weights.map(strata_core::formula::Expr::parse).transpose().map_err(strata_core::Error::from)?;
        let mut extra: Vec<&Expr> = arguments.iter().collect();
        extra.extend(weight_expr.iter());
        let mut model_frame = ModelFrame::new(frame, &model_expressions(&terms, &extra))?;
        let rows = model_frame.rows();
        // The times and weights are checked here and moved out of the model frame at the end.
        let (start, stop, status) = match arguments {
            [time, status] => (None, time, status),
            [start, stop, status] => (Some(start), stop, status),
            _ => unreachable!("checked by surv_arguments"),
        };
        let stop_values = model_frame.numeric(stop)?;
        if let Some(start) = start {
            let start_values = model_frame.numeric(start)?;
            if let Some(i) = (0..stop_values.len()).find(|&i| start_values[i] >= stop_values[i]) {
                return Err(Error::InvalidSurvival {
                    row: rows[i] + 1,
                    reason: format!("start {} is not before stop {}", start_values[i], stop_values[i]),
                });
            }
        } else {
            stop_values.iter().zip(rows).try_for_each(|(&t, &row)| check_time(t, row))?;
        }
        let event = events(model_frame.numeric(status)?, rows)?;
        if let Some(w) = &weight_expr {
            if let Some(i) = model_frame.numeric(w)?.iter().position(|&w| w < 0.0) {
                return Err(Error::InvalidSurvival { row: rows[i] + 1, reason: "weights must not be negative".into() });
            }
        }
        let group_exprs: Vec<(String, Expr)> =
            terms.variables.iter().map(|v| (v.label.clone(), v.expr.clone())).collect();
        let special_exprs: Vec<(String, Expr)> = terms
            .specials
            .iter()
            .filter(|s| s.kind == SpecialKind::Strata)
            .flat_map(|s| s.arguments.iter().map(|a| (a.label(), a.clone())))
            .collect();
        let groups = if strata_from == StrataFrom::SpecialsWithGroups {
            combine_factors(&model_frame, &group_exprs)
        } else {
            (Vec::new(), Vec::new())
        };
        let (strata, strata_labels) = match strata_from {
            StrataFrom::RightHandSide => {
                combine_factors(&model_frame, &group_exprs.iter().chain(&special_exprs).cloned().collect::<Vec<_>>())
            }
            StrataFrom::Specials | StrataFrom::SpecialsWithGroups => combine_factors(&model_frame, &special_exprs),
        };
        let cluster = terms.specials.iter().find(|s| s.kind == SpecialKind::Cluster).map(|s| {
            let (codes, levels) = model_frame.factor(&s.arguments[0]);
            codes.into_iter().map(|c| levels[c as usize].clone()).collect()
        });
        // A Cox model has no intercept, but factors are coded by contrasts as if it had, as in
        // R's coxph (and no column of ones is built).
        let x = ModelMatrix::absorbing_intercept(&Terms { intercept: true, ..terms.clone() }, &model_frame)?;
        let offset = offset_values(&terms, &model_frame)?;
        let levels = model_frame.factor_levels();
        // The last reads of the model frame: the times, weights and rows move out of it, not
        // copied (a weight column that is also a time is copied before the time moves).
        let case_weights = match &weight_expr {
            Some(w) if w.label() == stop.label() || start.is_some_and(|s| s.label() == w.label()) => {
                model_frame.numeric(w)?.to_vec()
            }
            Some(w) => model_frame.take_numeric(w)?,
            None => vec![1.0; event.len()],
        };
        let stop = model_frame.take_numeric(stop)?;
        let start = start.map(|start| model_frame.take_numeric(start)).transpose()?;
        let rows = model_frame.take_rows();
        let data = SurvivalData { start, stop, event, weights: case_weights, strata, strata_labels, rows };
        if data.n_events() == 0 {
            return Err(Error::NoEvents(data.len()));
        }
        Ok(Self { data, x, offset, cluster, levels, terms, groups })
    }
}

/// [`Error::InvalidSurvival`] for a negative time, by its 0-based row in the data.
pub(crate) fn check_time(time: f64, row: usize) -> Result<()> {
    if time < 0.0 {
        return Err(Error::InvalidSurvival { row: row + 1, reason: format!("time {time} is negative") });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both of R's codings, and the first status that fits neither named by its data row.
    #[test]
    fn statuses_are_read_in_either_coding() {
        let rows: Vec<usize> = (10..16).collect();
        assert_eq!(events(&[0.0, 1.0, 1.0, 0.0], &rows).unwrap(), [false, true, true, false]);
        assert_eq!(events(&[1.0, 1.0, 1.0], &rows).unwrap(), [true, true, true]);
        assert_eq!(events(&[1.0, 2.0, 2.0, 1.0], &rows).unwrap(), [false, true, true, false]);
        let row_of = |status: &[f64]| match events(status, &rows) {
            Err(Error::InvalidSurvival { row, .. }) => row,
            other => panic!("{other:?}"),
        };
        // With a 0, the coding is 0/1 and a 2 does not fit it.
        assert_eq!(row_of(&[1.0, 0.0, 2.0, 1.0]), 13);
        assert_eq!(row_of(&[1.0, 3.0, 0.0, 2.0]), 12);
        assert_eq!(row_of(&[1.0, 2.0, 0.5]), 12);
    }
}

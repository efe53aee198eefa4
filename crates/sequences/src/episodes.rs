//! State sequences on a regular grid (months, weeks or days) from episode records — one row per
//! spell a child spent in a state, as the DfE's children-in-need and looked-after returns hold
//! them (TraMineR's `seqformat(from = "SPELL")` on a finer calendar).
//!
//! An episode covers the days $\text{start} \le d < \text{end}$; a missing end means it was still
//! open when observation ended. Each day of a child's grid takes the state of the episode covering
//! it; where episodes of different states overlap, the state earliest in the precedence order wins
//! (without an order, overlaps are an error). Days before the child's first episode take the
//! `before` state ("not yet referred"), days after the last one the `after` state ("closed"), and
//! uncovered days in between the `gap` state. Each period then takes the state held on most of its
//! days, ties going to the state earliest in the precedence order (then in byte order).

use crate::error::{Error, Result};
use crate::sequence::Sequences;
use std::collections::HashMap;

/// The length of a period of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Calendar months (from the origin's day of the month, clamped to the month's length).
    Month,
    /// Seven days.
    Week,
    /// A fixed number of days.
    Days(u32),
}

/// The longest grid, in days (100 years).
pub const MAX_DAYS: usize = 36_525;

/// Where each child's grid starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Alignment {
    /// Every child on one calendar grid starting at this day (days since 1970-01-01; see
    /// [`parse_day`]). `None` starts at the first day of the month of the earliest episode (or
    /// the earliest day, for weeks and days).
    Calendar(Option<f64>),
    /// Each child's grid starts on the first day of their first episode (time since referral).
    SinceFirst,
}

/// How episodes become sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The period.
    pub unit: Unit,
    /// How many periods each sequence has.
    pub periods: usize,
    /// Where the grid starts.
    pub alignment: Alignment,
    /// States in order of precedence where episodes overlap (and for ties within a period).
    pub precedence: Option<Vec<String>>,
    /// The state of days between episodes.
    pub gap: String,
    /// The state of days before the first episode.
    pub before: String,
    /// The state of days after the last episode.
    pub after: String,
}

impl Grid {
    /// A grid of `periods` months, by time since the first episode, with states `gap`,
    /// `not referred` and `closed`, and no precedence order.
    pub fn months(periods: usize) -> Self {
        Self {
            unit: Unit::Month,
            periods,
            alignment: Alignment::SinceFirst,
            precedence: None,
            gap: "gap".into(),
            before: "not referred".into(),
            after: "closed".into(),
        }
    }
}

/// Days since 1970-01-01 of a date written `YYYY-MM-DD` (or `YYYY/MM/DD`), or a number of days as
/// written.
pub fn parse_day(text: &str) -> Option<f64> {
    let text = text.trim();
    let parts: Vec<&str> = text.split(['-', '/']).collect();
    if parts.len() == 3 && parts[0].len() == 4 {
        let (y, m, d) = (parts[0].parse().ok()?, parts[1].parse().ok()?, parts[2].parse().ok()?);
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        return Some(days_from_civil(y, m, d) as f64);
    }
    text.parse().ok().filter(|x: &f64| x.is_finite())
}

/// A day number (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn format_day(day: f64) -> String {
    let (y, m, d) = civil_from_days(day.floor() as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The first day of period `p` of a grid starting on day `origin`.
fn period_start(unit: Unit, origin: i64, p: usize) -> i64 {
    match unit {
        Unit::Week => origin + 7 * p as i64,
        Unit::Days(n) => origin + i64::from(n) * p as i64,
        Unit::Month => {
            let (y, m, d) = civil_from_days(origin);
            let months = i64::from(m) - 1 + p as i64;
            let (y, m) = (y + months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
            days_from_civil(y, m, d.min(days_in_month(y, m)))
        }
    }
}

/// Sequences of `grid.periods` periods from episodes: child `ids[r]` was in `states[r]` on days
/// `starts[r] ≤ d < ends[r]` (days since 1970-01-01, see [`parse_day`]; NaN end: still open).
///
/// # Errors
/// [`Error::Length`]; [`Error::Missing`] for a missing start; [`Error::Specification`] for an
/// episode ending before it starts or an empty grid; [`Error::Overlap`] for overlapping episodes
/// of different states without a precedence order; [`Error::UnknownState`] for a state missing
/// from the precedence order.
pub fn from_episodes<S: AsRef<str>, T: AsRef<str>>(
    ids: &[S],
    states: &[T],
    starts: &[f64],
    ends: &[f64],
    grid: &Grid,
) -> Result<Sequences> {
    for (what, len) in [("states", states.len()), ("starts", starts.len()), ("ends", ends.len())] {
        if len != ids.len() {
            return Err(Error::Length { what: what.into(), expected: ids.len(), found: len });
        }
    }
    if grid.periods == 0 {
        return Err(Error::Specification("the grid has no periods".into()));
    }
    let span = period_start(grid.unit, 0, grid.periods.min(MAX_DAYS + 1));
    if span > MAX_DAYS as i64 {
        return Err(Error::Specification(format!(
            "a grid of {} periods spans more than {MAX_DAYS} days (100 years)",
            grid.periods
        )));
    }
    if let Some(row) = starts.iter().position(|s| !s.is_finite()) {
        return Err(Error::Missing { what: "start".into(), row: row + 1 });
    }
    if let Some(row) = (0..ids.len()).find(|&r| ends[r] < starts[r]) {
        return Err(Error::Specification(format!("episode at row {} ends before it starts", row + 1)));
    }
    // Ranks: precedence order first, then the states in byte order; the special states last.
    let mut names: Vec<String> = states.iter().map(|s| s.as_ref().to_string()).collect();
    names.sort_unstable();
    names.dedup();
    let mut ranked: Vec<String> = match &grid.precedence {
        Some(order) => {
            for name in &names {
                if !order.contains(name) {
                    return Err(Error::UnknownState {
                        state: name.clone(),
                        context: "the data but not the precedence order".into(),
                        known: order.join(", "),
                    });
                }
            }
            order.clone()
        }
        None => names,
    };
    for special in [&grid.gap, &grid.before, &grid.after] {
        if !ranked.contains(special) {
            ranked.push(special.clone());
        }
    }
    let rank: HashMap<&str, usize> = ranked.iter().enumerate().map(|(r, s)| (s.as_str(), r)).collect();
    let (gap, before, after) = (rank[grid.gap.as_str()], rank[grid.before.as_str()], rank[grid.after.as_str()]);
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (r, id) in ids.iter().enumerate() {
        children
            .entry(id.as_ref())
            .or_insert_with(|| {
                order.push(id.as_ref());
                Vec::new()
            })
            .push(r);
    }
    let calendar_origin = match grid.alignment {
        Alignment::Calendar(Some(day)) => Some(day.floor() as i64),
        Alignment::Calendar(None) => {
            let first = starts.iter().copied().fold(f64::INFINITY, f64::min).floor() as i64;
            Some(match grid.unit {
                Unit::Month => {
                    let (y, m, _) = civil_from_days(first);
                    days_from_civil(y, m, 1)
                }
                _ => first,
            })
        }
        Alignment::SinceFirst => None,
    };
    let mut rows = Vec::with_capacity(order.len());
    let mut day_state: Vec<usize> = Vec::new();
    let mut tally = vec![0usize; ranked.len()];
    for id in &order {
        let episodes = &children[id];
        let first = episodes.iter().map(|&r| starts[r]).fold(f64::INFINITY, f64::min).floor() as i64;
        let last = episodes
            .iter()
            .map(|&r| if ends[r].is_nan() { f64::INFINITY } else { ends[r] })
            .fold(f64::NEG_INFINITY, f64::max);
        let origin = calendar_origin.unwrap_or(first);
        let end = period_start(grid.unit, origin, grid.periods);
        let length = (end - origin) as usize;
        day_state.clear();
        day_state.resize(length, usize::MAX);
        for &r in episodes {
            let state = rank[states[r].as_ref()];
            let from = (starts[r].floor() as i64 - origin).clamp(0, length as i64) as usize;
            let to = if ends[r].is_nan() {
                length
            } else {
                (ends[r].ceil() as i64 - origin).clamp(0, length as i64) as usize
            };
            for (d, slot) in day_state[from..to].iter_mut().enumerate() {
                if *slot == usize::MAX || *slot == state {
                    *slot = state;
                } else if grid.precedence.is_some() {
                    *slot = (*slot).min(state);
                } else {
                    return Err(Error::Overlap {
                        id: (*id).to_string(),
                        first: ranked[*slot].clone(),
                        second: ranked[state].clone(),
                        day: format_day((origin + (from + d) as i64) as f64),
                    });
                }
            }
        }
        for (d, slot) in day_state.iter_mut().enumerate() {
            if *slot == usize::MAX {
                let day = (origin + d as i64) as f64;
                *slot = if day < first as f64 {
                    before
                } else if day >= last {
                    after
                } else {
                    gap
                };
            }
        }
        let mut row = Vec::with_capacity(grid.periods);
        for p in 0..grid.periods {
            let (a, b) = (period_start(grid.unit, origin, p) - origin, period_start(grid.unit, origin, p + 1) - origin);
            tally.fill(0);
            for &s in &day_state[a as usize..b as usize] {
                tally[s] += 1;
            }
            let most = tally.iter().copied().max().unwrap_or(0);
            let winner = tally.iter().position(|&t| t == most).unwrap_or(gap);
            row.push(ranked[winner].as_str());
        }
        rows.push(row);
    }
    Sequences::new(&order, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> f64 {
        parse_day(text).unwrap()
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(day("1970-01-01"), 0.0);
        assert_eq!(day("2000-03-01"), 11_017.0);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(format_day(11_016.0), "2000-02-29");
        assert_eq!(parse_day("2021-02-30"), None);
        assert_eq!(period_start(Unit::Month, days_from_civil(2021, 1, 31), 1), days_from_civil(2021, 2, 28));
    }

    #[test]
    fn episodes_fill_a_monthly_grid() {
        let ids = ["a", "a", "b"];
        let states = ["cin", "cla", "cin"];
        let starts = [day("2021-01-01"), day("2021-02-20"), day("2021-02-01")];
        let ends = [day("2021-02-10"), f64::NAN, day("2021-03-01")];
        let grid = Grid { alignment: Alignment::Calendar(None), ..Grid::months(4) };
        let s = from_episodes(&ids, &states, &starts, &ends, &grid).unwrap();
        // a: Jan cin; Feb: 9 days cin, 10 gap, 9 cla → gap (most days); Mar, Apr cla.
        assert_eq!(s.states(0), ["cin", "gap", "cla", "cla"]);
        assert_eq!(s.states(1), ["not referred", "cin", "closed", "closed"]);
        let since = from_episodes(&ids, &states, &starts, &ends, &Grid::months(2)).unwrap();
        assert_eq!(since.states(1), ["cin", "closed"]);
    }

    #[test]
    fn overlaps_need_a_precedence_order() {
        let ids = ["a", "a"];
        let states = ["cin", "cpp"];
        let starts = [day("2021-01-01"), day("2021-01-10")];
        let ends = [day("2021-03-01"), day("2021-02-01")];
        let err = from_episodes(&ids, &states, &starts, &ends, &Grid::months(2)).unwrap_err();
        assert!(matches!(err, Error::Overlap { .. }), "{err}");
        let grid = Grid { precedence: Some(vec!["cpp".into(), "cin".into()]), ..Grid::months(2) };
        let s = from_episodes(&ids, &states, &starts, &ends, &grid).unwrap();
        assert_eq!(s.states(0), ["cpp", "cin"]);
        let partial = Grid { precedence: Some(vec!["cpp".into()]), ..Grid::months(2) };
        assert!(matches!(from_episodes(&ids, &states, &starts, &ends, &partial), Err(Error::UnknownState { .. })));
    }
}

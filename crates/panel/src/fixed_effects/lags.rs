//! Lags and leads by panel unit and time, as fixest's `l(x, k)` and `f(x, k)` with
//! `panel.id = ~id + time`: the value of `x` for the same unit at time $t - k$ (lag) or
//! $t + k$ (lead), missing where that period is not observed. `l(x, 1:2)` expands to two terms.

use crate::error::{Error, Result};
use std::collections::HashMap;
use strata_core::{Column, DataFrame};

/// One shifted variable the formula asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// The column name given to it (and its term name), e.g. `l(x, 1)`.
    pub name: String,
    /// The variable shifted.
    pub variable: String,
    /// Periods back (lag, positive) or forward (lead, negative).
    pub periods: i64,
}

/// Replaces every `l(x, k)` and `f(x, k)` (k an integer or a range `a:b`, default 1) in `model`
/// by backquoted column names, and lists the shifts to compute.
///
/// # Errors
/// [`Error::Specification`] for a malformed call.
pub fn rewrite(model: &str) -> Result<(String, Vec<Shift>)> {
    let bytes = model.as_bytes();
    let mut out = String::with_capacity(model.len());
    let mut shifts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b'.');
        let call = (bytes[i] == b'l' || bytes[i] == b'f') && bytes.get(i + 1) == Some(&b'(');
        if !(boundary && call) {
            out.push(bytes[i] as char);
            i += 1;
            continue;
        }
        let close = model[i..]
            .find(')')
            .map(|c| i + c)
            .ok_or_else(|| Error::Specification(format!("`{}`: unclosed `(`", &model[i..])))?;
        let inside = &model[i + 2..close];
        let (variable, periods) = match inside.split_once(',') {
            Some((v, k)) => (v.trim(), k.trim()),
            None => (inside.trim(), "1"),
        };
        let parse = |k: &str| {
            k.trim().parse::<i64>().map_err(|_| {
                Error::Specification(format!(
                    "`{}`: the number of periods must be a whole number or a range a:b",
                    &model[i..=close]
                ))
            })
        };
        let range: Vec<i64> = match periods.split_once(':') {
            Some((a, b)) => (parse(a)?..=parse(b)?).collect(),
            None => vec![parse(periods)?],
        };
        if variable.is_empty() || range.is_empty() {
            return Err(Error::Specification(format!("`{}` names no variable or no periods", &model[i..=close])));
        }
        let lead = bytes[i] == b'f';
        let names: Vec<String> = range
            .iter()
            .map(|&k| {
                let name = format!("{}({variable}, {k})", if lead { 'f' } else { 'l' });
                shifts.push(Shift {
                    name: name.clone(),
                    variable: variable.to_string(),
                    periods: if lead { -k } else { k },
                });
                format!("`{name}`")
            })
            .collect();
        out.push_str(&names.join(" + "));
        i = close + 1;
    }
    Ok((out, shifts))
}

/// `frame` with a column added for each shift, by unit `id` and numeric `time`.
///
/// # Errors
/// Unknown columns, a non-numeric time or variable, or a unit observed twice at one time.
pub fn add_shifted(frame: &DataFrame, shifts: &[Shift], id: &str, time: &str) -> Result<DataFrame> {
    let ids = frame.column(id)?;
    let times = frame.numbers(time)?;
    let mut index: HashMap<(String, u64), usize> = HashMap::new();
    for i in 0..frame.nrows() {
        if let (Some(unit), Some(t)) = (ids.text(i), times.get(i)) {
            if let Some(first) = index.insert((unit.clone(), t.to_bits()), i) {
                return Err(Error::Specification(format!(
                    "`{id}` {unit} has {t} twice in `{time}` (data rows {} and {}): lags need one row per unit and period",
                    first + 1,
                    i + 1
                )));
            }
        }
    }
    let mut out = frame.clone();
    for shift in shifts {
        let values = frame.numbers(&shift.variable)?;
        let shifted: Vec<Option<f64>> = (0..frame.nrows())
            .map(|i| {
                let (unit, t) = (ids.text(i)?, times.get(i)?);
                let source = index.get(&(unit, (t - shift.periods as f64).to_bits()))?;
                values.get(*source)
            })
            .collect();
        out.push(shift.name.clone(), Column::Float(shifted.into()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_become_columns() {
        let (text, shifts) = rewrite("y ~ l(x) + f(x, 2) + l(z, 1:2) + log(w) + self").unwrap();
        assert_eq!(text, "y ~ `l(x, 1)` + `f(x, 2)` + `l(z, 1)` + `l(z, 2)` + log(w) + self");
        assert_eq!(shifts.iter().map(|s| s.periods).collect::<Vec<_>>(), [1, -2, 1, 2]);
        assert!(rewrite("y ~ l(x, one)").is_err());
    }

    #[test]
    fn shifts_follow_units_and_gaps() {
        let frame = DataFrame::new()
            .with_levels("la", &["a", "a", "a", "b", "b"])
            .unwrap()
            .with_floats("year", &[2020.0, 2021.0, 2023.0, 2021.0, 2020.0])
            .unwrap()
            .with_floats("x", &[1.0, 2.0, 3.0, 4.0, 5.0])
            .unwrap();
        let shifts = rewrite("y ~ l(x) + f(x)").unwrap().1;
        let out = add_shifted(&frame, &shifts, "la", "year").unwrap();
        assert_eq!(out.numbers("l(x, 1)").unwrap(), vec![None, Some(1.0), None, Some(5.0), None].into());
        assert_eq!(out.numbers("f(x, 1)").unwrap(), vec![Some(2.0), None, None, None, Some(4.0)].into());
        let twice = DataFrame::new()
            .with_levels("la", &["a", "a"])
            .unwrap()
            .with_floats("year", &[2020.0, 2020.0])
            .unwrap()
            .with_floats("x", &[1.0, 2.0])
            .unwrap();
        assert!(add_shifted(&twice, &shifts, "la", "year").unwrap_err().to_string().contains("twice"));
    }
}

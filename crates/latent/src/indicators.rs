//! Categorical indicators and their distinct response patterns.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// The code of a missing response.
pub const MISSING: u8 = u8::MAX;

/// Categorical indicators of `n` rows: each indicator's levels are its distinct values, in
/// numerical order (0/1 for binary factors, 1, 2, 3, … for polytomous ones).
#[derive(Debug, Clone, PartialEq)]
pub struct Indicators {
    names: Vec<String>,
    levels: Vec<Vec<String>>,
    /// Row-major `n × J` level codes, [`MISSING`] where not observed.
    codes: Vec<u8>,
    n: usize,
}

impl Indicators {
    /// Indicators from columns of values (`None` or NaN missing).
    ///
    /// # Errors
    /// [`Error::NoData`] for no rows or columns, [`Error::Specification`] for an indicator named
    /// twice, [`Error::Length`] for columns of different lengths, [`Error::NotCategorical`] for a
    /// value that is not a whole number, [`Error::ConstantIndicator`] for an indicator with fewer
    /// than two levels, [`Error::TooManyLevels`].
    pub fn new<S: AsRef<str>>(names: &[S], columns: &[Vec<Option<f64>>]) -> Result<Self> {
        if names.len() != columns.len() {
            return Err(Error::Length {
                what: "the indicator names".into(),
                expected: columns.len(),
                found: names.len(),
            });
        }
        let n = columns.first().map_or(0, Vec::len);
        if n == 0 || columns.is_empty() {
            return Err(Error::NoData);
        }
        if let Some(j) = (1..names.len()).find(|&j| names[..j].iter().any(|m| m.as_ref() == names[j].as_ref())) {
            return Err(Error::Specification(format!("indicator `{}` is given twice", names[j].as_ref())));
        }
        let j_count = columns.len();
        let mut codes = vec![MISSING; n * j_count];
        let mut levels = Vec::with_capacity(j_count);
        for (j, column) in columns.iter().enumerate() {
            let name = names[j].as_ref();
            if column.len() != n {
                return Err(Error::Length { what: format!("indicator `{name}`"), expected: n, found: column.len() });
            }
            let mut values: Vec<f64> = Vec::new();
            for (row, v) in column.iter().enumerate() {
                if let Some(v) = v.filter(|v| !v.is_nan()) {
                    if !v.is_finite() || v.fract() != 0.0 {
                        return Err(Error::NotCategorical { name: name.into(), row: row + 1, value: v });
                    }
                    values.push(v);
                }
            }
            values.sort_by(f64::total_cmp);
            values.dedup();
            if values.len() < 2 {
                return Err(Error::ConstantIndicator(name.into()));
            }
            if values.len() >= MISSING as usize {
                return Err(Error::TooManyLevels { name: name.into(), levels: values.len() });
            }
            let index: HashMap<i64, u8> = values.iter().enumerate().map(|(k, &v)| (v as i64, k as u8)).collect();
            for (row, v) in column.iter().enumerate() {
                if let Some(v) = v.filter(|v| !v.is_nan()) {
                    codes[row * j_count + j] = index[&(v as i64)];
                }
            }
            levels.push(values.iter().map(|v| format!("{v}")).collect());
        }
        Ok(Self { names: names.iter().map(|s| s.as_ref().to_string()).collect(), levels, codes, n })
    }

    /// The number of rows.
    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// The number of indicators.
    pub fn n_indicators(&self) -> usize {
        self.names.len()
    }

    /// The indicators' names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Each indicator's levels.
    pub fn levels(&self) -> &[Vec<String>] {
        &self.levels
    }

    /// Row `i`'s level codes ([`MISSING`] where not observed).
    pub fn row(&self, i: usize) -> &[u8] {
        let j = self.n_indicators();
        &self.codes[i * j..(i + 1) * j]
    }

    /// The rows `rows`, in that order.
    #[must_use]
    pub fn take(&self, rows: &[usize]) -> Self {
        let mut codes = Vec::with_capacity(rows.len() * self.n_indicators());
        for &i in rows {
            codes.extend_from_slice(self.row(i));
        }
        Self { names: self.names.clone(), levels: self.levels.clone(), codes, n: rows.len() }
    }

    /// Indicators from level codes: `codes` row-major (`n × J`), each a level index of its
    /// indicator or [`MISSING`].
    ///
    /// # Errors
    /// [`Error::Length`] when the codes do not fill whole rows or a code is out of range.
    pub fn from_codes(names: Vec<String>, levels: Vec<Vec<String>>, codes: Vec<u8>) -> Result<Self> {
        let j_count = names.len();
        if levels.len() != j_count || j_count == 0 || codes.len() % j_count != 0 {
            return Err(Error::Length { what: "the level codes".into(), expected: j_count, found: codes.len() });
        }
        if let Some(e) =
            codes.iter().enumerate().position(|(e, &c)| c != MISSING && c as usize >= levels[e % j_count].len())
        {
            return Err(Error::Length {
                what: format!("the levels of `{}` (code at row {})", names[e % j_count], e / j_count + 1),
                expected: codes[e] as usize + 1,
                found: levels[e % j_count].len(),
            });
        }
        let n = codes.len() / j_count;
        Ok(Self { names, levels, codes, n })
    }
}

/// The distinct response patterns of a set of indicators, with their counts: the EM algorithm
/// works on patterns, and national data have far fewer patterns than rows.
///
/// Each pattern is held sparsely against a base level per indicator (its most common one): the
/// list of (indicator, level) entries where the pattern is not at the base level, [`MISSING`]
/// included, so that a pattern with few factors recorded costs few operations.
#[derive(Debug, Clone, PartialEq)]
pub struct Patterns {
    /// How many rows have each pattern.
    pub counts: Vec<f64>,
    /// Each row's pattern (`None` for a row with no indicator observed).
    pub of_row: Vec<Option<usize>>,
    /// Each indicator's number of levels.
    pub levels: Vec<usize>,
    /// Each indicator's base level.
    pub base: Vec<u8>,
    /// Pattern `p`'s entries are `entries[offsets[p]..offsets[p + 1]]`: (indicator, level).
    pub entries: Vec<(u32, u8)>,
    /// Offsets into `entries`.
    pub offsets: Vec<usize>,
}

impl Patterns {
    /// Collapses `indicators` into patterns, in order of first occurrence (so that results do
    /// not depend on hashing).
    pub fn new(indicators: &Indicators) -> Self {
        let j_count = indicators.n_indicators();
        let levels: Vec<usize> = indicators.levels().iter().map(Vec::len).collect();
        let mut tallies: Vec<Vec<usize>> = levels.iter().map(|&r| vec![0; r]).collect();
        for i in 0..indicators.n_rows() {
            for (j, &c) in indicators.row(i).iter().enumerate() {
                if c != MISSING {
                    tallies[j][c as usize] += 1;
                }
            }
        }
        let base: Vec<u8> = tallies
            .iter()
            .map(|t| t.iter().enumerate().max_by_key(|&(r, &c)| (c, std::cmp::Reverse(r))).map_or(0, |(r, _)| r as u8))
            .collect();
        let mut index: HashMap<&[u8], usize> = HashMap::new();
        let mut counts = Vec::new();
        let mut entries = Vec::new();
        let mut offsets = vec![0];
        let of_row = (0..indicators.n_rows())
            .map(|i| {
                let row = indicators.row(i);
                if row.iter().all(|&c| c == MISSING) {
                    return None;
                }
                let p = *index.entry(row).or_insert_with(|| {
                    entries.extend((0..j_count).filter(|&j| row[j] != base[j]).map(|j| (j as u32, row[j])));
                    offsets.push(entries.len());
                    counts.push(0.0);
                    counts.len() - 1
                });
                counts[p] += 1.0;
                Some(p)
            })
            .collect();
        Self { counts, of_row, levels, base, entries, offsets }
    }

    /// The number of patterns.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Pattern `p`'s entries away from the base levels.
    pub fn entries(&self, p: usize) -> &[(u32, u8)] {
        &self.entries[self.offsets[p]..self.offsets[p + 1]]
    }

    /// The number of rows with an observed indicator.
    pub fn n_obs(&self) -> f64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_collapse_rows_and_hold_departures_from_the_base() {
        let columns = vec![
            vec![Some(0.0), Some(1.0), Some(0.0), None, Some(0.0)],
            vec![Some(2.0), Some(1.0), Some(2.0), Some(3.0), None],
        ];
        let x = Indicators::new(&["a", "b"], &columns).unwrap();
        assert_eq!(x.levels()[1], ["1", "2", "3"]);
        let p = Patterns::new(&x);
        assert_eq!(p.counts, [2.0, 1.0, 1.0, 1.0]);
        assert_eq!(p.of_row, [Some(0), Some(1), Some(0), Some(2), Some(3)]);
        assert_eq!(p.base, [0, 1]);
        assert_eq!(p.entries(0), []);
        assert_eq!(p.entries(1), [(0, 1), (1, 0)]);
        assert_eq!(p.entries(2), [(0, MISSING), (1, 2)]);
        assert_eq!(p.entries(3), [(1, MISSING)]);
    }

    #[test]
    fn bad_indicators_are_named() {
        let err = Indicators::new(&["a"], &[vec![Some(0.5), Some(1.0)]]).unwrap_err();
        assert!(matches!(err, Error::NotCategorical { row: 1, .. }), "{err}");
        let err = Indicators::new(&["a"], &[vec![Some(1.0), Some(1.0), None]]).unwrap_err();
        assert_eq!(err, Error::ConstantIndicator("a".into()));
    }
}

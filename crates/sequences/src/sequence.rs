//! State sequences: each child's states at successive time points, coded over one alphabet.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A set of state sequences, possibly of different lengths, sorted by id.
///
/// States are coded as indices into [`alphabet`](Self::alphabet) (sorted in byte order, as R
/// sorts a factor's levels in the C locale); sequences are stored one after another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequences {
    ids: Vec<String>,
    alphabet: Vec<String>,
    codes: Vec<u8>,
    offsets: Vec<usize>,
}

/// The distinct sequences of a [`Sequences`]: distances and clusters are computed once per
/// distinct sequence and weighted by how many children follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Distinct {
    /// The distinct sequences, each represented by its first occurrence (same ids and alphabet).
    pub sequences: Sequences,
    /// For every original sequence, the index of its distinct sequence.
    pub of: Vec<usize>,
    /// How many original sequences each distinct one stands for.
    pub weights: Vec<f64>,
}

impl Sequences {
    /// Sequences from their ids and states (`rows[i]` the states of `ids[i]` in time order),
    /// sorted by id (numerically when every id is a number).
    ///
    /// # Errors
    /// [`Error::Length`] for mismatched inputs, [`Error::EmptySequence`], no sequences or
    /// repeated ids ([`Error::Specification`]), [`Error::TooManyStates`].
    pub fn new<S: AsRef<str>, T: AsRef<str>>(ids: &[S], rows: &[Vec<T>]) -> Result<Self> {
        if ids.len() != rows.len() {
            return Err(Error::Length { what: "rows".into(), expected: ids.len(), found: rows.len() });
        }
        if ids.is_empty() {
            return Err(Error::Specification("there are no sequences".into()));
        }
        let distinct: std::collections::HashSet<&str> = rows.iter().flatten().map(AsRef::as_ref).collect();
        let mut alphabet: Vec<String> = distinct.into_iter().map(String::from).collect();
        alphabet.sort_unstable();
        if alphabet.len() > 255 {
            return Err(Error::TooManyStates(alphabet.len()));
        }
        let code: HashMap<&str, u8> = alphabet.iter().enumerate().map(|(k, s)| (s.as_str(), k as u8)).collect();
        let order = sorted_order(ids)?;
        let mut codes = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        let mut offsets = Vec::with_capacity(ids.len() + 1);
        offsets.push(0);
        for &i in &order {
            if rows[i].is_empty() {
                return Err(Error::EmptySequence(ids[i].as_ref().to_string()));
            }
            codes.extend(rows[i].iter().map(|s| code[s.as_ref()]));
            offsets.push(codes.len());
        }
        let ids = order.iter().map(|&i| ids[i].as_ref().to_string()).collect();
        Ok(Self { ids, alphabet, codes, offsets })
    }

    /// Sequences from long data, one row per (id, time, state), as TraMineR's `seqdef` on data
    /// reshaped from long format: each id's states in increasing time.
    ///
    /// # Errors
    /// [`Error::Length`], [`Error::Missing`] for a NaN time, [`Error::DuplicateTime`] when an id
    /// has two states at one time.
    pub fn from_long<S: AsRef<str>, T: AsRef<str>>(ids: &[S], times: &[f64], states: &[T]) -> Result<Self> {
        for (what, len) in [("time", times.len()), ("state", states.len())] {
            if len != ids.len() {
                return Err(Error::Length { what: what.into(), expected: ids.len(), found: len });
            }
        }
        if let Some(row) = times.iter().position(|t| !t.is_finite()) {
            return Err(Error::Missing { what: "time".into(), row: row + 1 });
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (row, id) in ids.iter().enumerate() {
            let k = *index.entry(id.as_ref()).or_insert_with(|| {
                names.push(id.as_ref());
                members.push(Vec::new());
                members.len() - 1
            });
            members[k].push(row);
        }
        let mut rows = Vec::with_capacity(members.len());
        for (k, rows_of) in members.iter_mut().enumerate() {
            rows_of.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
            if let Some(w) = rows_of.windows(2).find(|w| times[w[0]] == times[w[1]]) {
                return Err(Error::DuplicateTime {
                    id: names[k].to_string(),
                    time: strata_core::frame::format_number(times[w[0]]),
                });
            }
            rows.push(rows_of.iter().map(|&r| states[r].as_ref()).collect::<Vec<_>>());
        }
        Self::new(&names, &rows)
    }

    /// The number of sequences.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids, sorted.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The states, in byte order; codes index into it.
    pub fn alphabet(&self) -> &[String] {
        &self.alphabet
    }

    /// Sequence `i` as state codes.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.codes[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Sequence `i` as state names.
    pub fn states(&self, i: usize) -> Vec<&str> {
        self.get(i).iter().map(|&c| self.alphabet[c as usize].as_str()).collect()
    }

    /// Sequence `i` in TraMineR's state-permanence notation, runs of one state as
    /// `(state,length)` joined by `-`: `(A,1)-(N,7)-(C,16)`.
    pub fn spells(&self, i: usize) -> String {
        let codes = self.get(i);
        let mut parts = Vec::new();
        let mut start = 0;
        while start < codes.len() {
            let length = codes[start..].iter().take_while(|&&c| c == codes[start]).count();
            parts.push(format!("({},{length})", self.alphabet[codes[start] as usize]));
            start += length;
        }
        parts.join("-")
    }

    /// The longest sequence's length.
    pub fn max_length(&self) -> usize {
        (0..self.len()).map(|i| self.get(i).len()).max().unwrap_or(0)
    }

    /// The code of state `name`.
    ///
    /// # Errors
    /// [`Error::UnknownState`] naming `context`.
    pub fn code(&self, name: &str, context: &str) -> Result<usize> {
        self.alphabet.iter().position(|s| s == name).ok_or_else(|| Error::UnknownState {
            state: name.into(),
            context: context.into(),
            known: self.alphabet.join(", "),
        })
    }

    /// The sequences `indices` (in that order), over the same alphabet.
    #[must_use]
    pub fn take(&self, indices: &[usize]) -> Self {
        let mut codes = Vec::new();
        let mut offsets = vec![0];
        for &i in indices {
            codes.extend_from_slice(self.get(i));
            offsets.push(codes.len());
        }
        Self {
            ids: indices.iter().map(|&i| self.ids[i].clone()).collect(),
            alphabet: self.alphabet.clone(),
            codes,
            offsets,
        }
    }

    /// The distinct sequences, in order of first occurrence, with their multiplicities.
    pub fn distinct(&self) -> Distinct {
        let mut seen: HashMap<&[u8], usize> = HashMap::new();
        let mut first = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        let of = (0..self.len())
            .map(|i| {
                let k = *seen.entry(self.get(i)).or_insert_with(|| {
                    first.push(i);
                    weights.push(0.0);
                    first.len() - 1
                });
                weights[k] += 1.0;
                k
            })
            .collect();
        Distinct { sequences: self.take(&first), of, weights }
    }
}

/// The order that sorts `ids` (numerically when all are numbers, else in byte order), rejecting
/// repeated ids.
fn sorted_order<S: AsRef<str>>(ids: &[S]) -> Result<Vec<usize>> {
    let numeric: Option<Vec<f64>> = ids.iter().map(|s| s.as_ref().trim().parse::<f64>().ok()).collect();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    match &numeric {
        Some(values) => order.sort_by(|&a, &b| values[a].total_cmp(&values[b])),
        None => order.sort_by(|&a, &b| ids[a].as_ref().cmp(ids[b].as_ref())),
    }
    if let Some(w) = order.windows(2).find(|w| ids[w[0]].as_ref() == ids[w[1]].as_ref()) {
        return Err(Error::Specification(format!("sequence id `{}` is given twice", ids[w[0]].as_ref())));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_become_sorted_sequences() {
        let s =
            Sequences::from_long(&["b", "a", "a", "b", "a"], &[2.0, 3.0, 1.0, 1.0, 2.0], &["y", "z", "x", "x", "x"])
                .unwrap();
        assert_eq!(s.ids(), ["a", "b"]);
        assert_eq!(s.alphabet(), ["x", "y", "z"]);
        assert_eq!(s.states(0), ["x", "x", "z"]);
        assert_eq!(s.states(1), ["x", "y"]);
        assert_eq!(s.spells(0), "(x,2)-(z,1)");
        let err = Sequences::from_long(&["a", "a"], &[1.0, 1.0], &["x", "y"]).unwrap_err();
        assert!(matches!(err, Error::DuplicateTime { .. }), "{err}");
    }

    #[test]
    fn distinct_sequences_carry_their_counts() {
        let s = Sequences::new(&["1", "2", "3", "10"], &[vec!["a", "b"], vec!["a"], vec!["a", "b"], vec!["a", "b"]])
            .unwrap();
        assert_eq!(s.ids(), ["1", "2", "3", "10"]);
        let d = s.distinct();
        assert_eq!(d.sequences.len(), 2);
        assert_eq!(d.of, [0, 1, 0, 0]);
        assert_eq!(d.weights, [3.0, 1.0]);
    }
}

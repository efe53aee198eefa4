//! Substitution costs between states: constant, from observed transition rates (TraMineR's
//! `seqsubm(method = "TRATE")`), time-varying for the dynamic Hamming distance, or given.

use crate::error::{Error, Result};
use crate::sequence::Sequences;

/// How substitution costs between states are set.
#[derive(Debug, Clone, PartialEq)]
pub enum Substitution {
    /// The same cost `c` for every pair of different states (`seqsubm(method = "CONSTANT", cval = c)`).
    Constant(f64),
    /// $2 - p(j \mid i) - p(i \mid j)$, with $p(j \mid i)$ the observed proportion of lag-1
    /// transitions from $i$ that go to $j$ (`seqsubm(method = "TRATE")`).
    TransitionRates,
    /// A given symmetric matrix with a zero diagonal, for the states named (every state of the
    /// data must be named).
    Matrix {
        /// The states the rows and columns refer to.
        states: Vec<String>,
        /// The costs, row-major.
        costs: Vec<f64>,
    },
}

impl Substitution {
    /// Parses `constant:C`, `constant` (cost 2), or `trate`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("trate") {
            return Some(Self::TransitionRates);
        }
        let (head, value) = text.split_once(':').unwrap_or((text, "2"));
        (head.eq_ignore_ascii_case("constant")).then(|| value.trim().parse().ok().map(Self::Constant))?
    }

    /// The cost matrix over `sequences`' alphabet, row-major (`k × k`).
    ///
    /// # Errors
    /// [`Error::Cost`] for a negative or non-finite cost or a matrix that is not symmetric with a
    /// zero diagonal, [`Error::UnknownState`] for a state of the matrix not in the data or a state
    /// of the data missing from the matrix.
    pub fn matrix(&self, sequences: &Sequences) -> Result<Vec<f64>> {
        let k = sequences.alphabet().len();
        match self {
            Self::Constant(c) => {
                check_cost(*c, "the substitution cost")?;
                Ok((0..k * k).map(|e| if e / k == e % k { 0.0 } else { *c }).collect())
            }
            Self::TransitionRates => {
                let p = transition_rates(sequences);
                Ok((0..k * k)
                    .map(|e| {
                        let (i, j) = (e / k, e % k);
                        if i == j {
                            0.0
                        } else {
                            2.0 - p[i * k + j] - p[j * k + i]
                        }
                    })
                    .collect())
            }
            Self::Matrix { states, costs } => given_matrix(sequences, states, costs),
        }
    }
}

/// Checks that a cost is finite and not negative.
///
/// # Errors
/// [`Error::Cost`] naming `what`.
pub fn check_cost(value: f64, what: &str) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::Cost(format!("{what} is {value}; costs must be finite and not negative")))
    }
}

fn given_matrix(sequences: &Sequences, states: &[String], costs: &[f64]) -> Result<Vec<f64>> {
    let m = states.len();
    if costs.len() != m * m {
        return Err(Error::Length { what: "the cost matrix".into(), expected: m * m, found: costs.len() });
    }
    let position: Vec<usize> =
        states.iter().map(|s| sequences.code(s, "the substitution-cost matrix")).collect::<Result<_>>()?;
    let k = sequences.alphabet().len();
    if let Some(missing) = (0..k).find(|c| !position.contains(c)) {
        return Err(Error::UnknownState {
            state: sequences.alphabet()[missing].clone(),
            context: "the data but not the substitution-cost matrix".into(),
            known: states.join(", "),
        });
    }
    let mut out = vec![0.0; k * k];
    for a in 0..m {
        for b in 0..m {
            let c = costs[a * m + b];
            check_cost(c, &format!("the cost of substituting `{}` by `{}`", states[a], states[b]))?;
            if a == b && c != 0.0 {
                return Err(Error::Cost(format!("the diagonal must be 0 (state `{}` has {c})", states[a])));
            }
            if c != costs[b * m + a] {
                return Err(Error::Cost(format!(
                    "the matrix must be symmetric (`{}`→`{}` costs {c}, the reverse {})",
                    states[a],
                    states[b],
                    costs[b * m + a]
                )));
            }
            out[position[a] * k + position[b]] = c;
        }
    }
    Ok(out)
}

/// The lag-1 transition rates $p(j \mid i)$ pooled over time (row-major `k × k`; a state never
/// followed by another has a zero row), as TraMineR's `seqtrate`.
pub fn transition_rates(sequences: &Sequences) -> Vec<f64> {
    let k = sequences.alphabet().len();
    let mut counts = vec![0.0; k * k];
    for s in 0..sequences.len() {
        for w in sequences.get(s).windows(2) {
            counts[w[0] as usize * k + w[1] as usize] += 1.0;
        }
    }
    normalise_rows(&mut counts, k);
    counts
}

fn normalise_rows(counts: &mut [f64], k: usize) {
    for row in counts.chunks_mut(k) {
        let total: f64 = row.iter().sum();
        if total > 0.0 {
            for c in row.iter_mut() {
                *c /= total;
            }
        }
    }
}

/// Lesnard's (2010) time-varying costs for the dynamic Hamming distance: at position $t$,
/// $4 - p_t(j \mid i) - p_t(i \mid j) - p_{t+1}(j \mid i) - p_{t+1}(i \mid j)$, where $p_t$ are the
/// transition rates from position $t-1$ to $t$; at the first and last positions, where one pair of
/// rates is undefined, twice the other pair's $2 - p - p$ (as TraMineR's `seqcost(time.varying =
/// TRUE)`). Returns `length` matrices of `k × k`.
///
/// # Errors
/// [`Error::UnequalLengths`] unless every sequence has the same length.
pub fn dynamic_costs(sequences: &Sequences) -> Result<Vec<Vec<f64>>> {
    let length = equal_length(sequences, "the dynamic Hamming distance")?;
    let k = sequences.alphabet().len();
    // rates[t]: transitions from position t to t + 1.
    let rates: Vec<Vec<f64>> = (0..length.saturating_sub(1))
        .map(|t| {
            let mut counts = vec![0.0; k * k];
            for s in 0..sequences.len() {
                let seq = sequences.get(s);
                counts[seq[t] as usize * k + seq[t + 1] as usize] += 1.0;
            }
            normalise_rows(&mut counts, k);
            counts
        })
        .collect();
    let pair = |p: &[f64], i: usize, j: usize| 2.0 - p[i * k + j] - p[j * k + i];
    Ok((0..length)
        .map(|t| {
            (0..k * k)
                .map(|e| {
                    let (i, j) = (e / k, e % k);
                    if i == j || length == 1 {
                        return 0.0;
                    }
                    match (t.checked_sub(1).map(|u| &rates[u]), rates.get(t)) {
                        (Some(before), Some(after)) => pair(before, i, j) + pair(after, i, j),
                        (Some(only), None) | (None, Some(only)) => 2.0 * pair(only, i, j),
                        (None, None) => 0.0,
                    }
                })
                .collect()
        })
        .collect())
}

/// The common length of `sequences`.
///
/// # Errors
/// [`Error::UnequalLengths`] naming two sequences that differ, and `metric`.
pub fn equal_length(sequences: &Sequences, metric: &str) -> Result<usize> {
    let first = sequences.get(0).len();
    match (1..sequences.len()).find(|&s| sequences.get(s).len() != first) {
        None => Ok(first),
        Some(s) => Err(Error::UnequalLengths {
            metric: metric.into(),
            first: sequences.ids()[0].clone(),
            first_length: first,
            second: sequences.ids()[s].clone(),
            second_length: sequences.get(s).len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Sequences {
        Sequences::new(&["1", "2", "3"], &[vec!["a", "a", "b"], vec!["a", "b", "b"], vec!["b", "a", "a"]]).unwrap()
    }

    #[test]
    fn transition_rate_costs_follow_their_definition() {
        // Transitions: a→a 2, a→b 2, b→b 1, b→a 1: p(b|a) = 1/2, p(a|b) = 1/2.
        let m = Substitution::TransitionRates.matrix(&toy()).unwrap();
        assert_eq!(m, [0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn dynamic_costs_follow_lesnard() {
        // Transitions 1→2: from a, a→a and a→b (p(b|a) = 1/2); from b, b→a (p(a|b) = 1).
        // 2→3: from a, a→b and a→a (p(b|a) = 1/2); from b, b→b (p(a|b) = 0).
        let costs = dynamic_costs(&toy()).unwrap();
        let off_diagonal: Vec<f64> = costs.iter().map(|m| m[1]).collect();
        // First: 2(2 − 1/2 − 1); middle: (2 − 1/2 − 1) + (2 − 1/2 − 0); last: 2(2 − 1/2 − 0).
        assert_eq!(off_diagonal, [1.0, 2.0, 3.0]);
        assert!(costs.iter().all(|m| m[0] == 0.0 && m[3] == 0.0 && m[1] == m[2]));
    }

    #[test]
    fn given_matrices_are_checked() {
        let s = toy();
        let states = vec!["b".to_string(), "a".to_string()];
        let ok = Substitution::Matrix { states: states.clone(), costs: vec![0.0, 3.0, 3.0, 0.0] };
        assert_eq!(ok.matrix(&s).unwrap(), [0.0, 3.0, 3.0, 0.0]);
        let negative = Substitution::Matrix { states: states.clone(), costs: vec![0.0, -1.0, -1.0, 0.0] };
        assert!(matches!(negative.matrix(&s), Err(Error::Cost(_))));
        let unknown = Substitution::Matrix { states: vec!["a".into(), "z".into()], costs: vec![0.0; 4] };
        assert!(matches!(unknown.matrix(&s), Err(Error::UnknownState { .. })));
        let asymmetric = Substitution::Matrix { states, costs: vec![0.0, 1.0, 2.0, 0.0] };
        assert!(matches!(asymmetric.matrix(&s), Err(Error::Cost(_))));
        assert_eq!(Substitution::parse("constant:3"), Some(Substitution::Constant(3.0)));
        assert_eq!(Substitution::parse("trate"), Some(Substitution::TransitionRates));
        assert_eq!(Substitution::parse("nonsense"), None);
    }
}

//! Descriptions of a set of sequences, as TraMineR's `seqstatd`, `seqtrate` and `seqmeant`.

use crate::costs::transition_rates;
use crate::sequence::Sequences;
use serde::{Deserialize, Serialize};

/// The cross-sectional state distributions, the transition rates and the mean time in each
/// state of a set of sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// The states.
    pub states: Vec<String>,
    /// `distribution[t][s]`: the share of the sequences that reach position `t` that are in
    /// state `s` there.
    pub distribution: Vec<Vec<f64>>,
    /// The number of sequences that reach each position.
    pub valid: Vec<usize>,
    /// Shannon's entropy of each position's distribution divided by its maximum $\log k$
    /// (`seqstatd`'s normalised entropy): 0 when every sequence is in one state, 1 when states
    /// are equally common.
    pub entropy: Vec<f64>,
    /// `transition_rates[i][j]`: $p(j \mid i)$, the share of lag-1 transitions out of `i` that go
    /// to `j` (`seqtrate`).
    pub transition_rates: Vec<Vec<f64>>,
    /// The mean number of positions spent in each state (`seqmeant`).
    pub mean_time: Vec<f64>,
}

/// Describes `sequences`.
pub fn describe(sequences: &Sequences) -> Description {
    let k = sequences.alphabet().len();
    let length = sequences.max_length();
    let mut counts = vec![vec![0usize; k]; length];
    let mut time = vec![0.0; k];
    for s in 0..sequences.len() {
        for (t, &c) in sequences.get(s).iter().enumerate() {
            counts[t][c as usize] += 1;
            time[c as usize] += 1.0;
        }
    }
    let valid: Vec<usize> = counts.iter().map(|c| c.iter().sum()).collect();
    let distribution: Vec<Vec<f64>> = counts
        .iter()
        .zip(&valid)
        .map(|(c, &v)| c.iter().map(|&x| if v == 0 { 0.0 } else { x as f64 / v as f64 }).collect())
        .collect();
    let entropy = distribution
        .iter()
        .map(|p| {
            let h: f64 = p.iter().filter(|&&x| x > 0.0).map(|&x| -x * x.ln()).sum();
            if k > 1 {
                h / (k as f64).ln()
            } else {
                0.0
            }
        })
        .collect();
    let rates = transition_rates(sequences);
    let n = sequences.len().max(1) as f64;
    Description {
        states: sequences.alphabet().to_vec(),
        distribution,
        valid,
        entropy,
        transition_rates: rates.chunks(k.max(1)).map(<[f64]>::to_vec).collect(),
        mean_time: time.iter().map(|t| t / n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_set_by_hand() {
        let s = Sequences::new(&["1", "2"], &[vec!["a", "a", "b"], vec!["a", "b", "b"]]).unwrap();
        let d = describe(&s);
        assert_eq!(d.distribution, [vec![1.0, 0.0], vec![0.5, 0.5], vec![0.0, 1.0]]);
        assert_eq!(d.entropy, [0.0, 1.0, 0.0]);
        assert_eq!(d.mean_time, [1.5, 1.5]);
        assert_eq!(d.transition_rates, [vec![1.0 / 3.0, 2.0 / 3.0], vec![0.0, 1.0]]);
    }
}

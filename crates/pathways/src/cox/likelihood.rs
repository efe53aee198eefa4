//! The Cox partial log-likelihood, its gradient and information, in one sweep over each
//! stratum's risk sets from the latest time to the earliest.
//!
//! With risk scores $r_i = w_i e^{\eta_i}$ and, at an event time with tied deaths $D$ ($d$ of
//! them, total weight $W_D$), the risk-set sums $S_0 = \sum r$, $S_1 = \sum r x$,
//! $S_2 = \sum r x x^\top$ and their parts over $D$: Breslow's approximation contributes
//! $\sum_D w\eta - W_D \log S_0$; Efron's
//! $\sum_D w\eta - \frac{W_D}{d}\sum_{k=0}^{d-1}\log(S_0 - \tfrac{k}{d}S_0^D)$ (Efron 1977;
//! Therneau & Grambsch 2000, §3.3). Counting-process data enter the risk set at their stop
//! time and leave once the sweep passes their start time.

use super::Ties;
use strata_core::numerics::Matrix;

/// Observations sorted for the sweep, one stratum after another.
#[derive(Debug, Clone)]
pub(crate) struct RiskSets {
    /// For each stratum: indices by decreasing stop time (events before censorings at a tie),
    /// and by decreasing start time.
    strata: Vec<(Vec<usize>, Vec<usize>)>,
}

impl RiskSets {
    pub fn new(start: Option<&[f64]>, stop: &[f64], event: &[bool], strata: &[u32], n_strata: usize) -> Self {
        let strata = (0..n_strata)
            .map(|s| {
                let members: Vec<usize> = (0..stop.len()).filter(|&i| strata[i] as usize == s).collect();
                let mut by_stop = members.clone();
                by_stop.sort_by(|&a, &b| stop[b].total_cmp(&stop[a]).then(event[b].cmp(&event[a])));
                let mut by_start = if start.is_some() { members } else { Vec::new() };
                if let Some(start) = start {
                    by_start.sort_by(|&a, &b| start[b].total_cmp(&start[a]));
                }
                (by_stop, by_start)
            })
            .collect();
        Self { strata }
    }

    /// Each stratum's (by decreasing stop, by decreasing start) orders.
    pub fn strata(&self) -> &[(Vec<usize>, Vec<usize>)] {
        &self.strata
    }
}

/// The log-likelihood, score and information at one β.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub log_likelihood: f64,
    pub score: Vec<f64>,
    pub information: Matrix,
}

/// The data of the likelihood.
pub(crate) struct CoxProblem<'a> {
    pub x: &'a Matrix,
    pub offset: &'a [f64],
    pub weights: &'a [f64],
    pub start: Option<&'a [f64]>,
    pub stop: &'a [f64],
    pub event: &'a [bool],
    pub ties: Ties,
    pub risk_sets: &'a RiskSets,
}

struct Sums {
    s0: f64,
    s1: Vec<f64>,
    s2: Matrix,
}

impl Sums {
    fn new(p: usize) -> Self {
        Self { s0: 0.0, s1: vec![0.0; p], s2: Matrix::zeros(p, p) }
    }

    fn add(&mut self, sign: f64, risk: f64, x: &[f64]) {
        let r = sign * risk;
        self.s0 += r;
        for a in 0..x.len() {
            self.s1[a] += r * x[a];
            for b in 0..=a {
                self.s2[(a, b)] += r * x[a] * x[b];
            }
        }
    }
}

impl CoxProblem<'_> {
    pub fn evaluate(&self, beta: &[f64]) -> Evaluation {
        let p = beta.len();
        let eta: Vec<f64> = self.x.times(beta).iter().zip(self.offset).map(|(a, b)| a + b).collect();
        let risk: Vec<f64> = eta.iter().zip(self.weights).map(|(e, w)| w * e.exp()).collect();
        let row = |i: usize| -> Vec<f64> { (0..p).map(|j| self.x[(i, j)]).collect() };
        let mut log_likelihood = 0.0;
        let mut score = vec![0.0; p];
        let mut information = Matrix::zeros(p, p);
        for (by_stop, by_start) in &self.risk_sets.strata {
            let mut sums = Sums::new(p);
            let mut removed = 0;
            let mut k = 0;
            while k < by_stop.len() {
                let t = self.stop[by_stop[k]];
                let mut deaths = Sums::new(p);
                let (mut d, mut weight_d) = (0usize, 0.0);
                let mut j = k;
                while j < by_stop.len() && self.stop[by_stop[j]] == t {
                    let i = by_stop[j];
                    let xi = row(i);
                    sums.add(1.0, risk[i], &xi);
                    if self.event[i] {
                        deaths.add(1.0, risk[i], &xi);
                        d += 1;
                        weight_d += self.weights[i];
                        log_likelihood += self.weights[i] * eta[i];
                        for (s, x) in score.iter_mut().zip(&xi) {
                            *s += self.weights[i] * x;
                        }
                    }
                    j += 1;
                }
                if let Some(start) = self.start {
                    while removed < by_start.len() && start[by_start[removed]] >= t {
                        let i = by_start[removed];
                        sums.add(-1.0, risk[i], &row(i));
                        removed += 1;
                    }
                }
                if d > 0 {
                    let steps: Vec<f64> = match self.ties {
                        Ties::Breslow => vec![0.0],
                        Ties::Efron => (0..d).map(|m| m as f64 / d as f64).collect(),
                    };
                    let share = weight_d / steps.len() as f64;
                    for f in steps {
                        let s0 = sums.s0 - f * deaths.s0;
                        log_likelihood -= share * s0.ln();
                        let mean: Vec<f64> = (0..p).map(|a| (sums.s1[a] - f * deaths.s1[a]) / s0).collect();
                        for a in 0..p {
                            score[a] -= share * mean[a];
                            for b in 0..=a {
                                let s2 = (sums.s2[(a, b)] - f * deaths.s2[(a, b)]) / s0;
                                information[(a, b)] += share * (s2 - mean[a] * mean[b]);
                            }
                        }
                    }
                }
                k = j;
            }
        }
        for a in 0..p {
            for b in 0..a {
                information[(b, a)] = information[(a, b)];
            }
        }
        Evaluation { log_likelihood, score, information }
    }
}

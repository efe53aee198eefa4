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

    /// Every observation in sweep order: stratum by stratum, by decreasing stop time.
    pub fn order(&self) -> Vec<usize> {
        self.strata.iter().flat_map(|(by_stop, _)| by_stop.iter().copied()).collect()
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
    /// The covariates, row-major (n × p), so that each observation's row is contiguous.
    pub rows: &'a [f64],
    pub p: usize,
    pub offset: &'a [f64],
    pub weights: &'a [f64],
    pub start: Option<&'a [f64]>,
    pub stop: &'a [f64],
    pub event: &'a [bool],
    pub ties: Ties,
    pub risk_sets: &'a RiskSets,
}

/// Risk-set sums: `S₀`, `S₁` and the lower triangle of `S₂`, packed row by row.
struct Sums {
    s0: f64,
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl Sums {
    fn new(p: usize) -> Self {
        Self { s0: 0.0, s1: vec![0.0; p], s2: vec![0.0; p * (p + 1) / 2] }
    }

    fn clear(&mut self) {
        self.s0 = 0.0;
        self.s1.fill(0.0);
        self.s2.fill(0.0);
    }

    fn add(&mut self, sign: f64, risk: f64, x: &[f64]) {
        let r = sign * risk;
        self.s0 += r;
        let mut k = 0;
        for (a, &xa) in x.iter().enumerate() {
            let rxa = r * xa;
            self.s1[a] += rxa;
            for (s2, &xb) in self.s2[k..=k + a].iter_mut().zip(&x[..=a]) {
                *s2 += rxa * xb;
            }
            k += a + 1;
        }
    }
}

impl CoxProblem<'_> {
    pub fn evaluate(&self, beta: &[f64]) -> Evaluation {
        let p = self.p;
        let row = |i: usize| -> &[f64] { &self.rows[i * p..(i + 1) * p] };
        let eta: Vec<f64> = (0..self.stop.len())
            .map(|i| row(i).iter().zip(beta).map(|(x, b)| x * b).sum::<f64>() + self.offset[i])
            .collect();
        let risk: Vec<f64> = eta.iter().zip(self.weights).map(|(e, w)| w * e.exp()).collect();
        let mut log_likelihood = 0.0;
        let mut score = vec![0.0; p];
        let mut information = Matrix::zeros(p, p);
        for (by_stop, by_start) in &self.risk_sets.strata {
            let mut sums = Sums::new(p);
            let mut deaths = Sums::new(p);
            let mut removed = 0;
            let mut k = 0;
            while k < by_stop.len() {
                let t = self.stop[by_stop[k]];
                deaths.clear();
                let (mut d, mut weight_d) = (0usize, 0.0);
                let mut j = k;
                while j < by_stop.len() && self.stop[by_stop[j]] == t {
                    let i = by_stop[j];
                    let xi = row(i);
                    sums.add(1.0, risk[i], xi);
                    if self.event[i] {
                        deaths.add(1.0, risk[i], xi);
                        d += 1;
                        weight_d += self.weights[i];
                        log_likelihood += self.weights[i] * eta[i];
                        for (s, x) in score.iter_mut().zip(xi) {
                            *s += self.weights[i] * x;
                        }
                    }
                    j += 1;
                }
                if let Some(start) = self.start {
                    while removed < by_start.len() && start[by_start[removed]] >= t {
                        let i = by_start[removed];
                        sums.add(-1.0, risk[i], row(i));
                        removed += 1;
                    }
                }
                if d > 0 {
                    // Efron's d steps (Breslow's one) enter only through scalar sums over the
                    // steps f = k/d, so each tied time costs O(d + p²), not O(d p²).
                    let steps = match self.ties {
                        Ties::Breslow => 1,
                        Ties::Efron => d,
                    };
                    let share = weight_d / steps as f64;
                    let (mut c0, mut c1, mut q0, mut q1, mut q2) = (0.0, 0.0, 0.0, 0.0, 0.0);
                    for m in 0..steps {
                        let f = if steps == 1 { 0.0 } else { m as f64 / d as f64 };
                        let s0 = sums.s0 - f * deaths.s0;
                        log_likelihood -= share * s0.ln();
                        c0 += 1.0 / s0;
                        c1 += f / s0;
                        q0 += 1.0 / (s0 * s0);
                        q1 += f / (s0 * s0);
                        q2 += f * f / (s0 * s0);
                    }
                    let mut k = 0;
                    for a in 0..p {
                        score[a] -= share * (sums.s1[a] * c0 - deaths.s1[a] * c1);
                        for b in 0..=a {
                            let second = sums.s2[k] * c0 - deaths.s2[k] * c1;
                            let outer = sums.s1[a] * sums.s1[b] * q0
                                - (sums.s1[a] * deaths.s1[b] + deaths.s1[a] * sums.s1[b]) * q1
                                + deaths.s1[a] * deaths.s1[b] * q2;
                            information[(a, b)] += share * (second - outer);
                            k += 1;
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

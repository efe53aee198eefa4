//! Residuals, robust variances and baseline hazards of a fitted Cox model, from the hazard
//! increments at each event time (Therneau & Grambsch 2000, ch. 4 and 8).
//!
//! At an event time with d tied deaths (Efron's steps $f_k = k/d$, or one step for Breslow), a
//! subject at risk that does not die there accrues $a = \sum_k \tfrac{W_D/d}{s_{0k}}$ of
//! cumulative hazard per unit risk, and one that dies $a_2 = \sum_k \tfrac{(W_D/d)(1 - f_k)}{s_{0k}}$,
//! with $s_{0k} = S_0 - f_k S_0^D$; $b$ and $b_2$ are the same sums weighted by the risk-set means
//! $\bar x_k$. Then the martingale residual is $M_i = \delta_i - e^{\eta_i} A_i$ and the score
//! residual $L_i = \delta_i(x_i - \bar x(t_i)) - e^{\eta_i}(x_i A_i - B_i)$, with $A_i, B_i$ the
//! sums over the event times in $(\text{start}_i, \text{stop}_i]$. The robust (sandwich)
//! variance is $\sum_g (\sum_{i \in g} w_i L_i I^{-1})^\top(\sum_{i \in g} w_i L_i I^{-1})$
//! (Lin & Wei 1989), summed within clusters.

use super::Ties;
use strata_core::numerics::Matrix;

/// The data in sweep order (stratum by stratum, by decreasing stop time), as fitted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepData {
    /// Original row (0-based, among the rows used) of each sweep position.
    pub order: Vec<usize>,
    /// Centred covariates, row-major.
    pub rows: Vec<f64>,
    pub p: usize,
    pub means: Vec<f64>,
    pub offset: Vec<f64>,
    pub weights: Vec<f64>,
    pub start: Option<Vec<f64>>,
    pub stop: Vec<f64>,
    pub event: Vec<bool>,
    pub strata: Vec<u32>,
    pub n_strata: usize,
    pub ties: Ties,
}

/// The hazard increments of one event time.
#[derive(Debug, Clone)]
struct Step {
    time: f64,
    a: f64,
    b: Vec<f64>,
    a2: f64,
    b2: Vec<f64>,
    mean: Vec<f64>,
}

/// Cumulative increments of one stratum, ascending in time, with a leading zero.
struct Cumulative {
    times: Vec<f64>,
    a: Vec<f64>,
    b: Vec<Vec<f64>>,
    steps: Vec<Step>,
}

impl Cumulative {
    /// Index just past the event times ≤ t.
    fn upto(&self, t: f64) -> usize {
        self.times.partition_point(|&s| s <= t)
    }
}

impl SweepData {
    fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.p..(i + 1) * self.p]
    }

    fn eta(&self, beta: &[f64], i: usize) -> f64 {
        self.row(i).iter().zip(beta).map(|(x, b)| x * b).sum::<f64>() + self.offset[i]
    }

    fn cumulative(&self, beta: &[f64]) -> Vec<Cumulative> {
        let p = self.p;
        let mut out = Vec::with_capacity(self.n_strata);
        for s in 0..self.n_strata {
            let members: Vec<usize> = (0..self.stop.len()).filter(|&i| self.strata[i] as usize == s).collect();
            let mut by_start = members.clone();
            if let Some(start) = &self.start {
                by_start.sort_by(|&a, &b| start[b].total_cmp(&start[a]));
            }
            let (mut s0, mut s1) = (0.0, vec![0.0; p]);
            let mut removed = 0;
            let mut steps = Vec::new();
            let mut k = 0;
            while k < members.len() {
                let t = self.stop[members[k]];
                let (mut d0, mut d1, mut d, mut weight_d) = (0.0, vec![0.0; p], 0usize, 0.0);
                let mut j = k;
                while j < members.len() && self.stop[members[j]] == t {
                    let i = members[j];
                    let r = self.weights[i] * self.eta(beta, i).exp();
                    s0 += r;
                    for (a, x) in s1.iter_mut().zip(self.row(i)) {
                        *a += r * x;
                    }
                    if self.event[i] {
                        d0 += r;
                        for (a, x) in d1.iter_mut().zip(self.row(i)) {
                            *a += r * x;
                        }
                        d += 1;
                        weight_d += self.weights[i];
                    }
                    j += 1;
                }
                if let Some(start) = &self.start {
                    while removed < by_start.len() && start[by_start[removed]] >= t {
                        let i = by_start[removed];
                        let r = self.weights[i] * self.eta(beta, i).exp();
                        s0 -= r;
                        for (a, x) in s1.iter_mut().zip(self.row(i)) {
                            *a -= r * x;
                        }
                        removed += 1;
                    }
                }
                if d > 0 {
                    let count = if self.ties == Ties::Efron { d } else { 1 };
                    let share = weight_d / count as f64;
                    let mut step =
                        Step { time: t, a: 0.0, b: vec![0.0; p], a2: 0.0, b2: vec![0.0; p], mean: vec![0.0; p] };
                    for m in 0..count {
                        let f = if count == 1 { 0.0 } else { m as f64 / d as f64 };
                        let denominator = s0 - f * d0;
                        step.a += share / denominator;
                        step.a2 += share * (1.0 - f) / denominator;
                        for c in 0..p {
                            let mean = (s1[c] - f * d1[c]) / denominator;
                            step.b[c] += share * mean / denominator;
                            step.b2[c] += share * (1.0 - f) * mean / denominator;
                            step.mean[c] += mean / count as f64;
                        }
                    }
                    steps.push(step);
                }
                k = j;
            }
            steps.reverse();
            let mut cumulative =
                Cumulative { times: Vec::new(), a: vec![0.0], b: vec![vec![0.0; p]], steps: Vec::new() };
            for step in &steps {
                cumulative.times.push(step.time);
                let last_a = *cumulative.a.last().expect("leading zero");
                cumulative.a.push(last_a + step.a);
                let next: Vec<f64> =
                    cumulative.b.last().expect("leading zero").iter().zip(&step.b).map(|(x, y)| x + y).collect();
                cumulative.b.push(next);
            }
            cumulative.steps = steps;
            out.push(cumulative);
        }
        out
    }

    /// Martingale and score residuals in sweep order.
    pub fn residuals(&self, beta: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
        let cumulative = self.cumulative(beta);
        let p = self.p;
        let mut martingale = Vec::with_capacity(self.stop.len());
        let mut score = Vec::with_capacity(self.stop.len());
        for i in 0..self.stop.len() {
            let c = &cumulative[self.strata[i] as usize];
            let end = c.upto(self.stop[i]);
            let begin = self.start.as_ref().map_or(0, |s| c.upto(s[i]));
            let mut a = c.a[end] - c.a[begin];
            let mut b: Vec<f64> = (0..p).map(|k| c.b[end][k] - c.b[begin][k]).collect();
            let x = self.row(i);
            let mut death = vec![0.0; p];
            if self.event[i] {
                let step = &c.steps[end - 1];
                a += step.a2 - step.a;
                for k in 0..p {
                    b[k] += step.b2[k] - step.b[k];
                    death[k] = x[k] - step.mean[k];
                }
            }
            let risk = self.eta(beta, i).exp();
            martingale.push(f64::from(u8::from(self.event[i])) - risk * a);
            score.push((0..p).map(|k| death[k] - risk * (x[k] * a - b[k])).collect());
        }
        (martingale, score)
    }

    /// Schoenfeld residuals: (time, sweep position, residual) for every event, by time.
    pub fn schoenfeld(&self, beta: &[f64]) -> Vec<(f64, usize, Vec<f64>)> {
        let cumulative = self.cumulative(beta);
        let mut out: Vec<(f64, usize, Vec<f64>)> = (0..self.stop.len())
            .filter(|&i| self.event[i])
            .map(|i| {
                let c = &cumulative[self.strata[i] as usize];
                let step = &c.steps[c.upto(self.stop[i]) - 1];
                (self.stop[i], i, self.row(i).iter().zip(&step.mean).map(|(x, m)| x - m).collect())
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(self.order[a.1].cmp(&self.order[b.1])));
        out
    }

    /// The cumulative baseline hazard at covariates zero (R's `basehaz(fit, centered = FALSE)`)
    /// at every distinct time of each stratum: (stratum, time, hazard).
    pub fn baseline(&self, beta: &[f64]) -> Vec<(usize, f64, f64)> {
        let cumulative = self.cumulative(beta);
        let shift = (-beta.iter().zip(&self.means).map(|(b, m)| b * m).sum::<f64>()).exp();
        let mut out = Vec::new();
        for (s, c) in cumulative.iter().enumerate() {
            let mut times: Vec<f64> =
                (0..self.stop.len()).filter(|&i| self.strata[i] as usize == s).map(|i| self.stop[i]).collect();
            times.sort_by(f64::total_cmp);
            times.dedup();
            for t in times {
                out.push((s, t, c.a[c.upto(t)] * shift));
            }
        }
        out
    }

    /// The robust covariance `Σ_g D_gᵀ D_g` with `D = w L I⁻¹`, clusters given by code per sweep
    /// position (each observation its own cluster when `None`).
    pub fn robust(&self, beta: &[f64], inverse_information: &Matrix, clusters: Option<&[u32]>) -> Matrix {
        let (_, score) = self.residuals(beta);
        let p = self.p;
        let count = clusters.map_or(self.stop.len(), |c| c.iter().max().map_or(0, |m| *m as usize + 1));
        let mut sums = Matrix::zeros(count, p);
        for (i, l) in score.iter().enumerate() {
            let g = clusters.map_or(i, |c| c[i] as usize);
            for a in 0..p {
                let d: f64 = (0..p).map(|b| l[b] * inverse_information[(b, a)]).sum();
                sums[(g, a)] += self.weights[i] * d;
            }
        }
        sums.weighted_crossprod(None)
    }
}

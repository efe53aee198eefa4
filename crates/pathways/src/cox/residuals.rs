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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Events and their total weight at this time.
    deaths: usize,
    /// The time's contribution to the information matrix.
    information: Matrix,
    /// The sum over its deaths of the Schoenfeld residuals.
    schoenfeld: Vec<f64>,
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

fn add_outer(s1: &mut [f64], s2: &mut Matrix, r: f64, x: &[f64]) {
    for (a, &xa) in x.iter().enumerate() {
        s1[a] += r * xa;
        for (b, &xb) in x.iter().enumerate() {
            s2[(a, b)] += r * xa * xb;
        }
    }
}

/// The test of proportional hazards for one covariate (or all, `GLOBAL`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProportionalHazardsTest {
    /// The covariate, or `GLOBAL`.
    pub term: String,
    /// The score statistic.
    pub chisq: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// Its p-value.
    pub p_value: f64,
}

impl SweepData {
    /// The score tests of R's `cox.zph(fit, transform = "km")` (Grambsch & Therneau 1994, as a
    /// score test for adding `β_k g(t)` terms with `g(t) = 1 − KM(t−)` centred over the events):
    /// `U = Σ g̃ⱼ Uⱼ` from the Schoenfeld residuals, `M = Σ g̃ⱼ² Iⱼ − (Σ g̃ⱼ Iⱼ)(Σ Iⱼ)⁻¹(Σ g̃ⱼ Iⱼ)`,
    /// each covariate `U_k²/M_kk` on 1 df and `UᵀM⁻¹U` on p df.
    pub fn proportional_hazards(&self, beta: &[f64], names: &[String]) -> Option<Vec<ProportionalHazardsTest>> {
        use strata_core::numerics::Cholesky;
        use strata_core::results::chi_squared_upper;
        let p = self.p;
        let steps: Vec<Step> = self.cumulative(beta).into_iter().flat_map(|c| c.steps).collect();
        // Pooled Kaplan–Meier just before each event time.
        let mut order: Vec<usize> = (0..self.stop.len()).collect();
        order.sort_by(|&a, &b| self.stop[a].total_cmp(&self.stop[b]));
        let total: f64 = self.weights.iter().sum();
        let mut km: Vec<(f64, f64)> = Vec::new();
        let (mut survival, mut exited, mut k) = (1.0, 0.0, 0);
        while k < order.len() {
            let t = self.stop[order[k]];
            let (mut deaths, mut leaving) = (0.0, 0.0);
            while k < order.len() && self.stop[order[k]] == t {
                let i = order[k];
                leaving += self.weights[i];
                if self.event[i] {
                    deaths += self.weights[i];
                }
                k += 1;
            }
            km.push((t, survival));
            if deaths > 0.0 {
                survival *= 1.0 - deaths / (total - exited);
            }
            exited += leaving;
        }
        let before = |t: f64| km.iter().find(|(s, _)| *s == t).map_or(1.0, |(_, v)| *v);
        let g: Vec<f64> = steps.iter().map(|s| 1.0 - before(s.time)).collect();
        let events: f64 = steps.iter().map(|s| s.deaths as f64).sum();
        let centre = steps.iter().zip(&g).map(|(s, g)| s.deaths as f64 * g).sum::<f64>() / events;
        let (mut u, mut igg, mut igb, mut ibb) =
            (vec![0.0; p], Matrix::zeros(p, p), Matrix::zeros(p, p), Matrix::zeros(p, p));
        for (step, g) in steps.iter().zip(&g) {
            let gc = g - centre;
            for a in 0..p {
                u[a] += gc * step.schoenfeld[a];
                for b in 0..p {
                    let v = step.information[(a, b)];
                    igg[(a, b)] += gc * gc * v;
                    igb[(a, b)] += gc * v;
                    ibb[(a, b)] += v;
                }
            }
        }
        let correction = igb.matmul(&Cholesky::new(&ibb).ok()?.solve_matrix(&igb));
        let m = Matrix::from_fn(p, p, |a, b| igg[(a, b)] - correction[(a, b)]);
        let mut tests: Vec<ProportionalHazardsTest> = (0..p)
            .map(|a| {
                let chisq = u[a] * u[a] / m[(a, a)];
                ProportionalHazardsTest { term: names[a].clone(), chisq, df: 1, p_value: chi_squared_upper(chisq, 1.0) }
            })
            .collect();
        let global: f64 = u.iter().zip(Cholesky::new(&m).ok()?.solve(&u)).map(|(a, b)| a * b).sum();
        tests.push(ProportionalHazardsTest {
            term: "GLOBAL".into(),
            chisq: global,
            df: p,
            p_value: chi_squared_upper(global, p as f64),
        });
        Some(tests)
    }

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
            let (mut s0, mut s1, mut s2) = (0.0, vec![0.0; p], Matrix::zeros(p, p));
            let mut removed = 0;
            let mut steps = Vec::new();
            let mut k = 0;
            while k < members.len() {
                let t = self.stop[members[k]];
                let (mut d0, mut d1, mut d2, mut d, mut weight_d) =
                    (0.0, vec![0.0; p], Matrix::zeros(p, p), 0usize, 0.0);
                let mut dead_x = vec![0.0; p];
                let mut j = k;
                while j < members.len() && self.stop[members[j]] == t {
                    let i = members[j];
                    let r = self.weights[i] * self.eta(beta, i).exp();
                    let x = self.row(i);
                    s0 += r;
                    add_outer(&mut s1, &mut s2, r, x);
                    if self.event[i] {
                        d0 += r;
                        add_outer(&mut d1, &mut d2, r, x);
                        d += 1;
                        weight_d += self.weights[i];
                        for (a, v) in dead_x.iter_mut().zip(x) {
                            *a += v;
                        }
                    }
                    j += 1;
                }
                if let Some(start) = &self.start {
                    while removed < by_start.len() && start[by_start[removed]] >= t {
                        let i = by_start[removed];
                        let r = self.weights[i] * self.eta(beta, i).exp();
                        s0 -= r;
                        add_outer(&mut s1, &mut s2, -r, self.row(i));
                        removed += 1;
                    }
                }
                if d > 0 {
                    let count = if self.ties == Ties::Efron { d } else { 1 };
                    let share = weight_d / count as f64;
                    let mut step = Step {
                        time: t,
                        a: 0.0,
                        b: vec![0.0; p],
                        a2: 0.0,
                        b2: vec![0.0; p],
                        mean: vec![0.0; p],
                        deaths: d,
                        information: Matrix::zeros(p, p),
                        schoenfeld: vec![0.0; p],
                    };
                    for m in 0..count {
                        let f = if count == 1 { 0.0 } else { m as f64 / d as f64 };
                        let denominator = s0 - f * d0;
                        step.a += share / denominator;
                        step.a2 += share * (1.0 - f) / denominator;
                        let means: Vec<f64> = (0..p).map(|c| (s1[c] - f * d1[c]) / denominator).collect();
                        for c in 0..p {
                            step.b[c] += share * means[c] / denominator;
                            step.b2[c] += share * (1.0 - f) * means[c] / denominator;
                            step.mean[c] += means[c] / count as f64;
                            for e in 0..p {
                                step.information[(c, e)] +=
                                    share * ((s2[(c, e)] - f * d2[(c, e)]) / denominator - means[c] * means[e]);
                            }
                        }
                    }
                    for c in 0..p {
                        step.schoenfeld[c] = dead_x[c] - d as f64 * step.mean[c];
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

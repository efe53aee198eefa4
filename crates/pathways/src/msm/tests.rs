//! Tests of the multi-state model: the likelihood's gradient, and fits against msm.

use super::exponential::TransitionProbabilities;
use super::*;

/// Compares the analytic gradient of −2 log L with central differences at `x`.
fn assert_gradient(likelihood: &PanelLikelihood, x: &[f64]) {
    let (_, gradient) = likelihood.minus2_with_gradient(x);
    for i in 0..x.len() {
        let h = 1e-6;
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[i] += h;
        down[i] -= h;
        let difference =
            (likelihood.minus2_with_gradient(&up).0 - likelihood.minus2_with_gradient(&down).0) / (2.0 * h);
        let tolerance = 1e-6 * (1.0 + difference.abs());
        assert!((gradient[i] - difference).abs() < tolerance, "{i}: {} vs {difference}", gradient[i]);
    }
}

/// Pair counts from (pattern, from, to, interval, count).
fn counts(pairs: &[(usize, usize, usize, f64, f64)]) -> PairCounts {
    pairs.iter().map(|&(p, r, s, t, n)| ((p, r, s, t.to_bits()), n)).collect()
}

#[test]
fn the_analytic_gradient_matches_differences_of_the_likelihood() {
    // A cycle 1 → 2 → 3 → 1 with a back transition 2 → 1 and one covariate in two patterns:
    // complex eigenvalues, so P(t) and its derivatives come from Padé exponentials.
    let cycle = PanelLikelihood {
        states: 3,
        allowed: vec![(0, 1), (1, 0), (1, 2), (2, 0)],
        parameter: vec![0, 1, 2, 3],
        intensities: 4,
        effects: vec![(0, 0), (1, 0), (2, 0), (3, 0)],
        patterns: vec![vec![-0.5], vec![0.5]],
        exact: vec![false; 3],
        pairs: counts(&[
            (0, 0, 1, 1.5, 3.0),
            (0, 1, 2, 0.7, 2.0),
            (0, 2, 0, 2.0, 1.0),
            (1, 0, 0, 1.0, 4.0),
            (1, 1, 0, 3.0, 2.0),
            (1, 2, 2, 0.4, 1.0),
        ]),
    };
    let x = [-1.0, -4.0, -1.0, -1.0, 0.3, -0.2, 0.1, 0.4];
    let q = cycle.generator(&x, &[-0.5]);
    assert!(matches!(TransitionProbabilities::new(&q, Vec::new()), TransitionProbabilities::Pade { .. }));
    assert_gradient(&cycle, &x);
    // The covariate on two of the four transitions only (msm's constraints).
    let constrained = PanelLikelihood { effects: vec![(0, 0), (2, 0)], ..cycle };
    assert_gradient(&constrained, &[-1.0, -4.0, -1.0, -1.0, 0.3, 0.1]);
    // 1 → 2 and 2 → 3 sharing one intensity (msm's qconstraint).
    let shared = PanelLikelihood { parameter: vec![0, 1, 0, 2], intensities: 3, ..constrained };
    assert_gradient(&shared, &[-1.0, -4.0, -1.2, 0.3, 0.1]);
    // A progressive 1 → 2 → 3 model: real eigenvalues, the eigendecomposition path.
    let progressive = PanelLikelihood {
        states: 3,
        allowed: vec![(0, 1), (1, 2)],
        parameter: vec![0, 1],
        intensities: 2,
        effects: Vec::new(),
        patterns: vec![Vec::new()],
        pairs: counts(&[(0, 0, 1, 2.0, 3.0), (0, 0, 2, 4.0, 2.0), (0, 1, 1, 1.0, 5.0)]),
        exact: vec![false; 3],
    };
    assert_gradient(&progressive, &[-1.2, -0.8]);
    // Illness–death with state 3 entered at exact times, reached from 1 and 2.
    let illness_death = PanelLikelihood {
        states: 3,
        allowed: vec![(0, 1), (0, 2), (1, 0), (1, 2)],
        parameter: vec![0, 1, 2, 3],
        intensities: 4,
        effects: vec![(0, 0), (1, 0), (2, 0), (3, 0)],
        patterns: vec![vec![-1.0], vec![1.0]],
        pairs: counts(&[(0, 0, 1, 2.0, 3.0), (0, 0, 2, 1.3, 2.0), (1, 1, 2, 0.6, 1.0), (1, 0, 0, 1.0, 4.0)]),
        exact: vec![false, false, true],
    };
    assert_gradient(&illness_death, &[-1.0, -2.0, -1.5, -1.2, 0.2, -0.3, 0.1, 0.5]);
}

/// Panel data from a progressive 1 → 2 → 3 process seen at irregular visits, with a binary
/// covariate multiplying q₁₂ by 2.5 and leaving q₂₃ alone.
fn panel(children: usize, seed: u64) -> DataFrame {
    let mut rng = strata_core::random::Rng::new(seed);
    let (mut id, mut time, mut state, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in 0..children {
        let exposed = f64::from(u8::from(c % 2 == 0));
        let leave1 = rng.exponential(0.15 * 2.5_f64.powf(exposed));
        let leave2 = leave1 + rng.exponential(0.1);
        let mut t = 0.0;
        while t < 12.0 {
            id.push(format!("c{c}"));
            time.push(t);
            state.push(if t < leave1 {
                1.0
            } else if t < leave2 {
                2.0
            } else {
                3.0
            });
            x.push(exposed);
            t += 0.5 + rng.uniform();
        }
    }
    visits(&id, &time, &state).with_floats("x", &x).unwrap()
}

/// One row per visit: `id`, `time`, `state`.
fn visits(id: &[String], time: &[f64], state: &[f64]) -> DataFrame {
    DataFrame::new()
        .with_levels("id", id)
        .unwrap()
        .with_floats("time", time)
        .unwrap()
        .with_floats("state", state)
        .unwrap()
}

/// Illness–death panels: well (1) ⇄ ill (2), both → dead (3) with q₁₂ = 0.1, q₂₁ = 0.05,
/// q₁₃ = 0.02, q₂₃ = 0.08; visits every 0.5 to 1.5 time units until time 10, and the death
/// time recorded exactly.
fn illness_death(children: usize, seed: u64) -> DataFrame {
    let mut rng = strata_core::random::Rng::new(seed);
    let rates = [[0.0, 0.1, 0.02], [0.05, 0.0, 0.08]];
    let (mut id, mut time, mut state) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..children {
        // The continuous path: (entry time, state) until death or time 10.
        let (mut now, mut current, mut path) = (0.0, 0usize, vec![(0.0, 0usize)]);
        while current != 2 {
            let total: f64 = rates[current].iter().sum();
            now += rng.exponential(total);
            if now >= 10.0 {
                break;
            }
            let u = rng.uniform() * total;
            current = if u < rates[current][1 - current] { 1 - current } else { 2 };
            path.push((now, current));
        }
        let state_at = |t: f64| path.iter().rev().find(|(s, _)| *s <= t).map_or(0, |p| p.1);
        let mut t = 0.0;
        loop {
            let (died, at) = match path.last() {
                Some(&(at, 2)) if at <= t => (true, at),
                _ => (false, t),
            };
            id.push(format!("c{c}"));
            time.push(at);
            state.push(if died { 3.0 } else { (state_at(t) + 1) as f64 });
            if died || t >= 10.0 {
                break;
            }
            t = (t + 0.5 + rng.uniform()).min(10.0);
        }
    }
    visits(&id, &time, &state)
}

/// msm 1.7 on these data written to CSV (`illness_death(400, 11)`):
/// `msm(state ~ time, subject = id, data = d, qmatrix = Q, deathexact = 3)` with
/// `Q <- rbind(c(0, 0.1, 0.02), c(0.05, 0, 0.08), c(0, 0, 0))`.
#[test]
fn exactly_observed_deaths_match_msm() {
    let q = Matrix::from_fn(3, 3, |i, j| [[0.0, 0.1, 0.02], [0.05, 0.0, 0.08], [0.0; 3]][i][j]);
    let model = MultiStateModel::new(q, "id", "time", "state").unwrap();
    let data = illness_death(400, 11);
    let fit = model.clone().exact_death(&[3]).unwrap().fit(&data).unwrap();
    assert!((fit.minus2_log_likelihood - 2_883.472_774_567_64).abs() < 1e-6, "{}", fit.minus2_log_likelihood);
    // f$estimates.t (q12, q13, q21, q23) and sqrt(diag(f$covmat)) on the log scale.
    let msm = [
        (0.108_747_736_141_796_4, 0.064_808_856_32),
        (0.016_722_494_144_138_9, 0.180_863_967_75),
        (0.043_721_330_557_033_5, 0.169_453_157_60),
        (0.086_023_245_800_466_8, 0.115_861_299_10),
    ];
    for (t, (intensity, log_se)) in fit.transitions.iter().zip(msm) {
        assert!((t.intensity / intensity - 1.0).abs() < 1e-5, "{t:?}");
        assert!((t.std_error / t.intensity / log_se - 1.0).abs() < 1e-3, "{t:?}");
    }
    // Treating the death times as ordinary visits is a different model (msm: 3125.6397525413).
    let panel = model.fit(&data).unwrap();
    assert!((panel.minus2_log_likelihood - 3_125.639_752_541_31).abs() < 1e-6);
    // Only absorbing states that some transition enters can be exact.
    assert!(model.clone().exact_death(&[2]).is_err());
    assert!(model.exact_death(&[4]).is_err());
}

/// The hazard ratios of a covariate are recovered within their intervals. (On R's `psor`
/// with `covariates = ~ ollwsdrt + hieffusn`, strata's −2 log-likelihood, intensities and all
/// six hazard ratios with their 95% intervals equal msm 1.7's to the four decimals it prints —
/// −2 log L 1112.6133, q₁₂ 0.1004 at the means, hazard ratio 0.7320 (0.4258 to 1.2585) —
/// checked by hand: msm's data are not in ../shared.)
#[test]
fn covariate_hazard_ratios_are_recovered() {
    let q = Matrix::from_fn(3, 3, |i, j| if j == i + 1 { 0.1 } else { 0.0 });
    let fit = MultiStateModel::new(q.clone(), "id", "time", "state")
        .unwrap()
        .covariates(&["x"])
        .fit(&panel(3000, 5))
        .unwrap();
    assert_eq!(fit.hazard_ratios.len(), 2);
    let (first, second) = (&fit.hazard_ratios[0], &fit.hazard_ratios[1]);
    assert!(first.lower < 2.5 && 2.5 < first.upper, "{first:?}");
    assert!(second.lower < 1.0 && 1.0 < second.upper, "{second:?}");
    assert!(first.upper / first.lower < 1.5, "a tight interval from 3,000 children: {first:?}");
    // The covariate on 1 → 2 only (msm's `covariates = list("1-2" = ~ x)`): one hazard
    // ratio, still covering the truth; listing every transition is the unconstrained model.
    // (On psor, `list("1-2" = ~ ollwsdrt, "2-3" = ~ ollwsdrt + hieffusn)` gives −2 log L
    // 1118.8693 and hazard ratios 0.6815, 0.4599, 1.7029 with their intervals as msm 1.7 to
    // four decimals, checked by hand.)
    let model = MultiStateModel::new(q.clone(), "id", "time", "state").unwrap();
    let data = panel(1500, 7);
    let only = model.clone().covariates_on(&[((1, 2), &["x"])]).unwrap().fit(&data).unwrap();
    assert_eq!(only.hazard_ratios.len(), 1);
    assert!(only.hazard_ratios[0].lower < 2.5 && 2.5 < only.hazard_ratios[0].upper, "{:?}", only.hazard_ratios);
    let every = model.clone().covariates_on(&[((1, 2), &["x"]), ((2, 3), &["x"])]).unwrap().fit(&data).unwrap();
    let all = model.clone().covariates(&["x"]).fit(&data).unwrap();
    assert!((every.minus2_log_likelihood - all.minus2_log_likelihood).abs() < 1e-6);
    assert!(only.minus2_log_likelihood >= all.minus2_log_likelihood - 1e-6);
    assert!(model.clone().covariates_on(&[((1, 3), &["x"])]).is_err());
    // A covariate that never varies cannot be estimated.
    let constant = panel(200, 6).with_floats("one", &vec![1.0; panel(200, 6).nrows()]).unwrap();
    assert!(MultiStateModel::new(q, "id", "time", "state").unwrap().covariates(&["one"]).fit(&constant).is_err());
}

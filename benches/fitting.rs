//! Criterion benchmarks of the fitting core over (rows, covariates) grids. The side-by-side
//! comparison with R on identical data is `benches/compare_with_r.sh`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use strata::prelude::*;
use strata_core::random::Rng;
use strata_multilevel::{GeneralizedLinearMixedModel, LinearMixedModel};
use strata_pathways::{CoxPh, KaplanMeier};

fn covariate_frame(rows: usize, p: usize, rng: &mut Rng) -> (DataFrame, Vec<f64>) {
    let mut frame = DataFrame::new();
    let mut linear = vec![0.0; rows];
    for j in 0..p {
        let x: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
        for (l, v) in linear.iter_mut().zip(&x) {
            *l += 0.05 * v;
        }
        frame = frame.with_floats(format!("x{}", j + 1), &x).unwrap();
    }
    (frame, linear)
}

fn terms(p: usize) -> String {
    (1..=p).map(|j| format!("x{j}")).collect::<Vec<_>>().join(" + ")
}

fn glm(c: &mut Criterion) {
    let mut group = c.benchmark_group("glm_poisson_offset");
    group.sample_size(10);
    for (rows, p) in [(100_000, 10), (1_000_000, 10)] {
        let mut rng = Rng::new(1);
        let (frame, linear) = covariate_frame(rows, p, &mut rng);
        let population: Vec<f64> = (0..rows).map(|_| 100.0 + 900.0 * rng.uniform()).collect();
        let y: Vec<f64> = linear.iter().zip(&population).map(|(l, n)| rng.poisson(n * (-5.0 + l).exp())).collect();
        let frame = frame.with_floats("population", &population).unwrap().with_floats("y", &y).unwrap();
        let model = Glm::new(&format!("y ~ {} + offset(log(population))", terms(p)), Family::Poisson).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(format!("{rows}x{p}")), &frame, |b, f| {
            b.iter(|| black_box(model.fit(f).unwrap()));
        });
    }
    group.finish();
}

fn survival(c: &mut Criterion) {
    let mut group = c.benchmark_group("survival");
    group.sample_size(10);
    for rows in [100_000, 1_000_000] {
        let mut rng = Rng::new(2);
        let (frame, linear) = covariate_frame(rows, 10, &mut rng);
        let (mut time, mut status) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for l in &linear {
            let (event, censor) = (rng.exponential(0.01 * l.exp()), rng.exponential(0.005));
            time.push(event.min(censor).ceil());
            status.push(f64::from(u8::from(event <= censor)));
        }
        let frame = frame.with_floats("time", &time).unwrap().with_floats("status", &status).unwrap();
        let cox = CoxPh::new(&format!("Surv(time, status) ~ {}", terms(10))).unwrap();
        group.bench_with_input(BenchmarkId::new("cox_efron", format!("{rows}x10")), &frame, |b, f| {
            b.iter(|| black_box(cox.fit(f).unwrap()));
        });
        let km = KaplanMeier::new("Surv(time, status) ~ 1").unwrap();
        group.bench_with_input(BenchmarkId::new("kaplan_meier", rows), &frame, |b, f| {
            b.iter(|| black_box(km.fit(f).unwrap()));
        });
    }
    group.finish();
}

fn mixed(c: &mut Criterion) {
    let mut group = c.benchmark_group("mixed");
    group.sample_size(10);
    for (rows, groups) in [(10_000, 100), (50_000, 500)] {
        let mut rng = Rng::new(3);
        let effects: Vec<f64> = (0..groups).map(|_| rng.normal()).collect();
        let g: Vec<String> = (0..rows).map(|i| format!("g{}", i % groups)).collect();
        let x: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..rows).map(|i| 1.0 + 0.5 * x[i] + effects[i % groups] + rng.normal()).collect();
        let yes: Vec<f64> = (0..rows)
            .map(|i| f64::from(u8::from(rng.uniform() < 1.0 / (1.0 + (1.0 - 0.5 * x[i] - effects[i % groups]).exp()))))
            .collect();
        let frame = DataFrame::new()
            .with_levels("g", &g)
            .unwrap()
            .with_floats("x", &x)
            .unwrap()
            .with_floats("y", &y)
            .unwrap()
            .with_floats("yes", &yes)
            .unwrap();
        let lmm = LinearMixedModel::new("y ~ x + (1 | g)").unwrap();
        group.bench_with_input(BenchmarkId::new("lmm_reml", format!("{rows}x{groups}")), &frame, |b, f| {
            b.iter(|| black_box(lmm.fit(f).unwrap()));
        });
        // A correlated random slope: the vector path (block elimination beyond 1,000 effects).
        let slopes = LinearMixedModel::new("y ~ x + (1 + x | g)").unwrap();
        group.bench_with_input(BenchmarkId::new("lmm_random_slope", format!("{rows}x{groups}")), &frame, |b, f| {
            b.iter(|| black_box(slopes.fit(f).unwrap()));
        });
        let glmm = GeneralizedLinearMixedModel::new("yes ~ x + (1 | g)", Family::Binomial).unwrap();
        group.bench_with_input(
            BenchmarkId::new("glmm_binomial_laplace", format!("{rows}x{groups}")),
            &frame,
            |b, f| b.iter(|| black_box(glmm.fit(f).unwrap())),
        );
    }
    group.finish();
}

fn inequality(c: &mut Criterion) {
    let mut group = c.benchmark_group("inequality");
    group.sample_size(10);
    for n in [1_000_000, 10_000_000] {
        let mut rng = Rng::new(4);
        let values: Vec<f64> = (0..n).map(|_| (10.0 + rng.normal()).exp()).collect();
        let weights: Vec<f64> = (0..n).map(|_| 1.0 + rng.uniform()).collect();
        let rank: Vec<f64> = values.iter().map(|v| v.ln() + rng.normal()).collect();
        group.bench_with_input(BenchmarkId::new("sort_baseline", n), &values, |b, v| {
            b.iter(|| {
                let mut copy = v.clone();
                copy.sort_unstable_by(f64::total_cmp);
                black_box(copy)
            });
        });
        group.bench_with_input(BenchmarkId::new("gini", n), &values, |b, v| {
            b.iter(|| black_box(Distribution::weighted(v, &weights).unwrap().gini()));
        });
        group.bench_with_input(BenchmarkId::new("theil", n), &values, |b, v| {
            b.iter(|| black_box(Distribution::weighted(v, &weights).unwrap().theil()));
        });
        group.bench_with_input(BenchmarkId::new("concentration", n), &values, |b, v| {
            b.iter(|| black_box(strata_inequality::concentration::concentration(v, &rank, &weights, None).unwrap()));
        });
    }
    group.finish();
}

/// Competing risks by group with Gray's test, and a Markov model for panel data.
fn pathways(c: &mut Criterion) {
    let mut group = c.benchmark_group("pathways");
    group.sample_size(10);
    let mut rng = Rng::new(5);
    let rows = 100_000;
    let (mut time, mut status, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rows {
        let g = i % 4;
        let (cause, other, censor) =
            (rng.exponential(0.01 * (1.0 + 0.2 * g as f64)), rng.exponential(0.01), rng.exponential(0.005));
        time.push(cause.min(other).min(censor).ceil());
        status.push(if censor < cause.min(other) {
            0
        } else if cause < other {
            1
        } else {
            2
        });
        labels.push(g);
    }
    let names: Vec<String> = (0..4).map(|g| format!("g{g}")).collect();
    group.bench_function(BenchmarkId::new("cuminc_with_gray_test", rows), |b| {
        b.iter(|| {
            black_box(
                strata_pathways::competing::IncidenceByGroup::new(&time, &status, &labels, &names, None, 0, 0.0)
                    .unwrap(),
            )
        });
    });
    // 2,000 children seen at 5 irregular visits in a 1 ⇄ 2 → 3 model.
    let (mut id, mut visit, mut state) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..2_000 {
        let (mut t, mut current) = (0.0, 1.0);
        for _ in 0..5 {
            id.push(format!("c{c}"));
            visit.push(t);
            state.push(current);
            let gap = 0.5 + rng.uniform();
            t += gap;
            let u = rng.uniform();
            current = match current {
                1.0 if u < 0.15 * gap => 2.0,
                2.0 if u < 0.1 * gap => 1.0,
                2.0 if u < 0.2 * gap => 3.0,
                s => s,
            };
        }
    }
    let panel = DataFrame::new()
        .with_levels("id", &id)
        .unwrap()
        .with_floats("t", &visit)
        .unwrap()
        .with_floats("state", &state)
        .unwrap();
    let q = strata_core::numerics::Matrix::from_fn(3, 3, |i, j| match (i, j) {
        (0, 1) | (1, 0 | 2) => 0.1,
        _ => 0.0,
    });
    let msm = strata_pathways::msm::MultiStateModel::new(q, "id", "t", "state").unwrap();
    group.bench_function("msm_2000x5", |b| b.iter(|| black_box(msm.fit(&panel).unwrap())));
    group.finish();
}

/// The fixed-effects engine on arrays: children in 150 authorities (30,000 neighbourhoods nested
/// in them) over 13 years, `feols` with three fixed effects and `fepois` with two, as
/// `benches/compare_with_pyfixest.py` generates them.
fn panel(c: &mut Criterion) {
    use strata::panel::fixed_effects::{
        fit_fixed_effects, FixedEffectCodes, FixedEffectsControl, FixedEffectsData, FixedEffectsFamily, Vcov,
    };
    use strata_core::numerics::Matrix;
    let mut group = c.benchmark_group("fixed_effects");
    group.sample_size(10);
    let rows = 1_000_000;
    let mut rng = Rng::new(5);
    let la: Vec<u32> = (0..rows).map(|_| (rng.uniform() * 150.0) as u32).collect();
    let year: Vec<u32> = (0..rows).map(|_| (rng.uniform() * 13.0) as u32).collect();
    let lsoa: Vec<u32> = la.iter().map(|&a| a * 200 + (rng.uniform() * 200.0) as u32).collect();
    let x = Matrix::from_fn(rows, 3, |_, _| rng.normal());
    let la_effect: Vec<f64> = (0..150).map(|_| 0.5 * rng.normal()).collect();
    let y: Vec<f64> = (0..rows)
        .map(|i| {
            0.5 * x[(i, 0)] - 0.3 * x[(i, 1)] + la_effect[la[i] as usize] + 0.03 * f64::from(year[i]) + rng.normal()
        })
        .collect();
    let count: Vec<f64> = (0..rows)
        .map(|i| rng.poisson((-1.0 + 0.2 * x[(i, 0)] - 0.1 * x[(i, 1)] + la_effect[la[i] as usize]).exp()))
        .collect();
    let names: Vec<String> = ["x1", "x2", "x3"].iter().map(ToString::to_string).collect();
    let three = FixedEffectCodes::new(vec![la.clone(), year.clone(), lsoa]).unwrap();
    let two = FixedEffectCodes::new(vec![la, year]).unwrap();
    let control = FixedEffectsControl::default();
    let linear = FixedEffectsData { y: &y, x: &x, names: &names, fixed_effects: &three, weights: None, offset: None };
    group.bench_function(BenchmarkId::new("feols_3fe", rows), |b| {
        b.iter(|| black_box(fit_fixed_effects(&linear, FixedEffectsFamily::Gaussian, &Vcov::Iid, &control).unwrap()));
    });
    let poisson =
        FixedEffectsData { y: &count, x: &x, names: &names, fixed_effects: &two, weights: None, offset: None };
    group.bench_function(BenchmarkId::new("fepois_2fe", rows), |b| {
        b.iter(|| black_box(fit_fixed_effects(&poisson, FixedEffectsFamily::Poisson, &Vcov::Iid, &control).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, glm, survival, mixed, inequality, pathways, panel);
criterion_main!(benches);

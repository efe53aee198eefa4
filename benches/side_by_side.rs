//! Side-by-side timings with R on identical data (run by `benches/compare_with_r.sh`).
//!
//! `cargo bench --bench side_by_side -- generate DIR` writes the data sets as CSV;
//! `cargo bench --bench side_by_side -- time DIR` prints `name seconds` for strata's fits, each
//! the median of three runs, timing the fit only (the data are read first), as the R script does.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;
use strata::prelude::*;
use strata_core::random::Rng;
use strata_multilevel::{GeneralizedLinearMixedModel, LinearMixedModel};
use strata_pathways::{CoxPh, KaplanMeier};

const ROWS: usize = 1_000_000;

fn write_csv(path: &Path, header: &str, rows: usize, mut row: impl FnMut(&mut String)) {
    let mut text = String::with_capacity(rows * 120);
    text.push_str(header);
    text.push('\n');
    for _ in 0..rows {
        row(&mut text);
        text.push('\n');
    }
    std::fs::write(path, text).expect("write CSV");
}

fn covariates(text: &mut String, rng: &mut Rng) -> f64 {
    let mut linear = 0.0;
    for j in 0..10u8 {
        let x = rng.normal();
        linear += 0.05 * (f64::from(j) - 4.5) * x / 4.5;
        let _ = write!(text, "{}{x:.5}", if j == 0 { "" } else { "," });
    }
    linear
}

fn generate(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create directory");
    let mut rng = Rng::new(2026);
    let x_header = (1..=10).map(|j| format!("x{j}")).collect::<Vec<_>>().join(",");
    write_csv(&dir.join("glm.csv"), &format!("{x_header},population,y"), ROWS, |t| {
        let linear = covariates(t, &mut rng);
        let population = 100.0 + (900.0 * rng.uniform()).round();
        let y = rng.poisson(population * (-5.0 + linear).exp());
        let _ = write!(t, ",{population},{y}");
    });
    write_csv(&dir.join("cox.csv"), &format!("{x_header},time,status"), ROWS, |t| {
        let linear = covariates(t, &mut rng);
        let event = rng.exponential(0.01 * linear.exp());
        let censor = rng.exponential(0.005);
        let _ = write!(t, ",{},{}", event.min(censor).ceil(), u8::from(event <= censor));
    });
    // lme4's InstEval shape: 73,421 ratings of 1,128 lecturers by 2,972 students in 14 departments.
    write_csv(&dir.join("crossed.csv"), "y,student,lecturer,department", 73_421, |t| {
        let (s, l) = (rng.index(2972), rng.index(1128));
        let y = 3.0 + 0.3 * ((s % 17) as f64 / 17.0 - 0.5) + 0.4 * ((l % 13) as f64 / 13.0 - 0.5) + rng.normal();
        let _ = write!(t, "{y:.4},s{s},l{l},d{}", l % 14);
    });
    // 200,000 children in 150 authorities and 20,000 neighbourhoods.
    let la_effect: Vec<f64> = (0..150).map(|_| 0.3 * rng.normal()).collect();
    let area_effect: Vec<f64> = (0..20_000).map(|_| 0.2 * rng.normal()).collect();
    write_csv(&dir.join("binomial.csv"), "y,deprivation,la,area", 200_000, |t| {
        let area = rng.index(20_000);
        let la = area % 150;
        let deprivation = (area % 10) as f64;
        let eta = -3.0 + 0.2 * deprivation + la_effect[la] + area_effect[area];
        let y = u8::from(rng.uniform() < 1.0 / (1.0 + (-eta).exp()));
        let _ = write!(t, "{y},{deprivation},la{la},a{area}");
    });
    // Random slopes by neighbourhood: 200,000 children, 20,000 neighbourhoods in 150 authorities.
    let slopes: Vec<(f64, f64)> = (0..20_000).map(|_| (0.7 * rng.normal(), 0.3 * rng.normal())).collect();
    write_csv(&dir.join("slopes.csv"), "y,x,area,la", 200_000, |t| {
        let area = rng.index(20_000);
        let la = area % 150;
        let x = rng.normal();
        let y = 1.0 + 0.5 * x + slopes[area].0 + slopes[area].1 * x + la_effect[la] + rng.normal();
        let _ = write!(t, "{y:.5},{x:.5},a{area},la{la}");
    });
    write_msm(dir, &mut rng);
    // 1,000,000 children in 30,000 neighbourhoods, each at one of the five schools nearest it
    // (20,000 schools): two large factors crossed locally.
    let lsoa_effect: Vec<f64> = (0..30_000).map(|_| 0.5 * rng.normal()).collect();
    let school_effect: Vec<f64> = (0..20_000).map(|_| 0.3 * rng.normal()).collect();
    write_csv(&dir.join("schools.csv"), "y,x,lsoa,school", ROWS, |t| {
        let lsoa = rng.index(30_000);
        let school = (lsoa * 2 / 3 + rng.index(5)).saturating_sub(2).min(19_999);
        let x = rng.normal();
        let y = 1.0 + 0.4 * x + lsoa_effect[lsoa] + school_effect[school] + rng.normal();
        let _ = write!(t, "{y:.5},{x:.5},n{lsoa},s{school}");
    });
}

/// 20,000 children seen at 5 visits (irregular times) in a 4-state model with recovery:
/// 1 ⇄ 2 ⇄ 3 → 4, simulated exactly and observed only at the visits.
fn write_msm(dir: &Path, rng: &mut Rng) {
    let q = [[-0.10, 0.10, 0.0, 0.0], [0.05, -0.15, 0.10, 0.0], [0.0, 0.04, -0.12, 0.08], [0.0, 0.0, 0.0, 0.0]];
    let mut text = String::from("id,months,state\n");
    for id in 0..20_000 {
        let (mut state, mut now) = (0usize, 0.0);
        let mut visit = 0.0;
        for v in 0..5 {
            if v > 0 {
                visit += 1.0 + 11.0 * rng.uniform();
            }
            while state < 3 {
                let rate = -q[state][state];
                let wait = rng.exponential(rate);
                if now + wait > visit {
                    break;
                }
                now += wait;
                let mut u = rng.uniform() * rate;
                let mut next = state;
                for (target, &r) in q[state].iter().enumerate() {
                    if target != state {
                        if u < r {
                            next = target;
                            break;
                        }
                        u -= r;
                    }
                }
                state = next;
            }
            now = now.max(visit);
            let _ = writeln!(text, "{id},{visit:.4},{}", state + 1);
            if state == 3 {
                // Follow-up ends on entering the absorbing state.
                break;
            }
        }
    }
    std::fs::write(dir.join("msm.csv"), text).expect("write CSV");
}

fn median_seconds(mut run: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[1]
}

fn time(dir: &Path, only: Option<&str>) {
    let read = |name: &str| read_csv(dir.join(name), &CsvOptions::default()).expect("read CSV");
    let x = (1..=10).map(|j| format!("x{j}")).collect::<Vec<_>>().join(" + ");
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    if wanted("glm") {
        let frame = read("glm.csv");
        let glm = Glm::new(&format!("y ~ {x} + offset(log(population))"), Family::Poisson).unwrap();
        println!(
            "glm {:.4}",
            median_seconds(|| {
                std::hint::black_box(glm.fit(&frame).unwrap());
            })
        );
    }
    if wanted("cox") || wanted("km") {
        let frame = read("cox.csv");
        if wanted("cox") {
            let cox = CoxPh::new(&format!("Surv(time, status) ~ {x}")).unwrap();
            println!(
                "cox {:.4}",
                median_seconds(|| {
                    std::hint::black_box(cox.fit(&frame).unwrap());
                })
            );
        }
        if wanted("km") {
            let km = KaplanMeier::new("Surv(time, status) ~ 1").unwrap();
            println!(
                "km {:.4}",
                median_seconds(|| {
                    std::hint::black_box(km.fit(&frame).unwrap());
                })
            );
        }
    }
    if wanted("lmm") {
        let frame = read("crossed.csv");
        let lmm = LinearMixedModel::new("y ~ 1 + (1 | student) + (1 | lecturer) + (1 | department)").unwrap();
        println!(
            "lmm {:.4}",
            median_seconds(|| {
                std::hint::black_box(lmm.fit(&frame).unwrap());
            })
        );
    }
    if wanted("schools") {
        let frame = read("schools.csv");
        let lmm = LinearMixedModel::new("y ~ x + (1 | lsoa) + (1 | school)").unwrap();
        println!(
            "schools {:.4}",
            median_seconds(|| {
                std::hint::black_box(lmm.fit(&frame).unwrap());
            })
        );
    }
    if wanted("slopes") {
        let frame = read("slopes.csv");
        let lmm = LinearMixedModel::new("y ~ x + (1 + x | area) + (1 | la)").unwrap();
        println!(
            "slopes {:.4}",
            median_seconds(|| {
                std::hint::black_box(lmm.fit(&frame).unwrap());
            })
        );
    }
    if wanted("glmm") {
        let frame = read("binomial.csv");
        let glmm =
            GeneralizedLinearMixedModel::new("y ~ deprivation + (1 | la) + (1 | area)", Family::Binomial).unwrap();
        println!(
            "glmm {:.4}",
            median_seconds(|| {
                std::hint::black_box(glmm.fit(&frame).unwrap());
            })
        );
    }
    if wanted("msm") {
        let frame = read("msm.csv");
        let initial = strata_core::numerics::Matrix::from_fn(4, 4, |i, j| {
            if (i < 3 && j == i + 1) || (i > 0 && i < 3 && j + 1 == i) {
                0.1
            } else {
                0.0
            }
        });
        let model = strata_pathways::msm::MultiStateModel::new(initial, "id", "months", "state").unwrap();
        println!(
            "msm {:.4}",
            median_seconds(|| {
                std::hint::black_box(model.fit(&frame).unwrap());
            })
        );
    }
    if wanted("inequality") {
        let mut rng = Rng::new(7);
        let n = 10_000_000;
        let values: Vec<f64> = (0..n).map(|_| (10.0 + rng.normal()).exp()).collect();
        let weights: Vec<f64> = (0..n).map(|_| 1.0 + rng.uniform()).collect();
        let rank: Vec<f64> = values.iter().map(|v| v.ln() + rng.normal()).collect();
        let sort = median_seconds(|| {
            let mut copy = values.clone();
            copy.sort_unstable_by(f64::total_cmp);
        });
        let gini = median_seconds(|| {
            std::hint::black_box(Distribution::weighted(&values, &weights).unwrap().gini());
        });
        let theil = median_seconds(|| {
            std::hint::black_box(Distribution::weighted(&values, &weights).unwrap().theil());
        });
        let concentration = median_seconds(|| {
            std::hint::black_box(
                strata_inequality::concentration::concentration(&values, &rank, &weights, None).unwrap(),
            );
        });
        println!("sort_1e7 {sort:.4}\ngini_1e7 {gini:.4}\ntheil_1e7 {theil:.4}\nconcentration_1e7 {concentration:.4}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.as_slice() {
        [command, dir, rest @ ..] if command == "generate" && rest.is_empty() => generate(Path::new(dir)),
        [command, dir, rest @ ..] if command == "time" => time(Path::new(dir), rest.first().map(String::as_str)),
        _ => eprintln!(
            "usage: cargo bench --bench side_by_side -- (generate DIR | time DIR [glm|cox|km|lmm|schools|slopes|glmm|msm|inequality])"
        ),
    }
}

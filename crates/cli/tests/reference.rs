//! The reference suite: each case's `model.txt` command is run exactly as written (with
//! `--data data.csv --json` appended) and its JSON compared with R's `expected.json` at the
//! tolerances of DESIGN.md.
//!
//! Every case lives in the repository (`tests/reference/`, copied from the project's shared
//! reference set by `scripts/sync-reference.sh`), the `real_*` cases derived from the DfE panel
//! included, so all of them run on a plain clone.

// Every check function shares one signature, `None` skipping a field; most skip none.
#![allow(clippy::unnecessary_wraps)]

mod common;

use common::{run_case_command, shell_words, REFERENCE};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;

fn reference_dir() -> PathBuf {
    PathBuf::from(REFERENCE)
}

/// Where a case lives: the repository's copy (`real_*` cases included: their data are a small
/// table derived from the DfE panel, Open Government Licence v3.0, as strata-data embeds).
fn case_dir(case: &str) -> PathBuf {
    let dir = reference_dir().join(case);
    assert!(dir.is_dir(), "{} is missing from the repository", dir.display());
    dir
}

fn run_case(case: &str) -> (Value, Value) {
    let dir = case_dir(case);
    let output = run_case_command(&dir);
    assert!(output.status.success(), "{case}: strata failed: {}", String::from_utf8_lossy(&output.stderr));
    let actual: Value = serde_json::from_slice(&output.stdout).expect("one JSON object on stdout");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"))
            .expect("valid JSON");
    (actual, expected)
}

/// How a numeric field is compared.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// `|actual − expected| ≤ tol × |expected|` (plus a hair for exact zeros).
    Relative(f64),
    /// A minimised criterion: no more than `tol` relative above R's (lower passes).
    AtMost(f64),
    /// A maximised one: no more than `tol` relative below R's (higher passes).
    AtLeast(f64),
}

fn compare(
    path: &str,
    actual: &Value,
    expected: &Value,
    check: &dyn Fn(&str) -> Option<Check>,
    failures: &mut Vec<String>,
) {
    match expected {
        Value::Object(map) => {
            for (key, e) in map {
                let child = format!("{path}.{key}");
                if check(&child).is_none() {
                    continue;
                }
                match actual.get(key) {
                    Some(a) => compare(&child, a, e, check, failures),
                    None => failures.push(format!("{child}: missing from strata's output")),
                }
            }
        }
        Value::Array(items) => {
            let Some(actual_items) = actual.as_array() else {
                failures.push(format!("{path}: expected an array"));
                return;
            };
            if actual_items.len() != items.len() {
                failures.push(format!("{path}: {} items, R has {}", actual_items.len(), items.len()));
                return;
            }
            for (i, (a, e)) in actual_items.iter().zip(items).enumerate() {
                compare(&format!("{path}[{i}]"), a, e, check, failures);
            }
        }
        Value::Number(e) => {
            let e = e.as_f64().expect("finite");
            // R's JSON writes a length-one vector as a bare number.
            let actual = match actual.as_array().map(Vec::as_slice) {
                Some([single]) => single,
                _ => actual,
            };
            let Some(a) = actual.as_f64() else {
                failures.push(format!("{path}: expected a number, got {actual}"));
                return;
            };
            let ok = match check(path).expect("checked above") {
                Check::Relative(tol) => (a - e).abs() <= tol * e.abs() + 1e-300,
                Check::AtMost(tol) => a <= e + tol * e.abs(),
                Check::AtLeast(tol) => a >= e - tol * e.abs(),
            };
            if !ok {
                failures.push(format!(
                    "{path}: strata {a:e}, R {e:e} (relative difference {:.2e})",
                    (a - e).abs() / e.abs()
                ));
            }
        }
        Value::String(e) => {
            if actual.as_str() != Some(e.as_str()) {
                failures.push(format!("{path}: strata {actual}, R \"{e}\""));
            }
        }
        Value::Null | Value::Bool(_) => {
            if actual != expected {
                failures.push(format!("{path}: strata {actual}, R {expected}"));
            }
        }
    }
}

fn assert_case(case: &str, check: &dyn Fn(&str) -> Option<Check>) {
    let (actual, expected) = run_case(case);
    let mut failures = Vec::new();
    compare("", &actual, &expected, check, &mut failures);
    assert!(failures.is_empty(), "{case} differs from R:\n  {}", failures.join("\n  "));
}

fn glm_check(estimate: f64, std_error: f64) -> impl Fn(&str) -> Option<Check> {
    move |path: &str| {
        Some(if path.ends_with(".std_error") || path.ends_with("theta_std_error") {
            Check::Relative(std_error)
        } else {
            Check::Relative(estimate)
        })
    }
}

#[test]
fn glm_birthwt_binomial() {
    assert_case("glm_birthwt_binomial", &glm_check(1e-6, 1e-5));
}

#[test]
fn glm_insurance_poisson() {
    assert_case("glm_insurance_poisson", &glm_check(1e-6, 1e-5));
}

#[test]
fn glm_quine_negbin() {
    assert_case("glm_quine_negbin", &glm_check(1e-4, 1e-4));
}

#[test]
fn real_cla2024_negbin() {
    assert_case("real_cla2024_negbin", &glm_check(1e-4, 1e-4));
}

/// Indices to 1e-9; the regression-based ones (SII and its SE, the RIIs) to 1e-6.
fn inequality_check(path: &str) -> Option<Check> {
    if path.starts_with(".definitions") {
        return None;
    }
    Some(if path.contains("sii") || path.contains("rii") { Check::Relative(1e-6) } else { Check::Relative(1e-9) })
}

#[test]
fn ineq_lognormal_incomes() {
    assert_case("ineq_lognormal_incomes", &inequality_check);
}

#[test]
fn ineq_decile_gradient() {
    assert_case("ineq_decile_gradient", &inequality_check);
}

/// Kaplan–Meier to 1e-9.
fn km_check(_path: &str) -> Option<Check> {
    Some(Check::Relative(1e-9))
}

#[test]
fn km_lung_by_sex() {
    assert_case("km_lung_by_sex", &km_check);
}

/// Cox: coefficients 1e-6, SEs 1e-5, log-likelihoods 1e-8, tests and concordance 1e-5.
fn cox_check(path: &str) -> Option<Check> {
    Some(if path == ".concordance" {
        // The lung references were made by a survival version whose rounding of the linear
        // predictor broke 2 of the 126 pairs tied on it (so its Efron and Breslow values differ,
        // by ±2 half-pairs in 19,787). survival 3.5.3 gives 0.6371355 for both, as strata does
        // (checked exactly in `cox_lung_concordance_matches_survival_3_5_3`); two half-pairs are
        // 5.1e-5 of the concordance.
        Check::Relative(1e-4)
    } else if path.ends_with(".estimate") {
        Check::Relative(1e-6)
    } else if path.ends_with("log_likelihood") {
        Check::Relative(1e-8)
    } else {
        Check::Relative(1e-5)
    })
}

#[test]
fn cox_lung_efron() {
    assert_case("cox_lung_efron", &cox_check);
}

#[test]
fn cox_lung_breslow() {
    assert_case("cox_lung_breslow", &cox_check);
}

#[test]
fn cox_lung_concordance_matches_survival_3_5_3() {
    // R 4 / survival 3.5.3: concordance(coxph(Surv(time, status) ~ age + sex + ph.ecog, lung))
    // gives concordant 12544, discordant 7117, tied.x 126: (12544 + 63) / 19787.
    for case in ["cox_lung_efron", "cox_lung_breslow"] {
        let (actual, _) = run_case(case);
        let concordance = actual["concordance"].as_f64().unwrap();
        assert!((concordance - 12_607.0 / 19_787.0).abs() < 1e-12, "{case}: {concordance}");
    }
}

#[test]
fn cox_veteran_strata() {
    assert_case("cox_veteran_strata", &cox_check);
}

/// Mixed models: the objective no more than 1e-6 above R's (lower passes), the log-likelihood
/// and information criteria correspondingly, fixed effects 2e-3, variance components 5e-3.
fn mixed_check(path: &str) -> Option<Check> {
    Some(if path == ".objective" || path == ".aic" || path == ".bic" {
        Check::AtMost(1e-6)
    } else if path == ".log_likelihood" {
        Check::AtLeast(1e-6)
    } else if path.starts_with(".coefficients") {
        Check::Relative(2e-3)
    } else {
        Check::Relative(5e-3)
    })
}

#[test]
fn lmm_sleepstudy_reml() {
    assert_case("lmm_sleepstudy_reml", &mixed_check);
}

#[test]
fn lmm_sleepstudy_ml() {
    assert_case("lmm_sleepstudy_ml", &mixed_check);
}

#[test]
fn lmm_pastes_nested() {
    assert_case("lmm_pastes_nested", &mixed_check);
}

#[test]
fn lmm_penicillin_crossed() {
    assert_case("lmm_penicillin_crossed", &mixed_check);
}

/// Laplace GLMMs: as [`mixed_check`], but standard errors to 2e-2. lme4 takes them from a
/// finite-difference Hessian of a deviance whose inner PIRLS stops early (its deviance at
/// lme4's own optimum is 5.6e-4 above the exact Laplace value, which an independent per-herd
/// optimisation in R reproduces to 1e-11, as strata does; see the multilevel crate's tests),
/// which moves its standard errors by up to 1.3% on cbpp.
fn laplace_check(path: &str) -> Option<Check> {
    if path.ends_with(".std_error") {
        return Some(Check::Relative(2e-2));
    }
    mixed_check(path)
}

#[test]
fn glmm_cbpp_laplace() {
    assert_case("glmm_cbpp_laplace", &laplace_check);
}

#[test]
fn glmm_cbpp_agq25() {
    assert_case("glmm_cbpp_agq25", &mixed_check);
}

/// The stored grouseticks reference is a fit lme4 stopped short of the optimum: its deviance,
/// 1975.920, is 0.044 above strata's 1975.876 (the objective check passes: lower is allowed), so
/// its estimates and its standard errors (about 0.001 for every coefficient, from a broken
/// Hessian) are not the maximum-likelihood ones. lme4 1.1.31 on this machine
/// (`glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), family = poisson)`) reaches
/// deviance 1975.87631 with the values below, which strata must match.
#[test]
fn glmm_grouseticks_poisson() {
    let (actual, expected) = run_case("glmm_grouseticks_poisson");
    let objective = actual["objective"].as_f64().unwrap();
    assert!(objective <= expected["objective"].as_f64().unwrap() * (1.0 + 1e-6), "objective {objective}");
    assert!(objective <= 1_975.876_313_872_65 * (1.0 + 1e-6), "objective {objective} above lme4 1.1.31's");
    let estimates = [0.466_862_288_485, 1.165_582_349_344, -0.977_932_492_586, -0.023_546_108_075];
    let std_errors = [0.192_020_845_935_79, 0.229_787_404_413_65, 0.254_820_070_389_63, 0.003_465_140_282_56];
    for (i, coefficient) in actual["coefficients"].as_array().unwrap().iter().enumerate() {
        let (b, se) = (coefficient["estimate"].as_f64().unwrap(), coefficient["std_error"].as_f64().unwrap());
        assert!((b - estimates[i]).abs() <= 2e-3 * estimates[i].abs(), "estimate {i}: {b}");
        assert!((se - std_errors[i]).abs() <= 2e-2 * std_errors[i], "std_error {i}: {se}");
    }
    for (t, lme4) in actual["theta"].as_array().unwrap().iter().zip([0.769_651_105_184, 0.574_136_845_756]) {
        assert!((t.as_f64().unwrap() - lme4).abs() <= 5e-3 * lme4, "theta {t}");
    }
}

/// msm: intensities and transition probabilities 2e-3, −2 log-likelihood 1e-5; standard errors
/// (from a numerical Hessian in both programs) 1e-2.
fn msm_check(path: &str) -> Option<Check> {
    Some(if path == ".minus2_log_likelihood" {
        Check::Relative(1e-5)
    } else if path.ends_with("std_error") {
        Check::Relative(1e-2)
    } else {
        Check::Relative(2e-3)
    })
}

#[test]
fn msm_psor_progressive() {
    assert_case("msm_psor_progressive", &msm_check);
}

/// Cumulative incidence to 1e-9, its variance to 1e-5.
fn cuminc_check(path: &str) -> Option<Check> {
    Some(if path.starts_with(".cif_variance") { Check::Relative(1e-5) } else { Check::Relative(1e-9) })
}

#[test]
fn cr_mgus2_cuminc() {
    assert_case("cr_mgus2_cuminc", &cuminc_check);
}

#[test]
fn cr_mgus2_finegray() {
    assert_case("cr_mgus2_finegray", &|_| Some(Check::Relative(1e-5)));
}

/// Aalen–Johansen state occupation from etm: probabilities 1e-9, their standard errors (etm's
/// Greenwood-type covariance) 1e-5, as cumulative incidence and its variance.
#[test]
fn ms_illness_death_etm() {
    assert_case("ms_illness_death_etm", &|path: &str| {
        Some(if path.starts_with(".occupation_std_error") { Check::Relative(1e-5) } else { Check::Relative(1e-9) })
    });
}

/// Correlations to 1e-9 (DESIGN.md), p-values as `cor.test(exact = FALSE)`.
#[test]
fn cor_la_2025_pearson() {
    assert_case("cor_la_2025_pearson", &|_| Some(Check::Relative(1e-9)));
}

#[test]
fn cor_persistence_cla_imd() {
    assert_case("cor_persistence_cla_imd", &|_| Some(Check::Relative(1e-9)));
}

/// Newey–West standard errors to 1e-8 (DESIGN.md's HAC tolerance), estimates as a GLM's.
#[test]
fn its_s47_gaussian_hac() {
    assert_case("its_s47_gaussian_hac", &|path: &str| {
        Some(if path.ends_with(".std_error") { Check::Relative(1e-8) } else { Check::Relative(1e-6) })
    });
}

/// Fixed effects: estimates 1e-8, clustered standard errors 1e-6 (DESIGN.md).
#[test]
fn fe_cpp_rate_feols() {
    assert_case("fe_cpp_rate_feols", &|path: &str| {
        Some(if path.ends_with(".std_error") { Check::Relative(1e-6) } else { Check::Relative(1e-8) })
    });
}

/// Ordinal and multinomial models: estimates 1e-5, standard errors 1e-4, log-likelihoods 1e-7
/// (DESIGN.md).
fn categorical_check(path: &str) -> Option<Check> {
    Some(if path.ends_with(".std_error") {
        Check::Relative(1e-4)
    } else if path == ".log_likelihood" || path == ".deviance" || path == ".aic" {
        Check::Relative(1e-7)
    } else {
        Check::Relative(1e-5)
    })
}

#[test]
fn mnl_housing() {
    assert_case("mnl_housing", &categorical_check);
}

#[test]
fn ord_wine_clm() {
    assert_case("ord_wine_clm", &categorical_check);
}

#[test]
fn ord_housing_clm() {
    assert_case("ord_housing_clm", &categorical_check);
}

/// The mixed model: as [`categorical_check`], the log-likelihood to 1e-6 (higher passes) and
/// the random-effect variance to 1e-4.
#[test]
fn ord_wine_clmm() {
    assert_case("ord_wine_clmm", &|path: &str| {
        Some(if path == ".log_likelihood" {
            Check::AtLeast(1e-6)
        } else if path == ".aic" {
            Check::AtMost(1e-6)
        } else if path.starts_with(".random_effects") {
            Check::Relative(1e-4)
        } else {
            return categorical_check(path);
        })
    });
}

/// Whether two labellings are the same partition: a one-to-one map between their labels.
fn same_partition(a: &[Value], b: &[Value]) -> bool {
    let mut forward = std::collections::HashMap::new();
    let mut backward = std::collections::HashMap::new();
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let (x, y) = (x.to_string(), y.to_string());
            forward.entry(x.clone()).or_insert_with(|| y.clone()) == &y && backward.entry(y).or_insert(x.clone()) == &x
        })
}

/// Sequences: ids and distances to 1e-9, Ward clusters identical up to relabelling (DESIGN.md).
#[test]
fn seq_pathways_om() {
    let (actual, expected) = run_case("seq_pathways_om");
    let mut failures = Vec::new();
    compare(
        "",
        &actual,
        &expected,
        &|path: &str| (!path.starts_with(".clusters")).then_some(Check::Relative(1e-9)),
        &mut failures,
    );
    assert!(failures.is_empty(), "seq_pathways_om differs:\n  {}", failures.join("\n  "));
    let labels = |v: &Value, key: &str| -> Vec<Value> {
        v["clusters"].as_array().expect("clusters").iter().map(|c| c[key].clone()).collect()
    };
    assert_eq!(labels(&actual, "id"), labels(&expected, "id"));
    assert!(same_partition(&labels(&actual, "cluster"), &labels(&expected, "cluster")), "the Ward clusters differ");
}

/// Latent classes, compared up to a permutation of classes (DESIGN.md): the log-likelihood
/// within 1e-6 relative (higher passes), class proportions and item probabilities within 1e-4.
#[test]
fn lca_assessment_factors_4class() {
    let (actual, expected) = run_case("lca_assessment_factors_4class");
    let number = |v: &Value| v.as_f64().expect("a number");
    let (a_ll, e_ll) = (number(&actual["log_likelihood"]), number(&expected["log_likelihood"]));
    assert!(a_ll >= e_ll - 1e-6 * e_ll.abs(), "log-likelihood {a_ll} below stepmix's {e_ll}");
    for key in ["n_classes", "n_obs", "n_parameters"] {
        assert_eq!(actual[key], expected[key], "{key}");
    }
    let k = expected["n_classes"].as_u64().expect("n_classes") as usize;
    // Each class's profile: its proportion then its item probabilities.
    let profiles = |v: &Value| -> Vec<Vec<f64>> {
        (0..k)
            .map(|c| {
                let mut profile = vec![number(&v["class_proportions"][c])];
                for item in v["item_probabilities"].as_array().expect("items") {
                    profile.push(number(&item["probabilities"][c]));
                }
                profile
            })
            .collect()
    };
    let (a, e) = (profiles(&actual), profiles(&expected));
    assert_eq!(
        actual["item_probabilities"].as_array().map(Vec::len),
        expected["item_probabilities"].as_array().map(Vec::len)
    );
    // Match each expected class to the actual class with the nearest profile, one to one.
    let mut used = vec![false; k];
    for (c, profile) in e.iter().enumerate() {
        let distance = |other: &Vec<f64>| profile.iter().zip(other).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        let best =
            (0..k).filter(|&d| !used[d]).min_by(|&x, &y| distance(&a[x]).total_cmp(&distance(&a[y]))).expect("a class");
        used[best] = true;
        assert!(distance(&a[best]) <= 1e-4, "class {c}: {:?} against stepmix's {profile:?}", a[best]);
    }
    // Criteria follow the log-likelihood; the entropy, which DESIGN.md gives no tolerance,
    // moves with the parameters (1e-4): 1e-5 relative.
    for (key, tolerance) in [("aic", 1e-6), ("bic", 1e-6), ("entropy", 1e-5)] {
        let (x, y) = (number(&actual[key]), number(&expected[key]));
        assert!((x - y).abs() <= tolerance * y.abs(), "{key}: {x} against {y}");
    }
}

#[test]
fn shell_words_follow_posix_quoting() {
    assert_eq!(
        shell_words(r#"strata msm --qmatrix '0,0.1;0,0' --formula "y ~ x + (1 | g)""#),
        ["strata", "msm", "--qmatrix", "0,0.1;0,0", "--formula", "y ~ x + (1 | g)"]
    );
}

/// The largest relative difference from R in each group of fields of `expected`.
fn largest_differences(actual: &Value, expected: &Value, path: &str, out: &mut Vec<(String, f64)>) {
    match expected {
        Value::Object(map) => {
            for (key, e) in map {
                if key != "definitions" {
                    if let Some(a) = actual.get(key) {
                        largest_differences(a, e, &format!("{path}.{key}"), out);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(actual_items) = actual.as_array().filter(|a| a.len() == items.len()) {
                for (a, e) in actual_items.iter().zip(items) {
                    largest_differences(a, e, path, out);
                }
            }
        }
        Value::Number(e) => {
            let actual = match actual.as_array().map(Vec::as_slice) {
                Some([single]) => single,
                _ => actual,
            };
            if let (Some(a), Some(e)) = (actual.as_f64(), e.as_f64()) {
                if e != 0.0 {
                    let group = if path.ends_with(".estimate") {
                        "estimates"
                    } else if path.ends_with("std_error") {
                        "standard errors"
                    } else {
                        "other"
                    };
                    out.push((group.to_string(), (a - e).abs() / e.abs()));
                }
            }
        }
        _ => {}
    }
}

/// Writes `validation.md` in Cargo's test scratch folder (`target/tmp/`): for every reference
/// case strata implements, the largest
/// relative difference from R by kind of quantity (the table of docs/validation.md).
#[test]
fn validation_report() {
    let mut cases: Vec<String> = std::fs::read_dir(reference_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    cases.sort();
    let mut table = String::from("| case | estimates | standard errors | other |\n|---|---|---|---|\n");
    let mut implemented = 0;
    for case in &cases {
        let dir = reference_dir().join(case);
        let output = run_case_command(&dir);
        if !output.status.success() {
            let _ = writeln!(table, "| `{case}` | not implemented | | |");
            continue;
        }
        implemented += 1;
        let actual: Value = serde_json::from_slice(&output.stdout).unwrap();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        let mut differences = Vec::new();
        largest_differences(&actual, &expected, "", &mut differences);
        let largest = |group: &str| {
            differences
                .iter()
                .filter(|(g, _)| g == group)
                .map(|(_, d)| *d)
                .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))))
                .map_or("–".to_string(), |d| format!("{d:.1e}"))
        };
        let _ = writeln!(
            table,
            "| `{case}` | {} | {} | {} |",
            largest("estimates"),
            largest("standard errors"),
            largest("other")
        );
    }
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("validation.md");
    std::fs::write(&target, &table).unwrap();
    eprintln!("validation table written to {}", target.display());
    assert!(implemented >= 16, "{implemented} reference cases run");
}

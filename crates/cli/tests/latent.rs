//! `strata lca` beyond the reference case: ranges of K, the bootstrap test, covariates,
//! posterior output and hostile input.

use std::fmt::Write as _;
mod common;

use common::{strata, temp_file as write, temp_path as temp, REFERENCE};

const INDICATORS: &str = "domestic_abuse,mental_health_parent,drug_misuse_parent,alcohol_misuse_parent,neglect,emotional_abuse,mental_health_child,physical_abuse,going_missing,learning_disability_child";

#[test]
fn a_range_of_classes_is_tabulated_with_its_criteria() {
    let data = format!("{REFERENCE}/lca_assessment_factors_4class/data.csv");
    let plot = temp("criteria.svg");
    let output = strata(&[
        "lca",
        "--data",
        &data,
        "--indicators",
        INDICATORS,
        "--classes",
        "2:4",
        "--starts",
        "10",
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let fits = json["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 3);
    assert_eq!(json["best_bic"], 4);
    // The 4-class row is the reference fit.
    assert!((fits[2]["log_likelihood"].as_f64().unwrap() + 13_234.229_196_966_668).abs() < 1e-4);
    assert!(std::fs::read_to_string(&plot).unwrap().contains("BIC"));
}

#[test]
fn posterior_probabilities_are_written_row_by_row() {
    let data = format!("{REFERENCE}/lca_assessment_factors_4class/data.csv");
    let posterior = temp("posterior.csv");
    let profiles = temp("profiles.svg");
    let output = strata(&[
        "lca",
        "--data",
        &data,
        "--indicators",
        INDICATORS,
        "--classes",
        "4",
        "--starts",
        "10",
        "--posterior",
        posterior.to_str().unwrap(),
        "--plot",
        profiles.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&posterior).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,class1,class2,class3,class4,modal");
    assert_eq!(lines.len(), 3001);
    for line in &lines[1..] {
        let fields: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        let sum: f64 = fields[1..5].iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        let modal = fields[5] as usize;
        assert!(fields[1..5].iter().all(|&p| p <= fields[modal]));
    }
    assert!(std::fs::read_to_string(&profiles).unwrap().contains("class 4"));
}

/// Two classes whose membership depends on x (log odds 1.2 a unit), ten binary indicators.
#[test]
fn covariate_effects_in_one_and_three_steps() {
    let mut text = String::from("x");
    for j in 1..=6 {
        write!(text, ",f{j}").unwrap();
    }
    text.push('\n');
    let mut state: u64 = 7;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..3000 {
        let x = next() * 4.0 - 2.0;
        let class = usize::from(next() < 1.0 / (1.0 + (-(1.2 * x - 0.3)).exp()));
        write!(text, "{x:.5}").unwrap();
        for j in 0..6 {
            let p = if (class == 1) == (j < 3) { 0.85 } else { 0.15 };
            write!(text, ",{}", u8::from(next() < p)).unwrap();
        }
        text.push('\n');
    }
    let data = write("covariates.csv", &text);
    for (steps, correction) in [("1", None), ("3", Some("bch")), ("3", Some("ml"))] {
        let mut args = vec![
            "lca",
            "--data",
            &data,
            "--indicators",
            "f1,f2,f3,f4,f5,f6",
            "--classes",
            "2",
            "--covariates",
            "x",
            "--steps",
            steps,
            "--json",
        ];
        if let Some(c) = correction {
            args.extend(["--correction", c]);
        }
        let output = strata(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let slope =
            json["membership"]["coefficients"].as_array().unwrap().iter().find(|c| c["term"] == "x").unwrap().clone();
        let (estimate, se) = (slope["estimate"].as_f64().unwrap(), slope["std_error"].as_f64().unwrap());
        // Class 2 is the smaller: either class may be the one with f1–f3 high, so |slope|.
        assert!((estimate.abs() - 1.2).abs() < 4.0 * se, "{steps} {correction:?}: {estimate} ± {se}");
    }
}

#[test]
fn hostile_input_is_an_error() {
    let constant = write("constant.csv", "a,b\n1,0\n1,1\n1,0\n");
    let fraction = write("fraction.csv", "a,b\n0.5,0\n1,1\n0,0\n");
    let text = write("text.csv", "a,b\nyes,0\nno,1\n");
    let few = write("few.csv", "a,b\n0,1\n1,0\n0,1\n");
    let empty = write("empty.csv", "a,b\n");
    let cases: [(&[&str], &str); 10] = [
        (&["lca", "--data", &empty, "--indicators", "a,b", "--classes", "2"], "no row"),
        (&["lca", "--data", &few, "--indicators", "a,a", "--classes", "2"], "given twice"),
        (&["lca", "--data", &few, "--indicators", "a,b", "--classes", "2", "--starts", "1000000000"], "at most"),
        (&["lca", "--data", &constant, "--indicators", "a,b", "--classes", "2"], "single value"),
        (&["lca", "--data", &fraction, "--indicators", "a,b", "--classes", "2"], "whole-number"),
        (&["lca", "--data", &text, "--indicators", "a,b", "--classes", "2"], "not numeric"),
        (&["lca", "--data", &few, "--indicators", "a,b", "--classes", "3"], "only 2 distinct response patterns"),
        (&["lca", "--data", &few, "--indicators", "a,c", "--classes", "2"], "`c`"),
        (&["lca", "--data", &few, "--indicators", "a,b", "--classes", "two"], "--classes"),
        (&["lca", "--data", &few, "--indicators", "a,b", "--classes", "2", "--steps", "3"], "--covariates <COLUMNS>"),
    ];
    // Two binary indicators cannot identify two classes: fitted, with poLCA's alert.
    let output = strata(&["lca", "--data", &few, "--indicators", "a,b", "--classes", "2", "--json"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not identified"));
    for (args, message) in cases {
        let output = strata(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

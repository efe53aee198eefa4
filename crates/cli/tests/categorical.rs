//! `strata multinom` and `strata ordinal` beyond the reference cases: the test of proportional
//! odds against the ordinal package's published figures, and hostile input.

use std::process::{Command, Output};

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference");

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata")
}

/// Christensen's clm tutorial (ordinal package vignette), `nominal_test(clm(rating ~ temp +
/// contact, data = wine))`: temp logLik −84.904, LRT 3.1750 on 3 df, p 0.3654; contact
/// −86.209, 0.5667, 0.9040.
#[test]
fn proportional_odds_test_matches_the_ordinal_tutorial() {
    let data = format!("{REFERENCE}/ord_wine_clm/data.csv");
    let output = strata(&[
        "ordinal",
        "--data",
        &data,
        "--formula",
        "rating ~ temp + contact",
        "--levels",
        "1,2,3,4,5",
        "--nominal-test",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let tests = json["nominal_test"].as_array().unwrap();
    for (test, (term, log_likelihood, statistic, p)) in
        tests.iter().zip([("temp", -84.904, 3.1750, 0.3654), ("contact", -86.209, 0.5667, 0.9040)])
    {
        assert_eq!(test["term"], term);
        assert_eq!(test["df"], 3);
        assert!((test["log_likelihood"].as_f64().unwrap() - log_likelihood).abs() < 5e-4, "{test}");
        assert!((test["statistic"].as_f64().unwrap() - statistic).abs() < 5e-5, "{test}");
        assert!((test["p_value"].as_f64().unwrap() - p).abs() < 5e-5, "{test}");
    }
}

fn write(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("strata-categorical-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn hostile_input_is_an_error_or_a_warning() {
    let ordered = write("ordered.csv", "g,x\na,1\na,2\na,3\nb,4\nb,5\nc,6\nc,7\nc,8\n");
    let one = write("one.csv", "g,x\na,1\na,2\na,3\n");
    let errors: [(&[&str], &str); 5] = [
        (&["ordinal", "--data", &one, "--formula", "g ~ x"], "1 level(s)"),
        (&["multinom", "--data", &one, "--formula", "g ~ x"], "1 level(s)"),
        (&["ordinal", "--data", &ordered, "--formula", "g ~ x", "--levels", "a,b"], "not among the levels a,b"),
        (&["ordinal", "--data", &ordered, "--formula", "g ~ x", "--levels", "a,b,c,d"], "no observation at level `d`"),
        (&["multinom", "--data", &ordered, "--formula", "g ~ x", "--reference", "z"], "reference `z`"),
    ];
    for (args, message) in errors {
        let output = strata(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // x separates the categories completely: a fit, with a warning on stderr and in the JSON.
    for command in ["ordinal", "multinom"] {
        let output = strata(&[command, "--data", &ordered, "--formula", "g ~ x", "--json"]);
        assert!(output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("separates"), "{command}");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(json["warnings"][0].as_str().unwrap().contains("separates"), "{command}");
    }
}

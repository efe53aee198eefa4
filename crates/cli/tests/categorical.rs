//! `strata multinom` and `strata ordinal` beyond the reference cases: the test of proportional
//! odds against the ordinal package's published figures, and hostile input.

mod common;

use common::{strata, temp_file as write, REFERENCE};

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
        assert!(json["warnings"][0]["message"].as_str().unwrap().contains("separates"), "{command}");
    }
}

/// Two grouping factors (the joint Laplace approximation), against R 4 / ordinal on this
/// machine: `data(wine); write.csv(...)` gives `tests/data/wine_bottle.csv`, and
/// `clmm(rating ~ temp + contact + (1 | judge) + (1 | bottle:judge), data = wine)` gives
/// log-likelihood −81.5414191638489, variances 1.411853199477204 (judge) and 0.282340245932019
/// (bottle:judge), and the estimates and standard errors below.
#[test]
fn two_random_intercepts_match_clmm() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/wine_bottle.csv");
    let output = strata(&[
        "ordinal",
        "--data",
        data,
        "--formula",
        "rating ~ temp + contact + (1 | judge) + (1 | bottle:judge)",
        "--levels",
        "1,2,3,4,5",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let close = |value: &serde_json::Value, expected: f64, tolerance: f64| {
        let value = value.as_f64().unwrap();
        assert!((value - expected).abs() <= tolerance * expected.abs(), "{value} vs {expected}");
    };
    assert!(json["log_likelihood"].as_f64().unwrap() >= -81.541_419_163_848_9 * (1.0 + 1e-6));
    close(&json["random_effects"][0]["vcov"], 1.411_853_199_477_204, 1e-4);
    close(&json["random_effects"][1]["vcov"], 0.282_340_245_932_019, 1e-3);
    assert_eq!(json["random_effects"][1]["group"], "bottle:judge");
    let estimates = [(3.226_731_774_541_06, 1.010_862_655_348_194), (1.926_332_493_306_94, 0.697_926_159_357_57)];
    for (c, (b, se)) in json["coefficients"].as_array().unwrap().iter().zip(estimates) {
        close(&c["estimate"], b, 1e-5);
        close(&c["std_error"], se, 1e-4);
    }
    let thresholds = [
        (-1.704_996_383_448_58, 0.814_594_326_210_006),
        (1.594_317_218_917_87, 0.745_482_824_249_198),
        (4.450_520_265_021_69, 1.371_596_577_262_47),
        (6.404_470_867_418_81, 1.843_306_774_018_212),
    ];
    for (t, (b, se)) in json["thresholds"].as_array().unwrap().iter().zip(thresholds) {
        close(&t["estimate"], b, 1e-5);
        close(&t["std_error"], se, 1e-4);
    }
    // Quadrature needs a single grouping factor, as in ordinal.
    let output = strata(&[
        "ordinal",
        "--data",
        data,
        "--formula",
        "rating ~ temp + (1 | judge) + (1 | bottle)",
        "--levels",
        "1,2,3,4,5",
        "--nagq",
        "5",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("single grouping factor"));
}

/// `--predict` writes each new row's probability of every level, in the levels' order; they
/// sum to one.
#[test]
fn predictions_for_new_data() {
    let data = format!("{REFERENCE}/ord_wine_clm/data.csv");
    let new = write("new.csv", "temp,contact\ncold,no\nwarm,yes\n");
    for command in ["ordinal", "multinom"] {
        let out = std::env::temp_dir().join(format!("strata-predictions-{}-{command}.csv", std::process::id()));
        let output = strata(&[
            command,
            "--data",
            &data,
            "--formula",
            "rating ~ temp + contact",
            "--levels",
            "1,2,3,4,5",
            "--predict",
            &new,
            "--predictions",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "row,\"1\",\"2\",\"3\",\"4\",\"5\"", "{command}");
        for line in &lines[1..] {
            let total: f64 = line.split(',').skip(1).map(|v| v.parse::<f64>().unwrap()).sum();
            assert!((total - 1.0).abs() < 1e-12, "{command}: {line}");
        }
        // Warm and in contact with the skins, wine is rated higher.
        let high = |line: &str| line.split(',').nth(5).unwrap().parse::<f64>().unwrap();
        assert!(high(lines[2]) > high(lines[1]), "{command}");
        let _ = std::fs::remove_file(out);
    }
}

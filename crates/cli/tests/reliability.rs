//! Nothing silently wrong, nothing that crashes: outputs never overwrite inputs and are written
//! whole or not at all; numeric options must be finite and within bounds that keep memory and
//! time in check; a response on both sides of a formula is refused.

mod common;

use common::{run_case_command, strata, temp_file as temp, REFERENCE};
use std::fmt::Write as _;

fn refused(args: &[&str], message: &str) {
    let output = strata(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn an_output_never_overwrites_an_input() {
    let copy = std::env::temp_dir().join(format!("strata-reliability-{}-lung.csv", std::process::id()));
    std::fs::copy(format!("{REFERENCE}/km_lung_by_sex/data.csv"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let data = copy.to_str().unwrap();
    refused(&["km", "--data", data, "--formula", "Surv(time, status) ~ sex", "--plot", data], "is an input");
    assert_eq!(std::fs::read(&copy).unwrap(), before, "the data are untouched");
    // A plot elsewhere is written whole, with no temporary file left beside it.
    let dir = std::env::temp_dir().join(format!("strata-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("km.svg");
    let output =
        strata(&["km", "--data", data, "--formula", "Surv(time, status) ~ sex", "--plot", plot.to_str().unwrap()]);
    assert!(output.status.success());
    assert!(std::fs::read_to_string(&plot).unwrap().trim_end().ends_with("</svg>"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only the plot");
}

#[test]
fn numeric_options_are_finite_and_bounded() {
    let cbpp = format!("{REFERENCE}/glmm_cbpp_laplace/data.csv");
    let mgus = format!("{REFERENCE}/cr_mgus2_cuminc/data.csv");
    let incomes = format!("{REFERENCE}/ineq_lognormal_incomes/data.csv");
    let glmm = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
    refused(
        &["glmm", "--data", &cbpp, "--family", "binomial", "--nagq", "1000000000", "--formula", glmm],
        "from 1 to 100",
    );
    refused(&["cuminc", "--data", &mgus, "--time", "etime", "--event", "event", "--at", "NaN"], "not a finite number");
    refused(&["cuminc", "--data", &mgus, "--time", "etime", "--event", "event", "--rho", "inf"], "not a finite number");
    refused(&["inequality", "--data", &incomes, "--value", "value", "--epsilon", "NaN"], "not a number from 0 to Inf");
    refused(&["inequality", "--data", &incomes, "--value", "value", "--bootstrap", "100000000000"], "from 1 to");
    refused(&["demo", "--neighbourhoods", "1000000000"], "from 100 to");
}

#[test]
fn a_response_on_both_sides_is_refused() {
    let insurance = format!("{REFERENCE}/glm_insurance_poisson/data.csv");
    refused(
        &["glm", "--data", &insurance, "--family", "poisson", "--formula", "Claims ~ Claims"],
        "also appears on the right-hand side",
    );
    refused(
        &["glm", "--data", &insurance, "--family", "poisson", "--formula", "Claims ~ Age + Claims:Age"],
        "also appears",
    );
}

/// Every `--json` object carries a `warnings` array, holding what was printed on stderr.
#[test]
fn json_output_carries_the_warnings() {
    for case in ["glm_insurance_poisson", "km_lung_by_sex", "cor_la_2025_pearson", "seq_pathways_om"] {
        let output = run_case_command(&std::path::Path::new(REFERENCE).join(case));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(json["warnings"].is_array(), "{case}");
    }
    let few = std::env::temp_dir().join(format!("strata-reliability-{}-few.csv", std::process::id()));
    std::fs::write(&few, "a,b\n0,1\n1,0\n0,1\n").unwrap();
    let output = strata(&["lca", "--data", few.to_str().unwrap(), "--indicators", "a,b", "--classes", "2", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warnings: Vec<&str> =
        json["warnings"].as_array().unwrap().iter().filter_map(|w| w["message"].as_str()).collect();
    assert!(warnings.iter().any(|w| w.contains("not identified")), "{warnings:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not identified"));
}

/// Data that break a model's assumptions are refused, as R refuses them.
#[test]
fn data_against_the_models_assumptions_are_refused() {
    let one = temp("one.csv", "y,x,g\n1,1,a\n2,2,a\n3,4,a\n5,3,a\n");
    refused(&["glm", "--data", &one, "--family", "gaussian", "--formula", "y ~ x + g"], "2 or more levels");
    refused(&["lmm", "--data", &one, "--formula", "y ~ x + (1 | g)"], "one level");
    // Inequality errors name the column and the data row (not a 0-based position).
    let negative = temp("negative.csv", "v,r\n1,1\n-1,2\n30,3\n");
    refused(&["inequality", "--data", &negative, "--value", "v"], "`v` has the value -1 at data row 2");
    let groups = temp("groups.csv", "rank,pop,count\n1,100,3\n2,0,4\n3,100,5\n");
    refused(
        &["inequality", "--grouped", "--data", &groups, "--rank", "rank", "--population", "pop", "--count", "count"],
        "`pop` has the value 0 at data row 2",
    );
    let constant = temp("constant.csv", "y,x,g\n1,1,a\n1,2,a\n1,4,b\n1,3,b\n1,5,c\n1,2,c\n");
    refused(&["lmm", "--data", &constant, "--formula", "y ~ x + (1 | g)"], "Response is constant");
    refused(
        &["glmm", "--data", &constant, "--family", "poisson", "--formula", "y ~ x + (1 | g)"],
        "Response is constant",
    );
    let ranks = temp("ranks.csv", "decile,population,count\n1,100,5\n1,100,6\n2,100,7\n3,100,9\n");
    refused(
        &[
            "inequality",
            "--data",
            &ranks,
            "--grouped",
            "--rank",
            "decile",
            "--population",
            "population",
            "--count",
            "count",
        ],
        "rank 1 appears in rows 1 and 2",
    );
    // msm: a subject's rows apart, and a move the intensity matrix forbids.
    let q = "0,0.1,0;0,0,0.1;0,0,0";
    let apart = temp("apart.csv", "id,t,s\n1,0,1\n1,1,2\n2,0,1\n2,2,2\n1,3,3\n");
    refused(
        &["msm", "--data", &apart, "--subject", "id", "--time", "t", "--state", "s", "--qmatrix", q],
        "not together",
    );
    let back = temp("back.csv", "id,t,s\n1,0,1\n1,1,2\n2,0,2\n2,2,1\n");
    refused(
        &["msm", "--data", &back, "--subject", "id", "--time", "t", "--state", "s", "--qmatrix", q],
        "from state 2 to state 1",
    );
}

/// Where R fits and warns, strata fits and warns; codes that look like DfE suppression codes are
/// a factor's levels when a column holds no number.
#[test]
fn where_r_warns_strata_warns() {
    let counts = temp("counts.csv", "y,x\n1.5,1\n2,2\n3.3,3\n4,4\n");
    let output = strata(&["glm", "--data", &counts, "--family", "poisson", "--formula", "y ~ x", "--json"]);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["warnings"][0]["message"].as_str().unwrap().contains("not whole counts"), "{json}");
    // An identity-link Poisson fit whose intercept runs into μ = 0: R's glm (seed 73 of
    // rpois(20, pmax(0.02, −0.5 + 1.2x))) warns "algorithm stopped at boundary value".
    let edge = temp(
        "edge.csv",
        "x,y\n0,0\n0,0\n0,0\n0,0\n1,1\n1,0\n1,0\n1,3\n2,1\n2,3\n2,2\n2,3\n3,6\n3,4\n3,9\n3,6\n4,8\n4,7\n4,5\n4,0\n",
    );
    let output =
        strata(&["glm", "--data", &edge, "--family", "poisson", "--link", "identity", "--formula", "y ~ x", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["warnings"][0]["kind"], "boundary", "{json}");
    // R: (Intercept) 1.25e-09, x 1.449971.
    assert!((json["coefficients"][1]["estimate"].as_f64().unwrap() - 1.449_971).abs() < 1e-4, "{json}");
    // Found by the option fuzzer: a response the fixed effects explain perfectly gave a NaN t
    // statistic, on which statrs panicked. Now NaN p-values and a warning, as a fit that R
    // would also leave without standard errors.
    let mut absorbed = String::from("y,x,la,year\n");
    for i in 0..40 {
        absorbed += &[
            (i % 5).to_string(),
            (f64::from(i % 7) - 3.0).to_string(),
            format!("L{}", i % 5),
            (2015 + i % 4).to_string(),
        ]
        .join(",");
        absorbed.push('\n');
    }
    let absorbed = temp("absorbed.csv", &absorbed);
    let output = strata(&["feols", "--data", &absorbed, "--formula", "y ~ x | la + year", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["warnings"][0]["kind"], "data", "{json}");
    let codes = temp("codes.csv", "y,x,g\n1,1,c\n2,2,x\n3,4,c\n5,3,x\n2,2,c\n");
    let output = strata(&["glm", "--data", &codes, "--family", "gaussian", "--formula", "y ~ x + g", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json.to_string().contains("gx"), "g is a factor with levels c and x: {json}");
}

/// Multi-state histories that contradict themselves are refused, naming the subject.
#[test]
fn inconsistent_histories_are_refused() {
    let header = "id,state,next,start,stop\n";
    let stays = ["--subject", "id", "--state", "state", "--next", "next", "--start", "start", "--stop", "stop"];
    let cases = [
        ("overlap.csv", "a,A,B,0,2\na,B,,1,3\nb,A,B,0,1\nb,B,,1,2\n", "overlap"),
        ("mismatch.csv", "a,A,B,0,2\na,C,,2,3\nb,A,B,0,1\nb,B,,1,2\n", "its next stay is in `C`"),
        ("censored.csv", "a,A,,0,2\na,B,,2,3\nb,A,B,0,1\nb,B,,1,2\n", "censored"),
        ("gap.csv", "a,A,B,0,2\na,B,,2.5,3\nb,A,B,0,1\nb,B,,1,2\n", "gaps"),
    ];
    for (name, rows, message) in cases {
        let data = temp(name, &format!("{header}{rows}"));
        refused(&[&["multistate", "--data", &data][..], &stays].concat(), message);
    }
    let data = temp("absorbing.csv", &format!("{header}a,A,B,0,2\na,B,A,2,3\na,A,,3,4\nb,A,B,0,1\nb,B,,1,2\n"));
    refused(&[&["multistate", "--data", &data][..], &stays, &["--absorbing", "B"]].concat(), "never left");
}

/// Numerical edge cases: Atkinson's index for extreme aversion, a covariate that separates a
/// cause in Fine–Gray, cumulative incidence asked beyond the last follow-up.
#[test]
fn numerical_edge_cases_are_named_or_right() {
    let incomes = format!("{REFERENCE}/ineq_lognormal_incomes/data.csv");
    let output = strata(&[
        "inequality",
        "--data",
        &incomes,
        "--value",
        "value",
        "--index",
        "atkinson",
        "--epsilon",
        "1000,Inf",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let (large, infinite) = (json["atkinson"]["1000"].as_f64().unwrap(), json["atkinson"]["Inf"].as_f64().unwrap());
    assert!(large > 0.8 && large < infinite && infinite < 1.0, "{json}");
    // x = 0 never has an event of cause 1.
    let mut text = String::from("t,e,x\n");
    for i in 0..100 {
        let x = i % 2;
        let e = if i % 5 == 0 {
            0
        } else if x == 1 {
            1
        } else {
            2
        };
        writeln!(text, "{}.5,{e},{x}", i % 17 + 1).unwrap();
    }
    let data = temp("separated.csv", &text);
    refused(
        &["fine-gray", "--data", &data, "--cause", "1", "--censor-code", "0", "--formula", "Surv(t, e) ~ x"],
        "monotone likelihood",
    );
    let mgus = format!("{REFERENCE}/cr_mgus2_cuminc/data.csv");
    let output =
        strata(&["cuminc", "--data", &mgus, "--time", "etime", "--event", "event", "--at", "100,1000000", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["cif"]["cause1"][0].is_number() && json["cif"]["cause1"][1].is_null(), "{json}");
}

/// `--strict`, accepted by every subcommand, turns a warning into an error.
#[test]
fn strict_turns_warnings_into_errors() {
    let counts = temp("strict.csv", "y,x\n1.5,1\n2,2\n3.3,3\n4,4\n");
    let args = ["glm", "--data", counts.as_str(), "--family", "poisson", "--formula", "y ~ x"];
    assert!(strata(&args).status.success());
    let mut strict = args.to_vec();
    strict.push("--strict");
    refused(&strict, "--strict: 2 response value(s) are not whole counts");
    let insurance = format!("{REFERENCE}/glm_insurance_poisson/data.csv");
    let clean = strata(&["glm", "--data", &insurance, "--family", "poisson", "--formula", "Claims ~ Age", "--strict"]);
    assert!(clean.status.success(), "no warning, no error");
}

/// The parser names a misspelt option's or value's likely meaning, lists the possible values,
/// and writes completion scripts that know every subcommand and option.
#[test]
fn the_parser_suggests_and_completes() {
    let insurance = format!("{REFERENCE}/glm_insurance_poisson/data.csv");
    refused(&["glm", "--data", &insurance, "--formla", "Claims ~ Age"], "a similar argument exists: '--formula'");
    refused(
        &["glm", "--data", &insurance, "--formula", "Claims ~ Age", "--family", "poison"],
        "[possible values: gaussian, binomial, poisson, quasipoisson, gamma, negbin]",
    );
    refused(&["fine-grey", "--data", &insurance], "a similar subcommand exists: 'fine-gray'");
    refused(&["lmm", "--data", &insurance, "--formula", "y ~ (1 | g)", "--predict", "new.csv"], "--predictions");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = strata(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("fine-gray") && script.contains("keep-singletons"), "{shell}");
    }
}

/// Progress bars are drawn only on a terminal: a bootstrap whose stderr is a pipe writes nothing
/// there.
#[test]
fn no_progress_bar_off_a_terminal() {
    let sleep = format!("{REFERENCE}/lmm_sleepstudy_reml/data.csv");
    let output =
        strata(&["lmm", "--data", &sleep, "--formula", "Reaction ~ Days + (1 | Subject)", "--bootstrap", "20"]);
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
}

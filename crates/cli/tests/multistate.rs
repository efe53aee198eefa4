//! `strata multistate` from per-child event histories (`--time --end --absorbing`).

use std::process::Command;

#[test]
fn event_histories_give_occupation_probabilities() {
    let dir = std::env::temp_dir().join(format!("strata-multistate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("entries.csv");
    std::fs::write(&data, "id,t,s\na,0,referral\na,2,plan\na,5,exit\nb,1,referral\nc,0,referral\nc,3,exit\n").unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["multistate", "--data", data.to_str().unwrap(), "--subject", "id", "--state", "s", "--time", "t"])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run(&["--end", "10", "--absorbing", "exit", "--at", "4", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["states"], serde_json::json!(["exit", "plan", "referral"]));
    // At t = 4: a is on a plan, c has exited, b is still a referral.
    for p in json["occupation"][0].as_array().unwrap() {
        assert!((p.as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    }
    let misspelt = run(&["--end", "10", "--absorbing", "exitt"]);
    assert!(!misspelt.status.success() && String::from_utf8_lossy(&misspelt.stderr).contains("exitt"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `strata msm --death-exact 4 --at 10` on the psor reference data, against msm 1.7:
/// `msm(state ~ months, subject = ptnum, data = d, qmatrix = Q, deathexact = 4)` and
/// `pmatrix.msm(f, 10)`.
#[test]
fn msm_with_exact_death_times_and_probabilities_at_chosen_intervals() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/msm_psor_progressive/data.csv");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["msm", "--data", data, "--subject", "ptnum", "--time", "months", "--state", "state"])
            .args(["--qmatrix", "0,0.1,0,0;0,0,0.1,0;0,0,0,0.1;0,0,0,0"])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run(&["--death-exact", "4", "--at", "10", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!((json["minus2_log_likelihood"].as_f64().unwrap() - 1_262.756_636_290_71).abs() < 1e-5);
    for (t, msm) in json["transitions"].as_array().unwrap().iter().zip([0.090_960_277, 0.153_336_195, 0.217_312_159]) {
        assert!((t["intensity"].as_f64().unwrap() / msm - 1.0).abs() < 2e-5, "{t}");
    }
    let p10 = &json["probabilities"][0];
    assert_eq!(p10["t"], 10.0);
    assert!((p10["p"][0][3].as_f64().unwrap() - 0.170_063_459_403_209).abs() < 1e-6);
    let transient = run(&["--death-exact", "2"]);
    assert!(!transient.status.success() && String::from_utf8_lossy(&transient.stderr).contains("absorbing"));
    // msm(..., qconstraint = c(1, 1, 2)): q12 = q23; −2 log L 1257.22372492.
    let shared = run(&["--qconstraint", "1,1,2", "--json"]);
    assert!(shared.status.success(), "{}", String::from_utf8_lossy(&shared.stderr));
    let shared: serde_json::Value = serde_json::from_slice(&shared.stdout).unwrap();
    assert!((shared["minus2_log_likelihood"].as_f64().unwrap() - 1_257.223_724_92).abs() < 1e-5);
    assert_eq!(shared["transitions"][0]["intensity"], shared["transitions"][1]["intensity"]);
    for (t, msm) in
        shared["transitions"].as_array().unwrap().iter().zip([0.114_747_019_297, 0.114_747_019_297, 0.260_994_549_727])
    {
        assert!((t["intensity"].as_f64().unwrap() / msm - 1.0).abs() < 2e-3, "{t}");
    }
    assert!(!run(&["--qconstraint", "1,2"]).status.success());
    for malformed in ["1-2", "1-2:", "a-2:x", "1-3:x"] {
        let output = run(&["--covariates", malformed]);
        assert!(!output.status.success(), "{malformed}");
    }
    let negative = run(&["--at=-1"]);
    assert!(!negative.status.success() && String::from_utf8_lossy(&negative.stderr).contains("--at"));
}

/// `strata multistate --cox x` on synthetic stays (tests/data/multistate_stays.csv: A → B → C and
/// A → C, an effect of x on A → B), against survival 3.5.3 on the long format built by hand in R:
/// each stay at risk of every transition out of its state (1: A → B, 2: A → C, 3: B → C),
/// `x.k = x` on transition k's rows, `coxph(Surv(start, stop, status) ~ x.1 + x.2 + x.3 +
/// strata(trans))`: coefficients 0.1675250141001, −0.4837228915883, 0.0531653302536, standard
/// errors 0.150217278098, 0.337732094245, 0.172904663860, log-likelihood −433.410530505.
#[test]
fn multistate_cox_matches_coxph_on_the_long_format() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/multistate_stays.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["multistate", "--data", data, "--subject", "id", "--state", "state", "--next", "next"])
        .args(["--start", "start", "--stop", "stop", "--cox", "x", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["transitions"], serde_json::json!(["1: A -> B", "2: A -> C", "3: B -> C"]));
    let expected = [
        (0.167_525_014_100_1, 0.150_217_278_098),
        (-0.483_722_891_588_3, 0.337_732_094_245),
        (0.053_165_330_253_6, 0.172_904_663_860),
    ];
    for (c, (estimate, std_error)) in json["cox"]["coefficients"].as_array().unwrap().iter().zip(expected) {
        assert!((c["estimate"].as_f64().unwrap() - estimate).abs() < 1e-7, "{c}");
        assert!((c["std_error"].as_f64().unwrap() - std_error).abs() < 1e-7, "{c}");
    }
    assert!((json["cox"]["log_likelihood"].as_f64().unwrap() + 433.410_530_505).abs() < 1e-6);
    let missing = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["multistate", "--data", data, "--subject", "id", "--state", "state", "--next", "next"])
        .args(["--start", "start", "--stop", "stop", "--cox", "nothere"])
        .output()
        .unwrap();
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("nothere"));
}

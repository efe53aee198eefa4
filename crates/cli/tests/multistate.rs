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
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference/msm_psor_progressive/data.csv");
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
    for malformed in ["1-2", "1-2:", "a-2:x", "1-3:x"] {
        let output = run(&["--covariates", malformed]);
        assert!(!output.status.success(), "{malformed}");
    }
    let negative = run(&["--at=-1"]);
    assert!(!negative.status.success() && String::from_utf8_lossy(&negative.stderr).contains("--at"));
}

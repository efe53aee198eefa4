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

//! `strata cuminc --group`: curves by group and Gray's test, checked against cmprsk 2.2 on the
//! `cr_mgus2_cuminc` data:
//! `d <- read.csv(".../cr_mgus2_cuminc/data.csv"); f <- cuminc(d$etime, d$event, d$sex, cencode = 0)`.

use std::process::Command;

const MGUS2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/cr_mgus2_cuminc/data.csv");

fn cuminc(data: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["cuminc", "--data", data, "--time", "etime", "--event", "event"])
        .args(extra)
        .output()
        .unwrap()
}

fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn assert_statistics(json: &serde_json::Value, cmprsk: [f64; 2]) {
    for (test, expected) in json["tests"].as_array().unwrap().iter().zip(cmprsk) {
        let chisq = test["chisq"].as_f64().unwrap();
        assert!((chisq - expected).abs() < 1e-10 * expected, "cause {}: {chisq} vs cmprsk {expected}", test["cause"]);
        assert_eq!(test["df"], 1);
    }
}

#[test]
fn grays_test_and_curves_by_sex_match_cmprsk() {
    let fit = json(&cuminc(MGUS2, &["--group", "sex", "--at", "60,120", "--json"]));
    // f$Tests[, "stat"]; p-values 0.274422156788004 and 0.000641590976407924.
    assert_statistics(&fit, [1.194_507_825_075_51, 11.651_259_012_127_74]);
    assert!((fit["tests"][1]["p_value"].as_f64().unwrap() - 0.000_641_590_976_407_924).abs() < 1e-12);
    // timepoints(f, c(60, 120)): estimates and variances of each sex and cause.
    let expected = [
        (
            "F cause1",
            [0.039_789_621_504_405_3, 0.073_885_664_375_926_2],
            [6.091_510_737_533_52e-5, 1.162_397_817_024_78e-4],
        ),
        (
            "M cause2",
            [0.367_626_985_608_863, 0.575_178_488_879_491],
            [3.104_941_945_250_15e-4, 3.594_516_428_386_22e-4],
        ),
    ];
    for (name, estimates, variances) in expected {
        for i in 0..2 {
            assert!((fit["cif"][name][i].as_f64().unwrap() - estimates[i]).abs() < 1e-9, "{name}");
            assert!((fit["cif_variance"][name][i].as_f64().unwrap() - variances[i]).abs() < 1e-10, "{name}");
        }
    }
    // cuminc(..., rho = 1)
    assert_statistics(
        &json(&cuminc(MGUS2, &["--group", "sex", "--rho", "1", "--json"])),
        [1.229_358_833_559_98, 13.930_509_714_948_66],
    );
}

#[test]
fn stratified_test_matches_cmprsk() {
    // cuminc(d$etime, d$event, d$sex, d$age > 70, cencode = 0)$Tests
    let dir = std::env::temp_dir().join(format!("strata-competing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(MGUS2).unwrap();
    let mut lines = text.lines();
    let header = format!("{},old", lines.next().unwrap());
    let rows = lines.map(|line| {
        let age: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
        format!("{line},{}", age > 70.0)
    });
    let csv: Vec<String> = std::iter::once(header).chain(rows).collect();
    let csv = csv.join("\n");
    let data = dir.join("mgus2_old.csv");
    std::fs::write(&data, csv).unwrap();
    let fit = json(&cuminc(data.to_str().unwrap(), &["--group", "sex", "--strata", "old", "--json"]));
    assert_statistics(&fit, [1.748_025_871_145_75, 23.848_800_550_627_28]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn strata_without_groups_and_a_missing_group_column_are_errors() {
    let strata_only = cuminc(MGUS2, &["--strata", "sex"]);
    assert!(!strata_only.status.success() && String::from_utf8_lossy(&strata_only.stderr).contains("--group"));
    let misspelt = cuminc(MGUS2, &["--group", "sexx"]);
    assert!(!misspelt.status.success() && String::from_utf8_lossy(&misspelt.stderr).contains("sexx"));
}

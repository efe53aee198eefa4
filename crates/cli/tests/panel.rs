//! The panel subcommands from the command line: `strata its` reproduces the Newey–West
//! reference through its own segmented design, `fepois` reports what it removes, `cor --by`
//! draws its plot, and bad input is an error naming the problem.

mod common;

use common::{strata, REFERENCE};
use std::process::{Command, Output};

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

/// `strata its --breaks 45` builds the reference's `post` and `since` columns itself: the same
/// coefficients and Newey–West standard errors as `glm(...) + NeweyWest(lag = 4)`.
#[test]
fn its_builds_the_segmented_design_of_the_reference() {
    let dir = format!("{REFERENCE}/its_s47_gaussian_hac");
    let data = format!("{dir}/data.csv");
    let plot = std::env::temp_dir().join(format!("strata-its-{}.svg", std::process::id()));
    let fit = json(&strata(&[
        "its",
        "--data",
        &data,
        "--outcome",
        "s47_rate",
        "--time",
        "month",
        "--breaks",
        "45",
        "--lag",
        "4",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap()).unwrap();
    for (a, e) in fit["coefficients"].as_array().unwrap().iter().zip(expected["coefficients"].as_array().unwrap()) {
        assert_eq!(a["term"], e["term"]);
        for field in ["estimate", "std_error"] {
            let (a, e) = (a[field].as_f64().unwrap(), e[field].as_f64().unwrap());
            assert!((a - e).abs() <= 1e-8 * e.abs(), "{field}: {a} vs {e}");
        }
    }
    assert_eq!(fit["breaks"][0]["level_change"], fit["coefficients"][2]["estimate"]);
    assert_eq!(fit["series"].as_array().unwrap().len(), 96);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("counterfactual"));
    let _ = std::fs::remove_file(plot);
}

#[test]
fn fepois_reports_the_groups_it_removes() {
    let data = format!("{REFERENCE}/fe_cpp_rate_feols/data.csv");
    let output = strata(&[
        "fepois",
        "--data",
        &data,
        "--formula",
        "cpp_starts ~ caseload_fte + offset(log(children_0_17_mye)) | la_code + year",
        "--json",
    ]);
    let fit = json(&output);
    assert_eq!(fit["model"], "fepois");
    assert_eq!(fit["cluster"], "la_code", "clustered on the first fixed effect by default, as fixest");
    assert!(String::from_utf8_lossy(&output.stderr).contains("only 0 outcomes"));
    assert!(fit["notes"][0].as_str().unwrap().contains("observations removed"));
}

#[test]
fn correlations_by_year_draw_their_plot() {
    let data = format!("{REFERENCE}/cor_persistence_cla_imd/data.csv");
    let plot = std::env::temp_dir().join(format!("strata-cor-{}.svg", std::process::id()));
    let output = strata(&[
        "cor",
        "--data",
        &data,
        "--vars",
        "cla_rate_per_10000,imd2019_score,cpp_rate",
        "--by",
        "year",
        "--method",
        "spearman",
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    let fit = json(&output);
    assert_eq!(fit["comparisons"].as_array().unwrap().len(), 3, "three pairs of three variables");
    assert!(std::fs::read_to_string(&plot).unwrap().contains("pooled"));
    let _ = std::fs::remove_file(plot);
}

#[test]
fn bad_input_is_an_error_that_names_it() {
    let panel = format!("{REFERENCE}/cor_persistence_cla_imd/data.csv");
    let its = format!("{REFERENCE}/its_s47_gaussian_hac/data.csv");
    let cases: [(&[&str], &str); 7] = [
        (
            &["cor", "--data", &panel, "--vars", "cpp_rate,imd2019_score", "--by", "la_code"],
            "constant in group E06000001",
        ),
        (&["cor", "--data", &panel, "--vars", "cla_rate_per_10000"], "at least two variables"),
        (&["cor", "--data", &panel, "--vars", "cla_rate,imd2019_score"], "cla_rate"),
        (&["cor", "--data", &panel, "--vars", "cpp_rate,imd2019_score", "--method", "kendal"], "kendall"),
        (&["feols", "--data", &panel, "--formula", "cpp_rate ~ imd2019_score | la_cod"], "la_cod"),
        (&["its", "--data", &panel, "--outcome", "cpp_rate", "--time", "year", "--breaks", "2023"], "more than once"),
        (&["its", "--data", &its, "--outcome", "s47_rate", "--time", "month", "--breaks", "96"], "segment 2 has 1"),
    ];
    for (args, expected) in cases {
        let output = strata(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A reader that goes away ends strata quietly with status 0; a full disk is an error.
#[test]
fn closed_and_full_outputs_do_not_panic() {
    use std::io::Read as _;
    use std::process::Stdio;
    let data = format!("{REFERENCE}/cor_persistence_cla_imd/data.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "cor",
            "--data",
            &data,
            "--vars",
            "cla_rate_per_10000,imd2019_score,cpp_rate,caseload_fte",
            "--by",
            "year",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
    if std::path::Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["cor", "--data", &data, "--vars", "cla_rate_per_10000,imd2019_score"])
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot write the output") && !stderr.contains("panicked"), "{stderr}");
    }
}

/// `--fixef`: the estimated fixed effects. With one fixed effect they are each group's mean of
/// y − x β̂ exactly; with two, pyfixest 0.60's `fixef()` on the same data (its iterative solver
/// agrees to about 1e-6): the first level of the second fixed effect is the reference.
#[test]
fn fixed_effects_are_estimated_as_fixef() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fixef.csv");
    let out = std::env::temp_dir().join(format!("strata-fixef-{}.csv", std::process::id()));
    let read = |path: &std::path::Path| -> Vec<(String, String, f64)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].trim_matches('"').to_string(), f[1].trim_matches('"').to_string(), f[2].parse().unwrap())
            })
            .collect()
    };
    let two = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["feols", "--data", data, "--formula", "y ~ x | la + year", "--fixef", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(two.status.success(), "{}", String::from_utf8_lossy(&two.stderr));
    let pyfixest = [
        ("la", "L0", -0.051_928_610_4),
        ("la", "L1", 0.507_771_698_4),
        ("la", "L2", 0.747_348_038_5),
        ("la", "L3", 1.342_835_272_4),
        ("la", "L4", 2.209_582_267_1),
        ("la", "L5", 2.294_264_343_1),
        ("la", "L6", 2.784_732_303_8),
        ("la", "L7", 3.278_470_044_3),
        ("year", "2019", 0.0),
        ("year", "2020", 0.219_862_566_1),
        ("year", "2021", 0.649_070_313_2),
        ("year", "2022", 1.185_927_855_7),
    ];
    let ours = read(&out);
    assert_eq!(ours.len(), pyfixest.len());
    for ((name, level, value), (p_name, p_level, p_value)) in ours.iter().zip(pyfixest) {
        assert_eq!((name.as_str(), level.as_str()), (p_name, p_level));
        assert!((value - p_value).abs() < 2e-6, "{name} {level}: {value} against pyfixest's {p_value}");
    }
    // One fixed effect: exactly the group means of y − x β̂.
    let one = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["feols", "--data", data, "--formula", "y ~ x | la", "--fixef", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    let beta = json["coefficients"][0]["estimate"].as_f64().unwrap();
    let text = std::fs::read_to_string(data).unwrap();
    let mut sums = std::collections::BTreeMap::<String, (f64, f64)>::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (y, x) = (f[0].parse::<f64>().unwrap(), f[1].parse::<f64>().unwrap());
        let entry = sums.entry(f[2].to_string()).or_default();
        entry.0 += y - beta * x;
        entry.1 += 1.0;
    }
    for (name, level, value) in read(&out) {
        assert_eq!(name, "la");
        let (sum, count) = sums[&level];
        assert!((value - sum / count).abs() < 1e-10, "{level}");
    }
}

//! `strata lmm` beyond the reference cases: predictions for new data written to CSV, and
//! options given wrongly exit non-zero with a message naming the problem.

use std::process::{Command, Output};

const SLEEPSTUDY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference/lmm_sleepstudy_reml/data.csv");

fn lmm(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["lmm", "--data", SLEEPSTUDY, "--formula", "Reaction ~ Days + (Days | Subject)"])
        .args(extra)
        .output()
        .expect("run strata lmm")
}

#[test]
fn predictions_for_new_data_are_written_with_new_levels_at_the_population_level() {
    let dir = std::env::temp_dir().join(format!("strata-lmm-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let new = dir.join("new.csv");
    let out = dir.join("predictions.csv");
    std::fs::write(&new, "Days,Subject\n0,308\n2.5,999\n").unwrap();
    let output = lmm(&["--predict", new.to_str().unwrap(), "--predictions", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<f64>> =
        text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    // lme4: predict(fit, newdata, allow.new.levels = TRUE) and re.form = NA.
    assert!((rows[0][1] - 251.405_104_848_485).abs() < 1e-3 && (rows[0][2] - 253.663_655_798_386).abs() < 1e-3);
    assert!((rows[1][1] - 277.573_319_747_475).abs() < 1e-3 && rows[1][1] == rows[1][2]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn options_given_wrongly_are_errors() {
    for (extra, message) in [
        (&["--predict", SLEEPSTUDY][..], "--predictions"),
        (&["--bootstrap", "many"][..], "--bootstrap"),
        (&["--bootstrap", "1"][..], "two replicates"),
    ] {
        let output = lmm(extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(message), "{extra:?}: {stderr}");
    }
}

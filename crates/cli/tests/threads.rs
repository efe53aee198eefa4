//! The same answer on any number of threads: CSV pieces, GLM iterations, GLMM penalised IRLS, Cox risk-set sweeps, fixed-effect sweeps, ordinal
//! likelihood blocks, mixed-model groups, latent class starts and sequence distances are
//! computed the same way on every thread and combined in a fixed order, so `STRATA_THREADS=1`
//! and `=2` (or `--threads 1` and `--threads 2`) print identical JSON.

use std::fmt::Write as _;
use std::process::Command;

/// 70,000 rows (several CSV pieces and likelihood blocks) of a deterministic generator.
fn data() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("strata-threads-{}.csv", std::process::id()));
    let mut text = String::from("grade,x,z,la,year,y,time,status\n");
    let mut state: u64 = 17;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..70_000_u32 {
        let (x, z) = (next() * 2.0 - 1.0, next());
        let la: u32 = i % 97;
        let latent = 0.8 * x - 0.5 * z + (f64::from(la) / 97.0 - 0.5) + (next() / (1.0 - next() + 1e-12)).ln();
        let grade = ["low", "mid", "high"][usize::from(latent > -0.5) + usize::from(latent > 0.7)];
        let y = 2.0 * x + z + f64::from(la % 7) + next();
        // Whole-number times: many tied event times, some across the likelihood's blocks.
        let (time, status) = ((next() * 60.0 * (-0.5 * x).exp()).ceil(), u8::from(next() < 0.7));
        writeln!(text, "{grade},{x:.6},{z:.6},L{la},{},{y:.6},{time},{status}", 2013 + i % 13).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn run(threads: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("STRATA_THREADS", threads)
        .output()
        .expect("run strata");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

#[test]
fn one_and_two_threads_give_identical_results() {
    let path = data();
    let data = path.to_str().unwrap();
    let commands: [&[&str]; 8] = [
        &["frame", "--data", data, "--json"],
        &["glm", "--data", data, "--family", "gaussian", "--formula", "y ~ x + z + la", "--json"],
        &["lmm", "--data", data, "--formula", "y ~ x + z + (1 | la)", "--json"],
        &["cox", "--data", data, "--formula", "Surv(time, status) ~ x + z", "--json"],
        &["glmm", "--data", data, "--family", "binomial", "--formula", "status ~ x + (1 | la) + (1 | year)", "--json"],
        &["ordinal", "--data", data, "--formula", "grade ~ x + z", "--levels", "low,mid,high", "--json"],
        &["ordinal", "--data", data, "--formula", "grade ~ x + z + (1 | la)", "--levels", "low,mid,high", "--json"],
        &["feols", "--data", data, "--formula", "y ~ x + z | la + year", "--json"],
    ];
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference");
    let lca = format!("{reference}/lca_assessment_factors_4class/data.csv");
    let sequences = format!("{reference}/seq_pathways_om/data.csv");
    let indicators =
        "domestic_abuse,mental_health_parent,drug_misuse_parent,alcohol_misuse_parent,neglect,emotional_abuse";
    let more: [&[&str]; 2] = [
        &["lca", "--data", &lca, "--indicators", indicators, "--classes", "3", "--starts", "6", "--json"],
        &[
            "sequences",
            "--data",
            &sequences,
            "--id",
            "id",
            "--time",
            "month",
            "--state",
            "state",
            "--clusters",
            "4",
            "--quality",
            "2:5",
            "--json",
        ],
    ];
    for args in more {
        assert_eq!(run("1", args), run("2", args), "{args:?}");
    }
    for args in commands {
        assert_eq!(run("1", args), run("2", args), "{args:?}");
    }
    // The option overrides the environment, and a count that is not one is refused.
    let with = |count: &'static str| vec!["frame", "--data", data, "--json", "--threads", count];
    assert_eq!(run("2", &with("1")), run("1", &["frame", "--data", data, "--json"]));
    let refused = Command::new(env!("CARGO_BIN_EXE_strata")).args(with("0")).output().expect("run strata");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--threads"));
    let _ = std::fs::remove_file(path);
}

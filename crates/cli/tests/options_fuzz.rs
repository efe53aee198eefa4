//! Fuzzing of the option parser as a user meets it: every subcommand (but the demo) is run with
//! options drawn from its own `--help` and values drawn from a pool of the awkward (NaN, `inf`,
//! negative, huge, empty, not a number, misspelt formulas, output paths that are the input) and
//! the plausible (the test file's columns, small numbers, formulas over them). Whatever the
//! combination, the binary ends within a time limit with status 0 or 2 — never a panic (101),
//! never a signal. Runs start in a scratch folder, so that a relative output path lands there.
//! `STRATA_FUZZ_CASES` sets the number of runs (scripts/fuzz.sh raises it).

mod common;

use common::{temp_file, temp_path};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small data set with a column for every kind of option: counts, covariates, a factor, times
/// and statuses, subjects and states, panel identifiers, weights, ranks and binary indicators.
fn data() -> String {
    let mut text = String::from("y,x,g,t,s,id,state,year,la,w,rank,pop,a,b,c\n");
    for i in 0..60u32 {
        let x = f64::from(i % 7) - 3.0;
        writeln!(
            text,
            "{},{x},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            (i * 7 + 3) % 5,
            ["p", "q", "r"][(i % 3) as usize],
            1 + (i * 13) % 17,
            (i * 5) % 3,
            i / 4,
            1 + (i % 4).min(2),
            2015 + i % 4,
            ["L1", "L2", "L3", "L4", "L5"][(i % 5) as usize],
            1.0 + f64::from(i % 3) / 2.0,
            1 + i % 10,
            100 + i,
            i % 2,
            (i / 2) % 2,
            (i / 3) % 2,
        )
        .unwrap();
    }
    text
}

/// Every subcommand's options, read from its `--help`, as (name, takes a value).
fn subcommands() -> Vec<Subcommand> {
    let binary = env!("CARGO_BIN_EXE_strata");
    let help = Command::new(binary).arg("--help").output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    let names: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|n| !["demo", "help", "completions"].contains(&n.as_str()))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let help = Command::new(binary).args([&name, "--help"]).output().unwrap();
            let flags = String::from_utf8(help.stdout)
                .unwrap()
                .lines()
                .filter_map(|l| {
                    let l = l.trim_start();
                    let flag = l.strip_prefix("--")?.split_whitespace().next()?.to_string();
                    Some((flag, l.split_whitespace().nth(1).is_some_and(|v| v.starts_with('<'))))
                })
                .collect();
            (name, flags)
        })
        .collect()
}

const VALUES: &[&str] = &[
    "",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "1",
    "2",
    "3",
    "0.5",
    "1e308",
    "-0",
    "99999999999999999999",
    "abc",
    "1:3",
    "3:1",
    "a,b",
    "1,2,3",
    ",",
    "y",
    "x",
    "g",
    "t",
    "s",
    "id",
    "state",
    "year",
    "la",
    "w",
    "rank",
    "pop",
    "a",
    "b",
    "c",
    "nope",
    "y ~ x",
    "y ~ x + g",
    "y ~ (1 | g)",
    "y ~ x + (1 + x | la)",
    "Surv(t, s) ~ x",
    "Surv(t, s) ~ strata(g)",
    "y ~ x | la + year",
    "y ~",
    "~",
    "((",
    "y ~ log(",
    "cbind(y, pop) ~ x",
    "a + b + c ~ 1",
    "poisson",
    "binomial",
    "negbin",
    "gaussian",
    "logit",
    "probit",
    "identity",
    "om",
    "ham",
    "ward",
    "pam",
    "gini",
    "theil",
    "atkinson",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("STRATA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(120),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_option_combination_crashes_or_hangs(
        command in any::<prop::sample::Index>(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..7),
        json in any::<bool>(),
    ) {
        let commands = SUBCOMMANDS.get_or_init(subcommands);
        let data = DATA.get_or_init(|| temp_file("fuzz.csv", &data()));
        let (name, flags) = &commands[command.index(commands.len())];
        let mut argv = vec![name.clone(), "--data".to_string(), data.clone()];
        for (flag, value) in &picks {
            let (flag, takes_value) = &flags[flag.index(flags.len())];
            if flag == "data" {
                continue;
            }
            argv.push(format!("--{flag}"));
            if *takes_value {
                // Output files go to a scratch folder, or are the input (which must be refused).
                let value = VALUES[value.index(VALUES.len())];
                let output = ["plot", "posterior", "clusters-out", "out", "report"].contains(&flag.as_str());
                argv.push(match (output, value) {
                    (true, "x") => data.clone(),
                    (true, _) => temp_path(&format!("fuzz-{flag}.svg")).to_string_lossy().into_owned(),
                    (false, _) => value.to_string(),
                });
            }
        }
        if json {
            argv.push("--json".into());
        }
        let failure = run_checked(&argv, data);
        prop_assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    }

    /// The reference cases' own command lines with one or two options' values replaced from the
    /// pool: inputs next to valid ones, where the fit is reached with odd settings.
    #[test]
    fn reference_commands_with_odd_values_do_not_crash(
        case in any::<prop::sample::Index>(),
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..3),
    ) {
        let cases = REFERENCE_COMMANDS.get_or_init(reference_commands);
        let (argv, data) = &cases[case.index(cases.len())];
        let mut argv = argv.clone();
        let values: Vec<usize> = (1..argv.len()).filter(|&i| !argv[i].starts_with("--") && argv[i - 1] != "--data").collect();
        if values.is_empty() {
            return Ok(());
        }
        for (at, value) in &changes {
            argv[values[at.index(values.len())]] = VALUES[value.index(VALUES.len())].to_string();
        }
        let failure = run_checked(&argv, data);
        prop_assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    }
}

/// A subcommand's name and its options (name, whether it takes a value).
type Subcommand = (String, Vec<(String, bool)>);

static SUBCOMMANDS: std::sync::OnceLock<Vec<Subcommand>> = std::sync::OnceLock::new();
static DATA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static SCRATCH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Runs strata with `argv`; `None` if it ended in time with status 0 or 2 and left `input`
/// unchanged, else what went wrong.
fn run_checked(argv: &[String], input: &str) -> Option<String> {
    let before = std::fs::read(input).unwrap();
    // Any file an option names by a relative path lands in a scratch folder, never in the
    // source tree.
    let scratch = SCRATCH.get_or_init(|| {
        let dir = temp_path("fuzz-scratch");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(scratch)
        .args(argv)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr as it comes, so that a talkative run cannot block on a full pipe.
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut pipe, &mut text).map(|_| text).unwrap_or_default()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            return Some(format!("no answer within 60 s: strata {argv:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = reader.join().unwrap();
    if !matches!(status.code(), Some(0 | 2)) || stderr.contains("panicked") {
        return Some(format!("strata {argv:?} ended with {status:?}: {stderr}"));
    }
    (std::fs::read(input).unwrap() != before).then(|| format!("strata {argv:?} overwrote its input"))
}

/// The public reference cases' command lines, with `--data` pointing at each case's file.
fn reference_commands() -> Vec<(Vec<String>, String)> {
    let mut cases: Vec<_> = std::fs::read_dir(common::REFERENCE).unwrap().flatten().map(|e| e.path()).collect();
    cases.sort();
    cases
        .into_iter()
        .filter(|case| case.join("model.txt").exists() && case.join("data.csv").exists())
        .map(|case| {
            let mut argv = common::case_arguments(&case);
            let data = case.join("data.csv").to_string_lossy().into_owned();
            argv.extend(["--data".to_string(), data.clone()]);
            (argv, data)
        })
        .collect()
}

static REFERENCE_COMMANDS: std::sync::OnceLock<Vec<(Vec<String>, String)>> = std::sync::OnceLock::new();

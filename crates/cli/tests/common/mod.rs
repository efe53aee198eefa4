//! Helpers shared by the command-line tests: running the binary, the reference cases copied into
//! the repository, scratch files, and the shell quoting of `model.txt`.

// Each test file uses some of these.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The reference cases copied into the repository (`scripts/sync-reference.sh`).
pub const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference");

/// Runs the `strata` binary with `args`.
pub fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata")
}

/// Writes `text` to a scratch file named after this test process and `name`; returns its path.
pub fn temp_file(name: &str, text: &str) -> String {
    let path = temp_path(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// A scratch path named after this test process and `name`.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("strata-test-{}-{name}", std::process::id()))
}

/// The arguments of a reference case's command (`model.txt`'s first line, without `strata`).
pub fn case_arguments(dir: &std::path::Path) -> Vec<String> {
    let model = std::fs::read_to_string(dir.join("model.txt")).expect("model.txt");
    let mut words = shell_words(model.lines().next().expect("a command line"));
    assert_eq!(words.remove(0), "strata", "{}: model.txt runs strata", dir.display());
    words
}

/// Runs a reference case's command in its folder with `--data data.csv --json`, as the
/// reference suite does.
pub fn run_case_command(dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(case_arguments(dir))
        .args(["--data", "data.csv", "--json"])
        .current_dir(dir)
        .output()
        .expect("run strata")
}

/// Splits a command line as a POSIX shell would for the quoting used in model.txt.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    current.push(d);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

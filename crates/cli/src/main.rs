//! The `strata` command line: run any strata model on a CSV file.
//!
//! `strata --help` lists the subcommands; `strata SUBCOMMAND --help` lists its options. Every
//! model subcommand takes `--data FILE.csv` and `--json` (one JSON object on stdout). Errors go to
//! stderr with a non-zero exit status.

mod args;
mod commands;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    progress::install();
    match commands::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

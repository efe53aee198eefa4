//! `strata frame`: the columns of a CSV file, their inferred types, missing counts and levels.

use super::{emit, read_data, Command};
use crate::args::{switch, value, Args};

pub const COMMAND: Command = Command {
    name: "frame",
    about: "show a CSV file's columns, inferred types, missing values and levels",
    flags: &[value("data", "the CSV file"), switch("json", "print one JSON object")],
    run,
};

fn run(args: &Args) -> Result<(), String> {
    let frame = read_data(args)?;
    emit(args, &frame.describe())
}

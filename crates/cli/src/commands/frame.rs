//! `strata frame`: the columns of a CSV file, their inferred types, missing counts and levels.

use super::{emit, read_data};

#[derive(clap::Args)]
pub struct FrameArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(args: &FrameArgs) -> Result<(), String> {
    let frame = read_data(&args.data)?;
    emit(args.json, &frame.describe())
}

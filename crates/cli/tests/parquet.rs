//! `--data FILE.parquet`: with the `arrow` feature the command reads a Parquet file and gives the
//! CSV file's answer; without it, a clear error and a non-zero exit.

mod common;

use common::strata;

const FORMULA: &str = "Claims ~ District + Group + Age + offset(log(Holders))";

#[cfg(feature = "arrow")]
#[test]
fn a_parquet_file_gives_the_csv_answer() {
    use common::{temp_path, REFERENCE};
    use strata_core::csv::{read_csv, CsvOptions};
    let csv = format!("{REFERENCE}/glm_insurance_poisson/data.csv");
    let frame = read_csv(&csv, &CsvOptions::default()).unwrap();
    let parquet = temp_path("insurance.parquet");
    strata_core::interop::arrow::write_parquet(&frame, &parquet).unwrap();
    let run = |data: &str| strata(&["glm", "--family", "poisson", "--formula", FORMULA, "--data", data, "--json"]);
    let (from_csv, from_parquet) = (run(&csv), run(&parquet.to_string_lossy()));
    std::fs::remove_file(&parquet).unwrap();
    assert!(from_parquet.status.success(), "{}", String::from_utf8_lossy(&from_parquet.stderr));
    assert_eq!(from_csv.stdout, from_parquet.stdout);
}

#[cfg(not(feature = "arrow"))]
#[test]
fn a_parquet_file_needs_the_arrow_feature() {
    let out = strata(&["glm", "--family", "poisson", "--formula", FORMULA, "--data", "children.parquet"]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("built without Parquet support") && message.contains("--features arrow"), "{message}");
}

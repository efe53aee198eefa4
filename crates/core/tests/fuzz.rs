//! Property-based fuzzing of the parsers that take user input: the CSV reader and the formula
//! parser never panic, whatever bytes or text they are given, and a formula that parses expands
//! or fails with an error (that the pieces a file is cut into never change the frame is fuzzed
//! beside the reader, in `csv.rs`). `STRATA_FUZZ_CASES=200000` (scripts/fuzz.sh) runs them for
//! minutes; the default is quick enough for every test run.

use proptest::prelude::*;
use strata_core::csv::{parse_csv, CsvOptions};
use strata_core::Formula;

/// `STRATA_FUZZ_CASES` if set (scripts/fuzz.sh), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("STRATA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Text built mostly from the characters that matter to the CSV grammar.
fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b','),
            Just(b'"'),
            Just(b'\n'),
            Just(b'\r'),
            Just(b' '),
            Just(b'-'),
            Just(b'.'),
            Just(b'e'),
            b'0'..=b'9',
            b'a'..=b'z',
            any::<u8>(),
        ],
        0..400,
    )
}

/// Text built mostly from formula tokens.
fn formula_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("y"),
            Just("x"),
            Just("z"),
            Just("~"),
            Just("+"),
            Just("-"),
            Just("*"),
            Just(":"),
            Just("/"),
            Just("^"),
            Just("|"),
            Just("||"),
            Just("("),
            Just(")"),
            Just("1"),
            Just("0"),
            Just("2"),
            Just("log("),
            Just("offset("),
            Just("I("),
            Just("Surv("),
            Just(","),
            Just("%in%"),
            Just("."),
            Just(" "),
            Just("`a b`"),
            Just("strata("),
            Just("cbind("),
            Just("poly("),
            Just("é"),
        ],
        0..40,
    )
    .prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn the_csv_reader_never_panics(bytes in csv_text(), threads in 1usize..3) {
        let options = CsvOptions { threads, ..CsvOptions::default() };
        let _ = parse_csv(&bytes, &options);
    }

    #[test]
    fn the_formula_parser_never_panics(text in formula_text()) {
        if let Ok(formula) = Formula::parse(&text) {
            let _ = formula.terms();
            let _ = formula.names();
        }
    }

    #[test]
    fn formulas_nested_deeply_are_refused_not_overflowed(depth in 1usize..5000) {
        let text = format!("y ~ {}x{}", "(".repeat(depth), ")".repeat(depth));
        let _ = Formula::parse(&text).map(|f| f.terms());
        let text = format!("y ~ {}x{}", "log(".repeat(depth), ")".repeat(depth));
        let _ = Formula::parse(&text).map(|f| f.terms());
    }
}

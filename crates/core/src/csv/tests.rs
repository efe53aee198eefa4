//! The reader against hand-made files: types, codes, quotes, pieces, blocks and errors.

use super::*;
use crate::frame::Column;
use std::fmt::Write as _;

fn parse(text: &str) -> DataFrame {
    parse_csv(text.as_bytes(), &CsvOptions::default()).unwrap()
}

#[test]
fn infers_types_and_missing_tokens() {
    let frame = parse("\u{feff}a,b,c,d,e\r\n1,1.5,x,TRUE,\r\n2,NA,y,false,\r\n,3,\"z, q\",NA,\r\n");
    let types: Vec<_> = frame.columns().iter().map(Column::column_type).collect();
    assert_eq!(
        types,
        [ColumnType::Integer, ColumnType::Float, ColumnType::Categorical, ColumnType::Boolean, ColumnType::Float]
    );
    assert_eq!(frame.names()[0], "a");
    assert_eq!(frame.column("a").unwrap(), &Column::Integer(vec![Some(1), Some(2), None].into()));
    assert_eq!(frame.column("b").unwrap(), &Column::Float(vec![Some(1.5), None, Some(3.0)].into()));
    assert_eq!(frame.column("c").unwrap().text(2).as_deref(), Some("z, q"));
    assert_eq!(frame.column("e").unwrap().missing_count(), 3);
}

#[test]
fn suppression_codes_are_missing_only_in_numeric_columns() {
    let frame = parse("count,cask\n12,a\nc,c\nz,b\nlow,x\n:,a\n7,a\n");
    assert_eq!(
        frame.column("count").unwrap(),
        &Column::Integer(vec![Some(12), None, None, None, None, Some(7)].into())
    );
    let Column::Categorical { levels, .. } = frame.column("cask").unwrap() else { panic!() };
    assert_eq!(levels, &["a", "b", "c", "x"]);
    // A column of codes alone is text, as R reads it.
    let frame = parse("grade\nc\nx\nNA\nc\n");
    let Column::Categorical { levels, codes } = frame.column("grade").unwrap() else { panic!() };
    assert_eq!(levels, &["c", "x"]);
    assert_eq!(codes.get(2), None);
    // Nothing at all is a numeric column with nothing in it.
    assert_eq!(parse("n,m\n,1\n,2\n").column("n").unwrap(), &Column::Float(vec![None, None].into()));
}

#[test]
fn overrides_force_a_type() {
    let options = CsvOptions::default().with_type("decile", ColumnType::Categorical);
    let frame = parse_csv(b"decile\n10\n2\n", &options).unwrap();
    let Column::Categorical { levels, .. } = frame.column("decile").unwrap() else { panic!() };
    assert_eq!(levels, &["10", "2"]);
    let error = parse_csv(b"x\nabc\n", &CsvOptions::default().with_type("x", ColumnType::Float)).unwrap_err();
    assert_eq!(error.to_string(), "CSV error at line 2: column `x`: `abc` is not float");
}

/// Found by the fuzzer: a stray quote after a lone `\r` put the cut between two pieces
/// inside a record; the file now reads in two pieces as in one.
#[test]
fn a_stray_quote_does_not_misplace_a_cut() {
    let text = b",0\n\r\"\"\",\"\"\"\"\"\"\n,\"\n\"";
    let options = CsvOptions::default();
    assert_eq!(parse_in_parts(text, &options, 1, 1).is_ok(), parse_in_parts(text, &options, 2, 2).is_ok());
    // Found by the fuzzer in blocks read from a file: the first block, cut by the same count of
    // quotes, failed alone; an error in any block now reads the whole file again in one piece.
    let text = b",0\n\r\"\"\",\",\n,\n\n\n\n\n\n,\n\"\"\n\"\"\n\n\n\"\n\n,\",\n\n\n\n\"";
    let path = std::env::temp_dir().join(format!("strata-csv-stray-{}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let blocks = read(Source::file(&path, 3).unwrap(), &options, 2);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(blocks.unwrap(), parse_in_parts(text, &options, 1, 1).unwrap());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        std::env::var("STRATA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    /// Fuzzed: any text cut into up to five pieces, or read from a file in blocks of a few
    /// bytes, reads as in one piece, or fails alike.
    #[test]
    fn any_text_in_pieces_reads_as_in_one(
        text in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::Just(b','), proptest::prelude::Just(b'"'), proptest::prelude::Just(b'\n'),
                proptest::prelude::Just(b'\r'), b'0'..=b'9', b'a'..=b'c',
            ],
            0..300,
        ),
        parts in 1usize..6,
    ) {
        let options = CsvOptions::default();
        let one = parse_in_parts(&text, &options, 1, 1);
        let many = parse_in_parts(&text, &options, 2, parts);
        let path = std::env::temp_dir().join(format!("strata-csv-fuzz-{}-{parts}.csv", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let blocks = read(Source::file(&path, parts * 3).unwrap(), &options, 2);
        std::fs::remove_file(&path).unwrap();
        proptest::prop_assert_eq!(one.is_ok(), many.is_ok());
        proptest::prop_assert_eq!(one.is_ok(), blocks.is_ok());
        if let (Ok(a), Ok(b), Ok(c)) = (one, many, blocks) {
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(&a, &c);
        }
    }

    /// Fuzzed: records of plain numbers take a shortcut; it stores what the general reader
    /// stores (which a missing-value token that reads as a number forces, `7E7` here, a
    /// text the generator never writes), with every column read or only some (runs of unread
    /// columns are passed over at once).
    #[test]
    fn the_shortcut_for_numbers_reads_as_the_general_reader(
        records in proptest::collection::vec(
            (
                proptest::collection::vec(
                    proptest::prop_oneof![
                        8 => "-?[0-9]{1,3}(\\.[0-9]{0,7})?",
                        1 => "(NA||[0-9]{20}|1e5| 4|5 |\"6\"|x|\\+2|\\.5|1\\.2\\.3|\"7,8\")",
                    ],
                    5,
                ),
                0..30u8,
                proptest::prop_oneof![4 => proptest::prelude::Just("\n"), 1 => proptest::prelude::Just("\r\n")],
            ),
            0..40,
        ),
        selection in 0..6usize,
    ) {
        let mut text = b"a,b,c,d,e\n".to_vec();
        for (fields, ragged, end) in &records {
            // Now and then a record a field short or one too many.
            let fields = match ragged {
                0 => &fields[..4],
                1 => &[&fields[..], &["7".to_string()]].concat(),
                _ => &fields[..],
            };
            text.extend(fields.join(",").as_bytes());
            text.extend(end.as_bytes());
        }
        let mut shortcut = CsvOptions::default();
        let selections: [&[&str]; 6] = [&["a", "b", "c", "d", "e"], &["a", "c"], &["c"], &["a", "e"], &["e"], &["b"]];
        if selection > 0 {
            shortcut = shortcut.with_columns(selections[selection]);
        }
        let mut general = shortcut.clone();
        general.missing_tokens.push("7E7".into());
        let (fast, slow) = (parse_in_parts(&text, &shortcut, 1, 1), parse_in_parts(&text, &general, 1, 1));
        match (fast, slow) {
            (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b),
            (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => proptest::prop_assert!(false, "{a:?} against {b:?}"),
        }
    }
}

/// Every way of cutting a file into pieces gives the same frame: quotes around delimiters,
/// doubled quotes, newlines inside quotes, `\r\n`, blank lines, text in a numeric-looking
/// column only late in the file, suppression codes, and columns of numbers whose pieces differ
/// (integers then floats, nothing then integers, codes then numbers), which are merged as the
/// pieces are read.
#[test]
fn pieces_and_threads_do_not_change_the_frame() {
    let mut text = String::from("id,name,x,flag,mixed,code,late_float,late_start,codes_first\r\n");
    for i in 0..400 {
        let name = match i % 5 {
            0 => "\"Smith, J\"".to_string(),
            1 => "\"said \"\"hi\"\"\"".to_string(),
            2 => "\"two\nlines\"".to_string(),
            3 => "plain".to_string(),
            _ => String::new(),
        };
        let mixed = if i == 377 { "late text".to_string() } else { format!("{}", i % 7) };
        let code = if i % 11 == 0 { "c".to_string() } else { format!("{i}.5") };
        let late_float = if i < 300 { format!("{i}") } else { format!("{i}.75") };
        let late_start = if i < 250 { "NA".to_string() } else { format!("{}", i % 9) };
        let codes_first = if i < 200 { "c".to_string() } else { format!("{i}") };
        write!(
            text,
            "{i},{name}, {}.25 ,{},{mixed},{code},{late_float},{late_start},{codes_first}\r\n",
            i % 13,
            i % 2 == 0
        )
        .unwrap();
        if i % 97 == 0 {
            text.push_str("\r\n");
        }
    }
    let options = CsvOptions::default();
    let whole = parse_in_parts(text.as_bytes(), &options, 1, 1).unwrap();
    assert_eq!(whole.nrows(), 400);
    assert_eq!(whole.column("name").unwrap().text(1).as_deref(), Some("said \"hi\""));
    assert_eq!(whole.column("name").unwrap().text(2).as_deref(), Some("two\nlines"));
    assert_eq!(whole.column("mixed").unwrap().column_type(), ColumnType::Categorical);
    assert_eq!(whole.column("mixed").unwrap().text(3).as_deref(), Some("3"));
    assert_eq!(whole.column("code").unwrap().column_type(), ColumnType::Float);
    assert_eq!(whole.column("code").unwrap().missing_count(), 37);
    assert_eq!(whole.column("late_float").unwrap().column_type(), ColumnType::Float);
    assert_eq!(whole.column("late_float").unwrap().number(299), Some(299.0));
    assert_eq!(whole.column("late_start").unwrap().column_type(), ColumnType::Integer);
    assert_eq!(whole.column("late_start").unwrap().missing_count(), 250);
    assert_eq!(whole.column("codes_first").unwrap().column_type(), ColumnType::Integer);
    assert_eq!(whole.column("codes_first").unwrap().missing_count(), 200);
    for (threads, parts) in [(1, 7), (2, 3), (2, 13), (3, 64), (4, 400)] {
        let pieces = parse_in_parts(text.as_bytes(), &options, threads, parts).unwrap();
        assert_eq!(pieces, whole, "{threads} threads, {parts} pieces");
    }
    let selected = parse_in_parts(text.as_bytes(), &options.clone().with_columns(&["x", "id"]), 2, 9).unwrap();
    assert_eq!(selected.names(), ["id", "x"]);
    assert_eq!(selected.column("x").unwrap(), whole.column("x").unwrap());
}

#[test]
fn errors_in_later_pieces_name_the_file_line() {
    let mut text = String::from("a,b\n");
    for i in 0..300 {
        writeln!(text, "{i},{i}").unwrap();
    }
    text.push_str("7\n");
    for parts in [1, 5, 50] {
        let error = parse_in_parts(text.as_bytes(), &CsvOptions::default(), 2, parts).unwrap_err();
        assert!(matches!(error, Error::Csv { line: Some(302), .. }), "{parts} pieces: {error}");
    }
    let error = parse_csv(b"a,b\n1,\"open\n2,3\n", &CsvOptions::default()).unwrap_err();
    assert!(error.to_string().contains("never closed"), "{error}");
    let error = parse_csv(b"a\n1\n", &CsvOptions::default().with_columns(&["b"])).unwrap_err();
    assert!(matches!(error, Error::UnknownColumn { .. }), "{error}");
}

#[test]
fn ragged_rows_are_an_error_with_a_line() {
    let error = parse_csv(b"a,b\n1,2\n3\n", &CsvOptions::default()).unwrap_err();
    assert!(matches!(error, Error::Csv { line: Some(3), .. }), "{error}");
}

/// A file read in pieces far smaller than its records (so pieces grow), through a mixed column
/// whose text comes late (so pieces are read again), gives the frame parsed from memory.
#[test]
fn blocks_of_a_file_read_as_memory() {
    let mut text = String::from("\u{feff}id,note,x,mixed,flag\n");
    for i in 0..3000 {
        let note = if i % 7 == 0 { "\"a, \"\"quoted\"\"\nnote\"".to_string() } else { format!("n{}", i % 5) };
        let mixed = if i == 2900 { "late".to_string() } else { format!("{}", i % 9) };
        writeln!(text, "{i},{note},{}.5,{mixed},{}", i % 11, i % 3 == 0).unwrap();
    }
    let path = std::env::temp_dir().join(format!("strata-csv-blocks-{}.csv", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let options = CsvOptions::default();
    let memory = parse_in_parts(text.as_bytes(), &options, 1, 1).unwrap();
    assert_eq!(memory.column("mixed").unwrap().column_type(), ColumnType::Categorical);
    for (threads, block) in [(1, 64), (2, 50), (2, 4096), (3, 1 << 20)] {
        let read = read(Source::file(&path, block).unwrap(), &options, threads);
        assert_eq!(read.unwrap(), memory, "{threads} threads, pieces of {block} bytes");
    }
    std::fs::write(&path, text.replace("2900,n0", "2900,n0,extra")).unwrap();
    let line = text[..text.find("\n2900,").unwrap()].matches('\n').count() as u64 + 2;
    let error = read(Source::file(&path, 64).unwrap(), &options, 2).unwrap_err();
    assert!(matches!(error, Error::Csv { line: Some(l), .. } if l == line), "{error}, not line {line}");
    std::fs::remove_file(&path).unwrap();
}

/// Tab-separated files: an empty field is a field (blanks are trimmed around fields, but a tab
/// that separates them is not a blank), read alike whether every column is read or some.
#[test]
fn empty_fields_of_tab_separated_files_are_fields() {
    let options = CsvOptions { delimiter: b'\t', ..CsvOptions::default() };
    let text = b"a\tb\tc\td\n1\t\t3\t4\n5\t6\t 7 \t8\n\"9\"\t\t\t\"10\"\n";
    let frame = parse_in_parts(text, &options, 1, 1).unwrap();
    assert_eq!(frame.column("a").unwrap(), &Column::Integer(vec![Some(1), Some(5), Some(9)].into()));
    assert_eq!(frame.column("b").unwrap(), &Column::Integer(vec![None, Some(6), None].into()));
    assert_eq!(frame.column("c").unwrap(), &Column::Integer(vec![Some(3), Some(7), None].into()));
    assert_eq!(frame.column("d").unwrap(), &Column::Integer(vec![Some(4), Some(8), Some(10)].into()));
    let selected = parse_in_parts(text, &options.with_columns(&["a", "d"]), 1, 1).unwrap();
    assert_eq!(selected.column("d").unwrap(), frame.column("d").unwrap());
}

/// Codes that differ only after their first bytes (area codes `a0` … `a19999`) fall in as many
/// buckets as random hashes would: the low bits a table picks its buckets by vary with every
/// byte of the text.
#[test]
fn text_hashes_spread_codes_over_the_buckets() {
    use std::hash::Hasher;
    let buckets: std::collections::HashSet<u64> = (0..20_000)
        .map(|k| {
            let mut hasher = super::chunk::TextHasher::default();
            hasher.write(format!("a{k}").as_bytes());
            hasher.finish() & ((1 << 15) - 1)
        })
        .collect();
    // 20,000 random hashes fill about 14,900 of 32,768 buckets.
    assert!(buckets.len() > 13_000, "{} buckets", buckets.len());
}

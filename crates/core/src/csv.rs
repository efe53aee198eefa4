//! Reading CSV files into a [`DataFrame`], with type inference and the missing-value codes of
//! R and of the Department for Education's published statistics.
//!
//! Each column's type is inferred from all of its cells: integer if every value is a whole
//! number, float if every value is a number, boolean if every value is `TRUE`/`FALSE` (any
//! case), categorical otherwise. Empty cells and `NA` are missing everywhere. The DfE
//! suppression codes (`c`, `z`, `x`, `u`, `low`, `:` and the like, see
//! [`CsvOptions::suppression_codes`]) are missing only in a column whose other values are all
//! numbers: in a text column they are ordinary levels (a cask called `c` stays a cask).

use crate::error::{Error, Result};
use crate::frame::{Column, ColumnType, DataFrame};
use std::path::Path;

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// The field delimiter, `b','` by default.
    pub delimiter: u8,
    /// Tokens that are missing in every column (`""` and `NA` by default).
    pub missing_tokens: Vec<String>,
    /// Tokens that are missing in otherwise numeric columns: the DfE suppression codes
    /// `c` (confidential), `z` (not applicable), `x` (not available), `u` (low reliability),
    /// `low`, `k`, `:`, `..` and `-`.
    pub suppression_codes: Vec<String>,
    /// Column types that override inference, by column name.
    pub overrides: Vec<(String, ColumnType)>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            missing_tokens: vec![String::new(), "NA".into()],
            suppression_codes: ["c", "z", "x", "u", "low", "k", ":", "..", "-"].map(String::from).to_vec(),
            overrides: Vec::new(),
        }
    }
}

impl CsvOptions {
    /// Forces the type of column `name`.
    #[must_use]
    pub fn with_type(mut self, name: impl Into<String>, column_type: ColumnType) -> Self {
        self.overrides.push((name.into(), column_type));
        self
    }
}

/// Reads the CSV file at `path`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Csv`] if it is malformed (ragged rows,
/// invalid UTF-8 in a text column, no header, an override naming a missing column or a value
/// that does not fit the overridden type).
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<DataFrame> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| Error::Io { path: path.display().to_string(), message: e.to_string() })?;
    parse_csv(&bytes, options)
}

/// Parses CSV text held in memory.
///
/// # Errors
/// As [`read_csv`], without the I/O part.
pub fn parse_csv(bytes: &[u8], options: &CsvOptions) -> Result<DataFrame> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| csv_error(&e))?.clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(Error::Csv { line: Some(1), message: "no header row".into() });
    }
    let names = headers
        .iter()
        .enumerate()
        .map(|(j, h)| {
            std::str::from_utf8(h)
                .map(str::to_string)
                .map_err(|_| Error::Csv { line: Some(1), message: format!("header {} is not UTF-8", j + 1) })
        })
        .collect::<Result<Vec<_>>>()?;
    for (name, _) in &options.overrides {
        if !names.contains(name) {
            return Err(Error::Csv {
                line: None,
                message: format!("type override names `{name}`, which is not a column"),
            });
        }
    }
    let mut cells: Vec<Cells> = vec![Cells::default(); names.len()];
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(&e))? {
        for (column, field) in cells.iter_mut().zip(record.iter()) {
            column.push(field);
        }
    }
    let mut frame = DataFrame::new();
    for (name, column) in names.iter().zip(&cells) {
        let forced = options.overrides.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
        let column = column.to_column(name, forced, options)?;
        frame.push(name.clone(), column).map_err(|e| Error::Csv { line: Some(1), message: e.to_string() })?;
    }
    Ok(frame)
}

fn csv_error(error: &csv::Error) -> Error {
    let line = error.position().map(csv::Position::line);
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("row has {len} fields but the header has {expected_len}")
        }
        _ => error.to_string(),
    };
    Error::Csv { line, message }
}

/// One column's raw fields, stored contiguously.
#[derive(Debug, Clone, Default)]
struct Cells {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// What a single cell holds.
#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Missing,
    Suppressed,
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Text,
}

impl Cells {
    fn push(&mut self, field: &[u8]) {
        self.bytes.extend_from_slice(field);
        self.ends.push(self.bytes.len());
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn classify(&self, i: usize, options: &CsvOptions) -> Cell {
        let field = self.get(i);
        if options.missing_tokens.iter().any(|t| t.as_bytes() == field) {
            return Cell::Missing;
        }
        if let Some(x) = parse_integer(field) {
            return Cell::Integer(x);
        }
        if let Some(x) = std::str::from_utf8(field).ok().and_then(|s| s.parse::<f64>().ok()) {
            return Cell::Float(x);
        }
        if options.suppression_codes.iter().any(|t| t.as_bytes() == field) {
            return Cell::Suppressed;
        }
        match field {
            b"TRUE" | b"True" | b"true" => Cell::Boolean(true),
            b"FALSE" | b"False" | b"false" => Cell::Boolean(false),
            _ => Cell::Text,
        }
    }

    fn to_column(&self, name: &str, forced: Option<ColumnType>, options: &CsvOptions) -> Result<Column> {
        let kinds: Vec<Cell> = (0..self.len()).map(|i| self.classify(i, options)).collect();
        let inferred = forced.unwrap_or_else(|| infer(&kinds));
        let bad = |i: usize| Error::Csv {
            line: Some(i as u64 + 2),
            message: format!("column `{name}`: `{}` is not {inferred}", String::from_utf8_lossy(self.get(i))),
        };
        Ok(match inferred {
            ColumnType::Integer => Column::Integer(
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, k)| match *k {
                        Cell::Missing | Cell::Suppressed => Ok(None),
                        Cell::Integer(x) => Ok(Some(x)),
                        _ => Err(bad(i)),
                    })
                    .collect::<Result<_>>()?,
            ),
            ColumnType::Float => Column::Float(
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, k)| match *k {
                        Cell::Missing | Cell::Suppressed => Ok(None),
                        Cell::Integer(x) => Ok(Some(x as f64)),
                        Cell::Float(x) => Ok(Some(x)),
                        _ => Err(bad(i)),
                    })
                    .collect::<Result<_>>()?,
            ),
            ColumnType::Boolean => Column::Boolean(
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, k)| match *k {
                        Cell::Missing => Ok(None),
                        Cell::Boolean(b) => Ok(Some(b)),
                        _ => Err(bad(i)),
                    })
                    .collect::<Result<_>>()?,
            ),
            ColumnType::Categorical => {
                let texts = (0..self.len())
                    .map(|i| {
                        if kinds[i] == Cell::Missing {
                            Ok(None)
                        } else {
                            std::str::from_utf8(self.get(i)).map(Some).map_err(|_| Error::Csv {
                                line: Some(i as u64 + 2),
                                message: format!("column `{name}` holds text that is not UTF-8"),
                            })
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                Column::categorical_from(&texts)
            }
        })
    }
}

fn infer(kinds: &[Cell]) -> ColumnType {
    let mut all_integer = true;
    let mut all_number = true;
    let mut all_boolean = true;
    let mut any_value = false;
    for kind in kinds {
        match kind {
            Cell::Missing => {}
            Cell::Suppressed => all_boolean = false,
            Cell::Integer(_) => {
                any_value = true;
                all_boolean = false;
            }
            Cell::Float(_) => {
                any_value = true;
                all_integer = false;
                all_boolean = false;
            }
            Cell::Boolean(_) => {
                any_value = true;
                all_integer = false;
                all_number = false;
            }
            Cell::Text => return ColumnType::Categorical,
        }
    }
    if !any_value {
        // Only missing or suppressed cells: a numeric column with nothing published.
        ColumnType::Float
    } else if all_integer {
        ColumnType::Integer
    } else if all_number {
        ColumnType::Float
    } else if all_boolean {
        ColumnType::Boolean
    } else {
        ColumnType::Categorical
    }
}

fn parse_integer(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field.first()? {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(frame.column("a").unwrap(), &Column::Integer(vec![Some(1), Some(2), None]));
        assert_eq!(frame.column("b").unwrap(), &Column::Float(vec![Some(1.5), None, Some(3.0)]));
        assert_eq!(frame.column("c").unwrap().text(2).as_deref(), Some("z, q"));
        assert_eq!(frame.column("e").unwrap().missing_count(), 3);
    }

    #[test]
    fn suppression_codes_are_missing_only_in_numeric_columns() {
        let frame = parse("count,cask\n12,a\nc,c\nz,b\nlow,x\n:,a\n7,a\n");
        assert_eq!(frame.column("count").unwrap(), &Column::Integer(vec![Some(12), None, None, None, None, Some(7)]));
        let Column::Categorical { levels, .. } = frame.column("cask").unwrap() else { panic!() };
        assert_eq!(levels, &["a", "b", "c", "x"]);
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

    #[test]
    fn ragged_rows_are_an_error_with_a_line() {
        let error = parse_csv(b"a,b\n1,2\n3\n", &CsvOptions::default()).unwrap_err();
        assert!(matches!(error, Error::Csv { line: Some(3), .. }), "{error}");
    }
}

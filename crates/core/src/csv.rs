//! Reading CSV files into a [`DataFrame`], with type inference and the missing-value codes of
//! R and of the Department for Education's published statistics.
//!
//! Each column's type is inferred from all of its cells: integer if every value is a whole
//! number, float if every value is a number, boolean if every value is `TRUE`/`FALSE` (any
//! case), categorical otherwise. Empty cells and `NA` are missing everywhere. The DfE
//! suppression codes (`c`, `z`, `x`, `u`, `low`, `:` and the like, see
//! [`CsvOptions::suppression_codes`]) are missing only in a column whose other values are all
//! numbers: in a text column they are ordinary levels (a cask called `c` stays a cask).
//!
//! The file is split into chunks at record boundaries (a newline outside quotes: the parity of
//! the quotes before it decides) and the chunks are parsed in parallel, each cell classified as
//! it is read — numbers parsed once, text interned in a per-chunk dictionary — then merged in
//! file order, so the frame is the same on any number of threads. Fields follow RFC 4180
//! (quotes, doubled quotes inside them, `\r\n`), with spaces around fields trimmed and blank
//! lines skipped.

use crate::error::{Error, Result};
use crate::frame::{Column, ColumnType, DataFrame};
use std::collections::HashMap;
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
    /// Read only these columns (all when `None`): the others are tokenised but not stored.
    pub columns: Option<Vec<String>>,
    /// Threads to parse on (0: [`crate::parallel::threads`]).
    pub threads: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            missing_tokens: vec![String::new(), "NA".into()],
            suppression_codes: ["c", "z", "x", "u", "low", "k", ":", "..", "-"].map(String::from).to_vec(),
            overrides: Vec::new(),
            columns: None,
            threads: 0,
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

    /// Reads only the columns named (in the file's order).
    #[must_use]
    pub fn with_columns<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.columns = Some(names.iter().map(|n| n.as_ref().to_string()).collect());
        self
    }
}

/// Reads the CSV file at `path`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Csv`] if it is malformed (ragged rows,
/// an unclosed quote, invalid UTF-8 in a text column, no header, an override or a selected
/// column naming a missing column, or a value that does not fit the overridden type).
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<DataFrame> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| Error::Io { path: path.display().to_string(), message: e.to_string() })?;
    parse_csv(&bytes, options)
}

/// What a single cell holds.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Cell {
    Missing,
    Suppressed,
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// An index into the chunk's dictionary of the column's text values.
    Text(u32),
}

/// The rules that classify a field.
struct Classifier<'a> {
    missing: Vec<&'a [u8]>,
    suppressed: Vec<&'a [u8]>,
    /// Whether some missing token could be read as a number (then it must be tested first).
    numeric_missing: bool,
}

impl<'a> Classifier<'a> {
    fn new(options: &'a CsvOptions) -> Self {
        let missing: Vec<&[u8]> = options.missing_tokens.iter().map(String::as_bytes).collect();
        let numeric_missing = missing.iter().any(|t| parse_number(t).is_some());
        Self { missing, suppressed: options.suppression_codes.iter().map(String::as_bytes).collect(), numeric_missing }
    }

    /// The cell, or `None` for text.
    fn classify(&self, field: &[u8]) -> Option<Cell> {
        // Most fields are numbers: read them first unless a missing token is one too.
        if !self.numeric_missing {
            let numeric_start = |b: &&u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.');
            if let Some(cell) = field.first().filter(numeric_start).and_then(|_| parse_number(field)) {
                return Some(cell);
            }
        }
        if self.missing.contains(&field) {
            return Some(Cell::Missing);
        }
        if let Some(cell) = parse_number(field) {
            return Some(cell);
        }
        if self.suppressed.contains(&field) {
            return Some(Cell::Suppressed);
        }
        match field {
            b"TRUE" | b"True" | b"true" => Some(Cell::Boolean(true)),
            b"FALSE" | b"False" | b"false" => Some(Cell::Boolean(false)),
            _ => None,
        }
    }
}

/// Powers of ten exactly representable as `f64`.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// An integer (an optional sign and at most 18 digits) or a number Rust's parser reads
/// (decimals, exponents, `inf`, `NaN`). Plain decimals with at most 15 significant digits take
/// Clinger's (1990) exact path — the digits as an integer m < 2⁵³ divided by 10ᵏ ≤ 10²², one
/// correctly rounded operation on exact operands — and the rest the standard parser.
fn parse_number(field: &[u8]) -> Option<Cell> {
    let (negative, body) = match field.first()? {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    let mut mantissa: u64 = 0;
    // All digits (an integer may have at most 18) and significant ones (leading zeros left out).
    let (mut digits, mut significant) = (0usize, 0usize);
    let mut fraction = None;
    for (k, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                if significant < 19 {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                }
                digits += 1;
                if mantissa > 0 {
                    significant += 1;
                }
            }
            b'.' if fraction.is_none() => fraction = Some(k),
            _ => return parse_float(field).map(Cell::Float),
        }
    }
    match fraction {
        None if digits > 0 && digits <= 18 => {
            let value = mantissa as i64;
            Some(Cell::Integer(if negative { -value } else { value }))
        }
        Some(point) if digits > 0 && significant <= 15 && body.len() - point - 1 <= 22 => {
            let value = mantissa as f64 / POWERS_OF_TEN[body.len() - point - 1];
            Some(Cell::Float(if negative { -value } else { value }))
        }
        _ => parse_float(field).map(Cell::Float),
    }
}

/// A field that looks like a number to Rust's parser, parsed.
fn parse_float(field: &[u8]) -> Option<f64> {
    let first = *field.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.' | b'i' | b'I' | b'n' | b'N')) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse::<f64>().ok()
}

/// Calls `field(column, bytes)` for every field of every record of `data` and `record(fields,
/// offset)` after each record (with the byte offset of its start), skipping blank lines.
/// Returns the byte offset of a quote left open, if any.
fn tokenize(
    data: &[u8],
    delimiter: u8,
    mut field: impl FnMut(usize, &[u8]),
    mut record: impl FnMut(usize, usize) -> Result<()>,
) -> Result<Option<usize>> {
    let n = data.len();
    let mut scratch: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < n {
        if data[i] == b'\n' || (data[i] == b'\r' && data.get(i + 1) == Some(&b'\n')) {
            i += if data[i] == b'\n' { 1 } else { 2 };
            continue;
        }
        let start = i;
        let mut column = 0;
        loop {
            while i < n && (data[i] == b' ' || data[i] == b'\t') {
                i += 1;
            }
            if i < n && data[i] == b'"' {
                let open = i;
                i += 1;
                scratch.clear();
                loop {
                    let Some(k) = memchr::memchr(b'"', &data[i..]) else { return Ok(Some(open)) };
                    scratch.extend_from_slice(&data[i..i + k]);
                    i += k + 1;
                    if data.get(i) == Some(&b'"') {
                        scratch.push(b'"');
                        i += 1;
                    } else {
                        break;
                    }
                }
                while i < n && matches!(data[i], b' ' | b'\t' | b'\r') {
                    i += 1;
                }
                field(column, &scratch);
            } else {
                let from = i;
                while i < n && data[i] != delimiter && data[i] != b'\n' {
                    i += 1;
                }
                let mut end = i;
                while end > from && matches!(data[end - 1], b' ' | b'\t' | b'\r') {
                    end -= 1;
                }
                field(column, &data[from..end]);
            }
            column += 1;
            if i >= n || data[i] == b'\n' {
                i += 1;
                break;
            }
            if data[i] == delimiter {
                i += 1;
                continue;
            }
            let message = format!("unexpected `{}` after a quoted field", char::from(data[i]));
            return Err(at_offset(Error::Csv { line: None, message }, data, i));
        }
        record(column, start)?;
    }
    Ok(None)
}

/// `error` with the 1-based line of byte `offset` of `data` (counted within `data`).
fn at_offset(error: Error, data: &[u8], offset: usize) -> Error {
    match error {
        Error::Csv { message, .. } => {
            Error::Csv { line: Some(memchr::memchr_iter(b'\n', &data[..offset]).count() as u64 + 1), message }
        }
        other => other,
    }
}

/// Byte offsets splitting `body` into about `parts` pieces, each starting a record: the first
/// newline at or after each target that is outside quotes (an even number of quotes before it).
/// The offset just past the first newline at or after `from` that is outside quotes (`inside`:
/// whether `from` is within a quoted field), if there is one.
fn record_end(bytes: &[u8], from: usize, mut inside: bool) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'"' => inside = !inside,
            b'\n' if !inside => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn chunk_boundaries(body: &[u8], parts: usize) -> Vec<usize> {
    let mut boundaries = vec![0];
    let mut quotes_before = 0usize;
    let mut counted_to = 0;
    for k in 1..parts {
        let target = body.len() * k / parts;
        let last = *boundaries.last().expect("one boundary");
        if target <= last {
            continue;
        }
        quotes_before += memchr::memchr_iter(b'"', &body[counted_to..target]).count();
        let Some(end) = record_end(body, target, quotes_before % 2 == 1) else { break };
        quotes_before += memchr::memchr_iter(b'"', &body[target..end]).count();
        counted_to = end;
        boundaries.push(end);
    }
    boundaries.push(body.len());
    boundaries.dedup();
    boundaries
}

/// One column of one chunk: its cells and the dictionary of its text values.
#[derive(Default)]
struct ChunkColumn {
    cells: Vec<Cell>,
    dictionary: HashMap<Vec<u8>, u32>,
    texts: Vec<Vec<u8>>,
}

impl ChunkColumn {
    fn push(&mut self, field: &[u8], classifier: &Classifier<'_>) {
        let cell = classifier.classify(field).unwrap_or_else(|| {
            // Look up before inserting: a text seen before costs no allocation.
            if let Some(&code) = self.dictionary.get(field) {
                return Cell::Text(code);
            }
            let code = self.texts.len() as u32;
            self.dictionary.insert(field.to_vec(), code);
            self.texts.push(field.to_vec());
            Cell::Text(code)
        });
        self.cells.push(cell);
    }

    /// The text of every cell: the dictionary's for text cells, the field as written for the
    /// others (read again from `chunk`, as a column of mixed kinds needs).
    fn texts_of_all(&self, chunk: &[u8], column: usize, delimiter: u8) -> Result<Vec<Option<Vec<u8>>>> {
        if self.cells.iter().all(|c| matches!(c, Cell::Text(_) | Cell::Missing)) {
            return Ok(self
                .cells
                .iter()
                .map(|c| match c {
                    Cell::Text(code) => Some(self.texts[*code as usize].clone()),
                    _ => None,
                })
                .collect());
        }
        let mut raw = Vec::with_capacity(self.cells.len());
        tokenize(
            chunk,
            delimiter,
            |j, field| {
                if j == column {
                    raw.push(field.to_vec());
                }
            },
            |_, _| Ok(()),
        )?;
        Ok(raw.into_iter().zip(&self.cells).map(|(text, cell)| (*cell != Cell::Missing).then_some(text)).collect())
    }
}

/// Parses one chunk into its stored columns.
fn parse_chunk(
    chunk: &[u8],
    selected: &[Option<usize>],
    width: usize,
    options: &CsvOptions,
) -> Result<Vec<ChunkColumn>> {
    let classifier = Classifier::new(options);
    let stored = selected.iter().flatten().count();
    // Room for the records the first lines' length suggests, to grow the cells once at most.
    let sample = &chunk[..chunk.len().min(64 << 10)];
    let lines = memchr::memchr_iter(b'\n', sample).count().max(1);
    let expected = chunk.len() / (sample.len() / lines).max(1) + 16;
    let mut columns: Vec<ChunkColumn> =
        (0..stored).map(|_| ChunkColumn { cells: Vec::with_capacity(expected), ..ChunkColumn::default() }).collect();
    let open = tokenize(
        chunk,
        options.delimiter,
        |j, field| {
            if let Some(Some(slot)) = selected.get(j) {
                columns[*slot].push(field, &classifier);
            }
        },
        |fields, start| {
            if fields != width {
                return Err(at_offset(
                    Error::Csv { line: None, message: format!("row has {fields} fields but the header has {width}") },
                    chunk,
                    start,
                ));
            }
            Ok(())
        },
    )?;
    if let Some(offset) = open {
        return Err(at_offset(Error::Csv { line: None, message: "a quote is never closed".into() }, chunk, offset));
    }
    Ok(columns)
}

/// Parses CSV text held in memory.
///
/// # Errors
/// As [`read_csv`], without the I/O part.
pub fn parse_csv(bytes: &[u8], options: &CsvOptions) -> Result<DataFrame> {
    let threads = match options.threads {
        0 => crate::parallel::threads(),
        t => t,
    };
    // About four pieces a thread, none under 256 KiB; small files in one piece.
    let parts = if bytes.len() < 1 << 20 { 1 } else { (threads * 4).min(bytes.len() >> 18).max(1) };
    parse_in_parts(bytes, options, threads, parts)
}

/// [`parse_csv`] with the body split into about `parts` pieces parsed on `threads` threads.
fn parse_in_parts(bytes: &[u8], options: &CsvOptions, threads: usize, parts: usize) -> Result<DataFrame> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut names = Vec::new();
    let mut header_error = None;
    // The header: the first record.
    let header_end = record_end(bytes, 0, false).unwrap_or(bytes.len());
    tokenize(
        &bytes[..header_end],
        options.delimiter,
        |j, field| match std::str::from_utf8(field) {
            Ok(name) => names.push(name.to_string()),
            Err(_) => {
                header_error
                    .get_or_insert(Error::Csv { line: Some(1), message: format!("header {} is not UTF-8", j + 1) });
            }
        },
        |_, _| Ok(()),
    )?;
    if let Some(error) = header_error {
        return Err(error);
    }
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(Error::Csv { line: Some(1), message: "no header row".into() });
    }
    for (name, _) in &options.overrides {
        if !names.contains(name) {
            return Err(Error::Csv {
                line: None,
                message: format!("type override names `{name}`, which is not a column"),
            });
        }
    }
    if let Some(wanted) = &options.columns {
        if let Some(missing) = wanted.iter().find(|w| !names.contains(w)) {
            return Err(Error::UnknownColumn {
                name: missing.clone(),
                suggestion: crate::error::suggest(missing, names.iter().map(String::as_str)),
            });
        }
    }
    // Which file columns are stored, and in which slot.
    let mut slot = 0;
    let selected: Vec<Option<usize>> = names
        .iter()
        .map(|n| {
            options.columns.as_ref().is_none_or(|w| w.contains(n)).then(|| {
                slot += 1;
                slot - 1
            })
        })
        .collect();
    let body = &bytes[header_end..];
    let boundaries = chunk_boundaries(body, parts);
    let pieces: Vec<&[u8]> = boundaries.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let width = names.len();
    let chunks =
        crate::parallel::map_in_order(pieces.len(), threads, |k| parse_chunk(pieces[k], &selected, width, options))
            .into_iter()
            .enumerate()
            .map(|(k, result)| {
                // Lines in chunk errors are counted within the chunk: add the header and the lines
                // of the chunks before it.
                result.map_err(|e| match e {
                    Error::Csv { line: Some(line), message } => {
                        let before = memchr::memchr_iter(b'\n', &body[..boundaries[k]]).count() as u64;
                        Error::Csv { line: Some(line + before + 1), message }
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<Vec<ChunkColumn>>>>();
    // Cutting at a newline outside quotes by counting quotes assumes quotes only open and close
    // fields; a stray quote inside an unquoted field can put a cut inside a record. Such files are
    // malformed or unusual, so the whole body is then read in one piece, as it would be anyway.
    let mut chunks = match chunks {
        Err(_) if pieces.len() > 1 => return parse_in_parts(bytes, options, threads, 1),
        other => other?,
    };
    let work: Vec<(usize, Vec<ChunkColumn>)> = (0..names.len())
        .filter_map(|j| {
            let slot = selected[j]?;
            Some((j, chunks.iter_mut().map(|c| std::mem::take(&mut c[slot])).collect()))
        })
        .collect();
    let columns = crate::parallel::map_in_order(work.len(), threads, |k| {
        let (j, parts) = (work[k].0, &work[k].1);
        let forced = options.overrides.iter().find(|(n, _)| n == &names[j]).map(|(_, t)| *t);
        to_column(&names[j], j, parts, &pieces, forced, options).map(|column| (j, column))
    });
    let mut frame = DataFrame::new();
    for result in columns {
        let (j, column) = result?;
        frame.push(names[j].clone(), column).map_err(|e| Error::Csv { line: Some(1), message: e.to_string() })?;
    }
    Ok(frame)
}

fn infer<'a>(cells: impl Iterator<Item = &'a Cell>) -> ColumnType {
    let mut all_integer = true;
    let mut all_number = true;
    let mut all_boolean = true;
    let mut any_value = false;
    let mut any_suppressed = false;
    for cell in cells {
        match cell {
            Cell::Missing => {}
            Cell::Suppressed => {
                all_boolean = false;
                any_suppressed = true;
            }
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
            Cell::Text(_) => return ColumnType::Categorical,
        }
    }
    if !any_value && any_suppressed {
        // Only codes such as `c` or `x` and no number: text, as R reads it (a factor whose levels
        // happen to be suppression codes), not a numeric column with nothing published.
        ColumnType::Categorical
    } else if !any_value {
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

/// Builds column `name` (the `index`-th of the file) from its cells in every chunk.
fn to_column(
    name: &str,
    index: usize,
    parts: &[ChunkColumn],
    pieces: &[&[u8]],
    forced: Option<ColumnType>,
    options: &CsvOptions,
) -> Result<Column> {
    let inferred = forced.unwrap_or_else(|| infer(parts.iter().flat_map(|p| p.cells.iter())));
    let total: usize = parts.iter().map(|p| p.cells.len()).sum();
    let mut row = 0;
    let mut bad = None;
    let mut note_bad = |row: usize, piece: usize, within: usize, parts: &[ChunkColumn]| {
        if bad.is_none() {
            let text =
                parts[piece].texts_of_all(pieces[piece], index, options.delimiter).ok().and_then(|t| t[within].clone());
            bad = Some(Error::Csv {
                line: Some(row as u64 + 2),
                message: format!(
                    "column `{name}`: `{}` is not {inferred}",
                    String::from_utf8_lossy(text.as_deref().unwrap_or_default())
                ),
            });
        }
    };
    let column = match inferred {
        ColumnType::Integer | ColumnType::Float | ColumnType::Boolean => {
            let (mut ints, mut floats, mut bools) = (Vec::new(), Vec::new(), Vec::new());
            match inferred {
                ColumnType::Integer => ints.reserve(total),
                ColumnType::Float => floats.reserve(total),
                _ => bools.reserve(total),
            }
            for (p, part) in parts.iter().enumerate() {
                for (within, cell) in part.cells.iter().enumerate() {
                    match (inferred, *cell) {
                        (ColumnType::Integer, Cell::Missing | Cell::Suppressed) => ints.push(None),
                        (ColumnType::Integer, Cell::Integer(x)) => ints.push(Some(x)),
                        (ColumnType::Float, Cell::Missing | Cell::Suppressed) => floats.push(None),
                        (ColumnType::Float, Cell::Integer(x)) => floats.push(Some(x as f64)),
                        (ColumnType::Float, Cell::Float(x)) => floats.push(Some(x)),
                        (ColumnType::Boolean, Cell::Missing) => bools.push(None),
                        (ColumnType::Boolean, Cell::Boolean(b)) => bools.push(Some(b)),
                        _ => note_bad(row, p, within, parts),
                    }
                    row += 1;
                }
            }
            match inferred {
                ColumnType::Integer => Column::Integer(ints),
                ColumnType::Float => Column::Float(floats),
                _ => Column::Boolean(bools),
            }
        }
        ColumnType::Categorical => {
            // Intern every chunk's texts into one dictionary, then number its entries in byte
            // order (R's C-locale levels).
            let mut dictionary: HashMap<Vec<u8>, u32> = HashMap::new();
            let mut intern = |text: &[u8]| -> u32 {
                if let Some(&id) = dictionary.get(text) {
                    return id;
                }
                let id = dictionary.len() as u32;
                dictionary.insert(text.to_vec(), id);
                id
            };
            let mut ids: Vec<Option<u32>> = Vec::with_capacity(total);
            for (p, part) in parts.iter().enumerate() {
                if part.cells.iter().all(|c| matches!(c, Cell::Text(_) | Cell::Missing)) {
                    let remap: Vec<u32> = part.texts.iter().map(|t| intern(t)).collect();
                    ids.extend(part.cells.iter().map(|c| match c {
                        Cell::Text(k) => Some(remap[*k as usize]),
                        _ => None,
                    }));
                } else {
                    for text in part.texts_of_all(pieces[p], index, options.delimiter)? {
                        ids.push(text.map(|t| intern(&t)));
                    }
                }
            }
            let mut levels: Vec<(Vec<u8>, u32)> = dictionary.into_iter().collect();
            levels.sort_unstable();
            let mut rank = vec![0u32; levels.len()];
            for (r, (_, id)) in levels.iter().enumerate() {
                rank[*id as usize] = r as u32;
            }
            let codes = ids.into_iter().map(|id| id.map(|i| rank[i as usize])).collect();
            let levels = levels
                .into_iter()
                .map(|(text, _)| {
                    String::from_utf8(text).map_err(|_| Error::Csv {
                        line: None,
                        message: format!("column `{name}` holds text that is not UTF-8"),
                    })
                })
                .collect::<Result<Vec<String>>>()?;
            Column::Categorical { codes, levels }
        }
    };
    match bad {
        Some(error) => Err(error),
        None => Ok(column),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        // A column of codes alone is text, as R reads it.
        let frame = parse("grade\nc\nx\nNA\nc\n");
        let Column::Categorical { levels, codes } = frame.column("grade").unwrap() else { panic!() };
        assert_eq!(levels, &["c", "x"]);
        assert_eq!(codes[2], None);
        // Nothing at all is a numeric column with nothing in it.
        assert_eq!(parse("n,m\n,1\n,2\n").column("n").unwrap(), &Column::Float(vec![None, None]));
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
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("STRATA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
        ))]

        /// Fuzzed: any text cut into up to five pieces reads as in one, or fails alike.
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
            proptest::prop_assert_eq!(one.is_ok(), many.is_ok());
            if let (Ok(a), Ok(b)) = (one, many) {
                proptest::prop_assert_eq!(a, b);
            }
        }
    }

    /// Every way of cutting a file into pieces gives the same frame: quotes around delimiters,
    /// doubled quotes, newlines inside quotes, `\r\n`, blank lines, text in a numeric-looking
    /// column only late in the file, suppression codes.
    #[test]
    fn pieces_and_threads_do_not_change_the_frame() {
        let mut text = String::from("id,name,x,flag,mixed,code\r\n");
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
            write!(text, "{i},{name}, {}.25 ,{},{mixed},{code}\r\n", i % 13, i % 2 == 0).unwrap();
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

    /// The fast path equals Rust's correctly rounded parser wherever it applies, and leaves
    /// integers of 19 digits, exponents and long decimals to it.
    #[test]
    fn numbers_parse_exactly() {
        let mut state: u64 = 9;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let mantissa = state >> 14;
            let decimals = (state % 23) as usize;
            let digits = mantissa.to_string();
            let text = if decimals < digits.len() {
                format!("-{}.{}", &digits[..digits.len() - decimals], &digits[digits.len() - decimals..])
            } else {
                format!("0.{}{digits}", "0".repeat(decimals - digits.len()))
            };
            let expected: f64 = text.parse().unwrap();
            assert_eq!(parse_number(text.as_bytes()), Some(Cell::Float(expected)), "{text}");
        }
        assert_eq!(parse_number(b"-42"), Some(Cell::Integer(-42)));
        assert_eq!(parse_number(b"1234567890123456789"), Some(Cell::Float(1_234_567_890_123_456_789.0)));
        assert_eq!(parse_number(b"1e-3"), Some(Cell::Float(1e-3)));
        assert_eq!(parse_number(b"3."), Some(Cell::Float(3.0)));
        assert_eq!(parse_number(b".5"), Some(Cell::Float(0.5)));
        assert_eq!(parse_number(b"NaN").map(|c| matches!(c, Cell::Float(x) if x.is_nan())), Some(true));
        assert_eq!(parse_number(b"-"), None);
        assert_eq!(parse_number(b"."), None);
        assert_eq!(parse_number(b"1.2.3"), None);
        assert_eq!(parse_number(b"12a"), None);
        // R writes 15 significant digits after a leading zero.
        assert_eq!(parse_number(b"-0.626453810742332"), Some(Cell::Float(-0.626_453_810_742_332)));
        assert_eq!(parse_number(b"0.000123456789012345"), Some(Cell::Float(0.000_123_456_789_012_345)));
    }

    #[test]
    fn ragged_rows_are_an_error_with_a_line() {
        let error = parse_csv(b"a,b\n1,2\n3\n", &CsvOptions::default()).unwrap_err();
        assert!(matches!(error, Error::Csv { line: Some(3), .. }), "{error}");
    }
}

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
//! The input comes in pieces of whole records (`source`): a file is read ahead by a thread of
//! its own in pieces of about 4 MiB, text in memory is cut into a few pieces a thread; a cut is a
//! newline outside quotes (the parity of the quotes before it decides). A pool of threads parses
//! the pieces as they come (`chunk`), every field classified as it is read (`number`) and stored
//! in its column's typed array — numbers parsed once, text interned in a per-piece dictionary;
//! runs of columns a model does not read are passed over by counting delimiters eight bytes at a
//! time. As the pieces come back they are put together in file order: a column's consecutive
//! pieces of numbers are merged into one array at once, so that its storage is free for the
//! pieces still to come and the finished column is that array. The columns are then built from
//! what is left of their pieces (`column`), so the frame is the same on any number of threads.
//! Fields follow RFC 4180 (quotes, doubled quotes inside them, `\r\n`), with spaces around
//! fields trimmed and blank lines skipped.

mod chunk;
mod column;
mod number;
mod source;
#[cfg(test)]
mod tests;
mod tokenize;

use crate::error::{Error, Result};
use crate::frame::{ColumnType, DataFrame};
use chunk::{parse_chunk, ChunkColumn, Layout};
use number::Classifier;
use source::Source;
use std::path::Path;
use tokenize::tokenize;

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

/// Reads the CSV file at `path`, in pieces of whole records: the file's text is never held at
/// once, only the columns read from it.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Csv`] if it is malformed (ragged rows,
/// an unclosed quote, invalid UTF-8 in a text column, no header, an override or a selected
/// column naming a missing column, or a value that does not fit the overridden type).
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<DataFrame> {
    let threads = threads(options);
    read(Source::file(path.as_ref(), PIECE)?, options, threads)
}

/// Parses CSV text held in memory.
///
/// # Errors
/// As [`read_csv`], without the I/O part.
pub fn parse_csv(bytes: &[u8], options: &CsvOptions) -> Result<DataFrame> {
    let threads = threads(options);
    // About four pieces a thread, none under 256 KiB.
    parse_in_parts(bytes, options, threads, (threads * 4).min(bytes.len() >> 18).max(1))
}

/// The bytes of a file in one piece (a thread's unit of work).
const PIECE: usize = 4 << 20;

fn threads(options: &CsvOptions) -> usize {
    match options.threads {
        0 => crate::parallel::threads(),
        t => t,
    }
}

/// [`parse_csv`] with the body split into about `parts` pieces parsed on `threads` threads.
fn parse_in_parts(bytes: &[u8], options: &CsvOptions, threads: usize, parts: usize) -> Result<DataFrame> {
    read(Source::memory(bytes, parts), options, threads)
}

/// Reads `source` piece by piece, the pieces parsed on `threads` threads as they come, then
/// builds the columns from their pieces in order.
fn read(mut source: Source<'_>, options: &CsvOptions, threads: usize) -> Result<DataFrame> {
    let header = source.header()?;
    let header_lines = memchr::memchr_iter(b'\n', &header).count().max(1) as u64;
    let names = column_names(&header, options)?;
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
    let forced = |name: &str| options.overrides.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    let stored =
        names.iter().zip(&selected).filter(|(_, s)| s.is_some()).map(|(n, _)| (n.as_str(), forced(n))).collect();
    let layout = Layout::new(selected, stored, options.delimiter);
    let classifier = Classifier::new(options);
    let (pieces, parsed) = parse_pieces(&mut source, &layout, &classifier, threads)?;
    let single = source.is_single_piece();
    let parts = match parsed {
        Ok(parts) => parts,
        // Lines are counted within the piece: in a single piece, add the header's.
        Err(Error::Csv { line: Some(line), message }) if single => {
            return Err(Error::Csv { line: Some(line + header_lines), message })
        }
        Err(error) if single => return Err(error),
        // Cutting at a newline outside quotes by counting quotes assumes quotes only open
        // and close fields; a stray quote inside an unquoted field can put a cut inside a
        // record. Such files are malformed or unusual, so the whole input is read again
        // in one piece, which also counts an error's line in the whole file.
        Err(_) => return parse_in_parts(&source.whole()?, options, 1, 1),
    };
    let reread = source.rereader();
    let reread_pieces = |run: std::ops::Range<usize>| reread(pieces[run.start].start..pieces[run.end - 1].end);
    let work: Vec<(usize, std::sync::Mutex<Vec<ChunkColumn>>)> = (0..names.len())
        .filter_map(|j| layout.selected[j].map(|slot| (j, slot)))
        .zip(parts)
        .map(|((j, _), parts)| (j, std::sync::Mutex::new(parts)))
        .collect();
    let columns = crate::parallel::map_in_order(work.len(), threads, |k| {
        let (j, parts) = (work[k].0, std::mem::take(&mut *work[k].1.lock().expect("not poisoned")));
        let kind = forced(&names[j]).unwrap_or_else(|| column::infer(&parts));
        column::build(&names[j], j, kind, parts, &reread_pieces, &classifier, options.delimiter)
            .map(|column| (j, column))
    });
    let mut frame = DataFrame::new();
    for result in columns {
        let (j, column) = result?;
        frame.push(names[j].clone(), column).map_err(|e| Error::Csv { line: Some(1), message: e.to_string() })?;
    }
    Ok(frame)
}

/// One piece's columns, or why it could not be parsed.
type Parsed = Result<Vec<ChunkColumn>>;

/// Each column's parts in order, or the first piece's error.
type Parts = Result<Vec<Vec<ChunkColumn>>>;

/// The pieces' columns put together in the order of the pieces as they are parsed: each
/// column's parts, runs of pieces of numbers merged into one ([`ChunkColumn::absorb`]), or the
/// first piece's error.
struct Assembly {
    parts: Parts,
    /// The next piece to add, and those parsed before it.
    next: usize,
    waiting: std::collections::BTreeMap<usize, Parsed>,
}

impl Assembly {
    fn new(columns: usize) -> Self {
        Self {
            parts: Ok((0..columns).map(|_| Vec::new()).collect()),
            next: 0,
            waiting: std::collections::BTreeMap::new(),
        }
    }

    /// Adds piece `k`'s columns, and those of the pieces after it that were waiting for it.
    fn add(&mut self, k: usize, parsed: Parsed) {
        self.waiting.insert(k, parsed);
        while let Some(parsed) = self.waiting.remove(&self.next) {
            let piece = self.next;
            self.next += 1;
            let Ok(columns) = &mut self.parts else { continue };
            match parsed {
                Ok(pieces_columns) => {
                    for (parts, mut part) in columns.iter_mut().zip(pieces_columns) {
                        part.pieces = piece..piece + 1;
                        if let Some(part) = match parts.last_mut() {
                            Some(last) => last.absorb(part),
                            None => Some(part),
                        } {
                            parts.push(part);
                        }
                    }
                }
                Err(error) => self.parts = Err(error),
            }
        }
    }
}

/// Every piece of `source` parsed into its columns on `threads` threads, each thread taking the
/// next piece as it finishes one, and put together as they come (the storage of a piece's
/// numbers is free again for the pieces after it); the pieces' places in the input, and each
/// column's parts in order or the first piece's error.
fn parse_pieces(
    source: &mut Source<'_>,
    layout: &Layout<'_>,
    classifier: &Classifier<'_>,
    threads: usize,
) -> Result<(Vec<std::ops::Range<usize>>, Parts)> {
    let recycler = source.recycler();
    let (jobs, queue) = std::sync::mpsc::sync_channel::<(usize, std::borrow::Cow<'_, [u8]>)>(threads);
    let queue = std::sync::Mutex::new(queue);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let (queue, done, recycler) = (&queue, done.clone(), recycler.clone());
            scope.spawn(move || {
                // The lock is held only while waiting for the next piece.
                while let Ok((k, piece)) = queue.lock().map_err(|_| ()).and_then(|q| q.recv().map_err(|_| ())) {
                    let parsed = parse_chunk(&piece, layout, classifier);
                    if let (std::borrow::Cow::Owned(buffer), Some(recycler)) = (piece, &recycler) {
                        let _ = recycler.send(buffer);
                    }
                    if done.send((k, parsed)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut assembly = Assembly::new(layout.stored.len());
        let mut pieces = Vec::new();
        let fed = loop {
            match source.next_piece() {
                Ok(Some((offset, piece))) => {
                    pieces.push(offset..offset + piece.len());
                    if jobs.send((pieces.len() - 1, piece)).is_err() {
                        break Ok(());
                    }
                    for (k, parsed) in finished.try_iter() {
                        assembly.add(k, parsed);
                    }
                }
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            }
        };
        drop(jobs);
        for (k, parsed) in finished {
            assembly.add(k, parsed);
        }
        fed?;
        debug_assert_eq!(assembly.next, pieces.len(), "every piece is parsed");
        Ok((pieces, assembly.parts))
    })
}

/// The column names in the header, checked against the options' overrides and selection.
fn column_names(header: &[u8], options: &CsvOptions) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut header_error = None;
    tokenize(
        header,
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
    Ok(names)
}

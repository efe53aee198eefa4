//! Parsing one piece of a CSV file into typed columns as its fields are read.
//!
//! Each column of a piece keeps its values in the narrowest store that holds everything seen so
//! far — nothing yet, integers, floats (integers promoted in place), booleans, text interned in a
//! dictionary — and a list of its missing rows, 8 bytes a number rather than a cell per value.
//! A piece whose column mixes kinds that only text can hold together (numbers then text, booleans
//! and suppression codes) stops storing it: the column is read again as text when it is built.

use super::number::{parse_number, plain_number, Cell, Classifier};
use super::tokenize::{at_offset, field_end, skip_fields, tokenize_with};
use crate::error::{Error, Result};
use crate::frame::ColumnType;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// A dictionary of a column's texts, hashed by [`TextHasher`].
pub(super) type Dictionary = HashMap<Vec<u8>, u32, BuildHasherDefault<TextHasher>>;

/// The multiply-rotate hash of rustc's `FxHasher`, a word at a time: a column's texts are short
/// and many, and a CSV file is not an adversary worth SipHash's cost. The last multiplication
/// mixes each bit only into those above it, so the hash is rotated to bring its well-mixed high
/// bits down to the low ones the table's buckets are chosen by (as rustc-hash 2 does): without
/// it the bucket of a text such as `a6006` depended on its first two bytes alone, and reading
/// 20,000 such area codes spent most of its time walking the collisions.
#[derive(Default)]
pub(super) struct TextHasher(u64);

impl Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mix = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.0 = mix(self.0, u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        self.0 = mix(self.0, u64::from_le_bytes(tail) ^ bytes.len() as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// The values of one column of one piece.
#[derive(Default)]
pub(super) enum Store {
    /// Only missing values and suppression codes so far.
    #[default]
    Empty,
    Integer(Vec<i64>),
    Float(Vec<f64>),
    Boolean(Vec<bool>),
    /// Codes into `texts`, each text once (0 in the missing rows).
    Text {
        codes: Vec<u32>,
        dictionary: Dictionary,
        texts: Vec<Vec<u8>>,
    },
    /// Kinds only text can hold together: read again as text.
    Mixed,
}

/// One column of one piece.
#[derive(Default)]
pub(super) struct ChunkColumn {
    pub(super) store: Store,
    /// Number of rows.
    pub(super) rows: usize,
    /// The missing rows, counted within the piece.
    pub(super) missing: Vec<u32>,
    /// Whether a suppression code was read as missing.
    pub(super) suppressed: bool,
    forced: Option<ColumnType>,
    /// Room for the rows the piece is expected to hold.
    expected: usize,
    /// The pieces of the input whose rows these are: one, or a run of pieces of numbers merged
    /// by [`ChunkColumn::absorb`].
    pub(super) pieces: Range<usize>,
}

impl ChunkColumn {
    fn new(forced: Option<ColumnType>, expected: usize) -> Self {
        let store = if forced == Some(ColumnType::Categorical) { Self::text_store(0) } else { Store::Empty };
        Self { store, rows: 0, missing: Vec::new(), suppressed: false, forced, expected, pieces: 0..0 }
    }

    /// Appends `next`, this column's part in the following piece, when both hold numbers or
    /// nothing and the rows still count in `u32`; returns it otherwise. A column of numbers is
    /// thus one array as soon as its pieces are parsed, each piece's values copied once and its
    /// storage freed for the pieces still to come, and no copy is left for building the column.
    /// The values stored are those [`super::column::build`] gives the parts one by one: integers
    /// become floats when a piece has a float.
    pub(super) fn absorb(&mut self, next: ChunkColumn) -> Option<ChunkColumn> {
        let numeric = |store: &Store| matches!(store, Store::Empty | Store::Integer(_) | Store::Float(_));
        if !numeric(&self.store) || !numeric(&next.store) || self.rows + next.rows > u32::MAX as usize {
            return Some(next);
        }
        let offset = self.rows;
        let rows = offset + next.rows;
        self.store = match (std::mem::take(&mut self.store), next.store) {
            (Store::Empty, Store::Empty) => Store::Empty,
            (mine, theirs) if matches!(mine, Store::Float(_)) || matches!(theirs, Store::Float(_)) => {
                Store::Float(joined(floats(mine), offset, &floats(theirs), rows))
            }
            (mine, theirs) => Store::Integer(joined(integers(mine), offset, &integers(theirs), rows)),
        };
        self.missing.extend(next.missing.iter().map(|&r| r + offset as u32));
        self.rows = rows;
        self.suppressed |= next.suppressed;
        self.pieces.end = next.pieces.end;
        None
    }

    fn text_store(rows: usize) -> Store {
        Store::Text { codes: vec![0; rows], dictionary: Dictionary::default(), texts: Vec::new() }
    }

    /// A typed store for a piece whose first `rows` rows are all missing.
    fn typed<T: Clone + Default>(rows: usize, expected: usize) -> Vec<T> {
        let mut values = Vec::with_capacity(expected.max(rows + 1));
        values.resize(rows, T::default());
        values
    }

    /// Adds a number to a column that stores numbers of its kind already; `false` (nothing
    /// stored) for any other column, whose first number or change of kind [`ChunkColumn::push`]
    /// decides.
    #[inline]
    fn push_number(&mut self, cell: Cell) -> bool {
        match (&mut self.store, cell) {
            (Store::Float(values), Cell::Float(x)) => values.push(x),
            (Store::Float(values), Cell::Integer(x)) => values.push(x as f64),
            (Store::Integer(values), Cell::Integer(x)) => values.push(x),
            _ => return false,
        }
        self.rows += 1;
        true
    }

    /// Takes back the number [`ChunkColumn::push_number`] stored last.
    fn pop_number(&mut self) {
        match &mut self.store {
            Store::Float(values) => values.truncate(values.len() - 1),
            Store::Integer(values) => values.truncate(values.len() - 1),
            _ => unreachable!("only numbers are taken back"),
        }
        self.rows -= 1;
    }

    /// Adds a field; `false` if it does not fit the column's forced type.
    #[inline]
    fn push(&mut self, field: &[u8], classifier: &Classifier<'_>) -> bool {
        // Most fields are numbers in a column of numbers.
        if classifier.numbers_first() {
            let stored = match (&mut self.store, parse_number(field)) {
                (Store::Float(values), Some(Cell::Float(x))) => {
                    values.push(x);
                    true
                }
                (Store::Float(values), Some(Cell::Integer(x))) => {
                    values.push(x as f64);
                    true
                }
                (Store::Integer(values), Some(Cell::Integer(x))) => {
                    values.push(x);
                    true
                }
                _ => false,
            };
            if stored {
                self.rows += 1;
                return true;
            }
        }
        let row = self.rows;
        self.rows += 1;
        if let Store::Text { codes, dictionary, texts } = &mut self.store {
            if classifier.is_missing(field) {
                self.missing.push(row as u32);
                codes.push(0);
            } else if let Some(&code) = dictionary.get(field) {
                // Looked up before inserting: a text seen before costs no allocation.
                codes.push(code);
            } else {
                let code = texts.len() as u32;
                dictionary.insert(field.to_vec(), code);
                texts.push(field.to_vec());
                codes.push(code);
            }
            return true;
        }
        if matches!(self.store, Store::Mixed) {
            return true;
        }
        let forced = self.forced;
        let Some(cell) = classifier.classify(field) else {
            if forced.is_some() {
                return false;
            }
            self.store = if matches!(self.store, Store::Empty) && !self.suppressed {
                Self::text_store(row)
            } else {
                Store::Mixed
            };
            // Now text (or mixed): the field is stored as such.
            self.rows -= 1;
            return self.push(field, classifier);
        };
        let misfit = match forced {
            Some(ColumnType::Boolean) => matches!(cell, Cell::Suppressed | Cell::Integer(_) | Cell::Float(_)),
            Some(ColumnType::Integer) => matches!(cell, Cell::Float(_) | Cell::Boolean(_)),
            Some(ColumnType::Float) => matches!(cell, Cell::Boolean(_)),
            _ => false,
        };
        if misfit {
            return false;
        }
        let expected = self.expected;
        match (cell, &mut self.store) {
            (Cell::Missing, store) => {
                self.missing.push(row as u32);
                push_default(store);
            }
            (Cell::Suppressed, Store::Boolean(_)) => self.store = Store::Mixed,
            (Cell::Suppressed, store) => {
                self.suppressed = true;
                self.missing.push(row as u32);
                push_default(store);
            }
            (Cell::Integer(x), Store::Empty) if forced == Some(ColumnType::Float) => {
                let mut values = Self::typed(row, expected);
                values.push(x as f64);
                self.store = Store::Float(values);
            }
            (Cell::Integer(x), Store::Empty) => {
                let mut values = Self::typed(row, expected);
                values.push(x);
                self.store = Store::Integer(values);
            }
            (Cell::Integer(x), Store::Integer(values)) => values.push(x),
            (Cell::Integer(x), Store::Float(values)) => values.push(x as f64),
            (Cell::Float(x), Store::Empty) => {
                let mut values = Self::typed(row, expected);
                values.push(x);
                self.store = Store::Float(values);
            }
            (Cell::Float(x), Store::Integer(values)) => {
                let mut floats: Vec<f64> = std::mem::take(values).into_iter().map(|v| v as f64).collect();
                floats.push(x);
                self.store = Store::Float(floats);
            }
            (Cell::Float(x), Store::Float(values)) => values.push(x),
            (Cell::Boolean(b), Store::Empty) if !self.suppressed => {
                let mut values = Self::typed(row, expected);
                values.push(b);
                self.store = Store::Boolean(values);
            }
            (Cell::Boolean(b), Store::Boolean(values)) => values.push(b),
            (Cell::Integer(_) | Cell::Float(_) | Cell::Boolean(_), _) => self.store = Store::Mixed,
        }
        true
    }
}

/// The values of a part of `offset` rows (none when it had nothing yet: placeholders) followed
/// by `more`, placeholders to `rows` (when the next part had nothing).
fn joined<T: Copy + Default>(mut values: Vec<T>, offset: usize, more: &[T], rows: usize) -> Vec<T> {
    values.resize(offset, T::default());
    values.extend_from_slice(more);
    values.resize(rows, T::default());
    values
}

/// A store of numbers or nothing as floats (integers converted in place).
fn floats(store: Store) -> Vec<f64> {
    match store {
        Store::Float(values) => values,
        Store::Integer(values) => values.into_iter().map(|v| v as f64).collect(),
        _ => Vec::new(),
    }
}

/// A store of integers or nothing as integers.
fn integers(store: Store) -> Vec<i64> {
    match store {
        Store::Integer(values) => values,
        _ => Vec::new(),
    }
}

/// A placeholder for a missing row in a typed store.
fn push_default(store: &mut Store) {
    match store {
        Store::Integer(values) => values.push(0),
        Store::Float(values) => values.push(0.0),
        Store::Boolean(values) => values.push(false),
        Store::Text { codes, .. } => codes.push(0),
        Store::Empty | Store::Mixed => {}
    }
}

/// Which columns of the file are stored and how.
pub(super) struct Layout<'a> {
    /// For each column of the file, its slot among the stored columns, if stored.
    pub(super) selected: Vec<Option<usize>>,
    /// Each stored column's name and forced type.
    pub(super) stored: Vec<(&'a str, Option<ColumnType>)>,
    pub(super) delimiter: u8,
    /// For each column of the file, how many columns from it on are not stored.
    pub(super) unread_from: Vec<usize>,
}

impl<'a> Layout<'a> {
    /// The layout storing the columns `selected` (each file column's slot among those
    /// stored, if stored), named and typed by `stored`.
    pub(super) fn new(selected: Vec<Option<usize>>, stored: Vec<(&'a str, Option<ColumnType>)>, delimiter: u8) -> Self {
        let mut unread_from = vec![0; selected.len()];
        for j in (0..selected.len()).rev() {
            if selected[j].is_none() {
                unread_from[j] = 1 + unread_from.get(j + 1).copied().unwrap_or(0);
            }
        }
        Self { selected, stored, delimiter, unread_from }
    }
}

/// Parses one piece into its stored columns. Lines in errors are counted within the piece.
pub(super) fn parse_chunk(chunk: &[u8], layout: &Layout<'_>, classifier: &Classifier<'_>) -> Result<Vec<ChunkColumn>> {
    // Room for the records the first lines' length suggests: pages never written cost nothing.
    let sample = &chunk[..chunk.len().min(64 << 10)];
    let lines = memchr::memchr_iter(b'\n', sample).count().max(1);
    let expected = chunk.len() / (sample.len() / lines).max(1) * 9 / 8 + 16;
    let width = layout.selected.len();
    let columns: Vec<ChunkColumn> =
        layout.stored.iter().map(|&(_, forced)| ChunkColumn::new(forced, expected)).collect();
    let misfit: std::cell::RefCell<Option<(usize, Vec<u8>)>> = std::cell::RefCell::new(None);
    let columns = std::cell::RefCell::new(columns);
    let numbers_first = classifier.numbers_first();
    let (mut hits, mut misses) = (0usize, 0usize);
    let open = tokenize_with(
        chunk,
        layout.delimiter,
        |start| {
            // A piece whose records keep missing the shortcut (quoted text, missing values)
            // stops trying it, rather than reading its fields twice.
            if !numbers_first || (misses >= SHORTCUT_TRIALS && hits < misses) {
                return None;
            }
            let next = numeric_record(chunk, start, layout, &mut columns.borrow_mut());
            if next.is_some() {
                hits += 1;
            } else {
                misses += 1;
            }
            next
        },
        |j, field| {
            if let Some(Some(slot)) = layout.selected.get(j) {
                if !columns.borrow_mut()[*slot].push(field, classifier) {
                    misfit.borrow_mut().get_or_insert_with(|| (*slot, field.to_vec()));
                }
            }
        },
        |fields, start| {
            let message = if fields != width {
                format!("row has {fields} fields but the header has {width}")
            } else if let Some((slot, text)) = misfit.borrow_mut().take() {
                let (name, forced) = layout.stored[slot];
                let forced = forced.expect("only forced types misfit");
                format!("column `{name}`: `{}` is not {forced}", String::from_utf8_lossy(&text))
            } else {
                return Ok(());
            };
            Err(at_offset(Error::Csv { line: None, message }, chunk, start))
        },
    )?;
    if let Some(offset) = open {
        return Err(at_offset(Error::Csv { line: None, message: "a quote is never closed".into() }, chunk, offset));
    }
    Ok(columns.into_inner())
}

/// Records of a piece that may miss the shortcut before it is given up (while it misses more
/// often than it serves).
const SHORTCUT_TRIALS: usize = 32;

/// Reads the record at `start` when it is the common case — every stored field a plain number
/// (see [`plain_number`]) in a column already storing numbers of its kind, every other field
/// unquoted, no blanks around fields, as many fields as the header — and returns where the next
/// record starts. Anything else returns `None` with nothing stored, for the general reader to
/// take the record field by field; both store the same values.
#[inline]
fn numeric_record(data: &[u8], start: usize, layout: &Layout<'_>, columns: &mut [ChunkColumn]) -> Option<usize> {
    let width = layout.selected.len();
    let mut i = start;
    let mut j = 0;
    while j < width {
        // A run of unread columns is passed over at once, up to the last field of the record.
        let unread = layout.unread_from[j].min(width - 1 - j);
        if unread > 1 {
            match skip_fields(data, i, unread, layout.delimiter) {
                Some(next) => i = next,
                None => return take_back(columns, &layout.selected[..j]),
            }
            j += unread;
            continue;
        }
        let end = match layout.selected[j] {
            Some(slot) => match plain_number(&data[i..]) {
                Some((cell, used)) if columns[slot].push_number(cell) => i + used,
                _ => return take_back(columns, &layout.selected[..j]),
            },
            None if matches!(data.get(i), Some(b' ' | b'\t' | b'"')) => {
                return take_back(columns, &layout.selected[..j]);
            }
            None => field_end(data, i, layout.delimiter),
        };
        let last = j + 1 == width;
        match data.get(end) {
            Some(&b) if !last && b == layout.delimiter => i = end + 1,
            Some(b'\n') if last => return Some(end + 1),
            Some(b'\r') if last && data.get(end + 1) == Some(&b'\n') => return Some(end + 2),
            None if last => return Some(end),
            _ => return take_back(columns, &layout.selected[..=j]),
        }
        j += 1;
    }
    None
}

/// Takes back the numbers stored for the fields `read` of a record left to the general reader.
#[cold]
fn take_back(columns: &mut [ChunkColumn], read: &[Option<usize>]) -> Option<usize> {
    for &slot in read.iter().flatten() {
        columns[slot].pop_number();
    }
    None
}

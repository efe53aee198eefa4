//! Building a column from its parts in every piece: the type all parts agree on, then the
//! values copied once into one array with a missing-value mask.

use super::chunk::{ChunkColumn, Dictionary, Store};
use super::number::Classifier;
use super::tokenize::tokenize;
use crate::error::{Error, Result};
use crate::frame::{Column, ColumnType};
use crate::masked::Masked;
use std::borrow::Cow;
use std::ops::Range;

/// The type of a column from its parts: integer if every value is a whole number, float if every
/// value is a number, boolean if every value is `TRUE`/`FALSE`, categorical otherwise; a column
/// of suppression codes and no number is text (as R reads it), one of nothing at all is float.
pub(super) fn infer(parts: &[ChunkColumn]) -> ColumnType {
    let (mut integer, mut float, mut boolean, mut text, mut suppressed) = (false, false, false, false, false);
    for part in parts {
        suppressed |= part.suppressed;
        match part.store {
            Store::Empty => {}
            Store::Integer(_) => integer = true,
            Store::Float(_) => float = true,
            Store::Boolean(_) => boolean = true,
            Store::Text { .. } | Store::Mixed => text = true,
        }
    }
    if text || (boolean && (integer || float || suppressed)) {
        ColumnType::Categorical
    } else if boolean {
        ColumnType::Boolean
    } else if float {
        ColumnType::Float
    } else if integer {
        ColumnType::Integer
    } else if suppressed {
        ColumnType::Categorical
    } else {
        ColumnType::Float
    }
}

/// The text of a run of pieces of the input, to read a column of it again as text.
pub(super) type Reread<'a> = dyn Fn(Range<usize>) -> Result<Cow<'a, [u8]>> + Sync + 'a;

/// Builds column `name` (the `index`-th of the file) of type `kind` from its parts, in order.
/// `reread(pieces)` gives the bytes of a part's pieces, for the parts of a text column that were
/// stored as numbers or given up as mixed.
pub(super) fn build(
    name: &str,
    index: usize,
    kind: ColumnType,
    parts: Vec<ChunkColumn>,
    reread: &Reread<'_>,
    classifier: &Classifier<'_>,
    delimiter: u8,
) -> Result<Column> {
    Ok(match kind {
        ColumnType::Integer => Column::Integer(concatenate(parts, |values, store| {
            if let Store::Integer(v) = store {
                take_or_extend(values, v);
            }
        })),
        ColumnType::Float => Column::Float(concatenate(parts, |values, store| match store {
            Store::Float(v) => take_or_extend(values, v),
            Store::Integer(v) => values.extend(v.iter().map(|&x| x as f64)),
            _ => {}
        })),
        ColumnType::Boolean => Column::Boolean(concatenate(parts, |values, store| {
            if let Store::Boolean(v) = store {
                values.extend_from_slice(&v);
            }
        })),
        ColumnType::Categorical => {
            let total: usize = parts.iter().map(|p| p.rows).sum();
            let (mut missing, mut offset) = (Vec::new(), 0);
            // Intern every piece's texts into one dictionary, then number its entries in byte
            // order (R's C-locale levels).
            let mut dictionary = Dictionary::default();
            let mut intern = |text: &[u8]| -> u32 {
                if let Some(&id) = dictionary.get(text) {
                    return id;
                }
                let id = dictionary.len() as u32;
                dictionary.insert(text.to_vec(), id);
                id
            };
            let mut ids: Vec<u32> = Vec::with_capacity(total);
            for part in parts {
                note_missing(&mut missing, &part, offset);
                match part.store {
                    Store::Text { codes, texts, .. } => {
                        let remap: Vec<u32> = texts.iter().map(|t| intern(t)).collect();
                        ids.extend(codes.iter().map(|&c| remap.get(c as usize).copied().unwrap_or(0)));
                    }
                    Store::Empty if !part.suppressed => {
                        ids.resize(ids.len() + part.rows, 0);
                    }
                    _ => {
                        // Numbers, codes or mixed kinds: the fields as written, the missing rows
                        // those of the missing tokens (suppression codes are text here).
                        missing.truncate(missing.len() - part.missing.len());
                        let bytes = reread(part.pieces.clone())?;
                        let start = ids.len();
                        tokenize(
                            &bytes,
                            delimiter,
                            |j, field| {
                                if j == index {
                                    if classifier.is_missing(field) {
                                        missing.push(ids.len());
                                        ids.push(0);
                                    } else {
                                        ids.push(intern(field));
                                    }
                                }
                            },
                            |_, _| Ok(()),
                        )?;
                        debug_assert_eq!(ids.len() - start, part.rows);
                    }
                }
                offset += part.rows;
            }
            let mut levels: Vec<(Vec<u8>, u32)> = dictionary.into_iter().collect();
            levels.sort_unstable();
            let mut rank = vec![0u32; levels.len()];
            for (r, (_, id)) in levels.iter().enumerate() {
                rank[*id as usize] = r as u32;
            }
            let codes: Vec<u32> = ids.into_iter().map(|id| rank.get(id as usize).copied().unwrap_or(0)).collect();
            let levels = levels
                .into_iter()
                .map(|(text, _)| {
                    String::from_utf8(text).map_err(|_| Error::Csv {
                        line: None,
                        message: format!("column `{name}` holds text that is not UTF-8"),
                    })
                })
                .collect::<Result<Vec<String>>>()?;
            Column::Categorical { codes: Masked::with_missing_rows(codes, missing), levels }
        }
    })
}

/// The values of a numeric or boolean column: `append` adds a part's values where its store has
/// them; the parts with none (all missing) add placeholders. A column in one part (numbers are
/// merged as they are read: [`ChunkColumn::absorb`]) keeps that part's array.
fn concatenate<T: Copy + Default>(parts: Vec<ChunkColumn>, append: impl Fn(&mut Vec<T>, Store)) -> Masked<T> {
    let mut values = Vec::new();
    if parts.len() > 1 {
        values.reserve_exact(parts.iter().map(|p| p.rows).sum());
    }
    let (mut missing, mut offset) = (Vec::new(), 0);
    for part in parts {
        note_missing(&mut missing, &part, offset);
        offset += part.rows;
        append(&mut values, part.store);
        values.resize(offset, T::default());
    }
    Masked::with_missing_rows(values, missing)
}

/// `part` appended to `values`, or in their place when `values` has no storage (no copy).
fn take_or_extend<T: Copy>(values: &mut Vec<T>, part: Vec<T>) {
    if values.capacity() == 0 {
        *values = part;
    } else {
        values.extend_from_slice(&part);
    }
}

/// Adds the missing rows of `part`, which starts at row `offset` of the column.
fn note_missing(missing: &mut Vec<usize>, part: &ChunkColumn, offset: usize) {
    missing.extend(part.missing.iter().map(|&r| offset + r as usize));
}

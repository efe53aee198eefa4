//! Cutting CSV text into fields and records, and into pieces that start a record.

use crate::error::{Error, Result};

/// Calls `field(column, bytes)` for every field of every record of `data` and `record(fields,
/// offset)` after each record (with the byte offset of its start), skipping blank lines.
/// Returns the byte offset of a quote left open, if any.
pub(super) fn tokenize(
    data: &[u8],
    delimiter: u8,
    field: impl FnMut(usize, &[u8]),
    record: impl FnMut(usize, usize) -> Result<()>,
) -> Result<Option<usize>> {
    tokenize_with(data, delimiter, |_| None, field, record)
}

/// As [`tokenize`], but `shortcut(offset)` is offered every record first: it may read the
/// record itself and return where the next one starts, or return `None` (having read nothing)
/// to leave it to `field` and `record`.
pub(super) fn tokenize_with(
    data: &[u8],
    delimiter: u8,
    mut shortcut: impl FnMut(usize) -> Option<usize>,
    mut field: impl FnMut(usize, &[u8]),
    mut record: impl FnMut(usize, usize) -> Result<()>,
) -> Result<Option<usize>> {
    let n = data.len();
    // Blanks around fields are trimmed, unless the blank is the delimiter (a tab-separated
    // file's empty field is a field).
    let blank = |b: u8| matches!(b, b' ' | b'\t') && b != delimiter;
    let mut scratch: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < n {
        if data[i] == b'\n' || (data[i] == b'\r' && data.get(i + 1) == Some(&b'\n')) {
            i += if data[i] == b'\n' { 1 } else { 2 };
            continue;
        }
        if let Some(next) = shortcut(i) {
            i = next;
            continue;
        }
        let start = i;
        let mut column = 0;
        loop {
            while i < n && blank(data[i]) {
                i += 1;
            }
            if i < n && data[i] == b'"' {
                let open = i;
                i += 1;
                let Some(k) = memchr::memchr(b'"', &data[i..]) else { return Ok(Some(open)) };
                let (from, to) = (i, i + k);
                i = to + 1;
                let doubled = data.get(i) == Some(&b'"');
                if doubled {
                    // Doubled quotes stand for one: the field is copied without them.
                    scratch.clear();
                    scratch.extend_from_slice(&data[from..to]);
                    loop {
                        scratch.push(b'"');
                        i += 1;
                        let Some(k) = memchr::memchr(b'"', &data[i..]) else { return Ok(Some(open)) };
                        scratch.extend_from_slice(&data[i..i + k]);
                        i += k + 1;
                        if data.get(i) != Some(&b'"') {
                            break;
                        }
                    }
                }
                while i < n && (blank(data[i]) || data[i] == b'\r') {
                    i += 1;
                }
                field(column, if doubled { &scratch } else { &data[from..to] });
            } else {
                let from = i;
                i = field_end(data, i, delimiter);
                let mut end = i;
                while end > from && (blank(data[end - 1]) || data[end - 1] == b'\r') {
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

/// Eight copies of `byte` in a word.
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// The high bit of each byte of `word` that equals `byte`, and of no other.
#[inline]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let v = word ^ splat(byte);
    !(((v & LOW) + LOW) | v | LOW)
}

/// The offset of the first `delimiter` or newline of `data` at or after `i`, or its length: eight
/// bytes at a time (fields are short, too short for memchr's vectors to pay).
#[inline]
pub(super) fn field_end(data: &[u8], mut i: usize, delimiter: u8) -> usize {
    while let Some(eight) = data.get(i..i + 8) {
        let word = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        let found = equal_bytes(word, delimiter) | equal_bytes(word, b'\n');
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < data.len() && data[i] != delimiter && data[i] != b'\n' {
        i += 1;
    }
    i
}

/// How many bytes [`equal_bytes`] marked in `marks` (a high bit each): the marks moved to the
/// low bit of their bytes and summed into the top byte by one multiplication. Without a target
/// that has `popcnt`, `count_ones` is a dozen instructions, a third of the time spent passing
/// over unread columns (measured).
#[inline]
fn marked_bytes(marks: u64) -> usize {
    ((marks >> 7).wrapping_mul(splat(1)) >> 56) as usize
}

/// Where the field `count` fields after the one starting at `i` starts (just past the
/// `count`-th delimiter), when no newline or quote comes before it: the unread columns of a
/// record passed over eight bytes at a time, delimiters counted by their bits.
#[inline]
pub(super) fn skip_fields(data: &[u8], mut i: usize, mut count: usize, delimiter: u8) -> Option<usize> {
    while let Some(eight) = data.get(i..i + 8) {
        let word = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        let stops = equal_bytes(word, b'\n') | equal_bytes(word, b'"');
        let mut delimiters = equal_bytes(word, delimiter);
        if stops != 0 {
            // Only the delimiters before the first newline or quote count.
            delimiters &= (stops & stops.wrapping_neg()) - 1;
        }
        let found = marked_bytes(delimiters);
        if found >= count {
            for _ in 1..count {
                delimiters &= delimiters - 1;
            }
            return Some(i + delimiters.trailing_zeros() as usize / 8 + 1);
        }
        if stops != 0 {
            return None;
        }
        count -= found;
        i += 8;
    }
    for (k, &b) in data.iter().enumerate().skip(i) {
        match b {
            b'\n' | b'"' => return None,
            b if b == delimiter => {
                count -= 1;
                if count == 0 {
                    return Some(k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `error` with the 1-based line of byte `offset` of `data` (counted within `data`).
pub(super) fn at_offset(error: Error, data: &[u8], offset: usize) -> Error {
    match error {
        Error::Csv { message, .. } => {
            Error::Csv { line: Some(memchr::memchr_iter(b'\n', &data[..offset]).count() as u64 + 1), message }
        }
        other => other,
    }
}

/// The offset just past the first newline at or after `from` that is outside quotes (`inside`:
/// whether `from` is within a quoted field), if there is one.
pub(super) fn record_end(bytes: &[u8], from: usize, mut inside: bool) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'"' => inside = !inside,
            b'\n' if !inside => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Byte offsets splitting `body` into about `parts` pieces, each starting a record: the first
/// newline at or after each target that is outside quotes (an even number of quotes before it).
pub(super) fn chunk_boundaries(body: &[u8], parts: usize) -> Vec<usize> {
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

/// The offset just past the last newline of `bytes` that is outside quotes, when `bytes` starts
/// outside quotes: where a block read from a file can end.
pub(super) fn last_record_end(bytes: &[u8]) -> Option<usize> {
    // Most files have no quotes: finding none is faster than counting them.
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|newline| newline + 1);
    }
    let mut quotes_before = memchr::memchr_iter(b'"', bytes).count();
    let mut end = bytes.len();
    loop {
        let newline = memchr::memrchr(b'\n', &bytes[..end])?;
        quotes_before -= memchr::memchr_iter(b'"', &bytes[newline..end]).count();
        if quotes_before % 2 == 0 {
            return Some(newline + 1);
        }
        end = newline;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `skip_fields` lands where counting the delimiters one byte at a time does, on records of
    /// fields of every length with newlines and quotes anywhere.
    #[test]
    fn skipping_fields_counts_every_delimiter() {
        let mut state: u64 = 5;
        let mut next = |bound: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        for _ in 0..5_000 {
            let length = next(60) as usize;
            let data: Vec<u8> = (0..length)
                .map(|_| match next(20) {
                    0..=5 => b',',
                    6 => b'\n',
                    7 if next(4) == 0 => b'"',
                    _ => b'1',
                })
                .collect();
            let start = next(length as u64 + 1) as usize;
            let count = 1 + next(9) as usize;
            let mut left = count;
            let mut expected = None;
            for (k, &b) in data.iter().enumerate().skip(start) {
                match b {
                    b'\n' | b'"' => break,
                    b',' => {
                        left -= 1;
                        if left == 0 {
                            expected = Some(k + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            assert_eq!(
                skip_fields(&data, start, count, b','),
                expected,
                "{:?} from {start}",
                String::from_utf8_lossy(&data)
            );
        }
        for marks in [0, 0x80, 0x8080_8080_8080_8080, 0x8000_0000_0000_0080] {
            assert_eq!(marked_bytes(marks), marks.count_ones() as usize);
        }
    }
}

//! What one field holds: a number, a missing-value token, a suppression code, a boolean, or text.

use super::CsvOptions;

/// What a single field holds, when it is not text.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Cell {
    Missing,
    Suppressed,
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// The rules that classify a field.
pub(super) struct Classifier<'a> {
    missing: Vec<&'a [u8]>,
    suppressed: Vec<&'a [u8]>,
    /// Whether some missing token could be read as a number (then it must be tested first).
    numeric_missing: bool,
}

impl<'a> Classifier<'a> {
    pub(super) fn new(options: &'a CsvOptions) -> Self {
        let missing: Vec<&[u8]> = options.missing_tokens.iter().map(String::as_bytes).collect();
        let numeric_missing = missing.iter().any(|t| parse_number(t).is_some());
        Self { missing, suppressed: options.suppression_codes.iter().map(String::as_bytes).collect(), numeric_missing }
    }

    /// Whether a field that reads as a number is one (no missing token reads as a number).
    #[inline]
    pub(super) fn numbers_first(&self) -> bool {
        !self.numeric_missing
    }

    /// Whether `field` is a missing-value token.
    pub(super) fn is_missing(&self, field: &[u8]) -> bool {
        self.missing.contains(&field)
    }

    /// The cell, or `None` for text.
    #[inline]
    pub(super) fn classify(&self, field: &[u8]) -> Option<Cell> {
        // Most fields are numbers: read them first unless a missing token is one too.
        if !self.numeric_missing {
            let numeric_start = |b: &&u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.');
            if let Some(cell) = field.first().filter(numeric_start).and_then(|_| parse_number(field)) {
                return Some(cell);
            }
        }
        if self.is_missing(field) {
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
/// (decimals, exponents, `inf`, `NaN`): [`plain_number`] where the whole field is one, the
/// standard parser otherwise.
// Inlined into the reader's loop: returned through memory, the cell stalled store forwarding
// (measured: a third of the reading time of a file of short numbers).
#[allow(clippy::inline_always)]
#[inline(always)]
pub(super) fn parse_number(field: &[u8]) -> Option<Cell> {
    match plain_number(field) {
        Some((cell, used)) if used == field.len() => Some(cell),
        _ => parse_float(field).map(Cell::Float),
    }
}

/// The plain number at the start of `bytes` and the number of bytes it takes: an optional sign
/// and digits, with a decimal point and more digits for a float, 19 digits at most (18 for an
/// integer). Whatever follows is left to the caller; exponents, longer numbers and `inf` or
/// `NaN` give `None` (the standard parser's). Plain decimals whose digits form an integer
/// m < 2⁵³ with at most 22 after the point take Clinger's (1990) exact path — m divided by
/// 10ᵏ ≤ 10²², one correctly rounded operation on exact operands.
#[allow(clippy::inline_always)]
#[inline(always)]
pub(super) fn plain_number(bytes: &[u8]) -> Option<(Cell, usize)> {
    let (negative, body) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (whole, mantissa, rest) = leading_digits(body, 0);
    let (fraction, mantissa, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let (count, mantissa, rest) = leading_digits(after, mantissa);
            (Some(count), mantissa, rest)
        }
        _ => (None, mantissa, rest),
    };
    let digits = whole + fraction.unwrap_or(0);
    if digits == 0 || digits > 19 || matches!(rest.first(), Some(b'e' | b'E')) {
        return None;
    }
    let used = bytes.len() - rest.len();
    match fraction {
        None if digits <= 18 => {
            let value = mantissa as i64;
            Some((Cell::Integer(if negative { -value } else { value }), used))
        }
        Some(decimals) if mantissa < 1 << 53 && decimals <= 22 => {
            let value = mantissa as f64 / POWERS_OF_TEN[decimals];
            Some((Cell::Float(if negative { -value } else { value }), used))
        }
        _ => None,
    }
}

/// The number of leading decimal digits of `bytes`, `mantissa` with them appended (exact for up
/// to 19 digits in all; callers check the count), and the bytes after them. Eight digits at a
/// time where they are (the SWAR test and conversion of Lemire's fast_float); a shorter run one
/// at a time (measured: moving it to the top of its word and converting it as eight was slower).
#[inline]
fn leading_digits(bytes: &[u8], mut mantissa: u64) -> (usize, u64, &[u8]) {
    let mut i = 0;
    while let Some(eight) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        let all_digits = (word.wrapping_add(0x4646_4646_4646_4646) | word.wrapping_sub(0x3030_3030_3030_3030))
            & 0x8080_8080_8080_8080
            == 0;
        if !all_digits {
            break;
        }
        mantissa = mantissa.wrapping_mul(100_000_000).wrapping_add(eight_digits(word));
        i += 8;
    }
    while let Some(&b) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        i += 1;
    }
    (i, mantissa, &bytes[i..])
}

/// The value of eight ASCII digits read little-endian into `word`.
#[inline]
fn eight_digits(word: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let mut v = word - 0x3030_3030_3030_3030;
    v = v * 10 + (v >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    u64::from((v1.wrapping_add(v2) >> 32) as u32)
}

/// A field that looks like a number to Rust's parser, parsed.
#[cold]
#[inline(never)]
fn parse_float(field: &[u8]) -> Option<f64> {
    let first = *field.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.' | b'i' | b'I' | b'n' | b'N')) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path equals Rust's correctly rounded parser wherever it applies, and leaves
    /// integers of 19 digits, exponents and long decimals to it.
    #[test]
    fn numbers_parse_exactly() {
        let mut state: u64 = 9;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let mantissa = state >> (11 + state % 40);
            let decimals = (state % 23) as usize;
            let digits = mantissa.to_string();
            let text = if decimals < digits.len() {
                format!("-{}.{}", &digits[..digits.len() - decimals], &digits[digits.len() - decimals..])
            } else {
                format!("0.{}{digits}", "0".repeat(decimals - digits.len()))
            };
            let expected: f64 = text.parse().unwrap();
            assert_eq!(parse_number(text.as_bytes()), Some(Cell::Float(expected)), "{text}");
            // Followed by more of a record: the same number (if plain), and where it ends.
            let record = format!("{text},12345678\n");
            let plain = plain_number(text.as_bytes());
            assert!(plain.is_none_or(|p| p == (Cell::Float(expected), text.len())), "{text}");
            assert_eq!(plain_number(record.as_bytes()), plain, "{record}");
            let integer = format!("{}", mantissa % 1_000_000_000_000_000_000);
            assert_eq!(parse_number(integer.as_bytes()), Some(Cell::Integer(integer.parse().unwrap())), "{integer}");
            let record = format!("{integer}|x1234567");
            assert_eq!(
                plain_number(record.as_bytes()),
                Some((Cell::Integer(integer.parse().unwrap()), integer.len())),
                "{record}"
            );
        }
        assert_eq!(parse_number(b"-42"), Some(Cell::Integer(-42)));
        assert_eq!(parse_number(b"+0042"), Some(Cell::Integer(42)));
        assert_eq!(parse_number(b"1234567890123456789"), Some(Cell::Float(1_234_567_890_123_456_789.0)));
        assert_eq!(parse_number(b"12345678901234567890123"), Some(Cell::Float(1.234_567_890_123_456_8e22)));
        assert_eq!(parse_number(b"9007199254740993.5"), Some(Cell::Float(9_007_199_254_740_994.0)));
        assert_eq!(parse_number(b"1e-3"), Some(Cell::Float(1e-3)));
        assert_eq!(parse_number(b"3."), Some(Cell::Float(3.0)));
        assert_eq!(parse_number(b".5"), Some(Cell::Float(0.5)));
        assert_eq!(parse_number(b"NaN").map(|c| matches!(c, Cell::Float(x) if x.is_nan())), Some(true));
        assert_eq!(parse_number(b"-"), None);
        assert_eq!(parse_number(b"."), None);
        assert_eq!(parse_number(b"1.2.3"), None);
        assert_eq!(parse_number(b"12a"), None);
        assert_eq!(parse_number(b"12345678a"), None);
        assert_eq!(parse_number(b"1234567/"), None);
        // R writes 15 significant digits after a leading zero.
        assert_eq!(parse_number(b"-0.626453810742332"), Some(Cell::Float(-0.626_453_810_742_332)));
        assert_eq!(parse_number(b"0.000123456789012345"), Some(Cell::Float(0.000_123_456_789_012_345)));
    }
}

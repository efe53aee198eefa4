//! The error type of strata-core, wrapped by every model crate's own error enum.

use thiserror::Error;

/// Everything that can go wrong before or while a model is fitted, named precisely enough that
/// a user can fix their data or formula without reading the source.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The CSV file could not be read or is malformed.
    #[error("CSV error{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Csv {
        /// 1-based line of the file, when known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A file could not be opened or read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path that was read.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// The formula text could not be parsed or is not allowed here.
    #[error("{0}")]
    Formula(#[from] crate::formula::FormulaError),
    /// A variable named by the formula or an option is not a column of the data.
    #[error("unknown column `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownColumn {
        /// The name that was asked for.
        name: String,
        /// The closest existing column name, if one is close.
        suggestion: Option<String>,
    },
    /// A column has the wrong type for the way it is used.
    #[error("column `{name}` is {found}, but {expected} is needed")]
    ColumnType {
        /// The column (or expression) name.
        name: String,
        /// What the column holds.
        found: String,
        /// What the model needs.
        expected: String,
    },
    /// A value is NaN or infinite where a finite number is needed.
    #[error("`{name}` is not finite ({value}) at data row {row}")]
    NonFinite {
        /// The column or expression.
        name: String,
        /// 1-based data row (not counting the header).
        row: usize,
        /// The offending value as text.
        value: String,
    },
    /// A value is outside the range the model allows (a negative count, a proportion above one…).
    #[error("`{name}` has an invalid value {value} at data row {row}: {reason}")]
    InvalidValue {
        /// The column or expression.
        name: String,
        /// 1-based data row.
        row: usize,
        /// The value as text.
        value: String,
        /// Why it is not allowed.
        reason: String,
    },
    /// No rows are left once rows with missing values are dropped (or the data were empty).
    #[error("no complete observations: {0}")]
    NoObservations(String),
    /// The design cannot be estimated (singular, fewer observations than parameters…).
    #[error("singular design: {0}")]
    Singular(String),
    /// An argument or option is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A numerical routine failed (a matrix that should be positive definite was not, …).
    #[error("numerical failure: {0}")]
    Numerical(String),
}

/// `Result` with strata-core's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest of `candidates` to `name` by edit distance, if it is close enough to be a typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_close_name_only() {
        assert_eq!(suggest("Reacton", ["Reaction", "Days"]), Some("Reaction".into()));
        assert_eq!(suggest("zzz", ["Reaction", "Days"]), None);
    }
}

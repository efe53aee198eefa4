//! The error type of strata-sequences.

use thiserror::Error;

/// What can go wrong in building sequences, measuring distances or clustering, naming the
/// sequence, state or value at fault.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An error from strata-core (data, columns).
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// The input arrays do not have matching lengths.
    #[error("{what} has {found} values where {expected} are needed")]
    Length {
        /// Which input.
        what: String,
        /// The length needed.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A value is missing, NaN or infinite where a value is needed.
    #[error("{what} is missing or not finite at row {row}")]
    Missing {
        /// Which variable.
        what: String,
        /// 1-based row.
        row: usize,
    },
    /// One sequence has two states at the same time point.
    #[error("sequence `{id}` has two states at time {time}")]
    DuplicateTime {
        /// The sequence.
        id: String,
        /// The time.
        time: String,
    },
    /// Two episodes of one sequence overlap and no precedence order says which state wins.
    #[error("episodes of `{id}` overlap ({first} and {second} on day {day}); give a precedence order of states to resolve overlaps")]
    Overlap {
        /// The sequence.
        id: String,
        /// One state.
        first: String,
        /// The other state.
        second: String,
        /// The first day they share, as given.
        day: String,
    },
    /// A state appears in a cost matrix or precedence order but not in the data, or in the
    /// data but not in the order.
    #[error("unknown state `{state}` in {context}; the states are {known}")]
    UnknownState {
        /// The state.
        state: String,
        /// Where it was met.
        context: String,
        /// The states there are.
        known: String,
    },
    /// A cost is negative, NaN or infinite, or a cost matrix is not symmetric with a zero diagonal.
    #[error("invalid cost: {0}")]
    Cost(String),
    /// Hamming distances need sequences of equal length.
    #[error(
        "{metric} needs sequences of equal length: `{first}` has {first_length} states, `{second}` has {second_length}"
    )]
    UnequalLengths {
        /// The distance.
        metric: String,
        /// One sequence.
        first: String,
        /// Its length.
        first_length: usize,
        /// Another sequence.
        second: String,
        /// Its length.
        second_length: usize,
    },
    /// A sequence has no states.
    #[error("sequence `{0}` is empty")]
    EmptySequence(String),
    /// Too many distinct states for the compact coding (at most 255).
    #[error("{0} distinct states; at most 255 are supported")]
    TooManyStates(usize),
    /// The number of clusters is out of range.
    #[error("{clusters} clusters asked for, with {what}; between 1 and {available} are possible")]
    Clusters {
        /// How many were asked for.
        clusters: usize,
        /// Of what.
        what: String,
        /// How many objects (or distinct ones) there are.
        available: usize,
    },
    /// An option is out of range or inconsistent.
    #[error("{0}")]
    Specification(String),
}

/// `Result` with strata-sequences' [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

use thiserror::Error;

/// Everything that can go wrong when building DNA or motif values from untrusted input.
///
/// Each variant names the position (0-based, as counted in the input) and what was expected,
/// so a caller can point a user at the offending character or matrix cell.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// A character that is not A, C, G or T (in either case).
    #[error("invalid base {found:?} at position {pos}: expected one of A, C, G, T (N and other IUPAC codes are not accepted)")]
    InvalidBase {
        /// 0-based character position.
        pos: usize,
        /// The offending character.
        found: char,
    },
    /// An alphabet string that is not a permutation of ACGT.
    #[error("invalid alphabet {0:?}: expected a permutation of the four letters A, C, G, T (e.g. \"ACGT\" or \"AGCT\")")]
    InvalidAlphabet(String),
    /// Sequences of different lengths where one length was required.
    #[error("sequence {index} has length {found}, expected {expected}")]
    LengthMismatch {
        /// Index of the sequence in the input list.
        index: usize,
        /// The required length.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// An array whose shape does not fit.
    #[error("array has shape {found:?}, expected {expected}")]
    Shape {
        /// What was expected, in words.
        expected: String,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A one-hot row that is not exactly one 1 and three 0s.
    #[error("sequence {seq}, position {pos}: row {row:?} is not one-hot")]
    NotOneHot {
        /// Sequence index in the batch.
        seq: usize,
        /// Position in the sequence.
        pos: usize,
        /// The four values found.
        row: [f32; 4],
    },
    /// A negative, NaN or infinite matrix entry.
    #[error(
        "matrix entry at position {pos}, base {base} is {value}: expected a finite value >= 0"
    )]
    BadEntry {
        /// Motif position (row).
        pos: usize,
        /// Base letter (column, ACGT order).
        base: char,
        /// The value found.
        value: f64,
    },
    /// A probability row that does not sum to one within the tolerance.
    #[error("position {pos} sums to {sum}, expected 1 within {tolerance}")]
    RowSum {
        /// Motif position (row).
        pos: usize,
        /// The row total found.
        sum: f64,
        /// The accepted distance from 1.
        tolerance: f64,
    },
    /// A count row with total 0 cannot become probabilities.
    #[error("position {pos} has no counts: cannot form probabilities")]
    EmptyRow {
        /// Motif position (row).
        pos: usize,
    },
    /// A matrix or sequence list with no positions where at least one is needed.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// Exhaustive enumeration asked for more sequences than fit in memory sensibly.
    #[error("cannot enumerate all 4^{len} sequences: the limit is length {max}")]
    TooLongToEnumerate {
        /// The requested length.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A parameter outside its allowed range.
    #[error("invalid parameter {name} = {value}: {expected}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
}

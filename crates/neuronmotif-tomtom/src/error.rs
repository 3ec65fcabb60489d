use thiserror::Error;

/// Everything that can go wrong when preparing or running a Tomtom comparison.
///
/// Each variant names the motif (by its ID) or the parameter involved and says what was expected,
/// so a caller can point a user at the offending input.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum TomtomError {
    /// A parameter outside its allowed range (caught by [`crate::TomtomParams::check`]).
    #[error("invalid Tomtom parameter {name} = {value}: {expected}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// A target database with no motifs.
    #[error("the target database is empty: Tomtom needs at least one target motif")]
    EmptyDatabase,
    /// More target strands (targets, twice with reverse complements) than fit 32-bit ranks.
    #[error("{0} target motifs are more than this Tomtom handles (at most 2^32 - 1 strands: targets, twice with reverse complements)")]
    TooManyTargets(usize),
    /// A motif with no positions.
    #[error("motif {id:?} has width 0: every query and target needs at least one position")]
    ZeroWidth {
        /// The motif's ID.
        id: String,
    },
    /// A motif entry that is not a finite probability.
    #[error("motif {id:?}, position {pos}, base {base}: {value} is not a probability in [0, 1]")]
    BadProbability {
        /// The motif's ID.
        id: String,
        /// 0-based position.
        pos: usize,
        /// Base letter (ACGT order).
        base: char,
        /// The value found.
        value: f64,
    },
    /// A matrix that is not a probability matrix (wrong shape, rows far from summing to 1).
    #[error("motif {id:?}: {message}")]
    BadMatrix {
        /// The motif's ID.
        id: String,
        /// What was wrong.
        message: String,
    },
    /// An `nsites` value that is NaN, infinite or negative.
    #[error("motif {id:?} has nsites = {value}: expected a finite number >= 0 (0 or absent means Tomtom's default 20)")]
    BadNsites {
        /// The motif's ID.
        id: String,
        /// The value found.
        value: f64,
    },
    /// A motif over an alphabet other than DNA (ACGT).
    #[error("motif {id:?} uses alphabet {alphabet:?}: Tomtom-compatible comparison here is DNA-only (ACGT)")]
    WrongAlphabet {
        /// The motif's ID.
        id: String,
        /// The alphabet found.
        alphabet: String,
    },
    /// A malformed line in a Tomtom TSV file.
    #[error("Tomtom TSV line {line}: {message}")]
    TsvParse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

use thiserror::Error;

/// What can be wrong with a layer chain or a query on it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldError {
    /// A layer whose geometry is invalid (zero kernel, stride or dilation).
    #[error("layer {index} ({name}): {problem}")]
    BadLayer {
        /// Position of the op in the chain (0-based).
        index: usize,
        /// The op's name, or its kind.
        name: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// A conv layer number outside 1..=count.
    #[error("conv layer {layer} does not exist: the model has conv layers 1..={count}")]
    NoSuchLayer {
        /// The 1-based layer asked for.
        layer: usize,
        /// Number of conv layers.
        count: usize,
    },
    /// A tap or in-pool offset outside its range.
    #[error("{what} = {value} is out of range (must be < {limit})")]
    OutOfRange {
        /// Which quantity.
        what: &'static str,
        /// The value given.
        value: u64,
        /// Its exclusive upper bound.
        limit: u64,
    },
    /// A shift space too large to number with 64 bits.
    #[error("conv layer {layer} with motif_nb {motif_nb} has more than 2^64 shift states")]
    TooManyShifts {
        /// The 1-based layer.
        layer: usize,
        /// The exponent requested.
        motif_nb: u32,
    },
}

use thiserror::Error;

/// What can go wrong explaining a neuron or reading a layer table.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SampleError {
    /// A parameter outside its allowed range (from [`crate::SamplerParams::check`] and friends).
    #[error("invalid parameter {name} = {value}: {expected}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The network failed (shapes, layers out of range).
    #[error(transparent)]
    Cnn(#[from] neuronmotif_cnn::CnnError),
    /// Geometry error.
    #[error(transparent)]
    Field(#[from] neuronmotif_field::FieldError),
    /// A matrix could not be built.
    #[error(transparent)]
    Core(#[from] neuronmotif_core::CoreError),
    /// A layer table that cannot be read or does not fit the model.
    #[error("layer table {path}: {message}")]
    Table {
        /// The file (or `<memory>`).
        path: String,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// An I/O failure on a layer table.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The OS error (shown in the message, not returned as a source).
        error: std::io::Error,
    },
    /// The work was cancelled through the progress hook.
    #[error("cancelled")]
    Cancelled,
}

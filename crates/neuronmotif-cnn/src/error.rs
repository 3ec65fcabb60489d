use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong loading a model or running it.
///
/// Every variant says where (file, layer, tensor) and what was expected, so `neuronmotif info`
/// can print one line a user can act on.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CnnError {
    /// The file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, so not also returned as the error's source).
        error: std::io::Error,
    },
    /// The file is not a valid safetensors container.
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// The `neuronmotif.architecture` metadata is missing or malformed.
    #[error("{path}: architecture metadata: {message}")]
    Architecture {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A layer that is invalid or unsupported.
    #[error("layer {index} ({op}{name}): {message}")]
    Layer {
        /// 0-based position in the layer list.
        index: usize,
        /// The op, e.g. `conv1d`.
        op: String,
        /// `" \"name\""` when the layer has one, else empty.
        name: String,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A weight tensor that is missing, has the wrong shape or dtype, or holds NaN/inf.
    #[error("tensor {tensor:?}: {message}")]
    Tensor {
        /// Tensor name, e.g. `5.weight`.
        tensor: String,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A Keras HDF5 file that cannot be imported.
    #[error("{path}: Keras import: {message}")]
    Keras {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A conv layer number or channel outside the model.
    #[error("{what} {value} is out of range: the model has {limit}")]
    OutOfRange {
        /// Which quantity (`conv layer`, `channel`, `output position`).
        what: &'static str,
        /// The value asked for.
        value: usize,
        /// What exists, in words.
        limit: String,
    },
    /// An input batch of the wrong shape.
    #[error("input batch has shape {found:?}; expected {expected}")]
    InputShape {
        /// What was expected, in words.
        expected: String,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A geometry error from the receptive-field algebra.
    #[error(transparent)]
    Field(#[from] neuronmotif_field::FieldError),
    /// A layer or tensor error, and the file it was found in.
    #[error("{path}: {error}")]
    InFile {
        /// The model file.
        path: PathBuf,
        /// The layer or tensor error (shown in the message, not returned as a source).
        error: Box<CnnError>,
    },
}

impl CnnError {
    pub(crate) fn layer(
        index: usize,
        op: &str,
        name: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        CnnError::Layer {
            index,
            op: op.to_string(),
            name: name.map(|n| format!(" {n:?}")).unwrap_or_default(),
            message: message.into(),
        }
    }

    /// Name the file of a layer, tensor or geometry error (the other errors already do).
    pub(crate) fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            e @ (CnnError::Layer { .. } | CnnError::Tensor { .. } | CnnError::Field(_)) => {
                CnnError::InFile {
                    path: path.to_path_buf(),
                    error: Box::new(e),
                }
            }
            other => other,
        }
    }

    pub(crate) fn tensor(tensor: &str, message: impl Into<String>) -> Self {
        CnnError::Tensor {
            tensor: tensor.to_string(),
            message: message.into(),
        }
    }
}

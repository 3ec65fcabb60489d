use std::path::PathBuf;

use thiserror::Error;

/// Everything the pipeline can report; each wraps the crate error that names the file, layer
/// or motif at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] neuronmotif_cnn::CnnError),
    /// Sampling, demixing or a layer table failed.
    #[error(transparent)]
    Sample(#[from] neuronmotif_sample::SampleError),
    /// A motif file could not be read or written.
    #[error(transparent)]
    Motifs(#[from] neuronmotif_io::IoError),
    /// Motif comparison failed.
    #[error(transparent)]
    Tomtom(#[from] neuronmotif_tomtom::TomtomError),
    /// The HTML report could not be written.
    #[error(transparent)]
    Report(#[from] neuronmotif_report::ReportError),
    /// A run-directory file could not be written or read.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, not returned as a source).
        error: std::io::Error,
    },
    /// An invalid request (layer range, neuron range, parameters).
    #[error("{0}")]
    Config(String),
    /// The output directory holds something that does not fit this run.
    #[error("{path}: {message}")]
    RunDir {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
}

impl Error {
    pub(crate) fn file(path: &std::path::Path, error: std::io::Error) -> Error {
        Error::File {
            path: path.to_path_buf(),
            error,
        }
    }
}

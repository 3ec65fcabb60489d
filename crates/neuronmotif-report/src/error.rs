//! The crate's single error type.

use std::path::PathBuf;

use neuronmotif_io::IoError;
use thiserror::Error;

/// Everything that can go wrong while reading a run directory or writing logos and pages.
///
/// Every variant names the file; problems inside a file also name the 1-based line, so a user
/// can open the file where it went wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The operating system failed to read, write, list or rename.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error (shown in the message, not returned as a source).
        error: std::io::Error,
    },
    /// A file the report cannot do without.
    #[error("{}: not found: {what}", path.display())]
    Missing {
        /// Where it was expected.
        path: PathBuf,
        /// What the file is and who writes it.
        what: &'static str,
    },
    /// A motif file (`crms.meme`, `segments.meme`, `matched.meme`) that does not parse; the
    /// motif reader's error names the file and line.
    #[error(transparent)]
    Motifs(#[from] IoError),
    /// `run.json` that is not JSON of the expected shape.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde found wrong.
        message: String,
    },
    /// A line of a table that does not fit the run-directory contract, or a row that disagrees
    /// with another file of the run (a CRM without a matrix, a match to an unknown segment).
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (of the motif's header line for motif files).
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
}

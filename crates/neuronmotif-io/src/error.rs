//! The crate's single error type and the position it points at.

use std::fmt;

use neuronmotif_core::CoreError;
use thiserror::Error;

use crate::Format;

/// Where in an input a problem was found, so a user can open the file at the right line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name given to the reader, or `<input>` for in-memory text.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The id of the motif being read, once its header line has been seen.
    pub motif: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(id) = &self.motif {
            write!(f, " (motif {id})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong while reading or writing motif files.
///
/// Parse errors carry a [`Location`] (file, 1-based line, motif id when known) and say what was
/// expected, because the people who hit them are usually fixing a hand-edited or converted file.
/// Readers stop at the first error: a broken record leaves no trustworthy position to resume from.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IoError {
    /// The operating system failed to read or write.
    #[error("{file}: {error}")]
    Io {
        /// The file name, `<input>` or `<output>`.
        file: String,
        /// The underlying error (shown in the message, not returned as a source).
        error: std::io::Error,
    },
    /// A line that is not UTF-8 text.
    #[error("{at}: the line is not valid UTF-8 text")]
    InvalidUtf8 {
        /// The offending line.
        at: Location,
    },
    /// Nothing but blank lines.
    #[error("{file}: the input is empty: expected at least one motif")]
    EmptyInput {
        /// The file name.
        file: String,
    },
    /// Content, but not a single motif (a MEME header alone, a TRANSFAC `VV` record alone).
    #[error("{at}: the input holds no motif: expected at least one after the file header")]
    NoMotifs {
        /// The line where the input ended.
        at: Location,
    },
    /// A line that does not belong where it is.
    #[error("{at}: expected {expected}, found {found:?}")]
    UnexpectedLine {
        /// The offending line.
        at: Location,
        /// What the grammar allows here.
        expected: &'static str,
        /// The line as read (without its line ending).
        found: String,
    },
    /// The input ended inside a motif or record.
    #[error("{at}: the input ends too early: expected {expected}")]
    Truncated {
        /// The last line of the input.
        at: Location,
        /// What was still missing.
        expected: String,
    },
    /// A MEME version line with an unsupported major version.
    #[error("{at}: MEME version {found:?} is not supported: expected 4.x or 5.x")]
    UnsupportedVersion {
        /// The version line.
        at: Location,
        /// The version text found.
        found: String,
    },
    /// A MEME alphabet other than DNA.
    #[error("{at}: the alphabet {found:?} is not DNA: expected the core letters A, C, G, T")]
    NonDnaAlphabet {
        /// The alphabet line or block.
        at: Location,
        /// The alphabet or its core letters, as written.
        found: String,
    },
    /// A header field with a value outside what the format allows.
    #[error("{at}: {field} {value:?} is invalid: expected {expected}")]
    InvalidField {
        /// The line holding the field.
        at: Location,
        /// The field's name, as the format spells it.
        field: String,
        /// The value found.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// Something required that is absent.
    #[error("{at}: missing {what}")]
    Missing {
        /// Where it was looked for.
        at: Location,
        /// What is missing.
        what: &'static str,
    },
    /// A token in a number column that is not an accepted number.
    #[error("{at}: column {column}: {token:?} is not {expected}")]
    InvalidNumber {
        /// The line.
        at: Location,
        /// 1-based column (whitespace-separated field) on the line.
        column: usize,
        /// The token found.
        token: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A matrix row with the wrong number of values.
    #[error("{at}: the row has {found} values, expected {expected}")]
    RowLength {
        /// The row's line.
        at: Location,
        /// The number of values required.
        expected: usize,
        /// The number found.
        found: usize,
    },
    /// A probability row that does not sum to one within the format's tolerance.
    #[error("{at}: position {position} sums to {sum:.6}, expected 1 within {tolerance}")]
    RowSum {
        /// The row's line.
        at: Location,
        /// 1-based motif position.
        position: usize,
        /// The total found.
        sum: f64,
        /// The accepted distance from 1.
        tolerance: f64,
    },
    /// A position whose values are all zero, so it has no probabilities.
    #[error("{at}: position {position} has no counts: cannot form probabilities")]
    EmptyPosition {
        /// The line of the motif's header.
        at: Location,
        /// 1-based motif position.
        position: usize,
    },
    /// A declared width (MEME `w=`) that disagrees with the rows that follow.
    #[error("{at}: the header declares w= {declared} but the matrix has {found} rows")]
    WidthMismatch {
        /// The line where the disagreement became visible.
        at: Location,
        /// The declared width.
        declared: usize,
        /// The rows found.
        found: usize,
    },
    /// A motif id used twice in one file.
    #[error("{at}: motif id already used at line {first_line}")]
    DuplicateId {
        /// The second use (its `motif` is the id).
        at: Location,
        /// The line of the first use.
        first_line: usize,
    },
    /// A value that the core types reject (for example a background that is not a distribution).
    #[error("{at}: {error}")]
    Core {
        /// The line holding the value.
        at: Location,
        /// What the core type said (shown in the message, not returned as a source).
        error: CoreError,
    },
    /// Content that none of the formats recognises.
    #[error("{file}: cannot tell the motif format from the content: tried {}; its first line reads {first_line:?}{}", format_list(.tried), meme_hint(.first_line))]
    UnknownFormat {
        /// The file name.
        file: String,
        /// The formats that were tried, in order.
        tried: Vec<Format>,
        /// The first non-blank line (at most 80 characters), which decides the format.
        first_line: String,
    },
    /// A motif (or file header) that the chosen format cannot represent: an id with
    /// whitespace in MEME, a line break inside a name, ...
    #[error("cannot write {what} as {format}: {reason}")]
    Unwritable {
        /// What was being written: `motif "MA0004.1"` or `the MEME header`.
        what: String,
        /// The target format.
        format: Format,
        /// Why, in words.
        reason: String,
    },
}

impl IoError {
    /// The position of a parse error; `None` for I/O, detection and writing errors.
    pub fn location(&self) -> Option<&Location> {
        match self {
            IoError::InvalidUtf8 { at }
            | IoError::NoMotifs { at }
            | IoError::UnexpectedLine { at, .. }
            | IoError::Truncated { at, .. }
            | IoError::UnsupportedVersion { at, .. }
            | IoError::NonDnaAlphabet { at, .. }
            | IoError::InvalidField { at, .. }
            | IoError::Missing { at, .. }
            | IoError::InvalidNumber { at, .. }
            | IoError::RowLength { at, .. }
            | IoError::RowSum { at, .. }
            | IoError::EmptyPosition { at, .. }
            | IoError::WidthMismatch { at, .. }
            | IoError::DuplicateId { at, .. }
            | IoError::Core { at, .. } => Some(at),
            IoError::Io { .. }
            | IoError::EmptyInput { .. }
            | IoError::UnknownFormat { .. }
            | IoError::Unwritable { .. } => None,
        }
    }

    /// The 1-based line of a parse error.
    pub fn line(&self) -> Option<usize> {
        self.location().map(|at| at.line)
    }
}

/// A first line that looks like a damaged MEME header gets the header MEME expects.
fn meme_hint(first_line: &str) -> &'static str {
    if first_line
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("MEME")
    {
        " (a MEME file starts with `MEME version 4`)"
    } else {
        ""
    }
}

fn format_list(formats: &[Format]) -> String {
    let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_motif() {
        let e = IoError::RowSum {
            at: Location {
                file: "db.meme".into(),
                line: 12,
                motif: Some("MA0004.1".into()),
            },
            position: 3,
            sum: 0.8,
            tolerance: 0.1,
        };
        assert_eq!(
            e.to_string(),
            "db.meme:12 (motif MA0004.1): position 3 sums to 0.800000, expected 1 within 0.1"
        );
        assert_eq!(e.line(), Some(12));
    }

    /// An error shows its cause once: in its message, not again as its source (so error
    /// reporters that print the chain, such as anyhow's `{:#}`, do not repeat it).
    #[test]
    fn an_os_error_is_shown_once() {
        let e = IoError::Io {
            file: "x.meme".into(),
            error: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(e.to_string(), "x.meme: no such file");
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn unknown_format_lists_what_was_tried() {
        let e = IoError::UnknownFormat {
            file: "<input>".into(),
            tried: Format::ALL.to_vec(),
            first_line: "hello".into(),
        };
        assert_eq!(
            e.to_string(),
            "<input>: cannot tell the motif format from the content: tried MEME, JASPAR, JASPAR pfm, TRANSFAC, HOMER, chen; its first line reads \"hello\""
        );
        let e = IoError::UnknownFormat {
            file: "m.meme".into(),
            tried: Format::ALL.to_vec(),
            first_line: "MEME versio 4".into(),
        };
        assert!(
            e.to_string()
                .ends_with("reads \"MEME versio 4\" (a MEME file starts with `MEME version 4`)"),
            "{e}"
        );
        assert!(e.location().is_none());
    }
}

//! Motif file formats: MEME, JASPAR, JASPAR pfm, TRANSFAC, HOMER and NeuronMotif's chen,
//! read strictly and written losslessly.
//!
//! NeuronMotif's results are only useful once they meet the motif databases and tools
//! biologists already use, and those speak five formats. This crate reads every one of them
//! into one [`Motif`] record and writes every one back, so a CRM can go to Tomtom, a JASPAR
//! release can be the match database, and a HOMER or TRANSFAC library can be converted.
//!
//! ```
//! use neuronmotif_io::{read_str, write_string, Format, WriteOptions};
//!
//! let meme = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n\
//!     Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n\
//!     MOTIF MA0004.1 Arnt\nletter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n \
//!     0.200000  0.800000  0.000000  0.000000\n \
//!     0.950000  0.000000  0.050000  0.000000\nURL https://jaspar.elixir.no/matrix/MA0004.1/\n\n";
//! let motifs = read_str(meme, None)?;          // format detected from the content
//! assert_eq!(motifs[0].nsites, Some(20.0));
//! // Written back byte for byte; or converted.
//! assert_eq!(write_string(Format::Meme, &motifs, &WriteOptions::default())?, meme);
//! let jaspar = write_string(Format::Jaspar, &motifs, &WriteOptions::default())?;
//! assert!(jaspar.starts_with(">MA0004.1\tArnt\nA  [     4     19 ]\n"));
//! # Ok::<(), neuronmotif_io::IoError>(())
//! ```
//!
//! # The record
//!
//! A [`Motif`] has an id, an optional name, a [`MotifMatrix`] holding the numbers exactly as the
//! file had them (counts or probabilities) together with their normalised [`Ppm`], `nsites`, the
//! file's background, URL, E-value, free-form metadata and its [`Source`] (format, file, line).
//! Columns are always A, C, G, T, whatever order the file used. MEME's file-level data (version,
//! alphabet, strands, background) is a [`MemeHeader`] in [`MotifFile`].
//!
//! # Formats and their rules
//!
//! | format | reads | `nsites` | written as | lossless? |
//! |---|---|---|---|---|
//! | [MEME](meme) v4/v5 | probabilities; rows must sum to 1 within **0.1**; `w=` must match the rows; `alength=` must be 4 | `nsites=` (`None` when absent) | MEME's layout, six decimals | probabilities: exact text; counts: to 1e-6 |
//! | [JASPAR](jaspar) `>ID NAME` + `A [ ... ]` | counts, fractional allowed, rows in any base order | first position's total, **truncated** (JASPAR's rule) | JASPAR's download layout | counts: exact; probabilities: as `p x nsites` to 12 digits |
//! | [pfm] (JASPAR raw) | four count rows A, C, G, T; header optional | same | `>ID NAME` + rows, two decimals when exact | as JASPAR |
//! | [TRANSFAC](transfac) | `P0`/`PO` counts in any column order; `AC`, `ID`, other tags, `//` | same | JASPAR's TRANSFAC layout, IUPAC consensus column | as JASPAR; tags kept |
//! | [HOMER](homer) | probabilities (or unnormalised weights) per position; tab-separated header with threshold | none | header fields kept; values in shortest exact form | exact |
//! | [chen] | `>name` + rows of four numbers | `chen2meme`'s: rounded mean row total, or 10 | exact (default) or the original's truncated per-mille | exact by default |
//!
//! Every format: a UTF-8 byte-order mark and Windows line endings are accepted, tabs and spaces
//! are interchangeable wherever whitespace separates fields, numbers must be plain decimals
//! (`inf`, `NaN` and words are errors, naming the column), matrix entries must be >= 0 and each
//! position must have a positive total. A motif id used twice in one file is an error naming
//! both lines unless [`ReadOptions::allow_duplicate_ids`] is set.
//!
//! # Reading
//!
//! [`read_path`] and [`read_str`] return every motif; [`MotifFile`] also returns the MEME
//! header; [`MotifReader`] streams any `BufRead` one record at a time (reading JASPAR's 879-motif
//! MEME file takes a few milliseconds). Passing `None` as the format detects it from the content
//! ([`Format::detect`]); an undetectable input is [`IoError::UnknownFormat`], listing the
//! formats tried.
//!
//! # Errors
//!
//! One enum, [`IoError`]. Parse errors carry a [`Location`]: the file name (`<input>` for
//! in-memory text), the 1-based line and the motif id once known, and say what was expected.
//! Bad input never panics.
//!
//! # Downstream notes
//!
//! Tomtom's pseudocount uses `nsites` (20 when absent or 0) and the query file's background;
//! both are kept ([`Motif::nsites`], [`Motif::background`], [`MemeHeader::background`]).
#![deny(missing_docs)]

pub mod chen;
mod detect;
mod error;
pub mod homer;
pub mod jaspar;
mod lines;
pub mod meme;
mod motif;
mod number;
pub mod pfm;
mod reader;
pub mod transfac;
mod writer;

pub use chen::ChenPrecision;
pub use detect::Format;
pub use error::{IoError, Location};
pub use meme::{MemeBackground, MemeHeader, Strands, MEME_ROW_TOLERANCE};
pub use motif::{EValue, MatrixKind, Motif, MotifMatrix, Source};
pub use reader::{read_path, read_str, MotifFile, MotifReader, ReadOptions};
pub use writer::{write_motifs, write_path, write_string, MotifWriter, WriteOptions};

#[doc(no_inline)]
pub use neuronmotif_core::{Background, Ppm};

/// Result type of this crate.
pub type Result<T, E = IoError> = std::result::Result<T, E>;

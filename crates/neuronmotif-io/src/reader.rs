//! Streaming reads of any format, with detection, duplicate-id checks and file-level data.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Chain, Cursor, Read, Write};
use std::path::Path;

use crate::error::IoError;
use crate::lines::{LineSource, IN_MEMORY};
use crate::meme::{self, MemeHeader};
use crate::pfm::PfmState;
use crate::writer::{write_motifs, WriteOptions};
use crate::{chen, homer, jaspar, transfac, Format, Motif};

/// How many bytes of whole lines detection looks at before deciding. Records are small, so
/// this covers many motifs of any format.
const DETECTION_BYTES: usize = 64 * 1024;

/// Choices for reading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The format; `None` detects it from the content ([`Format::detect`]).
    pub format: Option<Format>,
    /// Accept a motif id used twice in one file. Off by default: downstream tables are keyed
    /// by id, and a repeated id is almost always a concatenation mistake.
    pub allow_duplicate_ids: bool,
}

impl ReadOptions {
    /// Options with an explicit format.
    pub fn with_format(format: Format) -> ReadOptions {
        ReadOptions {
            format: Some(format),
            ..ReadOptions::default()
        }
    }

    /// The same options, accepting repeated motif ids.
    pub fn allowing_duplicate_ids(mut self) -> ReadOptions {
        self.allow_duplicate_ids = true;
        self
    }
}

/// A motif file read whole: the motifs and, for MEME, the file header.
#[derive(Debug, Clone, PartialEq)]
pub struct MotifFile {
    /// The format it was read as.
    pub format: Format,
    /// The MEME header (alphabet, strands, background); `None` for other formats.
    pub meme_header: Option<MemeHeader>,
    /// The motifs in file order.
    pub motifs: Vec<Motif>,
}

impl MotifFile {
    /// Read a file. Errors name the path as given.
    pub fn read_path(path: impl AsRef<Path>, options: &ReadOptions) -> Result<MotifFile, IoError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| IoError::Io {
            file: name.clone(),
            error: source,
        })?;
        Self::from_reader(BufReader::new(file), name, options)
    }

    /// Read in-memory text; errors name it `<input>`.
    pub fn read_str(text: &str, options: &ReadOptions) -> Result<MotifFile, IoError> {
        Self::from_reader(text.as_bytes(), IN_MEMORY, options)
    }

    /// Write the motifs in `format`; a MEME file gets this file's MEME header when it has one,
    /// so a MEME file read and written is unchanged.
    pub fn write<W: Write>(&self, out: W, format: Format) -> Result<(), IoError> {
        let options = WriteOptions {
            meme_header: self.meme_header.clone(),
            ..WriteOptions::default()
        };
        write_motifs(out, format, &self.motifs, &options)
    }

    /// Read from any buffered reader; `name` is used in errors and [`crate::Source`].
    pub fn from_reader<R: BufRead>(
        reader: R,
        name: impl Into<String>,
        options: &ReadOptions,
    ) -> Result<MotifFile, IoError> {
        let mut motifs = MotifReader::new(reader, name, options)?;
        let mut all = Vec::new();
        for motif in motifs.by_ref() {
            all.push(motif?);
        }
        Ok(MotifFile {
            format: motifs.format(),
            meme_header: motifs.meme_header().cloned(),
            motifs: all,
        })
    }
}

/// Read every motif of a file; `format` `None` detects it from the content.
///
/// ```no_run
/// let motifs = neuronmotif_io::read_path("JASPAR2024_CORE_vertebrates_non-redundant.meme", None)?;
/// println!("{} motifs, first {}", motifs.len(), motifs[0].id);
/// # Ok::<(), neuronmotif_io::IoError>(())
/// ```
pub fn read_path(path: impl AsRef<Path>, format: Option<Format>) -> Result<Vec<Motif>, IoError> {
    let options = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    MotifFile::read_path(path, &options).map(|f| f.motifs)
}

/// Read every motif of in-memory text; `format` `None` detects it from the content.
///
/// ```
/// let text = ">MA0004.1\tArnt\nA [ 4 19 ]\nC [ 16 0 ]\nG [ 0 1 ]\nT [ 0 0 ]\n";
/// let motifs = neuronmotif_io::read_str(text, None)?;
/// assert_eq!(motifs[0].nsites, Some(20.0));
/// assert_eq!(motifs[0].ppm().row(0), Some([0.2, 0.8, 0.0, 0.0]));
/// # Ok::<(), neuronmotif_io::IoError>(())
/// ```
pub fn read_str(text: &str, format: Option<Format>) -> Result<Vec<Motif>, IoError> {
    let options = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    MotifFile::read_str(text, &options).map(|f| f.motifs)
}

/// The parser for the input's format, with what it must remember between motifs.
#[derive(Debug)]
enum Parser {
    Meme(MemeHeader),
    Jaspar,
    Pfm(PfmState),
    Transfac,
    Homer,
    Chen,
}

/// An iterator over the motifs of one input, read one record at a time.
///
/// The first error ends the iteration: after a broken record there is no trustworthy place to
/// resume. An input without a single motif yields one error: [`IoError::EmptyInput`] when it
/// is blank, [`IoError::NoMotifs`] when it has only a header (MEME, a TRANSFAC `VV` record).
///
/// ```
/// use neuronmotif_io::{MotifReader, ReadOptions};
///
/// let text = "MEME version 4\n\nMOTIF a\nletter-probability matrix: w= 1 nsites= 8\n0 1 0 0\n";
/// let mut reader = MotifReader::new(text.as_bytes(), "query.meme", &ReadOptions::default())?;
/// assert!(reader.meme_header().is_some());
/// let motif = reader.next().unwrap()?;
/// assert_eq!((motif.id.as_str(), motif.nsites), ("a", Some(8.0)));
/// assert!(reader.next().is_none());
/// # Ok::<(), neuronmotif_io::IoError>(())
/// ```
pub struct MotifReader<R> {
    lines: LineSource<Chain<Cursor<Vec<u8>>, R>>,
    format: Format,
    parser: Parser,
    allow_duplicate_ids: bool,
    /// First line of each id seen, for duplicate reports.
    seen: HashMap<String, usize>,
    count: usize,
    done: bool,
}

impl<R> std::fmt::Debug for MotifReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotifReader")
            .field("format", &self.format)
            .field("motifs_read", &self.count)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> MotifReader<R> {
    /// Start reading. Detection (when `options.format` is `None`) and the MEME header happen
    /// here, so their errors come from this call; `name` is used in errors and sources.
    pub fn new(
        mut reader: R,
        name: impl Into<String>,
        options: &ReadOptions,
    ) -> Result<MotifReader<R>, IoError> {
        let name = name.into();
        let (format, prefix) = match options.format {
            Some(format) => (format, Vec::new()),
            None => {
                let prefix = read_prefix(&mut reader, &name)?;
                let text = String::from_utf8_lossy(&prefix);
                if text
                    .trim_ascii()
                    .trim_start_matches('\u{feff}')
                    .trim_ascii()
                    .is_empty()
                {
                    return Err(IoError::EmptyInput { file: name });
                }
                let format = Format::detect(&text).ok_or_else(|| IoError::UnknownFormat {
                    file: name.clone(),
                    tried: Format::ALL.to_vec(),
                    first_line: text
                        .trim_start_matches('\u{feff}')
                        .lines()
                        .map(|l| l.trim_end_matches('\r'))
                        .find(|l| !l.trim_ascii().is_empty())
                        .unwrap_or_default()
                        .chars()
                        .take(80)
                        .collect(),
                })?;
                (format, prefix)
            }
        };
        let mut lines = LineSource::new(Cursor::new(prefix).chain(reader), name);
        let parser = match format {
            Format::Meme => Parser::Meme(meme::read_header(&mut lines)?),
            Format::Jaspar => Parser::Jaspar,
            Format::Pfm => Parser::Pfm(PfmState::default()),
            Format::Transfac => Parser::Transfac,
            Format::Homer => Parser::Homer,
            Format::Chen => Parser::Chen,
        };
        Ok(MotifReader {
            lines,
            format,
            parser,
            allow_duplicate_ids: options.allow_duplicate_ids,
            seen: HashMap::new(),
            count: 0,
            done: false,
        })
    }

    /// The format being read (detected or given).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The MEME file header, for MEME input.
    pub fn meme_header(&self) -> Option<&MemeHeader> {
        match &self.parser {
            Parser::Meme(header) => Some(header),
            _ => None,
        }
    }

    fn read_next(&mut self) -> Result<Option<Motif>, IoError> {
        let lines = &mut self.lines;
        let motif = match &mut self.parser {
            Parser::Meme(header) => meme::read_motif(lines, header)?,
            Parser::Jaspar => jaspar::read_motif(lines)?,
            Parser::Pfm(state) => crate::pfm::read_motif(lines, state)?,
            Parser::Transfac => transfac::read_motif(lines)?,
            Parser::Homer => homer::read_motif(lines)?,
            Parser::Chen => chen::read_motif(lines)?,
        };
        let Some(motif) = motif else {
            if self.count > 0 {
                return Ok(None);
            }
            return Err(if self.lines.saw_content() {
                IoError::NoMotifs {
                    at: self.lines.at(None),
                }
            } else {
                IoError::EmptyInput {
                    file: self.lines.name().to_owned(),
                }
            });
        };
        let line = motif.source.as_ref().map_or(0, |s| s.line);
        if !self.allow_duplicate_ids {
            if let Some(&first_line) = self.seen.get(&motif.id) {
                return Err(IoError::DuplicateId {
                    at: self.lines.at_line(line, Some(&motif.id)),
                    first_line,
                });
            }
            self.seen.insert(motif.id.clone(), line);
        }
        self.count += 1;
        Ok(Some(motif))
    }
}

impl<R: BufRead> Iterator for MotifReader<R> {
    type Item = Result<Motif, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_next().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// Read whole lines up to [`DETECTION_BYTES`] for detection; they are replayed to the parser.
fn read_prefix<R: BufRead>(reader: &mut R, name: &str) -> Result<Vec<u8>, IoError> {
    let mut prefix = Vec::new();
    while prefix.len() < DETECTION_BYTES {
        let n = reader
            .read_until(b'\n', &mut prefix)
            .map_err(|source| IoError::Io {
                file: name.to_owned(),
                error: source,
            })?;
        if n == 0 {
            break;
        }
    }
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_ids_name_both_lines_unless_allowed() {
        let text = ">a\n1 0 0 0\n>b\n1 0 0 0\n>a\n0 1 0 0\n";
        let e = read_str(text, Some(Format::Chen)).unwrap_err();
        match e {
            IoError::DuplicateId { at, first_line } => {
                assert_eq!(
                    (at.line, first_line, at.motif.as_deref()),
                    (5, 1, Some("a"))
                );
            }
            other => panic!("unexpected {other}"),
        }
        let options = ReadOptions::with_format(Format::Chen).allowing_duplicate_ids();
        assert_eq!(MotifFile::read_str(text, &options).unwrap().motifs.len(), 3);
    }

    #[test]
    fn iteration_stops_after_the_first_error() {
        let text = ">a\n1 0 0 0\n>b\n1 x 0 0\n>c\n1 0 0 0\n";
        let options = ReadOptions::with_format(Format::Chen);
        let results: Vec<_> = MotifReader::new(text.as_bytes(), IN_MEMORY, &options)
            .unwrap()
            .collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(matches!(
            results[1],
            Err(IoError::InvalidNumber { column: 2, .. })
        ));
    }

    #[test]
    fn empty_and_undetectable_inputs() {
        assert!(matches!(
            read_str("", None),
            Err(IoError::EmptyInput { .. })
        ));
        assert!(matches!(
            read_str("\u{feff}\r\n \n", None),
            Err(IoError::EmptyInput { .. })
        ));
        assert!(matches!(
            read_str("", Some(Format::Jaspar)),
            Err(IoError::EmptyInput { .. })
        ));
        assert!(matches!(
            read_str("", Some(Format::Meme)),
            Err(IoError::EmptyInput { .. })
        ));
        match read_str("just some prose\n", None) {
            Err(IoError::UnknownFormat { tried, .. }) => assert_eq!(tried, Format::ALL.to_vec()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn detection_replays_the_prefix_beyond_the_buffer() {
        // More than DETECTION_BYTES of chen so the parser reads past the replayed prefix.
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!(">m{i}\n250\t250\t250\t250\n0\t1000\t0\t0\n"));
        }
        assert!(text.len() > DETECTION_BYTES);
        let motifs = read_str(&text, None).unwrap();
        assert_eq!(motifs.len(), 5000);
        assert_eq!(motifs[4999].id, "m4999");
    }

    #[test]
    fn read_path_names_the_file_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.meme");
        std::fs::write(
            &path,
            "MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n0.5 0.2 0 0\n",
        )
        .unwrap();
        let e = read_path(&path, None).unwrap_err();
        let at = e.location().unwrap();
        assert_eq!(
            (at.file.as_str(), at.line),
            (path.display().to_string().as_str(), 4)
        );
        assert!(matches!(
            read_path(dir.path().join("missing"), None),
            Err(IoError::Io { .. })
        ));
    }
}

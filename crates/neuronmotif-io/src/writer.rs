//! Writing motifs in any format to any `io::Write`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::chen::ChenPrecision;
use crate::error::IoError;
use crate::meme::{self, MemeBackground, MemeHeader};
use crate::{chen, homer, jaspar, pfm, transfac, Format, Motif};

/// The file name used in errors when the writer was not given one.
const UNNAMED_OUTPUT: &str = "<output>";

/// Choices for writing.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The MEME file header. `None` writes [`MemeHeader::default`] with the first motif's
    /// background (uniform when it has none), so a MEME file read and written keeps its
    /// background even when the caller passes only motifs.
    pub meme_header: Option<MemeHeader>,
    /// How the chen writer prints numbers; [`ChenPrecision::Exact`] by default.
    pub chen_precision: ChenPrecision,
}

impl WriteOptions {
    /// The same options with a MEME header.
    pub fn with_meme_header(mut self, header: MemeHeader) -> WriteOptions {
        self.meme_header = Some(header);
        self
    }

    /// The same options with a chen precision.
    pub fn with_chen_precision(mut self, precision: ChenPrecision) -> WriteOptions {
        self.chen_precision = precision;
        self
    }
}

/// Writes motifs one at a time in one format.
///
/// Each motif is checked and formatted completely before any byte of it is written, so a motif
/// the format cannot hold (an id with a space in MEME) leaves the output at a record boundary.
///
/// ```
/// use neuronmotif_core::Ppm;
/// use neuronmotif_io::{Format, Motif, MotifWriter, WriteOptions};
///
/// let mut motif = Motif::from_ppm("L1_N0_S0", Ppm::uniform(2));
/// motif.nsites = Some(120.0);
/// let mut writer = MotifWriter::new(Vec::new(), Format::Meme, WriteOptions::default());
/// writer.write(&motif)?;
/// let text = String::from_utf8(writer.finish()?).unwrap();
/// assert!(text.contains("letter-probability matrix: alength= 4 w= 2 nsites= 120\n"));
/// assert!(text.contains(" 0.250000  0.250000  0.250000  0.250000\n"));
/// # Ok::<(), neuronmotif_io::IoError>(())
/// ```
#[derive(Debug)]
pub struct MotifWriter<W: Write> {
    out: W,
    name: String,
    format: Format,
    options: WriteOptions,
    buf: String,
    started: bool,
}

impl<W: Write> MotifWriter<W> {
    /// A writer to `out`; errors call it `<output>` (see [`MotifWriter::named`]).
    pub fn new(out: W, format: Format, options: WriteOptions) -> MotifWriter<W> {
        MotifWriter {
            out,
            name: UNNAMED_OUTPUT.to_owned(),
            format,
            options,
            buf: String::with_capacity(4096),
            started: false,
        }
    }

    /// The same writer, naming its output (a path) in I/O errors.
    pub fn named(mut self, name: impl Into<String>) -> MotifWriter<W> {
        self.name = name.into();
        self
    }

    /// Append one motif (after the file header, for MEME, on the first call).
    pub fn write(&mut self, motif: &Motif) -> Result<(), IoError> {
        self.buf.clear();
        if !self.started {
            self.header_into_buf(Some(motif))?;
        }
        match self.format {
            Format::Meme => meme::write_motif(&mut self.buf, motif)?,
            Format::Jaspar => jaspar::write_motif(&mut self.buf, motif)?,
            Format::Pfm => pfm::write_motif(&mut self.buf, motif)?,
            Format::Transfac => transfac::write_motif(&mut self.buf, motif)?,
            Format::Homer => homer::write_motif(&mut self.buf, motif)?,
            Format::Chen => chen::write_motif(&mut self.buf, motif, self.options.chen_precision)?,
        }
        self.flush_buf()?;
        self.started = true;
        Ok(())
    }

    /// Write the MEME header if no motif was written, flush, and return the output.
    pub fn finish(mut self) -> Result<W, IoError> {
        if !self.started {
            self.buf.clear();
            self.header_into_buf(None)?;
            self.flush_buf()?;
        }
        self.out.flush().map_err(|source| IoError::Io {
            file: self.name.clone(),
            error: source,
        })?;
        Ok(self.out)
    }

    fn header_into_buf(&mut self, first: Option<&Motif>) -> Result<(), IoError> {
        if self.format != Format::Meme {
            return Ok(());
        }
        let header = match &self.options.meme_header {
            Some(header) => header.clone(),
            None => {
                let mut header = MemeHeader::default();
                if let Some(bg) = first.and_then(|m| m.background) {
                    header.background = Some(MemeBackground::from(bg));
                }
                header
            }
        };
        meme::write_header(&mut self.buf, &header)
    }

    fn flush_buf(&mut self) -> Result<(), IoError> {
        self.out
            .write_all(self.buf.as_bytes())
            .map_err(|source| IoError::Io {
                file: self.name.clone(),
                error: source,
            })
    }
}

/// Write `motifs` to `out` in `format`.
pub fn write_motifs<W: Write>(
    out: W,
    format: Format,
    motifs: &[Motif],
    options: &WriteOptions,
) -> Result<(), IoError> {
    let mut writer = MotifWriter::new(out, format, options.clone());
    for motif in motifs {
        writer.write(motif)?;
    }
    writer.finish().map(drop)
}

/// Write `motifs` to a new file at `path` (replacing it), in `format`.
pub fn write_path(
    path: impl AsRef<Path>,
    format: Format,
    motifs: &[Motif],
    options: &WriteOptions,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file = File::create(path).map_err(|source| IoError::Io {
        file: name.clone(),
        error: source,
    })?;
    let mut writer = MotifWriter::new(BufWriter::new(file), format, options.clone()).named(name);
    for motif in motifs {
        writer.write(motif)?;
    }
    writer.finish().map(drop)
}

/// `motifs` as text in `format`.
///
/// ```
/// use neuronmotif_io::{read_str, write_string, Format, WriteOptions};
///
/// let jaspar = ">MA0004.1\tArnt\nA  [     4     19 ]\nC  [    16      0 ]\nG  [     0      1 ]\nT  [     0      0 ]\n";
/// let motifs = read_str(jaspar, None)?;
/// assert_eq!(write_string(Format::Jaspar, &motifs, &WriteOptions::default())?, jaspar);
/// let meme = write_string(Format::Meme, &motifs, &WriteOptions::default())?;
/// assert!(meme.contains("MOTIF MA0004.1 Arnt\nletter-probability matrix: alength= 4 w= 2 nsites= 20\n"));
/// # Ok::<(), neuronmotif_io::IoError>(())
/// ```
pub fn write_string(
    format: Format,
    motifs: &[Motif],
    options: &WriteOptions,
) -> Result<String, IoError> {
    let mut out = Vec::new();
    write_motifs(&mut out, format, motifs, options)?;
    // Every writer produces UTF-8 from UTF-8 strings and ASCII numbers.
    String::from_utf8(out).map_err(|e| IoError::Io {
        file: UNNAMED_OUTPUT.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// The error for a motif `format` cannot hold.
pub(crate) fn unwritable(format: Format, motif: &Motif, reason: impl Into<String>) -> IoError {
    IoError::Unwritable {
        what: format!("motif {:?}", motif.id),
        format,
        reason: reason.into(),
    }
}

/// `text` must be one non-empty word (ids in headers).
pub(crate) fn check_word(
    format: Format,
    motif: &Motif,
    field: &str,
    text: &str,
) -> Result<(), IoError> {
    if text.is_empty() {
        return Err(unwritable(format, motif, format!("the {field} is empty")));
    }
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(unwritable(
            format,
            motif,
            format!("the {field} {text:?} contains whitespace"),
        ));
    }
    Ok(())
}

/// `text` must fit on one line without surrounding whitespace, which readers trim away.
pub(crate) fn check_line(
    format: Format,
    motif: &Motif,
    field: &str,
    text: &str,
) -> Result<(), IoError> {
    if text.contains(['\n', '\r']) {
        return Err(unwritable(
            format,
            motif,
            format!("the {field} {text:?} contains a line break"),
        ));
    }
    if text.trim_ascii() != text {
        return Err(unwritable(
            format,
            motif,
            format!("the {field} {text:?} starts or ends with whitespace"),
        ));
    }
    Ok(())
}

//! The supported formats and how a file's format is recognised from its content.
//!
//! Extensions lie (`.txt`, `.pfm` for three different layouts), so detection reads the first
//! meaningful lines instead. Each rule looks for something only one format has:
//!
//! 1. `MEME version` on the first non-blank line: [`Format::Meme`].
//! 2. A two-character TRANSFAC tag (`AC`, `ID`, `VV`, `XX`, `P0`, `//`, ...) then whitespace:
//!    [`Format::Transfac`].
//! 3. A `>` header with at least three fields, the third a number (the log-odds threshold):
//!    [`Format::Homer`].
//! 4. A `>` header followed by a row like `A [ 4 19 0 ]`: [`Format::Jaspar`].
//! 5. A `>` header followed by plain number rows: records of exactly four rows (one per base)
//!    are [`Format::Pfm`], records of four numbers per row (one row per position) are
//!    [`Format::Chen`]. A 4 x 4 record fits both; the next record decides, and when every record
//!    is 4 x 4 the line totals do: equal totals (every position has the same number of sites)
//!    mean chen.
//! 6. Four plain number rows and nothing else: headerless [`Format::Pfm`] (JASPAR "raw").

use std::fmt;
use std::str::FromStr;

use crate::number::{parse_decimal, starts_numeric};

/// A motif file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// MEME minimal motif format, version 4 (or 5).
    Meme,
    /// JASPAR bracketed counts: `>ID NAME` then `A [ ... ]` rows.
    Jaspar,
    /// JASPAR "raw" pfm: four rows of counts (A, C, G, T), with or without a `>ID NAME` header.
    Pfm,
    /// TRANSFAC matrix records (`AC`, `ID`, `P0`, ..., `//`), as JASPAR exports them.
    Transfac,
    /// HOMER `.motif`: a tab-separated `>` header, then one probability row per position.
    Homer,
    /// NeuronMotif's intermediate format: `>name`, then one row of four numbers per position.
    Chen,
}

impl Format {
    /// Every format, in the order detection reports them.
    pub const ALL: [Format; 6] = [
        Format::Meme,
        Format::Jaspar,
        Format::Pfm,
        Format::Transfac,
        Format::Homer,
        Format::Chen,
    ];

    /// The format's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Meme => "MEME",
            Format::Jaspar => "JASPAR",
            Format::Pfm => "JASPAR pfm",
            Format::Transfac => "TRANSFAC",
            Format::Homer => "HOMER",
            Format::Chen => "chen",
        }
    }

    /// The format a file extension conventionally means (`meme`, `jaspar`, `pfm`, `transfac`,
    /// `motif`, `chen`), case-insensitive and without the dot. Meant for choosing an output
    /// format; reading should trust [`Format::detect`] instead.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "meme" => Some(Format::Meme),
            "jaspar" => Some(Format::Jaspar),
            "pfm" => Some(Format::Pfm),
            "transfac" | "tf" => Some(Format::Transfac),
            "motif" | "motifs" | "homer" => Some(Format::Homer),
            "chen" => Some(Format::Chen),
            _ => None,
        }
    }

    /// Recognise the format of a file from its beginning (see the module rules); `None` when no
    /// rule applies. The text may carry a byte-order mark and Windows line endings.
    ///
    /// ```
    /// use neuronmotif_io::Format;
    ///
    /// assert_eq!(Format::detect("MEME version 4\n"), Some(Format::Meme));
    /// assert_eq!(Format::detect(">MA0004.1\tArnt\nA [ 4 19 ]\n"), Some(Format::Jaspar));
    /// assert_eq!(Format::detect("hello\n"), None);
    /// ```
    pub fn detect(text: &str) -> Option<Format> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.trim_ascii().is_empty())
            .peekable();
        let first = lines.next()?;
        if crate::meme::is_version_line(first) {
            return Some(Format::Meme);
        }
        if crate::transfac::is_tag_line(first) {
            return Some(Format::Transfac);
        }
        if let Some(header) = first.trim_ascii_start().strip_prefix('>') {
            if crate::homer::is_header(header) {
                return Some(Format::Homer);
            }
            if crate::jaspar::is_bracket_row(lines.peek()?) {
                return Some(Format::Jaspar);
            }
            return classify_number_records(lines);
        }
        if starts_numeric(first) {
            let rows = std::iter::once(first).chain(lines).count();
            return (rows == 4).then_some(Format::Pfm);
        }
        None
    }
}

/// Tell pfm (four rows of `w` counts) from chen (`w` rows of four numbers) by the shape of the
/// records after a `>` header, starting with the first record's rows.
fn classify_number_records<'a>(lines: impl Iterator<Item = &'a str>) -> Option<Format> {
    let mut first_square: Option<Vec<f64>> = None;
    let mut row_lengths: Vec<usize> = Vec::new();
    let mut row_totals: Vec<f64> = Vec::new();
    let mut lines = lines.peekable();
    loop {
        let line = lines.next();
        let at_record_end = line.is_none_or(|l| l.trim_ascii_start().starts_with('>'));
        if at_record_end {
            let verdict = if row_lengths.is_empty() {
                None
            } else if row_lengths.len() != 4 {
                Some(Format::Chen)
            } else if row_lengths.iter().any(|&n| n != 4) {
                Some(Format::Pfm)
            } else {
                first_square.get_or_insert_with(|| row_totals.clone());
                None
            };
            if verdict.is_some() {
                return verdict;
            }
            row_lengths.clear();
            row_totals.clear();
            if line.is_none() {
                break;
            }
            continue;
        }
        let mut n = 0;
        let mut total = 0.0;
        for token in line.unwrap_or_default().split_ascii_whitespace() {
            total += parse_decimal(token)?;
            n += 1;
        }
        row_lengths.push(n);
        row_totals.push(total);
    }
    // Only 4 x 4 records: positions (chen rows) share one total, bases (pfm rows) rarely do.
    let totals = first_square?;
    let max = totals.iter().copied().fold(0.0, f64::max);
    let min = totals.iter().copied().fold(f64::INFINITY, f64::min);
    if max > 0.0 && (max - min) <= 0.01 * max {
        Some(Format::Chen)
    } else {
        Some(Format::Pfm)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parse a format keyword: `meme`, `jaspar`, `pfm`, `transfac`, `homer`, `chen`
    /// (case-insensitive), as a command line would take it.
    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "meme" => Ok(Format::Meme),
            "jaspar" => Ok(Format::Jaspar),
            "pfm" => Ok(Format::Pfm),
            "transfac" => Ok(Format::Transfac),
            "homer" => Ok(Format::Homer),
            "chen" => Ok(Format::Chen),
            _ => Err(format!(
                "unknown motif format {s:?}: expected meme, jaspar, pfm, transfac, homer or chen"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        let cases = [
            (
                "\u{feff}\r\nMEME version 5.4.1 (Release date)\r\n",
                Format::Meme,
            ),
            ("AC MA0004.1\nXX\n", Format::Transfac),
            ("VV  TRANSFAC MATRIX TABLE\n", Format::Transfac),
            (">ACGT\tname\t6.5\n0.1\t0.2\t0.3\t0.4\n", Format::Homer),
            (">MA1\tArnt\nA  [ 1 2 ]\nC [ 1 2 ]\n", Format::Jaspar),
            (">MA1 Arnt\n1 2 3\n1 2 3\n1 2 3\n1 2 3\n", Format::Pfm),
            (">c1\n250\t250\t250\t250\n1000\t0\t0\t0\n", Format::Chen),
            ("1 2 3\n4 5 6\n7 8 9\n1 1 1\n", Format::Pfm),
        ];
        for (text, want) in cases {
            assert_eq!(Format::detect(text), Some(want), "{text:?}");
        }
    }

    #[test]
    fn square_records_decided_by_later_record_or_totals() {
        let square = ">a\n1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n";
        assert_eq!(Format::detect(square), Some(Format::Chen));
        let pfm_square = ">a\n5 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n";
        assert_eq!(Format::detect(pfm_square), Some(Format::Pfm));
        let then_long = format!("{square}>b\n1 0 0 0\n");
        assert_eq!(Format::detect(&then_long), Some(Format::Chen));
        let then_wide = format!("{square}>b\n1 0\n1 0\n1 0\n1 0\n");
        assert_eq!(Format::detect(&then_wide), Some(Format::Pfm));
    }

    #[test]
    fn undetectable_inputs() {
        for text in [
            "",
            "\n  \n",
            "hello world",
            ">a\nx y z w\n",
            "1 2\n3 4\n",
            ">only\n",
        ] {
            assert_eq!(Format::detect(text), None, "{text:?}");
        }
    }

    #[test]
    fn names_parse_back() {
        for f in Format::ALL {
            let keyword = match f {
                Format::Pfm => "pfm".to_owned(),
                _ => f.name().to_ascii_lowercase(),
            };
            assert_eq!(keyword.parse::<Format>(), Ok(f));
        }
        assert!("fasta".parse::<Format>().is_err());
        assert_eq!(Format::from_extension("MEME"), Some(Format::Meme));
        assert_eq!(Format::from_extension("motif"), Some(Format::Homer));
        assert_eq!(Format::from_extension("txt"), None);
    }
}

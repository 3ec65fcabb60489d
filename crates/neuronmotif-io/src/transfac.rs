//! TRANSFAC matrix records, as TRANSFAC and JASPAR write them:
//!
//! ```text
//! AC MA0004.1                       accession -> Motif::id
//! XX                                separator
//! ID Arnt                           identifier -> Motif::name (-> id when there is no AC)
//! XX
//! DE MA0004.1 Arnt ; From JASPAR    any other tag -> Motif::metadata, in order
//! P0      A      C      G      T    `P0` or `PO`; the letters give the column order
//! 01      4     16      0      0 C  numbered rows (1, 2, ... or 0, 1, ... in order), optional
//!                                   consensus letter
//! XX
//! CC tax_group:vertebrates
//! XX
//! //                                ends the record
//! ```
//!
//! Tags are two characters at the start of a line followed by whitespace; a `VV` version
//! record before the first matrix is skipped. `nsites` follows the JASPAR rule (first position's
//! total, truncated). The writer emits JASPAR's layout (`PO`, counts with at least one
//! decimal, an IUPAC consensus column), puts `BA`, `BS`, `CC`, `DR` and reference tags after the
//! matrix and other tags before it, and writes metadata that is not a TRANSFAC tag (HOMER's
//! threshold, MEME's `P=`) as `CC key:value` lines.

use std::fmt::{self, Write as _};
use std::io::BufRead;

use ndarray::ArrayView2;

use crate::error::IoError;
use crate::jaspar::{counts_for_writing, first_position_nsites};
use crate::lines::LineSource;
use crate::motif::{MatrixKind, Motif, MotifMatrix, Source};
use crate::number::format_exact;
use crate::writer::{check_line, unwritable};
use crate::Format;

/// Tags that TRANSFAC places after the matrix.
const AFTER_MATRIX: [&str; 10] = ["BA", "BS", "CC", "DR", "OV", "RN", "RA", "RT", "RL", "RX"];

/// Tags with a fixed role, never taken from metadata.
const RESERVED: [&str; 7] = ["AC", "ID", "P0", "PO", "XX", "VV", "//"];

/// The two-character tag starting `line`, if it has the shape of one.
fn line_tag(line: &str) -> Option<&str> {
    let tag = line.get(..2)?;
    let rest = line.get(2..)?;
    let shaped = tag == "//"
        || (tag
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && tag.bytes().any(|b| b.is_ascii_uppercase()));
    let separated = rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_whitespace());
    (shaped && separated).then_some(tag)
}

/// Whether `line` starts with a TRANSFAC tag, for format detection.
pub(crate) fn is_tag_line(line: &str) -> bool {
    line_tag(line.trim_ascii_end()).is_some()
}

/// A matrix being read: column order from the `P0` line, row-major ACGT values.
struct MatrixRows {
    /// `order[i]` = canonical index of the header's column `i`.
    order: [usize; 4],
    values: Vec<f64>,
    rows: usize,
    /// The number of the first row: 1, or 0 in PRODORIC's files.
    first_number: Option<usize>,
    header_line: usize,
}

/// What a record has collected so far.
#[derive(Default)]
struct Record {
    accession: Option<String>,
    identifier: Option<String>,
    metadata: Vec<(String, String)>,
    matrix: Option<MatrixRows>,
    /// Matrix rows may follow now (the last tag was `P0` or a row).
    in_matrix: bool,
}

impl Record {
    fn is_only_version_header(&self) -> bool {
        self.accession.is_none()
            && self.identifier.is_none()
            && self.metadata.is_empty()
            && self.matrix.is_none()
    }

    fn label(&self) -> Option<&str> {
        self.accession.as_deref().or(self.identifier.as_deref())
    }
}

/// Read the next motif; `None` at the end of the input.
pub(crate) fn read_motif<R: BufRead>(lines: &mut LineSource<R>) -> Result<Option<Motif>, IoError> {
    loop {
        if !lines.advance_nonblank()? {
            return Ok(None);
        }
        let start = lines.line_no();
        let mut record = Record::default();
        loop {
            read_record_line(lines, &mut record)?;
            if lines.current().trim_ascii_end() == "//" {
                break;
            }
            if !lines.advance()? {
                return Err(IoError::Truncated {
                    at: lines.at(record.label()),
                    expected: "`//` ending the record".to_owned(),
                });
            }
        }
        if record.is_only_version_header() {
            continue;
        }
        return finish_record(lines, record, start).map(Some);
    }
}

/// Take the current line into the record.
fn read_record_line<R: BufRead>(lines: &LineSource<R>, record: &mut Record) -> Result<(), IoError> {
    let line = lines.current().trim_ascii_end();
    if line.trim_ascii().is_empty() {
        return Ok(());
    }
    if record.in_matrix && line.starts_with(|c: char| c.is_ascii_digit()) {
        return read_matrix_row(lines, record, line);
    }
    let Some(tag) = line_tag(line) else {
        return Err(IoError::UnexpectedLine {
            at: lines.at(record.label()),
            expected: "a two-letter TRANSFAC tag, a numbered matrix row or `//`",
            found: line.to_owned(),
        });
    };
    let value = line.get(2..).unwrap_or_default().trim_ascii();
    record.in_matrix = false;
    // Built only on error: allocating a location per line would cost more than the parse.
    let duplicate = |record: &Record, what: &'static str| IoError::UnexpectedLine {
        at: lines.at(record.label()),
        expected: what,
        found: line.to_owned(),
    };
    match tag {
        "XX" | "VV" | "//" => {}
        "AC" | "ID" => {
            if value.is_empty() {
                return Err(IoError::Missing {
                    at: lines.at(record.label()),
                    what: "the value after AC or ID",
                });
            }
            let slot = if tag == "AC" {
                &mut record.accession
            } else {
                &mut record.identifier
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(duplicate(record, "one AC and one ID line per record"));
            }
        }
        "P0" | "PO" => {
            if record.matrix.is_some() {
                return Err(duplicate(record, "one matrix per record"));
            }
            let order = column_order(value).ok_or_else(|| IoError::InvalidField {
                at: lines.at(record.label()),
                field: tag.to_owned(),
                value: value.to_owned(),
                expected: "the four columns A, C, G, T (in any order)",
            })?;
            record.matrix = Some(MatrixRows {
                order,
                values: Vec::new(),
                rows: 0,
                first_number: None,
                header_line: lines.line_no(),
            });
            record.in_matrix = true;
        }
        _ => record.metadata.push((tag.to_owned(), value.to_owned())),
    }
    Ok(())
}

/// Canonical index of each `P0` column.
fn column_order(value: &str) -> Option<[usize; 4]> {
    let mut order = [0usize; 4];
    let mut seen = [false; 4];
    let mut n = 0;
    for token in value.split_ascii_whitespace() {
        let slot = match token {
            "A" => 0,
            "C" => 1,
            "G" => 2,
            "T" => 3,
            _ => return None,
        };
        if std::mem::replace(seen.get_mut(slot)?, true) {
            return None;
        }
        *order.get_mut(n)? = slot;
        n += 1;
    }
    (n == 4).then_some(order)
}

fn read_matrix_row<R: BufRead>(
    lines: &LineSource<R>,
    record: &mut Record,
    line: &str,
) -> Result<(), IoError> {
    // Disjoint field borrows: the label for errors, the matrix to fill.
    let label = record.accession.as_deref().or(record.identifier.as_deref());
    let Some(matrix) = record.matrix.as_mut() else {
        return Ok(());
    };
    let mut tokens = line.split_ascii_whitespace();
    let number = tokens.next().unwrap_or_default();
    // TRANSFAC and JASPAR count from 01, PRODORIC from 00; the first row decides.
    let first = *matrix
        .first_number
        .get_or_insert_with(|| match number.parse::<usize>() {
            Ok(0) => 0,
            _ => 1,
        });
    if number.parse::<usize>().ok() != Some(first + matrix.rows) {
        return Err(IoError::InvalidField {
            at: lines.at(label),
            field: "position number".to_owned(),
            value: number.to_owned(),
            expected: "consecutive position numbers starting at 1 (or 0)",
        });
    }
    let before = matrix.values.len();
    let n = lines.parse_values(tokens.by_ref().take(4), 2, label, &mut matrix.values)?;
    let consensus = tokens.next();
    let extra = tokens.count();
    let consensus_ok =
        consensus.is_none_or(|c| c.len() == 1 && c.chars().all(|c| c.is_ascii_alphabetic()));
    if n != 4 || extra > 0 || !consensus_ok {
        return Err(IoError::RowLength {
            at: lines.at(label),
            expected: 4,
            found: n + usize::from(consensus.is_some() && !consensus_ok) + extra,
        });
    }
    if let Some(row) = matrix.values.get_mut(before..) {
        let mut canonical = [0.0; 4];
        for (&slot, &v) in matrix.order.iter().zip(row.iter()) {
            if let Some(c) = canonical.get_mut(slot) {
                *c = v;
            }
        }
        row.copy_from_slice(&canonical);
    }
    matrix.rows += 1;
    Ok(())
}

fn finish_record<R: BufRead>(
    lines: &LineSource<R>,
    record: Record,
    start: usize,
) -> Result<Motif, IoError> {
    let (id, name) = match (record.accession, record.identifier) {
        (Some(ac), identifier) => (ac, identifier),
        (None, Some(identifier)) => (identifier, None),
        (None, None) => {
            return Err(IoError::Missing {
                at: lines.at_line(start, None),
                what: "an AC or ID line naming the record",
            })
        }
    };
    let Some(matrix) = record.matrix else {
        return Err(IoError::Missing {
            at: lines.at_line(start, Some(&id)),
            what: "a P0 matrix",
        });
    };
    let at = lines.at_line(matrix.header_line, Some(&id));
    if matrix.rows == 0 {
        return Err(IoError::Missing {
            at,
            what: "matrix rows after P0",
        });
    }
    let matrix = MotifMatrix::from_rows(MatrixKind::Counts, matrix.values, &at)?;
    let mut motif = Motif::new(id, matrix);
    motif.name = name;
    motif.nsites = first_position_nsites(motif.matrix.values());
    motif.metadata = record.metadata;
    motif.source = Some(Source {
        format: Format::Transfac,
        file: lines.name().to_owned(),
        line: start,
    });
    Ok(motif)
}

/// Whether a metadata key can be written as its own TRANSFAC line.
fn is_writable_tag(key: &str) -> bool {
    key.len() == 2 && line_tag(key).is_some() && !RESERVED.contains(&key)
}

/// Append one record in JASPAR's TRANSFAC layout.
pub(crate) fn write_motif(buf: &mut String, motif: &Motif) -> Result<(), IoError> {
    // TRANSFAC values run to the end of the line, so an id may hold inner spaces.
    check_line(Format::Transfac, motif, "id", &motif.id)?;
    if motif.id.is_empty() {
        return Err(unwritable(Format::Transfac, motif, "the id is empty"));
    }
    if let Some(name) = &motif.name {
        check_line(Format::Transfac, motif, "name", name)?;
    }
    for (key, value) in &motif.metadata {
        check_line(Format::Transfac, motif, "metadata key", key)?;
        check_line(Format::Transfac, motif, "metadata value", value)?;
    }
    let counts = counts_for_writing(motif);
    let _ = write_motif_text(buf, motif, counts.view());
    Ok(())
}

/// Append metadata lines, `XX` between groups of one tag; `trailing_xx` adds one after the last.
fn write_tag_groups<'a>(
    buf: &mut String,
    entries: impl Iterator<Item = (&'a str, String)>,
    trailing_xx: bool,
) -> fmt::Result {
    let mut previous: Option<&str> = None;
    for (tag, value) in entries {
        if previous.is_some_and(|p| p != tag) {
            writeln!(buf, "XX")?;
        }
        if value.is_empty() {
            writeln!(buf, "{tag}")?;
        } else {
            writeln!(buf, "{tag} {value}")?;
        }
        previous = Some(tag);
    }
    if trailing_xx && previous.is_some() {
        writeln!(buf, "XX")?;
    }
    Ok(())
}

fn write_motif_text(buf: &mut String, motif: &Motif, counts: ArrayView2<'_, f64>) -> fmt::Result {
    writeln!(buf, "AC {}", motif.id)?;
    writeln!(buf, "XX")?;
    if let Some(name) = motif.name.as_deref().filter(|n| !n.is_empty()) {
        writeln!(buf, "ID {name}")?;
        writeln!(buf, "XX")?;
    }
    let is_after = |key: &str| !is_writable_tag(key) || AFTER_MATRIX.contains(&key);
    let before = motif
        .metadata
        .iter()
        .filter(|(k, _)| !is_after(k))
        .map(|(k, v)| (k.as_str(), v.clone()));
    write_tag_groups(buf, before, false)?;
    writeln!(buf, "PO      A      C      G      T")?;
    let consensus = motif.matrix.ppm().iupac_consensus();
    for ((i, row), letter) in counts.outer_iter().enumerate().zip(consensus.chars()) {
        write!(buf, "{:02}", i + 1)?;
        for &v in row {
            write!(buf, " {:>6}", format_exact(v, 1))?;
        }
        writeln!(buf, " {letter}")?;
    }
    writeln!(buf, "XX")?;
    let after = motif
        .metadata
        .iter()
        .filter(|(k, _)| is_after(k))
        .map(|(k, v)| {
            if is_writable_tag(k) {
                (k.as_str(), v.clone())
            } else {
                ("CC", format!("{k}:{v}"))
            }
        });
    write_tag_groups(buf, after, true)?;
    writeln!(buf, "//")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_str;

    const RUNX1: &str = "AC MA0002.3\nXX\nID Runx1\nXX\nDE MA0002.3 Runx1 ; From JASPAR\n\
        PO      A      C      G      T\n\
        01  123.0 1072.0  149.0  656.0 Y\n\
        02   57.0    0.0    7.0 1936.0 T\n\
        XX\nCC tax_group:vertebrates\nCC tf_family:Runt-related factors\nXX\n//\n";

    #[test]
    fn reads_and_writes_back_exactly() {
        let motifs = read_str(RUNX1, Some(Format::Transfac)).unwrap();
        let m = &motifs[0];
        assert_eq!(
            (m.id.as_str(), m.name.as_deref()),
            ("MA0002.3", Some("Runx1"))
        );
        assert_eq!(m.nsites, Some(2000.0));
        assert_eq!(m.metadata_value("CC"), Some("tax_group:vertebrates"));
        assert_eq!(m.metadata.len(), 3);
        let mut buf = String::new();
        write_motif(&mut buf, m).unwrap();
        assert_eq!(buf, RUNX1);
    }

    #[test]
    fn transfac_proper_with_version_header_and_p0() {
        let text = "VV  TRANSFAC MATRIX TABLE, Rel.3.2\nXX\n//\n\
            AC  M00005\nXX\nID  V$AP4_01\nXX\nNA  AP-4\nXX\n\
            P0      T      G      C      A\n01      2      0      0      3      W\n\
            02      0      3      1      1      G\nXX\nBA  5 elements\nXX\n//\n";
        let m = &read_str(text, None).unwrap()[0];
        assert_eq!(
            (m.id.as_str(), m.name.as_deref()),
            ("M00005", Some("V$AP4_01"))
        );
        assert_eq!(m.matrix.values().row(0).to_vec(), vec![3.0, 0.0, 0.0, 2.0]);
        assert_eq!(m.metadata_value("NA"), Some("AP-4"));
        assert_eq!(m.nsites, Some(5.0));
    }

    #[test]
    fn prodoric_rows_numbered_from_zero() {
        let text =
            "ID  prodoric_MX000001\nBF  Pseudomonas aeruginosa\nP0      A      T      G      C\n\
            00      0      0      2      0      G\n01      0      2      0      0      T\nXX\n//\n";
        let m = &read_str(text, None).unwrap()[0];
        assert_eq!(
            (m.id.as_str(), m.name.as_deref()),
            ("prodoric_MX000001", None)
        );
        assert_eq!(m.matrix.values().row(0).to_vec(), vec![0.0, 0.0, 2.0, 0.0]);
        assert_eq!(m.matrix.values().row(1).to_vec(), vec![0.0, 0.0, 0.0, 2.0]);
        let skipped = text.replace("01      0      2", "02      0      2");
        assert!(matches!(
            read_str(&skipped, None),
            Err(IoError::InvalidField { .. })
        ));
    }

    #[test]
    fn non_tag_metadata_becomes_cc() {
        let mut m = read_str(RUNX1, None).unwrap().remove(0);
        m.metadata = vec![("log_odds_threshold".into(), "6.5".into())];
        let mut buf = String::new();
        write_motif(&mut buf, &m).unwrap();
        assert!(
            buf.contains("XX\nCC log_odds_threshold:6.5\nXX\n//\n"),
            "{buf}"
        );
    }

    #[test]
    fn row_errors_are_precise() {
        let bad_number = RUNX1.replace("02   57.0", "03   57.0");
        let e = read_str(&bad_number, None).unwrap_err();
        assert!(
            matches!(e, IoError::InvalidField { ref at, .. } if at.line == 8),
            "{e}"
        );
        let short = RUNX1.replace(" 1936.0 T", " T");
        let e = read_str(&short, None).unwrap_err();
        assert!(matches!(e, IoError::InvalidNumber { column: 5, .. }), "{e}");
        let no_end = RUNX1.replace("//\n", "");
        let e = read_str(&no_end, None).unwrap_err();
        assert!(
            matches!(e, IoError::Truncated { ref at, .. } if at.line == 12),
            "{e}"
        );
    }
}

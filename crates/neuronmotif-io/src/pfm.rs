//! JASPAR "raw" pfm: four rows of counts, for A, C, G and T in that order, one column per
//! position, with no base letters and no brackets.
//!
//! ```text
//! >MA0004.1  Arnt         optional; without it the file holds exactly one motif, whose id is
//!   4.00  19.00  ...      the file name's stem (`motif` for in-memory text)
//!  16.00   0.00  ...
//!   0.00   1.00  ...
//!   0.00   0.00  ...
//! ```
//!
//! With headers a file may hold many motifs. `nsites` follows the JASPAR rule (first position's
//! total, truncated). The writer always emits the header and prints counts with two decimals
//! when that is exact, as JASPAR's pfm downloads do, and in full otherwise.

use std::fmt::{self, Write as _};
use std::io::BufRead;
use std::path::Path;

use ndarray::ArrayView2;

use crate::error::IoError;
use crate::jaspar::{
    check_header, counts_for_writing, first_position_nsites, parse_header, transpose_base_rows,
    write_header_line,
};
use crate::lines::{LineSource, IN_MEMORY};
use crate::motif::{MatrixKind, Motif, MotifMatrix, Source};
use crate::number::format_exact;
use crate::Format;

/// Reader state: a headerless matrix is the whole file.
#[derive(Debug, Default)]
pub(crate) struct PfmState {
    headerless_done: bool,
}

/// The id of a headerless matrix: the file name's stem.
fn id_from_source_name(name: &str) -> String {
    if name == IN_MEMORY {
        return "motif".to_owned();
    }
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("motif")
        .to_owned()
}

/// Read the next motif; `None` at the end of the input.
pub(crate) fn read_motif<R: BufRead>(
    lines: &mut LineSource<R>,
    state: &mut PfmState,
) -> Result<Option<Motif>, IoError> {
    if !lines.advance_nonblank()? {
        return Ok(None);
    }
    if state.headerless_done {
        return Err(IoError::UnexpectedLine {
            at: lines.at(None),
            expected: "the end of the input (a pfm without `>` headers holds one matrix)",
            found: lines.current().trim_ascii().to_owned(),
        });
    }
    let start = lines.line_no();
    let (id, name) = if lines.current().trim_ascii_start().starts_with('>') {
        parse_header(lines)?
    } else {
        state.headerless_done = true;
        lines.push_back();
        (id_from_source_name(lines.name()), None)
    };
    let mut bases: [Vec<f64>; 4] = Default::default();
    for (slot, letter) in ['A', 'C', 'G', 'T'].into_iter().enumerate() {
        if !lines.advance_nonblank()? {
            return Err(IoError::Truncated {
                at: lines.at(Some(&id)),
                expected: format!("the count row for {letter} (rows are A, C, G, T)"),
            });
        }
        let line = lines.current();
        if line.trim_ascii_start().starts_with('>') {
            return Err(IoError::UnexpectedLine {
                at: lines.at(Some(&id)),
                expected: "four count rows (A, C, G, T) after the header",
                found: line.trim_ascii().to_owned(),
            });
        }
        let mut row = std::mem::take(&mut bases[slot]);
        lines.parse_values(line.split_ascii_whitespace(), 1, Some(&id), &mut row)?;
        let expected = if slot == 0 { row.len() } else { bases[0].len() };
        if row.len() != expected || row.is_empty() {
            return Err(IoError::RowLength {
                at: lines.at(Some(&id)),
                expected: expected.max(1),
                found: row.len(),
            });
        }
        bases[slot] = row;
    }
    let at = lines.at_line(start, Some(&id));
    let matrix = MotifMatrix::from_rows(MatrixKind::Counts, transpose_base_rows(&bases), &at)?;
    let mut motif = Motif::new(id, matrix);
    motif.name = name;
    motif.nsites = first_position_nsites(motif.matrix.values());
    motif.source = Some(Source {
        format: Format::Pfm,
        file: lines.name().to_owned(),
        line: start,
    });
    Ok(Some(motif))
}

/// Append one motif: `>id<TAB>name`, then the A, C, G, T count rows.
pub(crate) fn write_motif(buf: &mut String, motif: &Motif) -> Result<(), IoError> {
    check_header(Format::Pfm, motif)?;
    let counts = counts_for_writing(motif);
    let _ = write_motif_text(buf, motif, counts.view());
    Ok(())
}

fn write_motif_text(buf: &mut String, motif: &Motif, counts: ArrayView2<'_, f64>) -> fmt::Result {
    write_header_line(buf, motif)?;
    for column in counts.columns() {
        for (i, &v) in column.iter().enumerate() {
            if i > 0 {
                buf.push(' ');
            }
            write!(buf, "{:>6}", format_exact(v, 2))?;
        }
        writeln!(buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_str, MotifReader, ReadOptions};

    #[test]
    fn headerless_matrix_takes_the_file_stem() {
        let text = "4 19 0\n16 0 20\n0 1 0\n0 0 0\n";
        let options = ReadOptions::default();
        let reader = MotifReader::new(text.as_bytes(), "dir/MA0004.1.pfm", &options).unwrap();
        let motifs: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(motifs[0].id, "MA0004.1");
        assert_eq!(
            motifs[0].matrix.values().row(1).to_vec(),
            vec![19.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(read_str(text, Some(Format::Pfm)).unwrap()[0].id, "motif");
    }

    #[test]
    fn headed_records_round_trip() {
        let text = ">a\tfirst\n  4.00  19.00\n 16.00   0.00\n  0.00   1.00\n  0.00   0.00\n\
            >b\n  1.00\n  0.00\n  0.00\n  2.50\n";
        let motifs = read_str(text, Some(Format::Pfm)).unwrap();
        assert_eq!(motifs.len(), 2);
        let mut buf = String::new();
        for m in &motifs {
            write_motif(&mut buf, m).unwrap();
        }
        assert_eq!(buf, text);
    }

    #[test]
    fn headerless_then_more_is_an_error() {
        let text = "1\n0\n0\n0\n1\n";
        let e = read_str(text, Some(Format::Pfm)).unwrap_err();
        assert!(
            matches!(e, IoError::UnexpectedLine { ref at, .. } if at.line == 5),
            "{e}"
        );
    }
}

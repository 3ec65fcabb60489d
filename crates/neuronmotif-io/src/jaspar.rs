//! JASPAR bracketed count matrices, the layout of JASPAR's `.jaspar` downloads:
//!
//! ```text
//! >MA0004.1  Arnt                        (a tab between id and name)
//! A  [     4     19      0      0      0      0 ]
//! C  [    16      0     20      0      0      0 ]
//! G  [     0      1      0     20      0     20 ]
//! T  [     0      0      0      0     20      0 ]
//! ```
//!
//! The header is `>` + id + optional name (the rest of the line, tab or spaces between). The four
//! rows name their base, so they may come in any order; each base exactly once, all rows equally
//! long. Counts may be fractional (nine JASPAR 2024 matrices are). `nsites` is the first
//! position's total, truncated, as JASPAR's own MEME export computes it.

use std::fmt::{self, Write as _};
use std::io::BufRead;

use ndarray::{Array2, ArrayView2};

use crate::error::IoError;
use crate::lines::{split_first_token, LineSource};
use crate::motif::{MatrixKind, Motif, MotifMatrix, Source};
use crate::number::{format_exact, round_significant_12};
use crate::writer::{check_line, check_word};
use crate::Format;

/// Relative slack when truncating a total to `nsites`: a first position written as
/// `p * nsites` sums to `nsites * (1 ± 1e-15)` in floating point and must not lose a site.
const NSITES_SLACK: f64 = 1e-9;

/// The site count the JASPAR family of formats implies: the first position's total, truncated
/// to an integer (after a relative 1e-9 allowance for floating-point sums). `None` for an empty
/// matrix.
pub(crate) fn first_position_nsites(values: ArrayView2<'_, f64>) -> Option<f64> {
    values
        .outer_iter()
        .next()
        .map(|row| (row.sum() * (1.0 + NSITES_SLACK)).floor())
}

/// The site count used to turn probabilities into counts when `nsites` is absent or outside
/// [`SCALABLE_NSITES`]: MEME's and Tomtom's default.
const DEFAULT_NSITES: f64 = 20.0;

/// `nsites` values that scale probabilities into counts; below 1 the counts would round away,
/// and far above any real site count their totals could overflow.
const SCALABLE_NSITES: std::ops::RangeInclusive<f64> = 1.0..=1e15;

/// Counts to write for a motif: its own counts, or its probabilities times `nsites` (20 when
/// absent or outside 1..=1e15), rounded to 12 significant digits so that the printed numbers
/// carry no floating-point noise.
pub(crate) fn counts_for_writing(motif: &Motif) -> Array2<f64> {
    match motif.matrix.kind() {
        MatrixKind::Counts => motif.matrix.values().to_owned(),
        MatrixKind::Probabilities => {
            let n = motif
                .nsites
                .filter(|n| SCALABLE_NSITES.contains(n))
                .unwrap_or(DEFAULT_NSITES);
            motif
                .matrix
                .ppm()
                .view()
                .mapv(|p| round_significant_12(p * n))
        }
    }
}

/// Whether `line` looks like a bracketed row (`A [`), for format detection.
pub(crate) fn is_bracket_row(line: &str) -> bool {
    let t = line.trim_ascii_start();
    let mut chars = t.chars();
    matches!(
        chars.next(),
        Some('A' | 'C' | 'G' | 'T' | 'a' | 'c' | 'g' | 't')
    ) && chars.as_str().trim_ascii_start().starts_with('[')
}

/// Parse a `>id name` header line (current line) into id and optional name.
pub(crate) fn parse_header<R: BufRead>(
    lines: &LineSource<R>,
) -> Result<(String, Option<String>), IoError> {
    let line = lines.current().trim_ascii();
    let Some(rest) = line.strip_prefix('>') else {
        return Err(IoError::UnexpectedLine {
            at: lines.at(None),
            expected: "a `>id name` header line",
            found: line.to_owned(),
        });
    };
    let (id, name) = split_first_token(rest);
    if id.is_empty() {
        return Err(IoError::Missing {
            at: lines.at(None),
            what: "the motif id after `>`",
        });
    }
    let name = (!name.is_empty()).then(|| name.to_owned());
    Ok((id.to_owned(), name))
}

/// Turn four per-base rows (ACGT order, equally long) into a `[w, 4]` row-major vector.
pub(crate) fn transpose_base_rows(bases: &[Vec<f64>; 4]) -> Vec<f64> {
    let w = bases[0].len();
    let mut rows = Vec::with_capacity(w * 4);
    for pos in 0..w {
        for base in bases {
            rows.push(base.get(pos).copied().unwrap_or(0.0));
        }
    }
    rows
}

/// Read the next motif; `None` at the end of the input.
pub(crate) fn read_motif<R: BufRead>(lines: &mut LineSource<R>) -> Result<Option<Motif>, IoError> {
    if !lines.advance_nonblank()? {
        return Ok(None);
    }
    let start = lines.line_no();
    let (id, name) = parse_header(lines)?;
    let mut bases: [Vec<f64>; 4] = Default::default();
    let mut seen = [false; 4];
    let mut width: Option<usize> = None;
    for _ in 0..4 {
        if !lines.advance_nonblank()? {
            return Err(IoError::Truncated {
                at: lines.at(Some(&id)),
                expected: "a bracketed count row for each of A, C, G, T".to_owned(),
            });
        }
        let line = lines.current();
        let row_error = || IoError::UnexpectedLine {
            at: lines.at(Some(&id)),
            expected: "a bracketed count row such as `A [ 4 19 0 ]`, one for each of A, C, G, T",
            found: line.trim_ascii().to_owned(),
        };
        let t = line.trim_ascii();
        let mut chars = t.chars();
        let slot = match chars.next() {
            Some('A' | 'a') => 0,
            Some('C' | 'c') => 1,
            Some('G' | 'g') => 2,
            Some('T' | 't') => 3,
            _ => return Err(row_error()),
        };
        let inner = chars
            .as_str()
            .trim_ascii_start()
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(row_error)?;
        if std::mem::replace(&mut seen[slot], true) {
            return Err(IoError::InvalidField {
                at: lines.at(Some(&id)),
                field: "base".to_owned(),
                value: t.chars().take(1).collect(),
                expected: "each of A, C, G, T exactly once",
            });
        }
        let row = &mut bases[slot];
        let found = lines.parse_values(inner.split_ascii_whitespace(), 3, Some(&id), row)?;
        // The first row read sets the width, whichever base it is.
        let expected = *width.get_or_insert(found);
        if found == 0 || found != expected {
            return Err(IoError::RowLength {
                at: lines.at(Some(&id)),
                expected: expected.max(1),
                found,
            });
        }
    }
    let at = lines.at_line(start, Some(&id));
    let values = transpose_base_rows(&bases);
    let matrix = MotifMatrix::from_rows(MatrixKind::Counts, values, &at)?;
    let mut motif = Motif::new(id, matrix);
    motif.name = name;
    motif.nsites = first_position_nsites(motif.matrix.values());
    motif.source = Some(Source {
        format: Format::Jaspar,
        file: lines.name().to_owned(),
        line: start,
    });
    Ok(Some(motif))
}

/// Check the parts of a motif that go into a `>id name` header.
pub(crate) fn check_header(format: Format, motif: &Motif) -> Result<(), IoError> {
    check_word(format, motif, "id", &motif.id)?;
    if let Some(name) = &motif.name {
        check_line(format, motif, "name", name)?;
    }
    Ok(())
}

/// Append `>id<TAB>name`.
pub(crate) fn write_header_line(buf: &mut String, motif: &Motif) -> fmt::Result {
    write!(buf, ">{}", motif.id)?;
    if let Some(name) = motif.name.as_deref().filter(|n| !n.is_empty()) {
        write!(buf, "\t{name}")?;
    }
    writeln!(buf)
}

/// Append one motif in JASPAR's download layout: counts right-aligned in six columns, whole
/// numbers without decimals, fractional counts in their shortest exact form.
pub(crate) fn write_motif(buf: &mut String, motif: &Motif) -> Result<(), IoError> {
    check_header(Format::Jaspar, motif)?;
    let counts = counts_for_writing(motif);
    let _ = write_motif_text(buf, motif, counts.view());
    Ok(())
}

fn write_motif_text(buf: &mut String, motif: &Motif, counts: ArrayView2<'_, f64>) -> fmt::Result {
    write_header_line(buf, motif)?;
    for (letter, column) in ['A', 'C', 'G', 'T'].iter().zip(counts.columns()) {
        write!(buf, "{letter}  [")?;
        for (i, &v) in column.iter().enumerate() {
            if i > 0 {
                buf.push(' ');
            }
            write!(buf, "{:>6}", format_exact(v, 0))?;
        }
        writeln!(buf, " ]")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_str;

    const ARNT: &str = ">MA0004.1\tArnt\n\
        A  [     4     19      0      0      0      0 ]\n\
        C  [    16      0     20      0      0      0 ]\n\
        G  [     0      1      0     20      0     20 ]\n\
        T  [     0      0      0      0     20      0 ]\n";

    #[test]
    fn reads_and_writes_back_exactly() {
        let motifs = read_str(ARNT, Some(Format::Jaspar)).unwrap();
        let m = &motifs[0];
        assert_eq!(
            (m.id.as_str(), m.name.as_deref()),
            ("MA0004.1", Some("Arnt"))
        );
        assert_eq!(m.matrix.values().row(0).to_vec(), vec![4.0, 16.0, 0.0, 0.0]);
        assert_eq!(m.nsites, Some(20.0));
        let mut buf = String::new();
        write_motif(&mut buf, m).unwrap();
        assert_eq!(buf, ARNT);
    }

    #[test]
    fn rows_in_any_order_with_fractions_and_tight_brackets() {
        let text = ">x\nT [0 1]\nG\t[ 0 0 ]\nC [1.5 0]\nA [950.422 0 ]\n";
        let uneven = ">x\nT [0 1]\nG [ 0 0 3 ]\nC [1.5 0]\nA [950.422 0 ]\n";
        assert!(matches!(
            read_str(uneven, Some(Format::Jaspar)),
            Err(IoError::RowLength {
                expected: 2,
                found: 3,
                ..
            })
        ));
        let m = &read_str(text, Some(Format::Jaspar)).unwrap()[0];
        assert_eq!(
            m.matrix.values().row(0).to_vec(),
            vec![950.422, 1.5, 0.0, 0.0]
        );
        assert_eq!(m.nsites, Some(951.0));
        let mut buf = String::new();
        write_motif(&mut buf, m).unwrap();
        assert!(buf.contains("A  [950.422      0 ]"), "{buf}");
    }

    #[test]
    fn nsites_truncates_the_first_position() {
        let v = ndarray::array![[0.5, 0.4, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]];
        assert_eq!(first_position_nsites(v.view()), Some(0.0));
        let v = ndarray::array![[19.999999999999996, 0.0, 0.0, 0.0]];
        assert_eq!(first_position_nsites(v.view()), Some(20.0));
        let v = ndarray::array![[999.9996, 0.0, 0.0, 0.0]];
        assert_eq!(first_position_nsites(v.view()), Some(999.0));
    }
}

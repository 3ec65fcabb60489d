//! The chen format: the original NeuronMotif's intermediate motif files, which MEME's
//! `chen2meme` converts.
//!
//! ```text
//! >L2_N0_S1 alt         `>` id, optional second name (the rest of the line)
//! 0 333 0 666          one row per position: A, C, G, T (tab-separated)
//! ```
//!
//! NeuronMotif writes `int(p * 1000)` (per-mille, truncated). Reading follows `chen2meme`: a
//! matrix whose mean row total rounds above 1 is counts with `nsites` = that rounded mean
//! (997-1000 for per-mille files); otherwise it is probabilities with `nsites` = 10. Rows that
//! neither look like counts nor sum to 1 within 0.1 are kept as counts (weights), still with
//! `nsites` = 10.
//!
//! The writer's default, [`ChenPrecision::Exact`], prints the stored values in their shortest
//! exact form, so nothing is lost; [`ChenPrecision::PerMille`] reproduces the original's
//! integers, `p * 1000` truncated toward zero as Python's `int()` does (`1/3 -> 333`).

use std::fmt::{self, Write as _};
use std::io::BufRead;

use crate::error::IoError;
use crate::jaspar::{check_header, parse_header};
use crate::lines::LineSource;
use crate::motif::{MatrixKind, Motif, MotifMatrix, Source};
use crate::number::format_exact;
use crate::Format;

/// `nsites` that `chen2meme` gives a probability matrix.
const CHEN2MEME_PROBABILITY_NSITES: f64 = 10.0;

/// How the chen writer prints numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChenPrecision {
    /// The stored values (counts or probabilities) in their shortest exact form: lossless.
    #[default]
    Exact,
    /// `trunc(p * 1000)` of the normalised probabilities, as the original NeuronMotif writes.
    PerMille,
}

/// Read the next motif; `None` at the end of the input.
pub(crate) fn read_motif<R: BufRead>(lines: &mut LineSource<R>) -> Result<Option<Motif>, IoError> {
    if !lines.advance_nonblank()? {
        return Ok(None);
    }
    let start = lines.line_no();
    let (id, name) = parse_header(lines)?;
    let mut values = Vec::with_capacity(64);
    let mut rows_sum_to_one = true;
    while lines.advance()? {
        let line = lines.current();
        if line.trim_ascii().is_empty() {
            continue;
        }
        if line.trim_ascii_start().starts_with('>') {
            lines.push_back();
            break;
        }
        let before = values.len();
        let n = lines.parse_values(line.split_ascii_whitespace(), 1, Some(&id), &mut values)?;
        if n != 4 {
            return Err(IoError::RowLength {
                at: lines.at(Some(&id)),
                expected: 4,
                found: n,
            });
        }
        let sum: f64 = values.get(before..).unwrap_or_default().iter().sum();
        rows_sum_to_one &= (sum - 1.0).abs() <= MotifMatrix::PROBABILITY_TOLERANCE;
    }
    let at = lines.at_line(start, Some(&id));
    let rows = values.len() / 4;
    if rows == 0 {
        return Err(IoError::Missing {
            at,
            what: "matrix rows after the header",
        });
    }
    // Summing row totals divided by the row count cannot overflow where the plain sum could.
    let mean_total = values
        .chunks_exact(4)
        .map(|row| row.iter().sum::<f64>() / rows as f64)
        .sum::<f64>()
        .round();
    let (kind, nsites) = if mean_total > 1.0 {
        (MatrixKind::Counts, mean_total)
    } else if rows_sum_to_one {
        (MatrixKind::Probabilities, CHEN2MEME_PROBABILITY_NSITES)
    } else {
        (MatrixKind::Counts, CHEN2MEME_PROBABILITY_NSITES)
    };
    let matrix = MotifMatrix::from_rows(kind, values, &at)?;
    let mut motif = Motif::new(id, matrix);
    motif.name = name;
    motif.nsites = Some(nsites);
    motif.source = Some(Source {
        format: Format::Chen,
        file: lines.name().to_owned(),
        line: start,
    });
    Ok(Some(motif))
}

/// Append one motif.
pub(crate) fn write_motif(
    buf: &mut String,
    motif: &Motif,
    precision: ChenPrecision,
) -> Result<(), IoError> {
    check_header(Format::Chen, motif)?;
    let _ = write_motif_text(buf, motif, precision);
    Ok(())
}

fn write_motif_text(buf: &mut String, motif: &Motif, precision: ChenPrecision) -> fmt::Result {
    write!(buf, ">{}", motif.id)?;
    if let Some(name) = motif.name.as_deref().filter(|n| !n.is_empty()) {
        write!(buf, " {name}")?;
    }
    writeln!(buf)?;
    let rows = match precision {
        ChenPrecision::Exact => motif.matrix.values(),
        ChenPrecision::PerMille => motif.matrix.ppm().view(),
    };
    for row in rows.outer_iter() {
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            match precision {
                ChenPrecision::Exact => buf.push_str(&format_exact(v, 0)),
                ChenPrecision::PerMille => write!(buf, "{}", (v * 1000.0).trunc())?,
            }
        }
        writeln!(buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_str;

    #[test]
    fn per_mille_files_are_counts_like_chen2meme_says() {
        let text = ">L1_N0_S0\n0\t333\t0\t666\n1000\t0\t0\t0\n";
        let m = &read_str(text, Some(Format::Chen)).unwrap()[0];
        assert_eq!(m.matrix.kind(), MatrixKind::Counts);
        assert_eq!(m.nsites, Some(1000.0));
        assert!((m.ppm().row(0).unwrap()[1] - 333.0 / 999.0).abs() < 1e-12);
    }

    #[test]
    fn probability_files_get_nsites_ten() {
        let text = ">a alt name\n0.25 0.25 0.25 0.25\n";
        let m = &read_str(text, Some(Format::Chen)).unwrap()[0];
        assert_eq!(m.matrix.kind(), MatrixKind::Probabilities);
        assert_eq!(m.nsites, Some(10.0));
        assert_eq!(m.name.as_deref(), Some("alt name"));
    }

    #[test]
    fn per_mille_writer_truncates_like_the_original() {
        let ppm =
            neuronmotif_core::Ppm::from_weights(ndarray::array![[1.0, 1.0, 1.0, 0.0]]).unwrap();
        let m = Motif::from_ppm("x", ppm);
        let mut buf = String::new();
        write_motif(&mut buf, &m, ChenPrecision::PerMille).unwrap();
        assert_eq!(buf, ">x\n333\t333\t333\t0\n");
        buf.clear();
        write_motif(&mut buf, &m, ChenPrecision::Exact).unwrap();
        let third = 1.0f64 / 3.0;
        assert_eq!(buf, format!(">x\n{third}\t{third}\t{third}\t0\n"));
    }
}

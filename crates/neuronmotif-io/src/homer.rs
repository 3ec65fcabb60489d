//! HOMER `.motif` files:
//!
//! ```text
//! >CACGTG  MA0004.1  6.5  -12.3  0  T:17.0(44%),B:2.0(5%),P:1e-5     (fields tab-separated)
//! 0.200  0.800  0.000  0.000                                      (tab-separated)
//! ...
//! ```
//!
//! The header is tab-separated (whitespace-separated when it has no tab): consensus, motif name
//! (the id), log-odds detection threshold (required, a number), then optionally the log
//! p-value, a placeholder `0` and occurrence statistics. Every header field is kept in
//! [`crate::Motif::metadata`] under `consensus`, `log_odds_threshold`, `log_p_value`,
//! `placeholder`, `occurrences` (`field7`, ... beyond), so a file is rewritten exactly.
//!
//! Rows are one position each, four numbers. HOMER normalises them itself, so rows need not sum
//! to 1: a matrix whose rows all sum to 1 within 0.1 is read as probabilities, any other as
//! counts (weights). HOMER has no site count; `nsites` stays `None`.
//!
//! The writer prints probabilities as stored (counts are normalised first) in their shortest
//! exact form. A motif from another format gets the IUPAC consensus and, for the mandatory
//! threshold, neuronmotif's own default of 60% of the PPM's best log-odds score (natural log,
//! uniform background, probabilities floored at 0.001): a permissive scanning cut-off, not
//! HOMER's optimised one; set the `log_odds_threshold` metadata to choose another.

use std::fmt::{self, Write as _};
use std::io::BufRead;

use neuronmotif_core::Ppm;

use crate::error::IoError;
use crate::lines::LineSource;
use crate::motif::{MatrixKind, Motif, MotifMatrix, Source};
use crate::number::{format_exact, parse_decimal};
use crate::writer::{check_line, unwritable};
use crate::Format;

/// Names of the header fields after the first two, in order.
const FIELD_KEYS: [&str; 4] = [
    "log_odds_threshold",
    "log_p_value",
    "placeholder",
    "occurrences",
];

/// Fraction of the best log-odds score used as the default threshold.
const DEFAULT_THRESHOLD_FRACTION: f64 = 0.6;

/// Probability floor when computing the default threshold, so zeros do not give -inf.
const THRESHOLD_PROBABILITY_FLOOR: f64 = 0.001;

/// The header's fields: tab-separated when it has a tab, else whitespace-separated.
fn header_fields(header: &str) -> Vec<&str> {
    if header.contains('\t') {
        header.split('\t').map(str::trim_ascii).collect()
    } else {
        header.split_ascii_whitespace().collect()
    }
}

/// Whether a `>` line (without the `>`) is a HOMER header, for format detection.
pub(crate) fn is_header(header: &str) -> bool {
    let fields = header_fields(header);
    fields.len() >= 3
        && fields.get(1).is_some_and(|f| !f.is_empty())
        && fields.get(2).and_then(|f| parse_decimal(f)).is_some()
}

/// Read the next motif; `None` at the end of the input.
pub(crate) fn read_motif<R: BufRead>(lines: &mut LineSource<R>) -> Result<Option<Motif>, IoError> {
    if !lines.advance_nonblank()? {
        return Ok(None);
    }
    let start = lines.line_no();
    let line = lines.current().trim_ascii_end();
    let Some(header) = line.trim_ascii_start().strip_prefix('>') else {
        return Err(IoError::UnexpectedLine {
            at: lines.at(None),
            expected: "a HOMER header `>consensus<TAB>name<TAB>threshold`",
            found: line.to_owned(),
        });
    };
    let fields = header_fields(header);
    let id = match fields.get(1) {
        Some(name) if !name.is_empty() => (*name).to_owned(),
        _ => {
            return Err(IoError::Missing {
                at: lines.at(None),
                what: "the motif name (second field of the HOMER header)",
            })
        }
    };
    let Some(threshold) = fields.get(2) else {
        return Err(IoError::Missing {
            at: lines.at(Some(&id)),
            what: "the log-odds threshold (third field of the HOMER header)",
        });
    };
    if parse_decimal(threshold).is_none() {
        return Err(IoError::InvalidField {
            at: lines.at(Some(&id)),
            field: "log-odds threshold".to_owned(),
            value: (*threshold).to_owned(),
            expected: "a decimal number",
        });
    }
    let mut metadata = vec![(
        "consensus".to_owned(),
        fields.first().copied().unwrap_or_default().to_owned(),
    )];
    for (i, value) in fields.iter().enumerate().skip(2) {
        let key = FIELD_KEYS
            .get(i - 2)
            .map_or_else(|| format!("field{}", i + 1), |k| (*k).to_owned());
        metadata.push((key, (*value).to_owned()));
    }

    let mut values = Vec::with_capacity(64);
    let mut all_sum_to_one = true;
    while lines.advance()? {
        let line = lines.current();
        if line.trim_ascii().is_empty() {
            continue;
        }
        if line.trim_ascii_start().starts_with('>') {
            lines.push_back();
            break;
        }
        // Anything else is a row; text where a row is due gets a column-precise error.
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
        all_sum_to_one &= (sum - 1.0).abs() <= MotifMatrix::PROBABILITY_TOLERANCE;
    }
    let at = lines.at_line(start, Some(&id));
    if values.is_empty() {
        return Err(IoError::Missing {
            at,
            what: "matrix rows after the header",
        });
    }
    let kind = if all_sum_to_one {
        MatrixKind::Probabilities
    } else {
        MatrixKind::Counts
    };
    let matrix = MotifMatrix::from_rows(kind, values, &at)?;
    let mut motif = Motif::new(id, matrix);
    motif.metadata = metadata;
    motif.source = Some(Source {
        format: Format::Homer,
        file: lines.name().to_owned(),
        line: start,
    });
    Ok(Some(motif))
}

/// neuronmotif's default threshold for motifs that have none (see the module docs).
pub(crate) fn default_threshold(ppm: &Ppm) -> f64 {
    let best: f64 = ppm
        .view()
        .outer_iter()
        .map(|row| {
            row.iter()
                .map(|&p| (p.max(THRESHOLD_PROBABILITY_FLOOR) / 0.25).ln())
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum();
    DEFAULT_THRESHOLD_FRACTION * best
}

/// Append one motif.
pub(crate) fn write_motif(buf: &mut String, motif: &Motif) -> Result<(), IoError> {
    check_line(Format::Homer, motif, "id", &motif.id)?;
    if motif.id.is_empty() || motif.id.contains('\t') {
        return Err(unwritable(
            Format::Homer,
            motif,
            "the id is empty or contains a tab (the HOMER field separator)",
        ));
    }
    let mut fields: Vec<String> = Vec::with_capacity(6);
    let consensus = motif
        .metadata_value("consensus")
        .map_or_else(|| motif.matrix.ppm().iupac_consensus(), str::to_owned);
    fields.push(consensus);
    fields.push(motif.id.clone());
    let threshold = motif.metadata_value("log_odds_threshold").map_or_else(
        || format_exact(round3(default_threshold(motif.matrix.ppm())), 0),
        str::to_owned,
    );
    if parse_decimal(&threshold).is_none() {
        return Err(unwritable(
            Format::Homer,
            motif,
            "the log_odds_threshold metadata is not a number",
        ));
    }
    fields.push(threshold);
    // The optional fields are positional: write them up to the last one present.
    let mut optional: Vec<String> = FIELD_KEYS
        .iter()
        .skip(1)
        .map(|k| motif.metadata_value(k).unwrap_or_default().to_owned())
        .collect();
    let mut n = 4;
    while let Some(value) = motif.metadata_value(&format!("field{}", n + 3)) {
        optional.push(value.to_owned());
        n += 1;
    }
    while optional.last().is_some_and(String::is_empty) {
        optional.pop();
    }
    fields.extend(optional);
    for f in &fields {
        check_line(Format::Homer, motif, "header field", f)?;
        if f.contains('\t') {
            return Err(unwritable(
                Format::Homer,
                motif,
                "a header field contains a tab",
            ));
        }
    }
    let _ = write_motif_text(buf, motif, &fields);
    Ok(())
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn write_motif_text(buf: &mut String, motif: &Motif, fields: &[String]) -> fmt::Result {
    writeln!(buf, ">{}", fields.join("\t"))?;
    let rows = match motif.matrix.kind() {
        MatrixKind::Probabilities => motif.matrix.values(),
        MatrixKind::Counts => motif.matrix.ppm().view(),
    };
    for row in rows.outer_iter() {
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            buf.push_str(&format_exact(v, 3));
        }
        writeln!(buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_str;

    const TWO: &str = ">CACGTG\tMA0004.1\t6.5\t-12.3\t0\tT:17.0(44%),B:2.0(5%),P:1e-5\n\
        0.200\t0.800\t0.000\t0.000\n0.950\t0.000\t0.050\t0.000\n\
        >A\tsecond motif\t-1.25\n1.000\t0.000\t0.000\t0.000\n";

    #[test]
    fn reads_fields_and_writes_back_exactly() {
        let motifs = read_str(TWO, Some(Format::Homer)).unwrap();
        assert_eq!(motifs.len(), 2);
        assert_eq!(motifs[0].id, "MA0004.1");
        assert_eq!(motifs[0].metadata_value("consensus"), Some("CACGTG"));
        assert_eq!(
            motifs[0].metadata_value("occurrences"),
            Some("T:17.0(44%),B:2.0(5%),P:1e-5")
        );
        assert_eq!(motifs[1].id, "second motif");
        assert_eq!(
            motifs[1].metadata_value("log_odds_threshold"),
            Some("-1.25")
        );
        let mut buf = String::new();
        for m in &motifs {
            write_motif(&mut buf, m).unwrap();
        }
        assert_eq!(buf, TWO);
    }

    #[test]
    fn unnormalised_rows_are_weights() {
        let text = ">A\tw\t1\n2 0 0 0\n1 1 0 0\n";
        let m = &read_str(text, Some(Format::Homer)).unwrap()[0];
        assert_eq!(m.matrix.kind(), MatrixKind::Counts);
        assert_eq!(m.ppm().row(1), Some([0.5, 0.5, 0.0, 0.0]));
        assert_eq!(m.nsites, None);
    }

    #[test]
    fn default_threshold_for_foreign_motifs() {
        let ppm = Ppm::new(ndarray::array![
            [1.0, 0.0, 0.0, 0.0],
            [0.25, 0.25, 0.25, 0.25]
        ])
        .unwrap();
        let expected = 0.6 * (4.0f64).ln();
        assert!((default_threshold(&ppm) - expected).abs() < 1e-12);
        let m = Motif::from_ppm("x", ppm);
        let mut buf = String::new();
        write_motif(&mut buf, &m).unwrap();
        assert!(buf.starts_with(">AN\tx\t0.832\n"), "{buf}");
    }

    #[test]
    fn missing_threshold_is_named() {
        let e = read_str(">A\tname\n1 0 0 0\n", Some(Format::Homer)).unwrap_err();
        assert!(
            matches!(e, IoError::Missing { ref at, .. } if at.line == 1),
            "{e}"
        );
    }
}

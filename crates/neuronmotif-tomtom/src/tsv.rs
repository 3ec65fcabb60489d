//! Tomtom's `-text` TSV layout: a writer (so `neuronmotif tomtom` can stand in for
//! `tomtom -text`) and a reader (for reference tables such as the test fixtures).

use std::borrow::Borrow;
use std::io::{self, BufRead, Write};

use crate::{Orientation, TomtomError, TomtomMatch};

/// The header line of Tomtom's TSV output (without the newline).
pub const TSV_HEADER: &str = "Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\tTarget_consensus\tOrientation";

/// Format a number like C's `printf("%g")`: 6 significant digits, trailing zeros removed,
/// exponent notation when the decimal exponent is below -4 or at least 6.
///
/// ```
/// use neuronmotif_tomtom::tsv::format_g;
///
/// assert_eq!(format_g(0.0), "0");
/// assert_eq!(format_g(3.82316e-33), "3.82316e-33");
/// assert_eq!(format_g(0.000105713), "0.000105713");
/// assert_eq!(format_g(878.975), "878.975");
/// assert_eq!(format_g(879.0), "879");
/// assert_eq!(format_g(1234567.0), "1.23457e+06");
/// assert_eq!(format_g(0.5), "0.5");
/// ```
pub fn format_g(v: f64) -> String {
    const P: i32 = 6;
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    // Round to P significant digits first; the exponent of the rounded value decides the style.
    let e_form = format!("{:.*e}", (P - 1) as usize, v);
    let (mantissa, exp) = e_form.split_once('e').unwrap_or((e_form.as_str(), "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if !(-4..P).contains(&x) {
        let m = strip_zeros(mantissa);
        let sign = if x < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", x.abs())
    } else {
        let decimals = (P - 1 - x).max(0) as usize;
        strip_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Write matches in Tomtom's `-text` layout: the header, one line per match in the order given
/// (as [`crate::TargetDb::compare_batch`] returns them: queries in input order, rows by
/// ascending p-value), then a blank line and three `#` trailer lines (program and version,
/// format reference, `command_line`). Numbers use [`format_g`].
///
/// The matches may be borrowed or owned, so rows made one at a time from compact results
/// ([`crate::QueryMatches::matches`]) are written without being kept.
pub fn write_tsv<W: Write, M: Borrow<TomtomMatch>>(
    mut out: W,
    matches: impl IntoIterator<Item = M>,
    command_line: &str,
) -> io::Result<()> {
    writeln!(out, "{TSV_HEADER}")?;
    for m in matches {
        let m = m.borrow();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            m.query_id,
            m.target_id,
            m.offset,
            format_g(m.p_value),
            format_g(m.e_value),
            format_g(m.q_value),
            m.overlap,
            m.query_consensus,
            m.target_consensus,
            m.orientation
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "# neuronmotif-tomtom {} (Tomtom-compatible motif comparison, after MEME Suite Tomtom 5.4.1)",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        "# The format of this file is described at https://meme-suite.org/meme/doc/tomtom-output-format.html."
    )?;
    writeln!(out, "# {command_line}")?;
    Ok(())
}

/// One row of a Tomtom TSV file, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct TsvRow {
    /// Query motif ID.
    pub query_id: String,
    /// Target motif ID.
    pub target_id: String,
    /// Optimal offset.
    pub offset: i64,
    /// p-value as printed.
    pub p_value: f64,
    /// E-value as printed.
    pub e_value: f64,
    /// q-value as printed; `None` for `NA` (memelite tables).
    pub q_value: Option<f64>,
    /// Overlap.
    pub overlap: usize,
    /// Query consensus.
    pub query_consensus: String,
    /// Target consensus.
    pub target_consensus: String,
    /// Orientation.
    pub orientation: Orientation,
}

/// Read a Tomtom TSV table: `#` lines and blank lines are skipped, so is the header line.
/// Errors name the 1-based line.
pub fn read_tsv<R: BufRead>(input: R) -> Result<Vec<TsvRow>, TomtomError> {
    let mut rows = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| TomtomError::TsvParse {
            line: lineno,
            message: e.to_string(),
        })?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("Query_ID\t") {
            continue;
        }
        rows.push(parse_row(line, lineno)?);
    }
    Ok(rows)
}

fn parse_row(line: &str, lineno: usize) -> Result<TsvRow, TomtomError> {
    let f: Vec<&str> = line.split('\t').collect();
    let err = |message: String| TomtomError::TsvParse {
        line: lineno,
        message,
    };
    if f.len() != 10 {
        return Err(err(format!(
            "expected 10 tab-separated fields, found {}",
            f.len()
        )));
    }
    let num = |i: usize, name: &str| -> Result<f64, TomtomError> {
        f[i].parse::<f64>()
            .map_err(|_| err(format!("{name} {:?} is not a number", f[i])))
    };
    let q_value = if f[5] == "NA" {
        None
    } else {
        Some(num(5, "q-value")?)
    };
    Ok(TsvRow {
        query_id: f[0].to_string(),
        target_id: f[1].to_string(),
        offset: f[2]
            .parse()
            .map_err(|_| err(format!("offset {:?} is not an integer", f[2])))?,
        p_value: num(3, "p-value")?,
        e_value: num(4, "E-value")?,
        q_value,
        overlap: f[6]
            .parse()
            .map_err(|_| err(format!("overlap {:?} is not a non-negative integer", f[6])))?,
        query_consensus: f[7].to_string(),
        target_consensus: f[8].to_string(),
        orientation: Orientation::from_symbol(f[9])
            .ok_or_else(|| err(format!("orientation {:?} is not + or -", f[9])))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_format_matches_c() {
        // Values and their glibc printf("%g") renderings.
        let cases = [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (999999.5, "1e+06"),
            (0.99999949, "0.999999"),
            (0.9999995, "1"),
            (6.7203e-30, "6.7203e-30"),
            (2.29468e-30, "2.29468e-30"),
            (0.0121788, "0.0121788"),
            (1e100, "1e+100"),
            (f64::INFINITY, "inf"),
            (5e-324, "4.94066e-324"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g(v), want, "{v:e}");
        }
    }

    fn sample() -> TomtomMatch {
        TomtomMatch {
            query_id: "MA0002.3".into(),
            target_id: "MA1989.2".into(),
            target_index: 3,
            offset: -2,
            p_value: 5.91372e-08,
            e_value: 5.19816e-05,
            q_value: 0.5,
            overlap: 9,
            query_consensus: "CTGTGGTTT".into(),
            target_consensus: "TTGTGGTTT".into(),
            orientation: Orientation::Reverse,
        }
    }

    #[test]
    fn write_then_read_round_trips() {
        let m = sample();
        let mut buf = Vec::new();
        write_tsv(&mut buf, [&m, &m], "neuronmotif tomtom q.meme t.meme").unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], TSV_HEADER);
        assert_eq!(
            lines[1],
            "MA0002.3\tMA1989.2\t-2\t5.91372e-08\t5.19816e-05\t0.5\t9\tCTGTGGTTT\tTTGTGGTTT\t-"
        );
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with("# neuronmotif-tomtom"));
        assert_eq!(lines[6], "# neuronmotif tomtom q.meme t.meme");
        let rows = read_tsv(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].offset, -2);
        assert_eq!(rows[0].q_value, Some(0.5));
        assert_eq!(rows[0].orientation, Orientation::Reverse);
        assert_eq!(rows[0].p_value, 5.91372e-08);
    }

    #[test]
    fn reader_accepts_na_and_names_bad_lines() {
        let text = "Query_ID\tTarget_ID\n\nA\tB\t0\t0.1\t87.9\tNA\t5\tACGTA\tACGTA\t+\n# trailer\n";
        let rows = read_tsv(text.as_bytes()).unwrap();
        assert_eq!(rows[0].q_value, None);
        let bad = "A\tB\t0\tx\t1\t1\t5\tA\tA\t+\n";
        let e = read_tsv(bad.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Tomtom TSV line 1: p-value \"x\" is not a number"
        );
        assert!(read_tsv("A\tB\n".as_bytes()).is_err());
        assert!(read_tsv("A\tB\t0\t1\t1\t1\t5\tA\tA\t*\n".as_bytes()).is_err());
    }
}

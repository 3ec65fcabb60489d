//! `matches.tsv`: Tomtom's `-text` table.

use std::path::Path;

use crate::{tsv, MatchReport, Result, Strand};

/// Tomtom's `-text` columns, in order.
pub(crate) const MATCH_COLUMNS: [&str; 10] = [
    "Query_ID",
    "Target_ID",
    "Optimal_offset",
    "p-value",
    "E-value",
    "q-value",
    "Overlap",
    "Query_consensus",
    "Target_consensus",
    "Orientation",
];

/// One row of `matches.tsv`: the query it belongs to, where it was read, and the match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MatchRow {
    pub query: String,
    pub line: usize,
    pub report: MatchReport,
}

/// Parse Tomtom `-text` output. Blank lines and `#` comment lines (Tomtom's trailer) are
/// skipped; a q-value of `NA` (some Tomtom ports) is kept as unknown.
pub(crate) fn parse_matches_tsv(text: &str, path: &Path) -> Result<Vec<MatchRow>> {
    let bad = |line: usize, message: String| tsv::malformed(path, line, message);
    // No header at all: an empty table, no segment passed the threshold.
    let Some(table) = tsv::rows(text, path, &MATCH_COLUMNS, "Tomtom's", true)? else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    for (n, f) in table {
        let prob = |i: usize| -> Result<f64> {
            f[i].parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    bad(
                        n,
                        format!(
                            "column {}: {:?} is not a number >= 0",
                            MATCH_COLUMNS[i], f[i]
                        ),
                    )
                })
        };
        let offset = f[2].parse::<i64>().map_err(|_| {
            bad(
                n,
                format!("column Optimal_offset: {:?} is not an integer", f[2]),
            )
        })?;
        let overlap = f[6].parse::<u64>().map_err(|_| {
            bad(
                n,
                format!("column Overlap: {:?} is not a non-negative integer", f[6]),
            )
        })?;
        let strand = Strand::parse(f[9])
            .ok_or_else(|| bad(n, format!("column Orientation: {:?} is not + or -", f[9])))?;
        if f[0].is_empty() || f[1].is_empty() {
            return Err(bad(n, "empty Query_ID or Target_ID".into()));
        }
        rows.push(MatchRow {
            query: f[0].to_owned(),
            line: n,
            report: MatchReport {
                target_id: f[1].to_owned(),
                offset,
                p_value: prob(3)?,
                e_value: prob(4)?,
                q_value: if f[5] == "NA" { None } else { Some(prob(5)?) },
                overlap,
                query_consensus: f[7].to_owned(),
                target_consensus: f[8].to_owned(),
                strand,
            },
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tomtom_text_output() {
        let text = "Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\tTarget_consensus\tOrientation\n\
            L1_N0_S0_0-9\tMA0002.3\t-2\t3.82316e-33\t3.36055e-30\t6.7203e-30\t9\tCTGTGGTTT\tCTGTGGTTT\t+\n\
            L1_N0_S0_0-9\tMA0483.2\t1\t0.000407327\t0.35804\tNA\t9\tCTGTGGTTT\tGCTGTGATTT\t-\n\
            \n# Tomtom (Motif Comparison Tool): Version 5.4.1\n# The format of this file is described at x.\n";
        let rows = parse_matches_tsv(text, Path::new("m.tsv")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].report.offset, -2);
        assert_eq!(rows[1].report.strand, Strand::Reverse);
        assert_eq!(rows[1].report.q_value, None);
        assert_eq!(rows[1].line, 3);
        assert!(parse_matches_tsv("", Path::new("m.tsv"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn errors_name_line_and_column() {
        let h = MATCH_COLUMNS.join("\t");
        let err = |body: &str| {
            parse_matches_tsv(&format!("{h}\n{body}\n"), Path::new("m.tsv"))
                .unwrap_err()
                .to_string()
        };
        assert!(err("a\tb\tx\t1\t1\t1\t9\tA\tA\t+").starts_with("m.tsv:2: column Optimal_offset"));
        assert!(err("a\tb\t0\t-1\t1\t1\t9\tA\tA\t+").contains("column p-value"));
        assert!(err("a\tb\t0\t1\t1\t1\t9\tA\tA\t*").contains("column Orientation"));
        assert!(err("a\tb\t0\t1\t1\t1\t9\tA\tA").contains("9 fields"));
        let e = parse_matches_tsv("Query\tTarget\n", Path::new("m.tsv")).unwrap_err();
        assert!(e.to_string().starts_with("m.tsv:1: header"));
    }
}

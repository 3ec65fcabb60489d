//! CRM and segment ids, and the rows of `crms.tsv`.

use std::path::Path;

use crate::{tsv, Result};

/// The columns of `crms.tsv`, in order.
pub(crate) const CRM_COLUMNS: [&str; 7] = [
    "layer",
    "neuron",
    "shift",
    "n_samples",
    "act_max",
    "consensus_act",
    "consensus",
];

/// A CRM id `L<layer>_N<neuron>_S<shift>`, optionally followed by a segment range
/// `_<start>-<end>` (0-based, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CrmId {
    pub layer: u32,
    pub neuron: u32,
    pub shift: u64,
}

impl CrmId {
    /// Parse `L3_N5_S2` (exactly: no leading `+`, no trailing text).
    pub fn parse(text: &str) -> Option<CrmId> {
        let rest = text.strip_prefix('L')?;
        let (layer, rest) = rest.split_once("_N")?;
        let (neuron, shift) = rest.split_once("_S")?;
        Some(CrmId {
            layer: digits(layer)?,
            neuron: digits(neuron)?,
            shift: digits(shift)?,
        })
    }

    /// Parse a segment id `L3_N5_S2_10-29` into the CRM and the range.
    pub fn parse_segment(text: &str) -> Option<(CrmId, usize, usize)> {
        let (crm, range) = text.rsplit_once('_')?;
        let (start, end) = range.split_once('-')?;
        let (start, end) = (digits(start)?, digits(end)?);
        (start < end).then_some((CrmId::parse(crm)?, start, end))
    }
}

impl std::fmt::Display for CrmId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L{}_N{}_S{}", self.layer, self.neuron, self.shift)
    }
}

/// A non-empty run of ASCII digits as a number (`str::parse` would also take `+7`).
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One row of `crms.tsv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CrmRow {
    pub id: CrmId,
    pub n_samples: u64,
    pub act_max: f64,
    pub consensus_act: f64,
    pub consensus: String,
    pub line: usize,
}

/// Parse `crms.tsv` of layer `layer`.
pub(crate) fn parse_crms_tsv(text: &str, path: &Path, layer: u32) -> Result<Vec<CrmRow>> {
    let bad = |line: usize, message: String| tsv::malformed(path, line, message);
    let Some(rows) = tsv::rows(text, path, &CRM_COLUMNS, "the", false)? else {
        return Err(bad(1, "empty file: expected a header line".into()));
    };
    let mut out = Vec::new();
    for (n, fields) in rows {
        let int = |i: usize| -> Result<u64> {
            digits(fields[i]).ok_or_else(|| {
                bad(
                    n,
                    format!(
                        "column {}: {:?} is not a non-negative integer",
                        CRM_COLUMNS[i], fields[i]
                    ),
                )
            })
        };
        let real = |i: usize| -> Result<f64> {
            fields[i]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    bad(
                        n,
                        format!(
                            "column {}: {:?} is not a finite number",
                            CRM_COLUMNS[i], fields[i]
                        ),
                    )
                })
        };
        let row_layer = int(0)?;
        if row_layer != u64::from(layer) {
            return Err(bad(
                n,
                format!("layer {row_layer} in the file of layer {layer}"),
            ));
        }
        let neuron = u32::try_from(int(1)?)
            .map_err(|_| bad(n, format!("neuron {:?} is too large", fields[1])))?;
        let consensus = fields[6];
        if !consensus.bytes().all(|b| b"ACGT".contains(&b)) {
            return Err(bad(
                n,
                format!("column consensus: {consensus:?} is not a sequence of A, C, G, T"),
            ));
        }
        out.push(CrmRow {
            id: CrmId {
                layer,
                neuron,
                shift: int(2)?,
            },
            n_samples: int(3)?,
            act_max: real(4)?,
            consensus_act: real(5)?,
            consensus: consensus.to_owned(),
            line: n,
        });
    }
    Ok(out)
}

/// The columns of `routes.tsv`, in order.
pub(crate) const ROUTE_COLUMNS: [&str; 3] = ["id", "offset_bp", "purity"];

/// One row of `routes.tsv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RouteRow {
    pub id: CrmId,
    pub offset_bp: u64,
    pub purity: f64,
    pub line: usize,
}

/// Parse `routes.tsv` of layer `layer`: `id offset_bp purity`, purity in [0, 1].
pub(crate) fn parse_routes_tsv(text: &str, path: &Path, layer: u32) -> Result<Vec<RouteRow>> {
    let bad = |line: usize, message: String| tsv::malformed(path, line, message);
    let Some(rows) = tsv::rows(text, path, &ROUTE_COLUMNS, "the", false)? else {
        return Err(bad(1, "empty file: expected a header line".into()));
    };
    let mut out = Vec::new();
    for (n, fields) in rows {
        let [id, offset, purity] = fields[..] else {
            return Err(bad(
                n,
                format!("{} fields, expected {}", fields.len(), ROUTE_COLUMNS.len()),
            ));
        };
        let id = CrmId::parse(id)
            .filter(|c| c.layer == layer)
            .ok_or_else(|| {
                bad(
                    n,
                    format!("column id: {id:?} is not a CRM id of layer {layer}"),
                )
            })?;
        let offset_bp = digits(offset).ok_or_else(|| {
            bad(
                n,
                format!("column offset_bp: {offset:?} is not a non-negative integer"),
            )
        })?;
        let purity = purity
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| {
                bad(
                    n,
                    format!("column purity: {purity:?} is not a number in [0, 1]"),
                )
            })?;
        out.push(RouteRow {
            id,
            offset_bp,
            purity,
            line: n,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = CrmId::parse("L3_N5_S12").unwrap();
        assert_eq!((id.layer, id.neuron, id.shift), (3, 5, 12));
        assert_eq!(id.to_string(), "L3_N5_S12");
        for bad in [
            "L3_N5",
            "L3_N5_S",
            "l3_N5_S1",
            "L3_N+5_S1",
            "L3_N5_S1x",
            "L_N5_S1",
        ] {
            assert!(CrmId::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            CrmId::parse_segment("L3_N5_S2_10-29"),
            Some((CrmId::parse("L3_N5_S2").unwrap(), 10, 29))
        );
        assert!(CrmId::parse_segment("L3_N5_S2_10-10").is_none());
        assert!(CrmId::parse_segment("L3_N5_S2").is_none());
    }

    #[test]
    fn table_rows_and_errors() {
        let p = Path::new("layer2/crms.tsv");
        let header = CRM_COLUMNS.join("\t");
        let ok = format!("{header}\n2\t0\t1\t50\t5.2160\t3.5490\tACGT\n\n");
        let rows = parse_crms_tsv(&ok, p, 2).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id.shift, 1);
        assert_eq!(rows[0].line, 2);

        let err = |text: &str| parse_crms_tsv(text, p, 2).unwrap_err().to_string();
        assert!(err("layer\tneuron\n").starts_with("layer2/crms.tsv:1: header"));
        assert!(err(&format!("{header}\n2\t0\t1\t50\tNaN\t3\tA\n"))
            .contains(":2: column act_max: \"NaN\""));
        assert!(err(&format!("{header}\n2\t0\t1\t50\t1\t3\n")).contains(":2: 6 fields"));
        assert!(err(&format!("{header}\n3\t0\t1\t50\t1\t3\tA\n")).contains("layer 3 in the file"));
        assert!(err(&format!("{header}\n2\t0\t-1\t50\t1\t3\tA\n")).contains("column shift"));
        assert!(err(&format!("{header}\n2\t0\t1\t50\t1\t3\tANG\n")).contains("column consensus"));
        assert!(err("").contains(":1: empty file"));
    }

    #[test]
    fn routes() {
        let p = Path::new("layer3/routes.tsv");
        let rows = parse_routes_tsv("id\toffset_bp\tpurity\nL3_N0_S1\t4\t0.9810\n", p, 3).unwrap();
        assert_eq!(rows[0].offset_bp, 4);
        assert_eq!(rows[0].id.shift, 1);
        let err = |t: &str| parse_routes_tsv(t, p, 3).unwrap_err().to_string();
        assert!(err("id\toffset\n").starts_with("layer3/routes.tsv:1: header"));
        assert!(err("id\toffset_bp\tpurity\nL2_N0_S1\t4\t1\n").contains(":2: column id"));
        assert!(err("id\toffset_bp\tpurity\nL3_N0_S1\t-4\t1\n").contains("column offset_bp"));
        assert!(err("id\toffset_bp\tpurity\nL3_N0_S1\t4\t1.5\n").contains("column purity"));
        assert!(err("id\toffset_bp\tpurity\nL3_N0_S1\t4\n").contains("2 fields"));
    }
}

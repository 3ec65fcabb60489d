//! The record every reader yields and every writer takes.

use std::fmt;

use ndarray::{Array2, ArrayView2};
use neuronmotif_core::{Background, CoreError, CountMatrix, Ppm};

use crate::error::{IoError, Location};
use crate::number::is_decimal_syntax;
use crate::Format;

/// Whether a matrix holds counts or probabilities, as its file wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatrixKind {
    /// Observed (possibly fractional or weighted) counts per position.
    Counts,
    /// Probabilities per position; each row sums to 1 within
    /// [`MotifMatrix::PROBABILITY_TOLERANCE`].
    Probabilities,
}

/// A motif matrix that remembers the numbers its file held.
///
/// Formats round differently (MEME prints six decimals, JASPAR counts, chen per-mille), so a
/// matrix keeps the values exactly as read, which is what lets a writer reproduce its input byte
/// for byte, and the normalised [`Ppm`] computed once from them, which is what analyses use.
/// Rows are positions, columns are A, C, G, T.
#[derive(Debug, Clone, PartialEq)]
pub struct MotifMatrix {
    kind: MatrixKind,
    values: Array2<f64>,
    ppm: Ppm,
}

impl MotifMatrix {
    /// The largest distance of a probability row's total from 1 that a matrix of kind
    /// [`MatrixKind::Probabilities`] may have: MEME's own rule, the loosest of the formats.
    pub const PROBABILITY_TOLERANCE: f64 = 0.1;

    /// Validate `[w, 4]` values (ACGT columns) of the given kind.
    ///
    /// Every entry must be finite and >= 0, every row must have a positive, finite total, the
    /// matrix must have at least one position, and probability rows must sum to 1 within
    /// [`Self::PROBABILITY_TOLERANCE`]. A `-0.0` entry is stored as `0.0`.
    pub fn new(kind: MatrixKind, mut values: Array2<f64>) -> Result<MotifMatrix, CoreError> {
        if values.nrows() == 0 {
            return Err(CoreError::Empty("motif matrix"));
        }
        values.mapv_inplace(|v| v + 0.0);
        // Finite entries can still overflow their row total (4 x 1e308), which would turn the
        // normalised row into zeros; refuse it here rather than hand out a broken PPM.
        for (pos, row) in values.outer_iter().enumerate() {
            let total = row.sum();
            if total.is_infinite() {
                return Err(CoreError::Param {
                    name: "row total",
                    value: format!("position {pos}: {total}"),
                    expected: "a finite total (entries far below 1e308)",
                });
            }
        }
        let ppm = match kind {
            MatrixKind::Counts => Ppm::from_weights(values.clone())?,
            MatrixKind::Probabilities => {
                Ppm::with_tolerance(values.clone(), Self::PROBABILITY_TOLERANCE)?
            }
        };
        Ok(MotifMatrix { kind, values, ppm })
    }

    /// A count matrix; fails when a position has no counts or there are no positions.
    pub fn from_counts(counts: CountMatrix) -> Result<MotifMatrix, CoreError> {
        Self::new(MatrixKind::Counts, counts.into_array())
    }

    /// What the values are.
    pub fn kind(&self) -> MatrixKind {
        self.kind
    }

    /// The values as read (or as given), `[w, 4]`, ACGT columns.
    pub fn values(&self) -> ArrayView2<'_, f64> {
        self.values.view()
    }

    /// The values as a count matrix, when they are counts.
    pub fn counts(&self) -> Option<CountMatrix> {
        match self.kind {
            MatrixKind::Counts => CountMatrix::new(self.values.clone()).ok(),
            MatrixKind::Probabilities => None,
        }
    }

    /// The normalised probabilities (each row divided by its total).
    pub fn ppm(&self) -> &Ppm {
        &self.ppm
    }

    /// Number of positions.
    pub fn width(&self) -> usize {
        self.values.nrows()
    }

    /// Build from row-major values read from a file; a position without counts is reported
    /// with its 1-based number. Probability tolerances are the reader's business (checked per
    /// line before this), so a failure here is unexpected and reported as a core error.
    pub(crate) fn from_rows(
        kind: MatrixKind,
        rows: Vec<f64>,
        at: &Location,
    ) -> Result<MotifMatrix, IoError> {
        let width = rows.len() / 4;
        for (pos, row) in rows.chunks_exact(4).enumerate() {
            if row.iter().sum::<f64>() <= 0.0 {
                return Err(IoError::EmptyPosition {
                    at: at.clone(),
                    position: pos + 1,
                });
            }
        }
        let values = Array2::from_shape_vec((width, 4), rows).map_err(|_| IoError::Core {
            at: at.clone(),
            error: CoreError::Shape {
                expected: "[positions, 4] (columns A, C, G, T)".into(),
                found: vec![width, 4],
            },
        })?;
        MotifMatrix::new(kind, values).map_err(|source| IoError::Core {
            at: at.clone(),
            error: source,
        })
    }
}

impl From<Ppm> for MotifMatrix {
    fn from(ppm: Ppm) -> Self {
        MotifMatrix {
            kind: MatrixKind::Probabilities,
            values: ppm.view().to_owned(),
            ppm,
        }
    }
}

/// A MEME E-value kept as written.
///
/// MEME computes E-values in log space and prints them as text such as `1.2e-1500`, far below
/// the smallest `f64`; the text is kept so a file is rewritten exactly, and [`EValue::log10`]
/// gives a usable magnitude whatever the exponent.
#[derive(Debug, Clone, PartialEq)]
pub struct EValue {
    text: String,
    log10: f64,
}

impl EValue {
    /// Parse a non-negative decimal number; the exponent may exceed the `f64` range.
    pub fn parse(text: &str) -> Option<EValue> {
        if !is_decimal_syntax(text) || text.starts_with('-') {
            return None;
        }
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (text.get(..i)?, text.get(i + 1..)?),
            None => (text, "0"),
        };
        let mantissa: f64 = mantissa.parse().ok()?;
        // Exponents beyond i32 are absurd and would lose precision as f64 sums anyway.
        let exponent: i32 = exponent.parse().ok()?;
        if !mantissa.is_finite() {
            return None;
        }
        let log10 = mantissa.log10() + f64::from(exponent);
        Some(EValue {
            text: text.to_owned(),
            log10,
        })
    }

    /// An E-value from a number (finite, >= 0), printed in shortest round-trip form.
    pub fn from_f64(value: f64) -> Option<EValue> {
        (value.is_finite() && value >= 0.0).then(|| EValue {
            text: format!("{value:e}"),
            log10: value.log10(),
        })
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value; underflows to 0 below the smallest `f64`.
    pub fn value(&self) -> f64 {
        // The text was checked to be decimal syntax, which Rust's parser always accepts.
        self.text.parse().unwrap_or(0.0)
    }

    /// Base-10 logarithm of the value (`-inf` for 0).
    pub fn log10(&self) -> f64 {
        self.log10
    }
}

impl fmt::Display for EValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Where a motif was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The format it was parsed as.
    pub format: Format,
    /// The file name, or `<input>` for in-memory text.
    pub file: String,
    /// 1-based line of the motif's first line.
    pub line: usize,
}

/// One motif as the formats describe it.
///
/// Fields a format does not have stay `None` (or empty). Per format:
///
/// | field | MEME | JASPAR / pfm | TRANSFAC | HOMER | chen |
/// |---|---|---|---|---|---|
/// | `id` | `MOTIF` id | `>` first word | `AC` (else `ID`) | name (2nd field) | `>` first word |
/// | `name` | alt name | rest of `>` line | `ID` when `AC` is present | – | 2nd word |
/// | `matrix` | probabilities | counts | counts | probabilities (counts if rows do not sum to 1) | per-mille → counts, else probabilities |
/// | `nsites` | `nsites=` | first position total, truncated | same | – | round(mean row total), else 10 |
/// | `background` | file background | – | – | – | – |
/// | `url`, `evalue` | `URL`, `E=` | – | – | – | – |
/// | `metadata` | `P=` | – | other tags (`DE`, `CC`, ...) | header fields | – |
///
/// Tomtom derives its pseudocount from `nsites` (20 when absent or 0) and uses the query
/// file's background, which is why both are kept.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Motif {
    /// The identifier (`MA0004.1`); unique within a file unless the reader allows duplicates.
    pub id: String,
    /// A second, human name (`Arnt`), when the format has one.
    pub name: Option<String>,
    /// The matrix, counts or probabilities as the file held them.
    pub matrix: MotifMatrix,
    /// Number of sites behind the matrix, when known.
    pub nsites: Option<f64>,
    /// The base composition the motif's file declares.
    pub background: Option<Background>,
    /// A link to the motif's database page (MEME `URL` lines).
    pub url: Option<String>,
    /// The MEME `E=` value.
    pub evalue: Option<EValue>,
    /// Everything else the format carries, in file order: TRANSFAC tags (`("CC",
    /// "tax_group:vertebrates")`), HOMER header fields (`("log_odds_threshold", "6.5")`),
    /// MEME's `P=`.
    pub metadata: Vec<(String, String)>,
    /// Where the motif was read from; `None` for motifs built in code.
    pub source: Option<Source>,
}

impl Motif {
    /// A motif with only an id and a matrix.
    pub fn new(id: impl Into<String>, matrix: MotifMatrix) -> Motif {
        Motif {
            id: id.into(),
            name: None,
            matrix,
            nsites: None,
            background: None,
            url: None,
            evalue: None,
            metadata: Vec::new(),
            source: None,
        }
    }

    /// A motif from a PPM (as neuronmotif computes CRMs).
    pub fn from_ppm(id: impl Into<String>, ppm: Ppm) -> Motif {
        Motif::new(id, MotifMatrix::from(ppm))
    }

    /// The normalised probabilities, whatever the file held.
    pub fn ppm(&self) -> Ppm {
        self.matrix.ppm().clone()
    }

    /// Number of positions.
    pub fn width(&self) -> usize {
        self.matrix.width()
    }

    /// The first metadata value under `key`.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn counts_keep_values_and_normalise_ppm() {
        let m = MotifMatrix::new(MatrixKind::Counts, array![[4.0, 16.0, 0.0, 0.0]]).unwrap();
        assert_eq!(m.values(), array![[4.0, 16.0, 0.0, 0.0]]);
        assert_eq!(m.ppm().row(0), Some([0.2, 0.8, 0.0, 0.0]));
        assert!(m.counts().is_some());
    }

    #[test]
    fn probabilities_keep_rounded_values() {
        let v = array![[0.333333, 0.333333, 0.333333, 0.0]];
        let m = MotifMatrix::new(MatrixKind::Probabilities, v.clone()).unwrap();
        assert_eq!(m.values(), v);
        let row = m.ppm().row(0).unwrap();
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(m.counts().is_none());
    }

    #[test]
    fn invalid_matrices_rejected() {
        assert!(matches!(
            MotifMatrix::new(MatrixKind::Probabilities, array![[0.5, 0.2, 0.1, 0.0]]),
            Err(CoreError::RowSum { .. })
        ));
        assert!(matches!(
            MotifMatrix::new(MatrixKind::Counts, array![[0.0, 0.0, 0.0, 0.0]]),
            Err(CoreError::EmptyRow { pos: 0 })
        ));
        assert!(matches!(
            MotifMatrix::new(MatrixKind::Counts, Array2::zeros((0, 4))),
            Err(CoreError::Empty(_))
        ));
    }

    #[test]
    fn overflowing_row_totals_rejected() {
        let huge = array![[1e308, 1e308, 0.0, 0.0]];
        assert!(matches!(
            MotifMatrix::new(MatrixKind::Counts, huge),
            Err(CoreError::Param { .. })
        ));
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        let m = MotifMatrix::new(MatrixKind::Counts, array![[-0.0, 1.0, 0.0, 0.0]]).unwrap();
        assert!(m.values()[[0, 0]].is_sign_positive());
    }

    #[test]
    fn evalue_beyond_f64_range() {
        let e = EValue::parse("1.2e-1500").unwrap();
        assert_eq!(e.as_str(), "1.2e-1500");
        assert!((e.log10() - (-1500.0 + 1.2f64.log10())).abs() < 1e-9);
        assert_eq!(e.value(), 0.0);
        assert_eq!(EValue::parse("0").unwrap().value(), 0.0);
        assert_eq!(EValue::parse("4.1e-009").unwrap().value(), 4.1e-9);
        assert!(EValue::parse("-1").is_none());
        assert!(EValue::parse("1e99999999999").is_none());
        assert!(EValue::parse("abc").is_none());
        assert_eq!(EValue::from_f64(0.5).unwrap().as_str(), "5e-1");
    }
}

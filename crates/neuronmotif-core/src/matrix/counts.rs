use ndarray::{Array2, ArrayView2};

use super::{check_entries, Ppm};
use crate::{CoreError, DnaSeq, Result};

/// Observed (possibly weighted) base counts per motif position.
///
/// Counts need not be integers: JASPAR ships a few fractional matrices, and NeuronMotif's CRMs
/// are activation-weighted sums.
#[derive(Debug, Clone, PartialEq)]
pub struct CountMatrix {
    counts: Array2<f64>,
}

impl CountMatrix {
    /// Validate a `[w, 4]` array of finite, non-negative counts.
    pub fn new(counts: Array2<f64>) -> Result<CountMatrix> {
        check_entries(counts.view())?;
        Ok(CountMatrix { counts })
    }

    /// A matrix of `width` positions with all counts zero.
    pub fn zeros(width: usize) -> CountMatrix {
        CountMatrix {
            counts: Array2::zeros((width, 4)),
        }
    }

    /// Count the bases of equally long sequences, one count per sequence and position.
    pub fn from_seqs(seqs: &[DnaSeq]) -> Result<CountMatrix> {
        let w = seqs.first().ok_or(CoreError::Empty("sequence list"))?.len();
        let mut m = CountMatrix::zeros(w);
        for (i, s) in seqs.iter().enumerate() {
            if s.len() != w {
                return Err(CoreError::LengthMismatch {
                    index: i,
                    expected: w,
                    found: s.len(),
                });
            }
            m.add_codes(s.codes(), 1.0);
        }
        Ok(m)
    }

    /// Add one sequence with a weight. This is the per-sample hot path of CRM building, so it
    /// does not validate: `codes` must be canonical (0 = A, 1 = C, 2 = G, 3 = T; only the low
    /// two bits are read, and debug builds assert it), and positions beyond `width` are
    /// ignored. Use [`CountMatrix::from_seqs`] for checked input.
    pub fn add_codes(&mut self, codes: &[u8], weight: f64) {
        for (row, &c) in self.counts.outer_iter_mut().zip(codes) {
            debug_assert!(c < 4, "base code {c} is not 0..=3");
            let mut row = row;
            row[usize::from(c & 3)] += weight;
        }
    }

    /// Number of positions.
    pub fn width(&self) -> usize {
        self.counts.nrows()
    }

    /// The counts.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.counts.view()
    }

    /// Total count of each position.
    pub fn row_totals(&self) -> Vec<f64> {
        self.counts.outer_iter().map(|r| r.sum()).collect()
    }

    /// Normalise every position to probabilities; a position with no counts is an error.
    pub fn to_ppm(&self) -> Result<Ppm> {
        Ppm::from_weights(self.counts.clone())
    }

    /// Consume into the raw array.
    pub fn into_array(self) -> Array2<f64> {
        self.counts
    }
}

use std::ops::Range;

use ndarray::{concatenate, s, Array2, Array3, ArrayView2, ArrayView3, Axis};

use super::{check_entries, Background, Pwm};
use crate::{Base, CoreError, DnaSeq, Result};

/// Largest distance of a row total from 1 accepted by [`Ppm::new`].
const STRICT_TOLERANCE: f64 = 1e-6;

/// A position probability matrix: one probability distribution over A, C, G, T per position.
///
/// Every row is finite, non-negative and sums to 1 (rows are renormalised on construction, so
/// sums are exact to rounding).
#[derive(Debug, Clone, PartialEq)]
pub struct Ppm {
    probs: Array2<f64>,
}

impl Ppm {
    /// Validate a `[w, 4]` probability array whose rows sum to 1 within 1e-6.
    pub fn new(probs: Array2<f64>) -> Result<Ppm> {
        Self::with_tolerance(probs, STRICT_TOLERANCE)
    }

    /// Validate rows that sum to 1 within `tolerance`, then renormalise them exactly. File
    /// formats round probabilities (MEME accepts rows within 0.1 of 1).
    pub fn with_tolerance(mut probs: Array2<f64>, tolerance: f64) -> Result<Ppm> {
        check_entries(probs.view())?;
        for (pos, mut row) in probs.outer_iter_mut().enumerate() {
            let sum = row.sum();
            if (sum - 1.0).abs() > tolerance {
                return Err(CoreError::RowSum {
                    pos,
                    sum,
                    tolerance,
                });
            }
            row /= sum;
        }
        Ok(Ppm { probs })
    }

    /// Rebuild a PPM from values a [`Ppm`] held before (saved to disk and read back), keeping
    /// every bit: [`Ppm::new`] divides each row by its sum, which can move a last bit, and a
    /// run split across machines must give the same bytes as one run on one machine. Rows
    /// must still be valid probabilities summing to 1 within 1e-6.
    pub fn from_stored(probs: Array2<f64>) -> Result<Ppm> {
        check_entries(probs.view())?;
        for (pos, row) in probs.outer_iter().enumerate() {
            let sum = row.sum();
            if (sum - 1.0).abs() > STRICT_TOLERANCE {
                return Err(CoreError::RowSum {
                    pos,
                    sum,
                    tolerance: STRICT_TOLERANCE,
                });
            }
        }
        Ok(Ppm { probs })
    }

    /// Normalise non-negative weights (counts, activation-weighted sums) per position.
    pub fn from_weights(mut weights: Array2<f64>) -> Result<Ppm> {
        check_entries(weights.view())?;
        for (pos, mut row) in weights.outer_iter_mut().enumerate() {
            let sum = row.sum();
            if sum <= 0.0 {
                return Err(CoreError::EmptyRow { pos });
            }
            row /= sum;
        }
        Ok(Ppm { probs: weights })
    }

    /// `width` positions of 0.25 each.
    pub fn uniform(width: usize) -> Ppm {
        Ppm {
            probs: Array2::from_elem((width, 4), 0.25),
        }
    }

    /// A matrix with probability 1 on each base of `seq`.
    pub fn from_seq(seq: &DnaSeq) -> Ppm {
        let mut probs = Array2::zeros((seq.len(), 4));
        for (pos, b) in seq.bases().enumerate() {
            probs[[pos, b.index()]] = 1.0;
        }
        Ppm { probs }
    }

    /// Number of positions.
    pub fn width(&self) -> usize {
        self.probs.nrows()
    }

    /// The probabilities, `[w, 4]`, ACGT columns.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.probs.view()
    }

    /// Consume into the raw array.
    pub fn into_array(self) -> Array2<f64> {
        self.probs
    }

    /// The four probabilities at one position.
    pub fn row(&self, pos: usize) -> Option<[f64; 4]> {
        (pos < self.width()).then(|| {
            let r = self.probs.row(pos);
            [r[0], r[1], r[2], r[3]]
        })
    }

    /// Pseudocount smoothing toward a background: `(p·n + M·bg) / (n + M)`.
    ///
    /// `n` is the number of sequences behind the matrix and `m` the pseudocount weight; with a
    /// uniform background this is NeuronMotif's `(ppm·n + M·0.25)/(n + M)` (M = 1, 30 or 80
    /// depending on the step). Rows stay distributions for any `n, m >= 0` with `n + m > 0`.
    pub fn smooth(&self, n: f64, m: f64, bg: &Background) -> Result<Ppm> {
        if !(n.is_finite() && m.is_finite() && n >= 0.0 && m >= 0.0 && n + m > 0.0) {
            return Err(CoreError::Param {
                name: "n + m",
                value: format!("n = {n}, m = {m}"),
                expected: "finite, non-negative, with n + m > 0",
            });
        }
        let f = bg.freqs();
        let mut probs = self.probs.clone();
        for mut row in probs.outer_iter_mut() {
            for (b, v) in row.iter_mut().enumerate() {
                *v = (*v * n + m * f[b]) / (n + m);
            }
        }
        Ok(Ppm { probs })
    }

    /// Information content of each position in bits, `2 - H`, with `H = -Σ p log2 p` and
    /// `0 · log 0 = 0`. Always in `[0, 2]`.
    ///
    /// NeuronMotif mixed natural and base-2 logarithms; this project uses bits everywhere and
    /// restates the original's natural-log thresholds in bits (see [`crate::SegmentParams`]).
    pub fn ic_bits(&self) -> Vec<f64> {
        self.probs
            .outer_iter()
            .map(|row| {
                let h: f64 = row
                    .iter()
                    .filter(|&&p| p > 0.0)
                    .map(|&p| -p * p.log2())
                    .sum();
                (2.0 - h).clamp(0.0, 2.0)
            })
            .collect()
    }

    /// Sum of [`Ppm::ic_bits`].
    pub fn total_ic_bits(&self) -> f64 {
        self.ic_bits().iter().sum()
    }

    /// The most probable base at each position; ties go to the earlier base in ACGT order
    /// (Tomtom's and NeuronMotif's convention).
    pub fn consensus(&self) -> DnaSeq {
        DnaSeq::from_bases(self.probs.outer_iter().map(|row| {
            let mut best = 0;
            for b in 1..4 {
                if row[b] > row[best] {
                    best = b;
                }
            }
            Base::ALL[best]
        }))
    }

    /// IUPAC consensus (Cavener's rules): a single base when it has probability > 0.5 and more
    /// than twice the second; a two-base code when the top two sum to > 0.75; otherwise `N`.
    pub fn iupac_consensus(&self) -> String {
        self.probs
            .outer_iter()
            .map(|row| {
                let mut idx = [0usize, 1, 2, 3];
                idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                let (p1, p2) = (row[idx[0]], row[idx[1]]);
                if p1 > 0.5 && p1 > 2.0 * p2 {
                    Base::ALL[idx[0]].letter()
                } else if p1 + p2 > 0.75 {
                    iupac_pair(idx[0], idx[1])
                } else {
                    'N'
                }
            })
            .collect()
    }

    /// The matrix of the opposite strand: positions reversed and bases complemented.
    pub fn reverse_complement(&self) -> Ppm {
        let w = self.width();
        Ppm {
            probs: Array2::from_shape_fn((w, 4), |(i, b)| self.probs[[w - 1 - i, 3 - b]]),
        }
    }

    /// Positions `range`; an empty or out-of-bounds range is an error.
    pub fn slice(&self, range: Range<usize>) -> Result<Ppm> {
        if range.start >= range.end || range.end > self.width() {
            return Err(CoreError::Param {
                name: "slice range",
                value: format!("{range:?} of width {}", self.width()),
                expected: "a non-empty range inside the matrix",
            });
        }
        Ok(Ppm {
            probs: self.probs.slice(s![range, ..]).to_owned(),
        })
    }

    /// Add `left` and `right` positions of background probabilities on each side.
    pub fn pad(&self, left: usize, right: usize, bg: &Background) -> Ppm {
        let f = bg.freqs();
        let mk = |n| Array2::from_shape_fn((n, 4), |(_, b)| f[b]);
        let (l, r) = (mk(left), mk(right));
        let probs = concatenate(Axis(0), &[l.view(), self.probs.view(), r.view()])
            .unwrap_or_else(|_| self.probs.clone());
        Ppm { probs }
    }

    /// The range left after removing flanking positions whose IC is below `min_ic_bits`;
    /// `None` when no position reaches it. Inner low-IC positions (a spacer) are kept.
    pub fn trim_range(&self, min_ic_bits: f64) -> Option<Range<usize>> {
        let ic = self.ic_bits();
        let start = ic.iter().position(|&v| v >= min_ic_bits)?;
        let end = ic.iter().rposition(|&v| v >= min_ic_bits)? + 1;
        Some(start..end)
    }

    /// The matrix without its low-IC flanks (see [`Ppm::trim_range`]).
    pub fn trimmed(&self, min_ic_bits: f64) -> Option<Ppm> {
        self.trim_range(min_ic_bits)
            .and_then(|r| self.slice(r).ok())
    }

    /// Stack matrices of equal width into one `[n, w, 4]` array (a layer table's PPM block).
    pub fn stack(ppms: &[Ppm]) -> Result<Array3<f64>> {
        let w = ppms.first().map_or(0, Ppm::width);
        let mut out = Array3::zeros((ppms.len(), w, 4));
        for (i, (p, mut dst)) in ppms.iter().zip(out.outer_iter_mut()).enumerate() {
            if p.width() != w {
                return Err(CoreError::LengthMismatch {
                    index: i,
                    expected: w,
                    found: p.width(),
                });
            }
            dst.assign(&p.probs);
        }
        Ok(out)
    }

    /// Split a `[n, w, 4]` array into validated matrices (rows within `tolerance` of 1).
    pub fn unstack(block: ArrayView3<'_, f64>, tolerance: f64) -> Result<Vec<Ppm>> {
        block
            .outer_iter()
            .map(|m| Ppm::with_tolerance(m.to_owned(), tolerance))
            .collect()
    }

    /// Log-odds weights in bits after smoothing with `pseudocount` sequences' worth of
    /// background: see [`Pwm::from_ppm`].
    pub fn to_pwm(&self, nsites: f64, pseudocount: f64, bg: &Background) -> Result<Pwm> {
        Pwm::from_ppm(self, nsites, pseudocount, bg)
    }
}

fn iupac_pair(a: usize, b: usize) -> char {
    match (a.min(b), a.max(b)) {
        (0, 1) => 'M',
        (0, 2) => 'R',
        (0, 3) => 'W',
        (1, 2) => 'S',
        (1, 3) => 'Y',
        (2, 3) => 'K',
        _ => 'N',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    fn ppm(rows: Array2<f64>) -> Ppm {
        Ppm::new(rows).unwrap()
    }

    #[test]
    fn validation_names_the_cell() {
        let e = Ppm::new(array![[0.5, 0.5, 0.0, 0.0], [0.5, f64::NAN, 0.0, 0.5]]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "matrix entry at position 1, base C is NaN: expected a finite value >= 0"
        );
        let e = Ppm::new(array![[0.5, 0.6, 0.0, 0.0]]).unwrap_err();
        assert!(matches!(e, CoreError::RowSum { pos: 0, .. }));
        assert!(Ppm::new(array![[0.5, 0.5, 0.0]]).is_err());
    }

    #[test]
    fn stored_rows_keep_their_bits() {
        let rows = array![[0.25, 0.25, 0.25, 0.250_000_1], [0.1, 0.2, 0.3, 0.4]];
        let kept = Ppm::from_stored(rows.clone()).unwrap();
        assert_eq!(kept.view(), rows.view());
        // `new` divides by the row sum, which moves the first row
        assert_ne!(Ppm::new(rows).unwrap().view()[[0, 3]], 0.250_000_1);
        assert!(matches!(
            Ppm::from_stored(array![[0.5, 0.5, 0.1, 0.0]]),
            Err(CoreError::RowSum { pos: 0, .. })
        ));
        assert!(Ppm::from_stored(array![[0.5, f64::NAN, 0.0, 0.5]]).is_err());
    }

    #[test]
    fn ic_known_values() {
        let m = ppm(array![
            [1.0, 0.0, 0.0, 0.0],
            [0.25, 0.25, 0.25, 0.25],
            [0.5, 0.5, 0.0, 0.0]
        ]);
        let ic = m.ic_bits();
        assert_abs_diff_eq!(ic[0], 2.0);
        assert_abs_diff_eq!(ic[1], 0.0);
        assert_abs_diff_eq!(ic[2], 1.0);
        assert_abs_diff_eq!(m.total_ic_bits(), 3.0);
    }

    #[test]
    fn smoothing_formula() {
        let m = ppm(array![[1.0, 0.0, 0.0, 0.0]]);
        let s = m.smooth(10.0, 30.0, &Background::UNIFORM).unwrap();
        // (1*10 + 30*0.25)/40 = 0.4375 and (0 + 7.5)/40 = 0.1875
        assert_abs_diff_eq!(s.view()[[0, 0]], 0.4375);
        assert_abs_diff_eq!(s.view()[[0, 3]], 0.1875);
        assert!(m.smooth(0.0, 0.0, &Background::UNIFORM).is_err());
    }

    #[test]
    fn consensus_ties_go_to_earlier_base_and_iupac() {
        let m = ppm(array![
            [0.4, 0.4, 0.1, 0.1],
            [0.0, 0.0, 0.9, 0.1],
            [0.25, 0.25, 0.25, 0.25],
            [0.0, 0.5, 0.0, 0.5]
        ]);
        assert_eq!(m.consensus().to_string(), "AGAC");
        assert_eq!(m.iupac_consensus(), "MGNY");
    }

    #[test]
    fn reverse_complement_of_known_matrix() {
        let m = ppm(array![[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.2, 0.8]]);
        let rc = m.reverse_complement();
        let expected = array![[0.8, 0.2, 0.0, 0.0], [0.1, 0.1, 0.1, 0.7]];
        assert!(rc.view().abs_diff_eq(&expected, 1e-12));
        assert!(rc.view().is_standard_layout());
    }

    #[test]
    fn trimming_keeps_inner_spacer() {
        let u = [0.25; 4];
        let a = [1.0, 0.0, 0.0, 0.0];
        let rows = [u, a, u, a, u];
        let m = ppm(Array2::from_shape_fn((5, 4), |(i, j)| rows[i][j]));
        assert_eq!(m.trim_range(1.0), Some(1..4));
        assert_eq!(m.trimmed(1.0).unwrap().width(), 3);
        assert_eq!(Ppm::uniform(4).trim_range(0.5), None);
    }

    #[test]
    fn pad_slice_stack() {
        let m = ppm(array![[1.0, 0.0, 0.0, 0.0]]);
        let p = m.pad(2, 1, &Background::UNIFORM);
        assert_eq!(p.width(), 4);
        assert_eq!(p.slice(2..3).unwrap(), m);
        assert!(p.slice(3..3).is_err());
        assert!(p.slice(3..5).is_err());
        let st = Ppm::stack(&[p.clone(), p.clone()]).unwrap();
        assert_eq!(st.shape(), &[2, 4, 4]);
        assert_eq!(Ppm::unstack(st.view(), 1e-9).unwrap(), vec![p.clone(), p]);
        assert!(Ppm::stack(&[m.clone(), Ppm::uniform(2)]).is_err());
    }

    #[test]
    fn from_weights_rejects_empty_row() {
        assert!(matches!(
            Ppm::from_weights(array![[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
            Err(CoreError::EmptyRow { pos: 1 })
        ));
    }
}

//! Column similarity scores (step 3 of Tomtom).
//!
//! Each function follows MEME's order of floating-point operations (letters summed A, C, G, T),
//! so that the integer bins of step 5 land where MEME's do.

use crate::Distance;

/// Mean letter frequency of a DNA column, MEME's `x_bar` for the Pearson score.
const MEAN_FREQ: f64 = 1.0 / 4.0;

/// A target column prepared for fast repeated scoring: the raw probabilities and, for Pearson,
/// the centred values and their sum of squares (computed once, in the same order as the direct
/// formula, so the results are bit-identical).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PreparedColumn {
    pub(crate) p: [f64; 4],
    centred: [f64; 4],
    sum_sq: f64,
}

impl PreparedColumn {
    pub(crate) fn new(p: [f64; 4]) -> PreparedColumn {
        let centred = p.map(|v| v - MEAN_FREQ);
        let mut sum_sq = 0.0;
        for c in centred {
            sum_sq += c * c;
        }
        PreparedColumn { p, centred, sum_sq }
    }
}

impl Distance {
    /// Similarity of query column `q` and target column `t` (ACGT probabilities).
    ///
    /// ```
    /// use neuronmotif_tomtom::Distance;
    ///
    /// let a = [1.0, 0.0, 0.0, 0.0];
    /// let c = [0.0, 1.0, 0.0, 0.0];
    /// assert_eq!(Distance::Euclidean.column_score(&a, &a), 0.0);
    /// assert_eq!(Distance::Euclidean.column_score(&a, &c), -(2.0f64).sqrt());
    /// assert_eq!(Distance::Sandelin.column_score(&a, &c), 0.0);
    /// assert!((Distance::Pearson.column_score(&a, &a) - 1.0).abs() < 1e-15);
    /// ```
    pub fn column_score(self, q: &[f64; 4], t: &[f64; 4]) -> f64 {
        let qc = PreparedColumn::new(*q);
        self.prepared_score(&qc, &PreparedColumn::new(*t))
    }

    /// The same score on prepared columns (the hot path).
    #[inline]
    pub(crate) fn prepared_score(self, q: &PreparedColumn, t: &PreparedColumn) -> f64 {
        match self {
            Distance::Euclidean => -sum_sq_diff(&q.p, &t.p).sqrt(),
            Distance::Sandelin => 2.0 - sum_sq_diff(&q.p, &t.p),
            Distance::Pearson => {
                let mut num = 0.0;
                for (a, b) in q.centred.iter().zip(&t.centred) {
                    num += a * b;
                }
                let den = (q.sum_sq * t.sum_sq).sqrt();
                if den != 0.0 {
                    num / den
                } else {
                    0.0
                }
            }
        }
    }
}

/// All target columns of a database in structure-of-arrays layout, so that scoring one query
/// column against the whole pool is a vectorisable loop over contiguous arrays.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ColumnPool {
    /// Probabilities, one array per letter (A, C, G, T).
    p: [Vec<f64>; 4],
    /// Probabilities minus 1/4, one array per letter (Pearson).
    centred: [Vec<f64>; 4],
    /// Sum of squares of the centred values (Pearson).
    sum_sq: Vec<f64>,
}

impl ColumnPool {
    pub(crate) fn push(&mut self, c: [f64; 4]) {
        let pc = PreparedColumn::new(c);
        for b in 0..4 {
            self.p[b].push(pc.p[b]);
            self.centred[b].push(pc.centred[b]);
        }
        self.sum_sq.push(pc.sum_sq);
    }

    pub(crate) fn len(&self) -> usize {
        self.sum_sq.len()
    }

    /// Score query column `q` against pool columns `start..start + out.len()` into `out`, with
    /// the same operations, in the same order, as [`Distance::prepared_score`] (from an AVX2
    /// build when the CPU has it).
    ///
    /// Returns the smallest and largest score written (infinities when `out` is empty).
    pub(crate) fn score_into(
        &self,
        dist: Distance,
        q: &PreparedColumn,
        start: usize,
        out: &mut [f64],
    ) -> (f64, f64) {
        crate::simd::dispatch!(
            score_into_avx2,
            score_into_kernel,
            self,
            dist,
            q,
            start,
            out
        )
    }
}

crate::simd::avx2_twin!(fn score_into_avx2 = score_into_kernel;
    (pool: &ColumnPool, dist: Distance, q: &PreparedColumn, start: usize, out: &mut [f64]) -> (f64, f64));

#[inline(always)]
fn score_into_kernel(
    pool: &ColumnPool,
    dist: Distance,
    q: &PreparedColumn,
    start: usize,
    out: &mut [f64],
) -> (f64, f64) {
    let end = start + out.len();
    let [a, c, g, t] = &pool.p;
    let (a, c, g, t) = (
        &a[start..end],
        &c[start..end],
        &g[start..end],
        &t[start..end],
    );
    let [qa, qc, qg, qt] = q.p;
    match dist {
        Distance::Euclidean => {
            for ((((o, &ta), &tc), &tg), &tt) in out.iter_mut().zip(a).zip(c).zip(g).zip(t) {
                let (da, dc, dg, dt) = (qa - ta, qc - tc, qg - tg, qt - tt);
                *o = -(da * da + dc * dc + dg * dg + dt * dt).sqrt();
            }
        }
        Distance::Sandelin => {
            for ((((o, &ta), &tc), &tg), &tt) in out.iter_mut().zip(a).zip(c).zip(g).zip(t) {
                let (da, dc, dg, dt) = (qa - ta, qc - tc, qg - tg, qt - tt);
                *o = 2.0 - (da * da + dc * dc + dg * dg + dt * dt);
            }
        }
        Distance::Pearson => {
            let [ca, cc, cg, ct] = &pool.centred;
            let (ca, cc, cg, ct) = (
                &ca[start..end],
                &cc[start..end],
                &cg[start..end],
                &ct[start..end],
            );
            let ss = &pool.sum_sq[start..end];
            let [qa, qc, qg, qt] = q.centred;
            let qss = q.sum_sq;
            for (((((o, &ta), &tc), &tg), &tt), &ts) in
                out.iter_mut().zip(ca).zip(cc).zip(cg).zip(ct).zip(ss)
            {
                let num = qa * ta + qc * tc + qg * tg + qt * tt;
                let den = (qss * ts).sqrt();
                *o = if den != 0.0 { num / den } else { 0.0 };
            }
        }
    }
    // A second pass while the row is still in cache; plain comparisons (scores are finite,
    // no NaN handling needed) vectorise.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in out.iter() {
        lo = if v < lo { v } else { lo };
        hi = if v > hi { v } else { hi };
    }
    (lo, hi)
}

#[inline]
fn sum_sq_diff(q: &[f64; 4], t: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for (a, b) in q.iter().zip(t) {
        let d = a - b;
        s += d * d;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    const Q: [f64; 4] = [0.7, 0.1, 0.1, 0.1];
    const T: [f64; 4] = [0.4, 0.4, 0.1, 0.1];

    #[test]
    fn euclidean_by_hand() {
        // (0.3^2 + 0.3^2) = 0.18, sqrt = 0.424264...
        assert_abs_diff_eq!(
            Distance::Euclidean.column_score(&Q, &T),
            -0.18f64.sqrt(),
            epsilon = 1e-15
        );
        assert_abs_diff_eq!(
            Distance::Euclidean.column_score(&Q, &T),
            -0.424_264_068_711_928_5,
            epsilon = 1e-15
        );
        assert_eq!(Distance::Euclidean.column_score(&T, &T), 0.0);
    }

    #[test]
    fn sandelin_by_hand() {
        assert_abs_diff_eq!(
            Distance::Sandelin.column_score(&Q, &T),
            2.0 - 0.18,
            epsilon = 1e-15
        );
        // Opposite certain columns are as far apart as columns get: 2 - 2 = 0.
        let a = [1.0, 0.0, 0.0, 0.0];
        let t = [0.0, 0.0, 0.0, 1.0];
        assert_eq!(Distance::Sandelin.column_score(&a, &t), 0.0);
    }

    #[test]
    fn pearson_by_hand() {
        // centred Q = (.45, -.15, -.15, -.15), centred T = (.15, .15, -.15, -.15)
        // num = .0675 - .0225 + .0225 + .0225 = .09
        // |Q|^2 = .2025 + 3*.0225 = .27, |T|^2 = 4*.0225 = .09
        // r = .09 / sqrt(.27 * .09) = .09 / .155884... = 0.577350...
        assert_abs_diff_eq!(
            Distance::Pearson.column_score(&Q, &T),
            1.0 / 3.0f64.sqrt(),
            epsilon = 1e-12
        );
        // Symmetric, and perfectly anti-correlated columns give -1.
        assert_abs_diff_eq!(
            Distance::Pearson.column_score(&Q, &T),
            Distance::Pearson.column_score(&T, &Q),
            epsilon = 1e-15
        );
        let a = [0.5, 0.5, 0.0, 0.0];
        let b = [0.0, 0.0, 0.5, 0.5];
        assert_abs_diff_eq!(
            Distance::Pearson.column_score(&a, &b),
            -1.0,
            epsilon = 1e-15
        );
    }

    #[test]
    fn pearson_of_uniform_column_is_zero() {
        let u = [0.25; 4];
        assert_eq!(Distance::Pearson.column_score(&u, &Q), 0.0);
        assert_eq!(Distance::Pearson.column_score(&Q, &u), 0.0);
    }

    #[test]
    fn prepared_equals_direct_bitwise() {
        let q = PreparedColumn::new(Q);
        let t = PreparedColumn::new(T);
        let mut out = [0.0; 2];
        for d in Distance::ALL {
            assert_eq!(
                d.prepared_score(&q, &t).to_bits(),
                d.column_score(&Q, &T).to_bits()
            );
            let mut pool = ColumnPool::default();
            pool.push(T);
            pool.push(Q);
            let (lo, hi) = pool.score_into(d, &q, 0, &mut out);
            assert_eq!((lo, hi), (out[0].min(out[1]), out[0].max(out[1])));
            assert_eq!(out[0].to_bits(), d.column_score(&Q, &T).to_bits());
            assert_eq!(out[1].to_bits(), d.column_score(&Q, &Q).to_bits());
            let _ = pool.score_into(d, &q, 1, &mut out[..1]);
            assert_eq!(out[0].to_bits(), d.column_score(&Q, &Q).to_bits());
            assert_eq!(pool.len(), 2);
        }
    }
}

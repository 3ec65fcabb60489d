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
    /// Whether [`ColumnPool::raw_scores_into`] gives squared distances `u` (score `-u.sqrt()`,
    /// decreasing in `u`) rather than scores.
    pub(crate) fn raw_is_squared(self) -> bool {
        self == Distance::Euclidean
    }

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
    /// The probabilities rounded to single precision, one array per letter, each starting on
    /// a cache line: the input of the single-precision `ed` rows ([`crate::ed_single`]).
    pub(crate) p32: [crate::simd::AlignedF32; 4],
    /// The largest column sum of the pool (about 1): it bounds the error of those rows.
    pub(crate) max_sum: f64,
    /// The probabilities again, column by column: the exact recomputations of single
    /// values read one 32-byte column instead of four scattered arrays.
    columns: Vec<[f64; 4]>,
    /// Evenly spaced columns of `p32` ([`ColumnPool::take_sample`]), one array per letter,
    /// and the pool length they were taken at: contiguous, so the sampled distances that
    /// bracket a row's median are one short loop instead of loads from scattered cache lines.
    pub(crate) sample32: ([Vec<f32>; 4], usize),
}

impl ColumnPool {
    pub(crate) fn push(&mut self, c: [f64; 4]) {
        let pc = PreparedColumn::new(c);
        for b in 0..4 {
            self.p[b].push(pc.p[b]);
            self.p32[b].push(pc.p[b] as f32);
            self.centred[b].push(pc.centred[b]);
        }
        self.sum_sq.push(pc.sum_sq);
        self.max_sum = self.max_sum.max(c.iter().sum());
        self.columns.push(pc.p);
    }

    pub(crate) fn len(&self) -> usize {
        self.sum_sq.len()
    }

    /// Keep `count` evenly spaced columns of `p32` (column `k * (len / count)` for `k <
    /// count`) in `sample32`, once the pool is complete.
    pub(crate) fn take_sample(&mut self, count: usize) {
        let step = self.len() / count.max(1);
        if step == 0 {
            return;
        }
        let pick =
            |v: &crate::simd::AlignedF32| (0..count).map(|k| v.as_slice()[k * step]).collect();
        self.sample32 = (self.p32.each_ref().map(pick), self.len());
    }

    /// The squared distance of query column `q` to pool column `j`, with the operations of
    /// [`ColumnPool::raw_scores_into`] (so bit for bit its value): the exact value that the
    /// single-precision rows fall back to.
    #[inline(always)]
    pub(crate) fn squared_distance(&self, q: &PreparedColumn, j: usize) -> f64 {
        let [a, c, g, t] = self.columns[j];
        let [qa, qc, qg, qt] = q.p;
        let (da, dc, dg, dt) = (qa - a, qc - c, qg - g, qt - t);
        da * da + dc * dc + dg * dg + dt * dt
    }

    /// Raw scores of query column `q` against pool columns `start..start + out.len()` into
    /// `out`, with the same operations, in the same order, as [`Distance::prepared_score`]
    /// (from an AVX2 build when the CPU has it): the score itself, except for
    /// [`Distance::raw_is_squared`] distances, where it is the squared distance `u` whose score
    /// is `-u.sqrt()` (the root is taken later, only where needed).
    ///
    /// Returns the smallest and largest raw value written (infinities when `out` is empty).
    pub(crate) fn raw_scores_into(
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

/// Query columns per pass of [`ColumnPool::squared_rows_into`].
pub(crate) const ROW_BLOCK: usize = 4;

impl ColumnPool {
    /// Squared-distance rows (the raw rows of [`Distance::raw_is_squared`] distances) of up to
    /// [`ROW_BLOCK`] query columns against the whole pool, in one pass over the pool: row `b`
    /// (of `qs[b]`) goes to `out[b * n..(b + 1) * n]`. Each pool column is loaded once for all
    /// the rows, which quarters the memory traffic of the dominant loop; the values are those
    /// of [`ColumnPool::raw_scores_into`], bit for bit. Returns each row's (min, max).
    pub(crate) fn squared_rows_into(
        &self,
        qs: &[PreparedColumn],
        out: &mut [f64],
    ) -> [(f64, f64); ROW_BLOCK] {
        let n = self.len();
        assert!(qs.len() <= ROW_BLOCK && out.len() >= qs.len() * n);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { squared_rows_avx2(self, qs, out) };
            }
        }
        let mut ranges = [(f64::INFINITY, f64::NEG_INFINITY); ROW_BLOCK];
        for (b, q) in qs.iter().enumerate() {
            ranges[b] = score_into_kernel(
                self,
                Distance::Euclidean,
                q,
                0,
                &mut out[b * n..(b + 1) * n],
            );
        }
        ranges
    }
}

/// [`ColumnPool::squared_rows_into`] with AVX2: four pool columns per step, every query row
/// computed from the same loaded values, in the operation order of `sum_sq_diff`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn squared_rows_avx2(
    pool: &ColumnPool,
    qs: &[PreparedColumn],
    out: &mut [f64],
) -> [(f64, f64); ROW_BLOCK] {
    use std::arch::x86_64::*;
    let n = pool.len();
    let rows = qs.len();
    let [a, c, g, t] = &pool.p;
    let q: Vec<[__m256d; 4]> = qs.iter().map(|q| q.p.map(|v| _mm256_set1_pd(v))).collect();
    let mut lo = [_mm256_set1_pd(f64::INFINITY); ROW_BLOCK];
    let mut hi = [_mm256_set1_pd(f64::NEG_INFINITY); ROW_BLOCK];
    let mut j = 0;
    while j + 4 <= n {
        // SAFETY: j + 4 <= n = length of every pool array, and out holds rows * n values.
        unsafe {
            let ta = _mm256_loadu_pd(a.as_ptr().add(j));
            let tc = _mm256_loadu_pd(c.as_ptr().add(j));
            let tg = _mm256_loadu_pd(g.as_ptr().add(j));
            let tt = _mm256_loadu_pd(t.as_ptr().add(j));
            for b in 0..rows {
                let [qa, qc, qg, qt] = q[b];
                let da = _mm256_sub_pd(qa, ta);
                let dc = _mm256_sub_pd(qc, tc);
                let dg = _mm256_sub_pd(qg, tg);
                let dt = _mm256_sub_pd(qt, tt);
                let u = _mm256_add_pd(
                    _mm256_add_pd(
                        _mm256_add_pd(_mm256_mul_pd(da, da), _mm256_mul_pd(dc, dc)),
                        _mm256_mul_pd(dg, dg),
                    ),
                    _mm256_mul_pd(dt, dt),
                );
                _mm256_storeu_pd(out.as_mut_ptr().add(b * n + j), u);
                // min(u, lo) is `if u < lo { u } else { lo }`, as in the portable kernel.
                lo[b] = _mm256_min_pd(u, lo[b]);
                hi[b] = _mm256_max_pd(u, hi[b]);
            }
        }
        j += 4;
    }
    let mut ranges = [(f64::INFINITY, f64::NEG_INFINITY); ROW_BLOCK];
    for b in 0..rows {
        let (mut l, mut h) = ([0.0; 4], [0.0; 4]);
        // SAFETY: four f64 lanes into four-element arrays.
        unsafe {
            _mm256_storeu_pd(l.as_mut_ptr(), lo[b]);
            _mm256_storeu_pd(h.as_mut_ptr(), hi[b]);
        }
        let tail = &mut out[b * n + j..(b + 1) * n];
        let (tl, th) = score_into_kernel(pool, Distance::Euclidean, &qs[b], j, tail);
        let lo_b = l.iter().fold(tl, |m, &v| if v < m { v } else { m });
        let hi_b = h.iter().fold(th, |m, &v| if v > m { v } else { m });
        ranges[b] = (lo_b, hi_b);
    }
    ranges
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
            // The raw value: the score is `-u.sqrt()` (see `Distance::raw_is_squared`).
            for ((((o, &ta), &tc), &tg), &tt) in out.iter_mut().zip(a).zip(c).zip(g).zip(t) {
                let (da, dc, dg, dt) = (qa - ta, qc - tc, qg - tg, qt - tt);
                *o = da * da + dc * dc + dg * dg + dt * dt;
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
    // A second pass while the row is still in cache, over eight independent lanes so that it
    // vectorises (a single running minimum is a serial chain). Scores are finite, so the
    // extremes do not depend on the order they are taken in (up to the sign of a zero, which
    // no bin sees).
    const LANES: usize = 8;
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let mut chunks = out.chunks_exact(LANES);
    for c in &mut chunks {
        for k in 0..LANES {
            lo[k] = if c[k] < lo[k] { c[k] } else { lo[k] };
            hi[k] = if c[k] > hi[k] { c[k] } else { hi[k] };
        }
    }
    for (k, &v) in chunks.remainder().iter().enumerate() {
        lo[k] = if v < lo[k] { v } else { lo[k] };
        hi[k] = if v > hi[k] { v } else { hi[k] };
    }
    let lo = lo
        .iter()
        .fold(f64::INFINITY, |a, &b| if b < a { b } else { a });
    let hi = hi
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a });
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
    fn blocked_squared_rows_equal_single_rows() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        let mut column = || {
            let v: [f64; 4] = std::array::from_fn(|_| rng.gen::<f64>());
            let s: f64 = v.iter().sum();
            v.map(|x| x / s)
        };
        for n in [1usize, 3, 4, 5, 17, 1000] {
            let mut pool = ColumnPool::default();
            for _ in 0..n {
                pool.push(column());
            }
            for rows in 1..=ROW_BLOCK {
                let qs: Vec<PreparedColumn> =
                    (0..rows).map(|_| PreparedColumn::new(column())).collect();
                let mut block = vec![0.0; rows * n];
                let ranges = pool.squared_rows_into(&qs, &mut block);
                for (b, q) in qs.iter().enumerate() {
                    let mut single = vec![0.0; n];
                    let range = pool.raw_scores_into(Distance::Euclidean, q, 0, &mut single);
                    assert_eq!(ranges[b], range, "n {n} row {b}");
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&block[b * n..(b + 1) * n]),
                        bits(&single),
                        "n {n} row {b}"
                    );
                }
            }
        }
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
            let (lo, hi) = pool.raw_scores_into(d, &q, 0, &mut out);
            assert_eq!((lo, hi), (out[0].min(out[1]), out[0].max(out[1])));
            // Squared distances become the score through -sqrt, with the same bits.
            let score = |u: f64| if d.raw_is_squared() { -u.sqrt() } else { u };
            assert_eq!(score(out[0]).to_bits(), d.column_score(&Q, &T).to_bits());
            assert_eq!(score(out[1]).to_bits(), d.column_score(&Q, &Q).to_bits());
            let _ = pool.raw_scores_into(d, &q, 1, &mut out[..1]);
            assert_eq!(score(out[0]).to_bits(), d.column_score(&Q, &Q).to_bits());
            assert_eq!(pool.len(), 2);
        }
    }
}

//! Steps 3 to 5 of Tomtom for `ed`, in single precision, with MEME's results bit for bit.
//!
//! **Why.** Scoring a query column against the pool in double precision, storing the row,
//! reading it for the median and again for the bins took about a third of an all-against-all
//! comparison. Here each row is computed in single precision, sixteen lanes at a time, in
//! pass one for its median and extremes ([`row_stats`]), which keeps it (four bytes per pair,
//! up to 8 MB; see [`Scratch::keep_rows`]) for pass two, its bins ([`bin_row`]). A row not
//! kept is computed again in pass two with the same instructions, so both passes see the same
//! values either way.
//!
//! **Why the results are still MEME's.** Let `x` be the double-precision squared distance that
//! MEME computes and `y` ours. With `S` the largest column sum of the query and the pool
//! (about 1), rounding the inputs to single precision and the eight single-precision operations
//! keep `|y - x| <= 25 * 2^-24 * S^2`; [`error_bound`] takes `E = 32 * 2^-24 * S^2`. (With
//! `u = 2^-24`: each rounded probability moves by at most `u p`, each difference `d_b` by at
//! most `u (q_b + t_b + |d_b|)`, so the four differences together by `4 u S`; `|d'^2 - d^2|
//! <= |d' - d| |d' + d|` with `|d' + d| <= 2S` gives `8 u S^2`; the four roundings of the
//! squares and sums add at most `u` times a partial sum `<= 4 S^2` each, `16 u S^2`; the
//! double-precision `x` is within `2^-53`-sized terms of the exact value.) Every
//! decision that depends on a value is then either certified by `E` or made on `x`, computed
//! exactly as [`crate::distance::ColumnPool::raw_scores_into`] would:
//! - *Median.* The two middle ranks are selected on `y`; the true values at those ranks lie
//!   within `E` of the selected `y`, so only the values whose `y` lies within `2E` of them can
//!   take those ranks. Those few are recomputed as `x` and ranked exactly.
//! - *Extremes.* They only set the integer scaling (`offset = floor(small)`,
//!   `scale = floor(100 / (large - offset))`): the intervals `y +- E` give intervals for
//!   `small` and `large`, and the query takes the double-precision path unless both ends of
//!   both intervals give the same scaling ([`scale_of`]).
//! - *Bins.* A bin is the truncation of `v = (-sqrt(x) - median - offset) * scale + 0.5`. The
//!   estimate from `y` is within `scale * E / sqrt(y)` (the root of a perturbed value) plus
//!   the single-precision error of the root and of the other steps (below `1e-4` for the
//!   usual scales; [`arithmetic_margin`]) of `v`; a lane whose estimate is nearer than that to
//!   an integer is recomputed from `x`.
//!
//! Anything these checks cannot certify takes the double-precision path, so the fast path can
//! only ever be slower, never different.

use crate::distance::{ColumnPool, PreparedColumn};
use crate::scaling::{self, median_ranks, ScoreScale};
use crate::Distance;

/// Rows shorter than this are selected whole (no sampled bracket).
const SAMPLED_MIN: usize = 4096;
/// Evenly spaced values sampled to bracket the median.
pub(crate) const SAMPLES: usize = 512;
/// Half-width of the bracket, in sample ranks (about 2.8 standard deviations of the sample
/// median's rank).
const BRACKET: usize = 32;
/// Twice a bound on the error of the binning estimate `0.5 - (sqrt(y) + c) * scale` from a
/// given `y`, in bins. With roots up to 3 (column sums up to 1.5): the refined reciprocal root
/// is within 1e-7 relative (3e-7 used), so 9e-7 absolute; rounding `c`, `sqrt(y) + c`, the
/// product and the difference adds `2^-24` times `|c|`, `|sqrt(y) + c|` (twice, before and
/// after scaling) and `|v|`, at most `6e-8 * (9 + 4|c|)` per unit of scale plus `3e-8`.
fn arithmetic_margin(scale: f64, c: f64) -> f32 {
    (2.0 * (scale * (9e-7 + 6e-8 * (9.0 + 4.0 * c.abs())) + 3e-8)) as f32
}

/// The median and the extremes of one query column's squared distances to the pool. The
/// median is exact; each extreme is known to lie in its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowStats {
    pub(crate) median: f64,
    pub(crate) u_lo: (f64, f64),
    pub(crate) u_hi: (f64, f64),
}

/// Buffers of the single-precision rows, reused across the columns and queries of a batch.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    cand_y: Vec<f32>,
    cand_j: Vec<u32>,
    cand2_y: Vec<f32>,
    cand2_j: Vec<u32>,
    keys: Vec<u32>,
    window: Vec<f64>,
    near: Vec<u32>,
    row: Vec<f64>,
    /// Pass one's values of the current query's rows, for pass two ([`Scratch::keep_rows`]).
    ys: crate::simd::AlignedF32,
    /// How many rows `ys` holds (0: pass two computes its values again), and their stride.
    ys_rows: usize,
    ys_stride: usize,
    /// Whether this scratch has served a query before (see [`Scratch::keep_rows`]).
    served: bool,
}

/// Most single-precision values kept from pass one for pass two (8 MB): a JASPAR-sized query
/// keeps its rows (about 0.2 M values against JASPAR's 17,740 columns); a query so wide that
/// its rows would not fit computes them again, as before.
const KEPT_VALUES: usize = 1 << 21;

impl Scratch {
    /// Prepare to keep the `rows` rows of `n` values that pass one is about to compute, when
    /// they fit [`KEPT_VALUES`]: pass two then reads them instead of computing them again
    /// (the same values, from the same instructions). Returns whether they are kept.
    ///
    /// Not for the first query a scratch serves: first writes to new memory fault its pages
    /// in, which costs more than the second computation it saves (a single 100-column query
    /// against JASPAR 2024 took 15.8 ms instead of 10.7 ms when it kept its rows in new
    /// memory; `docs/benchmarks.md`), so the buffer only pays when it is reused (batches, and
    /// the workspaces a [`crate::TargetDb`] keeps between calls).
    pub(crate) fn keep_rows(&mut self, rows: usize, n: usize) -> bool {
        // Rows start on cache lines.
        let stride = (n + 16).next_multiple_of(16);
        let keep = available() && self.served && rows.saturating_mul(stride) <= KEPT_VALUES;
        self.served = true;
        self.ys_rows = 0;
        // Grown only: a shorter query leaves the tail for the next longer one (resizing
        // down and up again would zero it every time).
        if keep && self.ys.len() < rows * stride {
            self.ys.resize(rows * stride);
        }
        if keep {
            self.ys_stride = stride;
            self.ys_rows = rows;
        }
        keep
    }

    /// Where row `i` of the current query lies in `ys`, if [`Scratch::keep_rows`] kept the
    /// query's rows.
    fn kept_row(&self, i: usize) -> Option<std::ops::Range<usize>> {
        (i < self.ys_rows).then(|| i * self.ys_stride..(i + 1) * self.ys_stride)
    }
}

/// Whether this CPU runs the single-precision rows (they need AVX-512 F, and POPCNT, which
/// every AVX-512 CPU has).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Tests: `true`, with a notice naming what goes untested, on a CPU without the
/// single-precision rows.
#[cfg(test)]
pub(crate) fn untested(what: &str) -> bool {
    let skip = !available();
    if skip {
        eprintln!("notice: no AVX-512 F on this CPU; {what} not tested");
    }
    skip
}

/// The bound `E` on `|y - x|` for this query and pool, or `None` when the single-precision
/// rows do not apply (no AVX-512, an empty pool, or column sums above 1.5, which the margins
/// were not worked out for).
pub(crate) fn error_bound(pool: &ColumnPool, query: &[[f64; 4]]) -> Option<f64> {
    if !available() || pool.len() == 0 || pool.len() > u32::MAX as usize - 16 {
        return None;
    }
    let s = query
        .iter()
        .map(|c| c.iter().sum::<f64>())
        .fold(pool.max_sum, f64::max);
    (s.is_finite() && s <= 1.5).then(|| 32.0 * f64::powi(2.0, -24) * s.max(1.0) * s.max(1.0))
}

/// The exact scaling of a query whose shifted-score extremes are known to lie in
/// `small = (lo, hi)` and `large = (lo, hi)`, and an upper bound on its largest bin; `None`
/// when the intervals allow more than one scaling.
pub(crate) fn scale_of(small: (f64, f64), large: (f64, f64)) -> Option<(ScoreScale, usize)> {
    // Keeping small < large rules out `from_range`'s special case for equal extremes, so the
    // offset grows with `small` and the scale with `large`: four equal corners make every
    // point of the box give the same scaling.
    if small.1.partial_cmp(&large.0) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    let corner = ScoreScale::from_range(small.0, large.0);
    let same = [(small.0, large.1), (small.1, large.0), (small.1, large.1)]
        .iter()
        .all(|&(s, l)| ScoreScale::from_range(s, l) == corner);
    let z = corner.zero_bin();
    same.then(|| (corner, usize::from(corner.bin(large.1)).max(z) + 1))
}

/// Pass one: the exact median and bracketed extremes of the row of query column `qc` (column
/// `i` of its query), which is kept for pass two if [`Scratch::keep_rows`] keeps the query's
/// rows.
pub(crate) fn row_stats(
    pool: &ColumnPool,
    qc: &PreparedColumn,
    i: usize,
    e: f64,
    s: &mut Scratch,
) -> RowStats {
    let n = pool.len();
    let q32 = qc.p.map(|v| v as f32);
    let (i1, i2) = median_ranks(n);
    // Scores -sqrt(u) sort opposite to u: score rank r is u rank n - 1 - r.
    let (a_rank, b_rank) = (n - 1 - i2, n - 1 - i1);
    let (lo_p, hi_p) = pivots(pool, &q32);
    s.cand_y.resize(n + 16, 0.0);
    s.cand_j.resize(n + 16, 0);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `available()` (checked by `error_bound`, the caller's gate) means AVX-512 F.
    let scan = unsafe {
        let store = s.kept_row(i).map(|r| &mut s.ys.as_mut_slice()[r]);
        avx512::scan(pool, q32, lo_p, hi_p, &mut s.cand_y, &mut s.cand_j, store)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let scan: Scan = return exact_stats(pool, qc, s);
    let exact = |s: &mut Scratch| exact_stats(pool, qc, s);
    if a_rank < scan.below || b_rank >= scan.below + scan.kept {
        return exact(s);
    }
    let (ra, rb) = (a_rank - scan.below, b_rank - scan.below);
    debug_assert!(
        rb == ra || rb == ra + 1,
        "the two middle ranks are adjacent"
    );
    let kept = scan.kept;
    // The values at the two ranks, selected on y.
    let (ya, yb) = {
        let mut select = |rank: usize| {
            // Non-negative floats order like their bit patterns.
            s.keys.clear();
            s.keys.extend(s.cand_y[..kept].iter().map(|y| y.to_bits()));
            s.keys.resize(kept + 16, 0);
            f32::from_bits(kth(&mut s.keys, kept, rank))
        };
        let ya = select(ra);
        // Rank rb is ra or ra + 1: ya again if it has more copies, else the next value up
        // (one pass over the candidates instead of a second selection).
        let yb = if rb == ra {
            ya
        } else {
            rank_after(&s.cand_y[..kept], ya, rb)
        };
        (ya, yb)
    };
    // The window y in [ya - 2E, yb + 2E], widened to single-precision bounds (a wider window
    // only recomputes more values).
    let wl = ((f64::from(ya) - 2.0 * e) as f32).next_down();
    let wh = ((f64::from(yb) + 2.0 * e) as f32).next_up();
    if wl < lo_p || wh > hi_p {
        return exact(s);
    }
    s.cand2_y.resize(kept + 16, 0.0);
    s.cand2_j.resize(kept + 16, 0);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as for `scan`.
    let (below_window, in_window) = unsafe {
        avx512::bracket(
            &s.cand_y[..kept],
            &s.cand_j[..kept],
            wl,
            wh,
            &mut s.cand2_y,
            &mut s.cand2_j,
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (below_window, in_window) = (0, 0);
    // Below the window every value is below both ranks; inside it, rank exactly.
    s.window.clear();
    s.window.extend(
        s.cand2_j[..in_window]
            .iter()
            .map(|&j| pool.squared_distance(qc, j as usize)),
    );
    if ra < below_window || rb - below_window >= s.window.len() {
        return exact(s);
    }
    s.window.sort_unstable_by(f64::total_cmp);
    let (xa, xb) = (s.window[ra - below_window], s.window[rb - below_window]);
    let (mn, mx) = (f64::from(scan.min), f64::from(scan.max));
    RowStats {
        median: (-xb.sqrt() + -xa.sqrt()) / 2.0,
        u_lo: ((mn - e).max(0.0), mn + e),
        u_hi: ((mx - e).max(0.0), mx + e),
    }
}

/// Replace the extremes' intervals of `st` (query column `qc`) by the exact extremes: only the
/// values whose `y` lies within `2E` of the smallest (largest) `y` can be the smallest
/// (largest) `x`, and those few are recomputed. For queries whose scaling the intervals left
/// in doubt (typically a query column identical to a target column, whose `x = 0` has
/// `y` up to `E`, and a root that turns `E` into `sqrt(E)`).
pub(crate) fn exact_extremes(
    pool: &ColumnPool,
    qc: &PreparedColumn,
    e: f64,
    st: &mut RowStats,
    s: &mut Scratch,
) {
    let n = pool.len();
    let q32 = qc.p.map(|v| v as f32);
    s.cand_y.resize(n + 16, 0.0);
    s.cand_j.resize(n + 16, 0);
    // The intervals are y -+ E around the extreme y, so these are the extreme y +- 2E.
    let near_min = (st.u_lo.1 + e) as f32;
    let near_max = (st.u_hi.0 - e).max(0.0) as f32;
    let mut extreme = |lo: f32, hi: f32, pick: fn(f64, f64) -> f64, start: f64| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `row_stats`.
        let scan = unsafe { avx512::scan(pool, q32, lo, hi, &mut s.cand_y, &mut s.cand_j, None) };
        #[cfg(not(target_arch = "x86_64"))]
        let scan = Scan {
            below: 0,
            kept: 0,
            min: 0.0,
            max: 0.0,
        };
        s.cand_j[..scan.kept]
            .iter()
            .map(|&j| pool.squared_distance(qc, j as usize))
            .fold(start, pick)
    };
    // Rounded to single precision the bounds may move by an ulp; widen them by one.
    let lo = extreme(
        f32::NEG_INFINITY,
        near_min.next_up(),
        f64::min,
        f64::INFINITY,
    );
    let hi = extreme(
        near_max.next_down(),
        f32::INFINITY,
        f64::max,
        f64::NEG_INFINITY,
    );
    if lo.is_finite() && hi.is_finite() {
        st.u_lo = (lo, lo);
        st.u_hi = (hi, hi);
    }
}

/// [`row_stats`] from the double-precision row: the fallback when the bracket misses.
fn exact_stats(pool: &ColumnPool, qc: &PreparedColumn, s: &mut Scratch) -> RowStats {
    s.row.resize(pool.len(), 0.0);
    let (lo, hi) = pool.raw_scores_into(Distance::Euclidean, qc, 0, &mut s.row);
    let median = scaling::squared_row_median(&s.row, &mut s.window).unwrap_or(0.0);
    RowStats {
        median,
        u_lo: (lo, lo),
        u_hi: (hi, hi),
    }
}

/// Pivots bracketing the middle ranks of the row, from an evenly spaced sample (any values
/// would do: they only decide how much is kept for the selection).
fn pivots(pool: &ColumnPool, q: &[f32; 4]) -> (f32, f32) {
    let n = pool.len();
    if n < SAMPLED_MIN {
        return (f32::NEG_INFINITY, f32::INFINITY);
    }
    let step = n / SAMPLES;
    let mut sample = [0u32; SAMPLES];
    let y = |a: f32, c: f32, g: f32, t: f32| {
        let d = [q[0] - a, q[1] - c, q[2] - g, q[3] - t];
        d.iter().map(|v| v * v).sum::<f32>().to_bits()
    };
    match &pool.sample32 {
        // The same columns, kept contiguous by `ColumnPool::take_sample`.
        ([a, c, g, t], len) if *len == n && a.len() == SAMPLES => {
            for (k, s) in sample.iter_mut().enumerate() {
                *s = y(a[k], c[k], g[k], t[k]);
            }
        }
        _ => {
            let [a, c, g, t] = pool.p32.each_ref().map(|v| v.as_slice());
            for (k, s) in sample.iter_mut().enumerate() {
                let j = k * step;
                *s = y(a[j], c[j], g[j], t[j]);
            }
        }
    }
    let select = |rank: usize| {
        let mut v = [0u32; SAMPLES + 16];
        v[..SAMPLES].copy_from_slice(&sample);
        f32::from_bits(kth(&mut v, SAMPLES, rank))
    };
    (select(SAMPLES / 2 - BRACKET), select(SAMPLES / 2 + BRACKET))
}

/// The value of rank `r` (from 0) of `ys`, given `y`, the value of rank `r - 1`: `y` again
/// if more than `r` values are at most `y`, else the smallest value above it.
fn rank_after(ys: &[f32], y: f32, r: usize) -> f32 {
    let (mut at_most, mut next) = (0usize, f32::INFINITY);
    for &v in ys {
        at_most += usize::from(v <= y);
        if v > y {
            next = next.min(v);
        }
    }
    if at_most > r {
        y
    } else {
        next
    }
}

/// The `k`-th smallest (from 0) of `v[..len]` (`v` at least `len + 16` long; it is
/// overwritten).
fn kth(v: &mut [u32], len: usize, k: usize) -> u32 {
    assert!(k < len && v.len() >= len + 16);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the callers run only where `available()` found AVX-512 F.
    return unsafe { avx512::kth(v, len, k) };
    #[cfg(not(target_arch = "x86_64"))]
    return *v[..len].select_nth_unstable(k).1;
}

/// Pass two: the bins of query column `qc`'s row into `out` (`scale` and `median` as in
/// [`crate::scaling::bin_row`]). Returns `false`, writing nothing, when the scaling lies
/// outside the limits the margins were worked out for; the caller then bins the
/// double-precision row. Reads the values pass one kept for column `i` of the query, if it
/// kept them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bin_row(
    pool: &ColumnPool,
    qc: &PreparedColumn,
    i: usize,
    e: f64,
    scale: &ScoreScale,
    median: f64,
    out: &mut [u16],
    s: &mut Scratch,
) -> bool {
    let n = pool.len();
    if !(scale.scale() <= 128.0 && (median + scale.offset()).abs() < 8.0) || out.len() < n {
        return false;
    }
    let k = BinConsts {
        q: qc.p.map(|v| v as f32),
        c: (median + scale.offset()) as f32,
        scale: scale.scale() as f32,
        // 1.01: the reciprocal estimate (2^-14) and the rounding of this product.
        root: (scale.scale() * e * 1.01) as f32,
        arithmetic: arithmetic_margin(scale.scale(), median + scale.offset()),
    };
    s.near.resize(n + 16, 0);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: callers reach here only after `error_bound` found AVX-512 F.
    let near = unsafe {
        let stored = s.kept_row(i).map(|r| &s.ys.as_slice()[r]);
        avx512::bins(pool, &k, stored, &mut out[..n], &mut s.near)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let near: usize = {
        let _ = k;
        return false;
    };
    for &j in &s.near[..near] {
        let j = j as usize;
        out[j] = u16::from(scale.bin(-pool.squared_distance(qc, j).sqrt() - median));
    }
    true
}

/// The constants of [`bin_row`]'s estimate `0.5 - (sqrt(y) + c) * scale` and its margin
/// `arithmetic + root / sqrt(y)`.
struct BinConsts {
    q: [f32; 4],
    c: f32,
    scale: f32,
    root: f32,
    arithmetic: f32,
}

/// What pass one found: values below the lower pivot, values kept between the pivots, and
/// the row's smallest and largest value.
struct Scan {
    below: usize,
    kept: usize,
    min: f32,
    max: f32,
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{BinConsts, Scan};
    use crate::distance::ColumnPool;
    use std::arch::x86_64::*;

    /// The sixteen squared distances from `q` to pool columns `j..j + 16` (lanes outside
    /// `valid` read nothing): the one formula both passes use.
    #[inline(always)]
    unsafe fn squared(p: &[&[f32]; 4], q: &[__m512; 4], j: usize, valid: __mmask16) -> __m512 {
        // SAFETY (caller): lanes of `valid` lie inside every pool array; masked-off lanes are
        // not read.
        unsafe {
            let d =
                |b: usize| _mm512_sub_ps(q[b], _mm512_maskz_loadu_ps(valid, p[b].as_ptr().add(j)));
            let (da, dc, dg, dt) = (d(0), d(1), d(2), d(3));
            let y = _mm512_mul_ps(da, da);
            let y = _mm512_fmadd_ps(dc, dc, y);
            let y = _mm512_fmadd_ps(dg, dg, y);
            _mm512_fmadd_ps(dt, dt, y)
        }
    }

    fn arrays(pool: &ColumnPool) -> [&[f32]; 4] {
        pool.p32.each_ref().map(|v| v.as_slice())
    }

    fn valid_mask(j: usize, n: usize) -> __mmask16 {
        let left = n - j;
        if left >= 16 {
            u16::MAX
        } else {
            (1u16 << left) - 1
        }
    }

    /// `step(j, lanes)` for every chunk of 16 of `0..n`: whole chunks with the constant full
    /// mask (the inlined step's masked loads become plain loads), then the tail's lanes.
    #[inline(always)]
    fn chunks(n: usize, mut step: impl FnMut(usize, __mmask16)) {
        let mut j = 0;
        while j + 16 <= n {
            step(j, u16::MAX);
            j += 16;
        }
        if j < n {
            step(j, valid_mask(j, n));
        }
    }

    /// Pass one over the pool: count the values below `lo`, copy those in `[lo, hi]` and their
    /// pool indices to the front of `cand_y` and `cand_j`, and take the extremes.
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn scan(
        pool: &ColumnPool,
        q: [f32; 4],
        lo: f32,
        hi: f32,
        cand_y: &mut [f32],
        cand_j: &mut [u32],
        mut store: Option<&mut [f32]>,
    ) -> Scan {
        let n = pool.len();
        assert!(cand_y.len() >= n + 16 && cand_j.len() >= n + 16 && n < u32::MAX as usize - 16);
        assert!(store.as_ref().is_none_or(|ys| ys.len() >= n + 16));
        let p = arrays(pool);
        let qv = q.map(|v| _mm512_set1_ps(v));
        let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
        let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let mut mn = _mm512_set1_ps(f32::INFINITY);
        let mut mx = _mm512_set1_ps(f32::NEG_INFINITY);
        let (mut below, mut kept) = (0usize, 0usize);
        let step = |j: usize, valid: __mmask16| {
            // SAFETY: the lanes of `valid` are pool columns j..min(j + 16, n); the stores
            // write 16 values at kept <= j, within the n + 16 asserted.
            unsafe {
                let y = squared(&p, &qv, j, valid);
                if let Some(ys) = store.as_deref_mut() {
                    // 16 values at j < n: within the n + 16 asserted.
                    _mm512_storeu_ps(ys.as_mut_ptr().add(j), y);
                }
                mn = _mm512_mask_min_ps(mn, valid, mn, y);
                mx = _mm512_mask_max_ps(mx, valid, mx, y);
                let idx = _mm512_add_epi32(_mm512_set1_epi32(j as i32), iota);
                let (b, k) = bracket_lanes(y, idx, valid, (vlo, vhi), cand_y, cand_j, kept);
                below += b;
                kept += k;
            }
        };
        chunks(n, step);
        Scan {
            below,
            kept,
            min: _mm512_reduce_min_ps(mn),
            max: _mm512_reduce_max_ps(mx),
        }
    }

    /// One step of a bracket pass over the lanes `valid` of `y` (pool indices `idx`): how many
    /// lie below `lo`, and how many lie in `[lo, hi]`, which are copied, with their indices, to
    /// `out_y[kept..]` and `out_j[kept..]` (16 lanes are stored: both need `kept + 16`
    /// entries).
    #[target_feature(enable = "avx512f,popcnt")]
    #[inline]
    unsafe fn bracket_lanes(
        y: __m512,
        idx: __m512i,
        valid: __mmask16,
        (lo, hi): (__m512, __m512),
        out_y: &mut [f32],
        out_j: &mut [u32],
        kept: usize,
    ) -> (usize, usize) {
        assert!(out_y.len() >= kept + 16 && out_j.len() >= kept + 16);
        let lt = _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(valid, y, lo);
        // y is never NaN (finite columns), so "not below" is "at least lo".
        let inside = _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(valid & !lt, y, hi);
        let below = lt.count_ones() as usize;
        // SAFETY: both outputs have kept + 16 entries (asserted).
        unsafe {
            _mm512_storeu_ps(
                out_y.as_mut_ptr().add(kept),
                _mm512_maskz_compress_ps(inside, y),
            );
            _mm512_storeu_si512(
                out_j.as_mut_ptr().add(kept).cast(),
                _mm512_maskz_compress_epi32(inside, idx),
            );
        }
        (below, inside.count_ones() as usize)
    }

    /// Count the values of `ys` below `lo`, and copy those in `[lo, hi]`, with their entries of
    /// `js`, to the front of `out_y` and `out_j` (both at least 16 longer than `ys`).
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn bracket(
        ys: &[f32],
        js: &[u32],
        lo: f32,
        hi: f32,
        out_y: &mut [f32],
        out_j: &mut [u32],
    ) -> (usize, usize) {
        let n = ys.len();
        assert!(js.len() == n && out_y.len() >= n + 16 && out_j.len() >= n + 16);
        let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
        let (mut below, mut kept) = (0usize, 0usize);
        chunks(n, |j, valid| {
            // SAFETY: the lanes of `valid` lie inside `ys` and `js`; the stores write 16 values
            // at kept <= j, within the n + 16 asserted.
            unsafe {
                let y = _mm512_maskz_loadu_ps(valid, ys.as_ptr().add(j));
                let idx = _mm512_maskz_loadu_epi32(valid, js.as_ptr().add(j).cast());
                let (b, k) = bracket_lanes(y, idx, valid, (vlo, vhi), out_y, out_j, kept);
                below += b;
                kept += k;
            }
        });
        (below, kept)
    }

    /// The running AND and OR of the lanes seen: which bits the values differ in.
    struct Bits {
        and: __m512i,
        or: __m512i,
    }

    impl Bits {
        #[target_feature(enable = "avx512f")]
        fn new() -> Bits {
            Bits {
                and: _mm512_set1_epi32(-1),
                or: _mm512_setzero_si512(),
            }
        }

        #[target_feature(enable = "avx512f")]
        fn add(&mut self, lanes: __mmask16, x: __m512i) {
            self.and = _mm512_mask_and_epi32(self.and, lanes, self.and, x);
            self.or = _mm512_mask_or_epi32(self.or, lanes, self.or, x);
        }

        /// (the bits in which the values differ, their common value elsewhere).
        #[target_feature(enable = "avx512f")]
        fn spread(&self) -> (u32, u32) {
            let a = _mm512_reduce_and_epi32(self.and) as u32;
            let o = _mm512_reduce_or_epi32(self.or) as u32;
            (a ^ o, a)
        }
    }

    /// How many of `v[..len]` are at most `t`.
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn count_le(v: &[u32], len: usize, t: __m512i) -> usize {
        let mut c = 0;
        chunks(len, |j, valid| {
            // SAFETY (caller): v has len elements at least; masked-off lanes are not read.
            unsafe {
                let x = _mm512_maskz_loadu_epi32(valid, v.as_ptr().add(j).cast());
                c += _mm512_mask_cmple_epu32_mask(valid, x, t).count_ones() as usize;
            }
        });
        c
    }

    /// The bits in which `v[..len]` differ, and their common value elsewhere.
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn spread(v: &[u32], len: usize) -> (u32, u32) {
        let mut bits = Bits::new();
        chunks(len, |j, valid| {
            // SAFETY (caller): v has len elements at least; masked-off lanes are not read.
            unsafe {
                bits.add(
                    valid,
                    _mm512_maskz_loadu_epi32(valid, v.as_ptr().add(j).cast()),
                )
            };
        });
        bits.spread()
    }

    /// Radix selection: the `k`-th smallest of `v[..len]`, deciding two bits at a time from
    /// the highest bit in which the remaining values differ: one pass counts the values in
    /// each of the four buckets those bits make, one pass keeps the bucket holding rank `k`
    /// (in place: the write position never passes the read position) and notes which bits
    /// its values still differ in.
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn kth(v: &mut [u32], len: usize, k: usize) -> u32 {
        let (mut len, mut k) = (len, k);
        // SAFETY: v has at least len + 16 elements (asserted by `super::kth`).
        let (mut differ, mut common) = unsafe { spread(v, len) };
        loop {
            if differ == 0 {
                return common;
            }
            let bit = 31 - differ.leading_zeros();
            if bit == 0 {
                // Only the lowest bit differs: `common` has it clear.
                // SAFETY: as above.
                let c = unsafe { count_le(v, len, _mm512_set1_epi32(common as i32)) };
                return if k < c { common } else { common | 1 };
            }
            // Buckets by bits `bit` and `bit - 1`, above them the bits all values share.
            let low = bit - 1;
            let base = common & !(((4u64 << low) - 1) as u32);
            let span = (1u32 << low) - 1;
            let t = |q: u32| _mm512_set1_epi32((base | (q << low) | span) as i32);
            let (t0, t1, t2) = (t(0), t(1), t(2));
            let (mut c0, mut c1, mut c2) = (0usize, 0usize, 0usize);
            chunks(len, |j, valid| {
                // SAFETY: masked-off lanes are not read; lanes of `valid` lie in v[..len].
                unsafe {
                    let x = _mm512_maskz_loadu_epi32(valid, v.as_ptr().add(j).cast());
                    c0 += _mm512_mask_cmple_epu32_mask(valid, x, t0).count_ones() as usize;
                    c1 += _mm512_mask_cmple_epu32_mask(valid, x, t1).count_ones() as usize;
                    c2 += _mm512_mask_cmple_epu32_mask(valid, x, t2).count_ones() as usize;
                }
            });
            let (q, before) = if k < c0 {
                (0, 0)
            } else if k < c1 {
                (1, c0)
            } else if k < c2 {
                (2, c1)
            } else {
                (3, c2)
            };
            k -= before;
            let lo = _mm512_set1_epi32((base | (q << low)) as i32);
            let hi = _mm512_set1_epi32((base | (q << low) | span) as i32);
            let mut bits = Bits::new();
            let mut kept = 0;
            let out = v.as_mut_ptr();
            chunks(len, |j, valid| {
                // SAFETY: lanes of `valid` lie in v[..len]; each store writes 16 lanes at
                // kept <= j < len, within the len + 16 elements, and only over values already
                // read.
                unsafe {
                    let x = _mm512_maskz_loadu_epi32(valid, out.add(j).cast());
                    let keep = _mm512_mask_cmple_epu32_mask(
                        _mm512_mask_cmpge_epu32_mask(valid, x, lo),
                        x,
                        hi,
                    );
                    bits.add(keep, x);
                    _mm512_storeu_si512(out.add(kept).cast(), _mm512_maskz_compress_epi32(keep, x));
                    kept += keep.count_ones() as usize;
                }
            });
            len = kept;
            (differ, common) = bits.spread();
        }
    }

    /// Pass two: estimated bins of every pool column into `out`, and the pool indices of the
    /// lanes too near a bin edge for the estimate into the front of `near` (their count is
    /// returned; their `out` entries are to be overwritten).
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn bins(
        pool: &ColumnPool,
        k: &BinConsts,
        stored: Option<&[f32]>,
        out: &mut [u16],
        near: &mut [u32],
    ) -> usize {
        let n = pool.len();
        assert!(out.len() == n && near.len() >= n + 16);
        assert!(stored.is_none_or(|ys| ys.len() >= n));
        let p = arrays(pool);
        let qv = k.q.map(|v| _mm512_set1_ps(v));
        let (c, sc, root) = (
            _mm512_set1_ps(k.c),
            _mm512_set1_ps(k.scale),
            _mm512_set1_ps(k.root),
        );
        let (half, margin0) = (_mm512_set1_ps(0.5), _mm512_set1_ps(k.arithmetic));
        let (zero, top) = (_mm512_setzero_ps(), _mm512_set1_ps(255.0));
        let tiny_y = _mm512_set1_ps(1e-30);
        let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let mut count = 0usize;
        let step = |j: usize, valid: __mmask16| {
            // SAFETY: as in `scan`; `out` has n entries and the full store is taken only when
            // 16 remain.
            unsafe {
                let y = match stored {
                    // Pass one's values: lanes of `valid` lie below n (asserted length).
                    Some(ys) => _mm512_maskz_loadu_ps(valid, ys.as_ptr().add(j)),
                    None => squared(&p, &qv, j, valid),
                };
                // sqrt(y) as y / sqrt(y): the 14-bit reciprocal root estimate refined by one
                // Newton step (relative error below 3e-7: 1.5 * 2^-28 for the step, a few
                // roundings), much cheaper than `vsqrtps`. y = 0 gives NaN: unsure.
                let r = _mm512_rsqrt14_ps(y);
                let s0 = _mm512_mul_ps(y, r);
                let h = _mm512_mul_ps(r, half);
                let step = _mm512_fnmadd_ps(s0, h, half);
                let root_y = _mm512_fmadd_ps(s0, step, s0);
                // (-sqrt(y) - median - offset) * scale + 0.5
                let v = _mm512_sub_ps(half, _mm512_mul_ps(_mm512_add_ps(root_y, c), sc));
                let edge =
                    _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
                let gap = _mm512_abs_ps(_mm512_sub_ps(v, edge));
                // The root's share of the margin needs 1 / sqrt(y), which `r` estimates within
                // 2^-14.
                let margin = _mm512_fmadd_ps(root, r, margin0);
                let sure = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(gap, margin);
                // Values below the normal range would leave the reciprocal root's accuracy
                // to the hardware's handling of subnormals: recompute them too.
                let tiny = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(y, tiny_y);
                let unsure = valid & (!sure | tiny);
                let b = _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(v, zero), top));
                let b16 = _mm512_cvtusepi32_epi16(b);
                if valid == u16::MAX {
                    _mm256_storeu_si256(out.as_mut_ptr().add(j).cast(), b16);
                } else {
                    let mut tmp = [0u16; 16];
                    _mm256_storeu_si256(tmp.as_mut_ptr().cast(), b16);
                    out[j..].copy_from_slice(&tmp[..n - j]);
                }
                if unsure != 0 {
                    let idx = _mm512_add_epi32(_mm512_set1_epi32(j as i32), iota);
                    _mm512_storeu_si512(
                        near.as_mut_ptr().add(count).cast(),
                        _mm512_maskz_compress_epi32(unsure, idx),
                    );
                    count += unsure.count_ones() as usize;
                }
            }
        };
        chunks(n, step);
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    /// A pool of `n` random columns (a tenth of them repeats, for ties) and a query column
    /// that is random or (`copy`) one of them. With `cluster`, six in ten columns are one
    /// column moved by under 1e-8, so that the values around the median differ by less than
    /// single precision resolves: their single-precision order is not their true order.
    fn pool_and_query(
        seed: u64,
        n: usize,
        copy: bool,
        cluster: bool,
    ) -> (ColumnPool, PreparedColumn) {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let column = |rng: &mut rand_xoshiro::Xoshiro256PlusPlus| {
            let c: [f64; 4] = std::array::from_fn(|_| rng.gen::<f64>().powi(3) + 0.001);
            let sum: f64 = c.iter().sum();
            c.map(|v| v / sum)
        };
        let mut cols: Vec<[f64; 4]> = Vec::new();
        let mut pool = ColumnPool::default();
        let centre = column(&mut rng);
        for _ in 0..n {
            let c = if cluster && rng.gen_range(0..10) < 6 {
                let mut c = centre;
                c[0] += rng.gen::<f64>() * 1e-8;
                c[1] -= rng.gen::<f64>() * 1e-8;
                c
            } else if !cols.is_empty() && rng.gen_range(0..10) == 0 {
                cols[rng.gen_range(0..cols.len())]
            } else {
                column(&mut rng)
            };
            cols.push(c);
            pool.push(c);
        }
        let q = if copy {
            cols[rng.gen_range(0..n)]
        } else {
            column(&mut rng)
        };
        (pool, PreparedColumn::new(q))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Pass one gives the exact median and intervals holding the exact extremes;
        /// `exact_extremes` gives the exact extremes; pass two gives the exact bins. The
        /// inflated error bounds (still bounds) push values through every fallback.
        #[test]
        fn single_precision_rows_are_exact(
            seed in any::<u64>(),
            n in prop_oneof![1usize..300, 4000usize..9000],
            copy in any::<bool>(),
            cluster in any::<bool>(),
            factor in prop_oneof![Just(1.0), Just(100.0), Just(1e4), Just(1e6)],
            offset in -3i32..=-1,
            scale in 20u32..=100,
            nudge in -1e-4f64..1e-4,
        ) {
            if untested("the single-precision rows are") {
                return Ok(());
            }
            let (pool, qc) = pool_and_query(seed, n, copy, cluster);
            let e = error_bound(&pool, &[qc.p]).unwrap() * factor;
            let mut s = Scratch::default();
            let mut row = vec![0.0; n];
            let (lo, hi) = pool.raw_scores_into(Distance::Euclidean, &qc, 0, &mut row);
            let median = scaling::squared_row_median(&row, &mut Vec::new()).unwrap();

            // `s` keeps the row for pass two (read back below), `plain` does not: a new
            // scratch keeps no rows for its first query.
            let mut plain = Scratch::default();
            prop_assert!(!plain.keep_rows(1, n), "a new scratch does not keep rows");
            prop_assert!(!s.keep_rows(1, n));
            prop_assert!(s.keep_rows(1, n));
            let mut st = row_stats(&pool, &qc, 0, e, &mut s);
            prop_assert_eq!(row_stats(&pool, &qc, 0, e, &mut plain), st);
            prop_assert_eq!(st.median.to_bits(), median.to_bits());
            prop_assert!(st.u_lo.0 <= lo && lo <= st.u_lo.1, "{:?} {}", st.u_lo, lo);
            prop_assert!(st.u_hi.0 <= hi && hi <= st.u_hi.1, "{:?} {}", st.u_hi, hi);
            exact_extremes(&pool, &qc, e, &mut st, &mut s);
            prop_assert_eq!(st.u_lo, (lo, lo));
            prop_assert_eq!(st.u_hi, (hi, hi));

            // A scaling of the kind `ed` gives: offset -3..-1, scale up to 100; with the real
            // median, and with one that puts the score of column `k` within `nudge` of a
            // bin edge (where a missing margin shows).
            let sc = ScoreScale::from_range(f64::from(offset), f64::from(offset) + 100.0 / f64::from(scale));
            let k = (seed % n as u64) as usize;
            let edge = (-row[k].sqrt() - sc.offset()) * sc.scale() + 0.5;
            let on_edge = -row[k].sqrt() - sc.offset() - (edge.round() - 0.5 + nudge) / sc.scale();
            for med in [median, on_edge] {
                let mut want = vec![0u16; n];
                let mut hist = vec![0u32; 256];
                scaling::bin_row(&sc, med, &row, true, &mut want, &mut hist);
                for (kept, scratch) in [(true, &mut s), (false, &mut plain)] {
                    let mut got = vec![u16::MAX; n];
                    prop_assert!(bin_row(&pool, &qc, 0, e, &sc, med, &mut got, scratch));
                    prop_assert_eq!(&got, &want, "kept row: {}", kept);
                }
            }
        }
    }

    proptest! {
        /// The radix selection picks what sorting picks, ties and all.
        #[test]
        fn rank_after_is_the_next_sorted_value(
            ys in proptest::collection::vec(prop_oneof![Just(0.5f32), Just(0.25), 0.0f32..1.0], 2..300),
            r in 1usize..300,
        ) {
            let r = r % ys.len();
            let r = r.max(1);
            let mut sorted = ys.clone();
            sorted.sort_by(f32::total_cmp);
            prop_assert_eq!(rank_after(&ys, sorted[r - 1], r).to_bits(), sorted[r].to_bits());
        }

        #[test]
        fn kth_is_the_sorted_value(
            mut v in proptest::collection::vec(prop_oneof![0u32..40, any::<u32>(), (0.0f32..3.0).prop_map(f32::to_bits)], 1..300),
            k in any::<proptest::sample::Index>(),
        ) {
            if untested("the radix selection is") {
                return Ok(());
            }
            let len = v.len();
            let k = k.index(len);
            let mut sorted = v.clone();
            sorted.sort_unstable();
            v.resize(len + 16, 7);
            prop_assert_eq!(kth(&mut v, len, k), sorted[k]);
        }
    }

    /// The contiguous sample gives the pivots of the strided one, and a stale sample (taken
    /// before the pool grew) is not used.
    #[test]
    fn pivot_sample_is_the_strided_sample() {
        // 5,119 columns sample every 9th, 5,120 every 10th: the stale sample differs there.
        for (seed, n) in [(1, SAMPLED_MIN), (2, 5_119), (3, 17_741)] {
            let (mut pool, q) = pool_and_query(seed, n, false, false);
            let q32 = q.p.map(|v| v as f32);
            let strided = pivots(&pool, &q32);
            assert!(strided.0.is_finite() && strided.0 < strided.1);
            pool.take_sample(SAMPLES);
            assert_eq!(pool.sample32.0[0].len(), SAMPLES);
            assert_eq!(pivots(&pool, &q32), strided, "n = {n}");
            pool.push([0.25; 4]);
            let (mut fresh, _) = pool_and_query(seed, n, false, false);
            fresh.push([0.25; 4]);
            assert_eq!(pivots(&pool, &q32), pivots(&fresh, &q32), "n = {n} + 1");
        }
    }

    #[test]
    fn scale_of_refuses_doubtful_boxes() {
        // Both ends of each interval give offset -2 and scale floor(100 / 3.2) = 31.
        let sure = scale_of((-1.5, -1.4), (1.19, 1.2)).unwrap();
        assert_eq!(sure.0, ScoreScale::from_range(-1.45, 1.195));
        // The smallest score straddles -1: offsets -2 and -1.
        assert!(scale_of((-1.01, -0.99), (1.19, 1.2)).is_none());
        // 100 / (large + 2) straddles 31: scales 31 and 32.
        let edge = 100.0 / 31.0 - 2.0;
        assert!(scale_of((-1.5, -1.4), (edge - 1e-9, edge + 1e-9)).is_none());
        // Overlapping extremes could be equal (MEME's special case).
        assert!(scale_of((-0.5, 0.1), (0.0, 0.2)).is_none());
    }
}

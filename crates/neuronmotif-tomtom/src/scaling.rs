//! Steps 4 and 5 of Tomtom: the per-query-column median shift that makes unaligned columns
//! score 0 ("complete scores"), and the integer scaling of shifted scores into bins.

/// Number of integer bins the whole shifted score range is scaled into (MEME's `BINS`).
pub const BINS: f64 = 100.0;

/// The two sorted positions MEME's "median" of `n` values averages: `floor(n/2) - 1` and
/// `ceil(n/2) - 1` (clamped at 0), equal for an even `n`, adjacent for an odd one.
pub fn median_ranks(n: usize) -> (usize, usize) {
    let i2 = n.div_ceil(2).saturating_sub(1);
    let i1 = (n / 2).saturating_sub(1).min(i2);
    (i1, i2)
}

/// MEME's "median" of one query row: the mean of the sorted values at [`median_ranks`].
///
/// For an even `n` both indices coincide, so this is the lower middle value; for an odd `n` it
/// is the mean of the true median and the value below it. MEME's source calls this "off by one
/// position, but close enough"; we keep it because the bins depend on it. The slice is
/// reordered. Returns `None` for an empty slice.
pub fn tomtom_median(values: &mut [f64]) -> Option<f64> {
    let (i1, i2) = median_ranks(values.len());
    let (lo, hi) = select_pair(values, i1, i2)?;
    Some((lo + hi) / 2.0)
}

/// The values of sorted positions `i1` and `i2 = i1` or `i1 + 1` (in [`f64::total_cmp`]
/// order), by selection; the slice is reordered. `None` when `i2` is out of range.
fn select_pair(values: &mut [f64], i1: usize, i2: usize) -> Option<(f64, f64)> {
    debug_assert!(i2 == i1 || i2 == i1 + 1);
    if i2 >= values.len() {
        return None;
    }
    let (below, hi, _) = values.select_nth_unstable_by(i2, f64::total_cmp);
    let hi = *hi;
    let lo = if i1 == i2 {
        hi
    } else {
        // i1 == i2 - 1: the largest value below position i2.
        below.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    };
    Some((lo, hi))
}

/// Rows shorter than this go straight to a full selection.
const SAMPLED_MEDIAN_MIN: usize = 4096;
/// Number of evenly spaced values sampled to bracket the median.
const MEDIAN_SAMPLES: usize = 512;
/// Half-width of the bracket, in sample ranks (about 2.8 standard deviations of the sample
/// median's rank for 512 samples).
const MEDIAN_BRACKET: usize = 32;

/// The same value as [`tomtom_median`], without reordering the row (Floyd-Rivest style): two
/// pivots from an evenly spaced sample bracket the middle ranks, one pass counts the values
/// below the bracket and keeps those inside it, and the ranks are selected there, with a full
/// selection when the bracket misses, so the result is always exact.
/// Returns `None` for an empty row.
pub fn median_of_row(values: &[f64], buf: &mut Vec<f64>) -> Option<f64> {
    let (i1, i2) = median_ranks(values.len());
    let (lo, hi) = middle_pair(values, i1, i2, buf)?;
    Some((lo + hi) / 2.0)
}

/// The values of sorted positions `i1` and `i2` (`i2 = i1` or `i1 + 1`, both near the middle
/// of the row) without reordering the row (Floyd-Rivest style): two pivots taken from an
/// evenly spaced sample bracket the wanted ranks; one pass counts the values below the lower
/// pivot and keeps those between the pivots in `buf`; the ranks are then selected there.
/// Should the bracket miss (the sample is unrepresentative, or the ranks are far from the
/// middle), it falls back to a full selection, so the result is always exact. Returns `None`
/// when `i2` is out of range.
pub(crate) fn middle_pair(
    values: &[f64],
    i1: usize,
    i2: usize,
    buf: &mut Vec<f64>,
) -> Option<(f64, f64)> {
    let n = values.len();
    if i2 >= n {
        return None;
    }
    let full = |buf: &mut Vec<f64>| {
        buf.clear();
        buf.extend_from_slice(values);
        select_pair(buf, i1, i2)
    };
    if n < SAMPLED_MEDIAN_MIN {
        return full(buf);
    }
    // Evenly spaced sample; its order statistics around the middle bracket the median.
    let step = n / MEDIAN_SAMPLES;
    let mut sample = [0.0f64; MEDIAN_SAMPLES];
    for (s, &x) in sample.iter_mut().zip(values.iter().step_by(step)) {
        *s = x;
    }
    let m = MEDIAN_SAMPLES;
    let r_lo = m / 2 - MEDIAN_BRACKET;
    let r_hi = m / 2 + MEDIAN_BRACKET;
    let lo_pivot = *sample.select_nth_unstable_by(r_lo, f64::total_cmp).1;
    let hi_pivot = *sample.select_nth_unstable_by(r_hi, f64::total_cmp).1;
    // One branch-free pass: count below the bracket, compact the bracket into `buf` (whose
    // old contents are irrelevant: only the first `kept` values are read).
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
    let (below, kept) = bracket_dispatch(values, lo_pivot, hi_pivot, &mut buf[..n]);
    if below > i1 || i2 >= below + kept {
        return full(buf);
    }
    buf.truncate(kept);
    // The bracket holds order keys (see `order_key`): plain integer comparisons select them.
    let key = |x: &f64| x.to_bits() as i64;
    let (r1, r2) = (i1 - below, i2 - below);
    let (left, v2, _) = buf.select_nth_unstable_by_key(r2, key);
    let v2 = from_order_key(key(v2));
    let v1 = if r1 == r2 {
        v2
    } else {
        from_order_key(left.iter().map(key).max().unwrap_or(i64::MIN))
    };
    Some((v1, v2))
}

/// MEME's median of the scores `-sqrt(u)` of a row of squared distances `u`, without taking a
/// root per value: the scores sort opposite to `u`, so score rank `r` is `u` rank `n - 1 - r`,
/// and only the two values at those ranks are rooted. Equals [`tomtom_median`] of the scores.
pub(crate) fn squared_row_median(u: &[f64], buf: &mut Vec<f64>) -> Option<f64> {
    let n = u.len();
    let (i1, i2) = median_ranks(n);
    let (a, b) = middle_pair(u, n.checked_sub(1 + i2)?, n - 1 - i1, buf)?;
    // (sorted[i1] + sorted[i2]) / 2 of the scores, with sorted[i1] = -sqrt(b).
    Some((-b.sqrt() + -a.sqrt()) / 2.0)
}

/// An integer whose order is [`f64::total_cmp`]'s: the sign-magnitude bits of negative values
/// flipped to two's complement order. Its own inverse ([`from_order_key`]).
#[inline(always)]
pub(crate) fn order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The value of an [`order_key`].
#[inline(always)]
fn from_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// Count the values below `lo`, and copy the [`order_key`]s of those in `[lo, hi]` (as f64
/// bit patterns) to the front of `out` (`out.len() >= values.len()`). Returns (count below,
/// count kept).
fn bracket_dispatch(values: &[f64], lo: f64, hi: f64, out: &mut [f64]) -> (usize, usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512 F (checked just above).
            return unsafe { avx512::bracket(values, lo, hi, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { avx2::bracket(values, lo, hi, out) };
        }
    }
    bracket(values, lo, hi, out)
}

/// The portable [`bracket_dispatch`]: branch-free, one value at a time.
fn bracket(values: &[f64], lo: f64, hi: f64, out: &mut [f64]) -> (usize, usize) {
    let (mut below, mut kept) = (0usize, 0usize);
    for &x in values {
        below += usize::from(x < lo);
        // Always store, advance only when inside: no unpredictable branch.
        if let Some(slot) = out.get_mut(kept) {
            *slot = f64::from_bits(order_key(x) as u64);
        }
        kept += usize::from(x >= lo && x <= hi);
    }
    (below, kept)
}

/// Bin one row of raw scores of a query column whose median is `median`:
/// `out[j] = scale.bin(score(row[j]) - median)` (over the shorter of the two slices), and add
/// each bin to the histogram `hist` (which must have at least 256 entries or more than the
/// largest bin written). The score of a raw value is the value itself, or `-sqrt(u)` when
/// `squared` (rows of squared Euclidean distances: keeping `u` in the rows moves the square
/// root out of the scoring pass, where it was the bottleneck, into this one, which needs it
/// anyway; medians and extremes are taken on `u` and rooted once).
pub(crate) fn bin_row(
    scale: &ScoreScale,
    median: f64,
    row: &[f64],
    squared: bool,
    out: &mut [u16],
    hist: &mut [u32],
) {
    let n = row.len().min(out.len());
    let (row, out) = (&row[..n], &mut out[..n]);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe {
                if squared {
                    avx2::bin_row::<true>(scale, median, row, out);
                } else {
                    avx2::bin_row::<false>(scale, median, row, out);
                }
            }
            count_bins(out, hist);
            return;
        }
    }
    for (b, &x) in out.iter_mut().zip(row) {
        let score = if squared { -x.sqrt() } else { x };
        *b = u16::from(scale.bin(score - median));
    }
    count_bins(out, hist);
}

/// Add the bins of `row` (each at most 255) to `hist`; bins beyond its end are ignored. Four
/// interleaved sub-histograms avoid the store-to-load stalls of repeated bins.
pub(crate) fn count_bins(row: &[u16], hist: &mut [u32]) {
    let mut sub = [[0u32; 256]; 4];
    let mut chunks = row.chunks_exact(4);
    for c in &mut chunks {
        sub[0][usize::from(c[0] as u8)] += 1;
        sub[1][usize::from(c[1] as u8)] += 1;
        sub[2][usize::from(c[2] as u8)] += 1;
        sub[3][usize::from(c[3] as u8)] += 1;
    }
    for &b in chunks.remainder() {
        sub[0][usize::from(b as u8)] += 1;
    }
    for (k, h) in hist.iter_mut().take(256).enumerate() {
        *h += sub[0][k] + sub[1][k] + sub[2][k] + sub[3][k];
    }
}

/// [`bracket_dispatch`] eight values at a time, where AVX-512 compresses the kept lanes in one
/// instruction instead of AVX2's looked-up permutation of four.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// [`super::bracket`] eight values at a time.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn bracket(
        values: &[f64],
        lo: f64,
        hi: f64,
        out: &mut [f64],
    ) -> (usize, usize) {
        let n = values.len();
        assert!(out.len() >= n);
        let (vlo, vhi) = (_mm512_set1_pd(lo), _mm512_set1_pd(hi));
        let (mut below, mut kept) = (0usize, 0usize);
        let mut j = 0;
        while j + 8 <= n {
            // SAFETY: j + 8 <= n = values.len(); the store writes out[kept..kept + 8] with
            // kept <= j, so within out.len() >= n.
            unsafe {
                let x = _mm512_loadu_pd(values.as_ptr().add(j));
                below += _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, vlo).count_ones() as usize;
                let inside = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(x, vlo)
                    & _mm512_cmp_pd_mask::<_CMP_LE_OQ>(x, vhi);
                // order_key: flip the magnitude bits of negative lanes.
                let bits = _mm512_castpd_si512(x);
                let negative = _mm512_srai_epi64::<63>(bits);
                let keys = _mm512_xor_si512(bits, _mm512_srli_epi64::<1>(negative));
                let moved = _mm512_maskz_compress_epi64(inside, keys);
                _mm512_storeu_si512(out.as_mut_ptr().add(kept).cast(), moved);
                kept += inside.count_ones() as usize;
            }
            j += 8;
        }
        let (b, k) = super::bracket(&values[j..], lo, hi, &mut out[kept..]);
        (below + b, kept + k)
    }
}

/// Explicit AVX2 versions of the row kernels. The compiler leaves both scalar: Rust's
/// saturating float-to-integer cast and the compaction of the bracket do not vectorise. Each
/// gives exactly the portable version's results (tests below compare them).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::ScoreScale;
    use std::arch::x86_64::*;

    /// For each 4-bit lane mask, the 32-bit lane indices that move the selected f64 lanes to
    /// the front, in order (for `_mm256_permutevar8x32_epi32`).
    const COMPACT: [[i32; 8]; 16] = {
        let mut t = [[0i32; 8]; 16];
        let mut m = 0;
        while m < 16 {
            let mut k = 0;
            let mut lane: i32 = 0;
            while lane < 4 {
                if m & (1 << lane) != 0 {
                    t[m][2 * k] = 2 * lane;
                    t[m][2 * k + 1] = 2 * lane + 1;
                    k += 1;
                }
                lane += 1;
            }
            m += 1;
        }
        t
    };

    /// [`super::bracket`], four values at a time: compare, count, and compact the kept lanes
    /// with a permutation looked up by their mask.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn bracket(
        values: &[f64],
        lo: f64,
        hi: f64,
        out: &mut [f64],
    ) -> (usize, usize) {
        let n = values.len();
        assert!(out.len() >= n);
        let (vlo, vhi) = (_mm256_set1_pd(lo), _mm256_set1_pd(hi));
        let (mut below, mut kept) = (0usize, 0usize);
        let mut j = 0;
        while j + 4 <= n {
            // SAFETY: j + 4 <= n = values.len(); the store writes out[kept..kept + 4] with
            // kept <= j, so within out.len() >= n.
            unsafe {
                let x = _mm256_loadu_pd(values.as_ptr().add(j));
                let lt = _mm256_cmp_pd::<_CMP_LT_OQ>(x, vlo);
                below += _mm256_movemask_pd(lt).count_ones() as usize;
                let inside = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GE_OQ>(x, vlo),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(x, vhi),
                );
                let m = _mm256_movemask_pd(inside) as usize;
                // order_key: flip the magnitude bits of negative lanes.
                let bits = _mm256_castpd_si256(x);
                let negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), bits);
                let keys = _mm256_xor_si256(bits, _mm256_srli_epi64::<1>(negative));
                let perm = _mm256_loadu_si256(COMPACT[m].as_ptr().cast());
                let moved = _mm256_permutevar8x32_epi32(keys, perm);
                _mm256_storeu_si256(out.as_mut_ptr().add(kept).cast(), moved);
                kept += m.count_ones() as usize;
            }
            j += 4;
        }
        let (b, k) = super::bracket(&values[j..], lo, hi, &mut out[kept..]);
        (below + b, kept + k)
    }

    struct BinConsts {
        med: __m256d,
        off: __m256d,
        sc: __m256d,
    }

    /// Four bins as 32-bit integers.
    #[target_feature(enable = "avx2")]
    fn bin4(k: &BinConsts, x: __m256d) -> __m128i {
        // max(v, 0) in `truncate` returns 0 for a NaN v (the second operand), like the cast.
        truncate(unbinned(k, x))
    }

    /// `(score - median - offset) * scale + 0.5`: the value [`ScoreScale::bin`] truncates.
    #[target_feature(enable = "avx2")]
    fn unbinned(k: &BinConsts, x: __m256d) -> __m256d {
        _mm256_add_pd(
            _mm256_mul_pd(_mm256_sub_pd(_mm256_sub_pd(x, k.med), k.off), k.sc),
            _mm256_set1_pd(0.5),
        )
    }

    /// Clamp to `[0, 255]` and truncate, as the saturating cast does (NaN gives 0).
    #[target_feature(enable = "avx2")]
    fn truncate(v: __m256d) -> __m128i {
        let clamped = _mm256_min_pd(_mm256_max_pd(v, _mm256_setzero_pd()), _mm256_set1_pd(255.0));
        _mm256_cvttpd_epi32(clamped)
    }

    /// [`super::bin_row`]'s binning, eight values at a time: the score (for `SQUARED` rows
    /// `-sqrt(u)`, a double-precision root), then the same operations in the same order as
    /// [`ScoreScale::bin`], then a clamp to `[0, 255]` before truncation, which is what the
    /// saturating cast does (NaN gives 0 in both).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn bin_row<const SQUARED: bool>(
        scale: &ScoreScale,
        median: f64,
        row: &[f64],
        out: &mut [u16],
    ) {
        let n = row.len().min(out.len());
        let k = BinConsts {
            med: _mm256_set1_pd(median),
            off: _mm256_set1_pd(scale.offset),
            sc: _mm256_set1_pd(scale.scale),
        };
        let score = |x: __m256d| {
            if SQUARED {
                _mm256_xor_pd(_mm256_sqrt_pd(x), _mm256_set1_pd(-0.0))
            } else {
                x
            }
        };
        // Single-precision estimate of the bins of squared rows: `vsqrtps` roots eight values
        // in about the time `vsqrtpd` roots four. Its value is within 1e-4 of the double one
        // (|score| <= 3 and scale <= 100 here; f32 carries 6e-8 relative), so wherever it
        // is more than `NEAR` from a bin edge both truncate to the same bin; eight values
        // with any lane nearer (an estimated 1 in 60: 0.2 % of evenly spread lanes) take the
        // double path below instead.
        const NEAR: f32 = 1e-3;
        let c32 = _mm256_set1_ps((median + scale.offset) as f32);
        let sc32 = _mm256_set1_ps(scale.scale as f32);
        let half32 = _mm256_set1_ps(0.5);
        let exact_enough = SQUARED && scale.scale <= 128.0 && (median + scale.offset).abs() < 8.0;
        let mut j = 0;
        while j + 8 <= n {
            if exact_enough {
                // SAFETY: j + 8 <= n, within both slices.
                unsafe {
                    let lo = _mm256_cvtpd_ps(_mm256_loadu_pd(row.as_ptr().add(j)));
                    let hi = _mm256_cvtpd_ps(_mm256_loadu_pd(row.as_ptr().add(j + 4)));
                    let u = _mm256_set_m128(hi, lo);
                    // (-sqrt(u) - median - offset) * scale + 0.5
                    let v = _mm256_sub_ps(
                        half32,
                        _mm256_mul_ps(_mm256_add_ps(_mm256_sqrt_ps(u), c32), sc32),
                    );
                    let edge = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                    let gap = _mm256_andnot_ps(_mm256_set1_ps(-0.0), _mm256_sub_ps(v, edge));
                    // NaN gaps count as near, so NaN lanes take the double path too
                    let near = _mm256_cmp_ps(gap, _mm256_set1_ps(NEAR), _CMP_NGE_UQ);
                    if _mm256_movemask_ps(near) == 0 {
                        let clamped = _mm256_min_ps(
                            _mm256_max_ps(v, _mm256_setzero_ps()),
                            _mm256_set1_ps(255.0),
                        );
                        let b = _mm256_cvttps_epi32(clamped);
                        let packed = _mm_packus_epi32(
                            _mm256_castsi256_si128(b),
                            _mm256_extracti128_si256(b, 1),
                        );
                        _mm_storeu_si128(out.as_mut_ptr().add(j).cast(), packed);
                        j += 8;
                        continue;
                    }
                }
            }
            // SAFETY: j + 8 <= n, within both slices.
            unsafe {
                let a = bin4(&k, score(_mm256_loadu_pd(row.as_ptr().add(j))));
                let b = bin4(&k, score(_mm256_loadu_pd(row.as_ptr().add(j + 4))));
                _mm_storeu_si128(out.as_mut_ptr().add(j).cast(), _mm_packus_epi32(a, b));
            }
            j += 8;
        }
        for (b, &x) in out[j..n].iter_mut().zip(&row[j..n]) {
            let s = if SQUARED { -x.sqrt() } else { x };
            *b = u16::from(scale.bin(s - median));
        }
    }
}

/// The integer scaling of one query's shifted score matrix (MEME's `scale_score_matrix` with
/// range [`BINS`]).
///
/// With `small` and `large` the smallest and largest shifted scores: when they are equal,
/// `small = large - 1`; then `offset = floor(small)` and `scale = floor(100 / (large - offset))`,
/// both integers, and a score `x` becomes `round_half_up((x - offset) * scale)`, an integer in
/// `0..=100`. Because `offset * scale` is an integer, a shifted score of exactly 0 (the median,
/// i.e. an unaligned column) maps to the integer [`ScoreScale::zero_bin`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreScale {
    offset: f64,
    scale: f64,
}

impl ScoreScale {
    /// The scaling for shifted scores spanning `[small, large]` (both finite).
    pub fn from_range(small: f64, large: f64) -> ScoreScale {
        let small = if large == small { large - 1.0 } else { small };
        let offset = small.floor();
        // Scores of the distances implemented span at most 4, so the scale is >= 25; the
        // clamp only guards the arithmetic below.
        let scale = (BINS / (large - offset)).floor().max(1.0);
        ScoreScale { offset, scale }
    }

    /// The integer offset (`floor` of the smallest shifted score).
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// The integer scale factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The bin of a shifted score: MEME's `nint((x - offset) * scale)`, i.e. `(int)(v + 0.5)`,
    /// which rounds halves up for the non-negative values that occur here. Saturates at 0
    /// and 255 (scores inside the range this scale was made from give `0..=100`).
    #[inline(always)]
    pub fn bin(&self, shifted: f64) -> u8 {
        let v = (shifted - self.offset) * self.scale;
        // Truncation toward zero of a non-negative number is MEME's `(int)` cast; `as`
        // saturates negative values (and NaN) to 0 and large ones to 255.
        (v + 0.5) as u8
    }

    /// The bin a shifted score of exactly 0 falls in: `-offset * scale`, what every unaligned
    /// query column contributes to a complete score.
    pub fn zero_bin(&self) -> usize {
        (-self.offset * self.scale) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The interleaved histogram counts what a plain loop counts: bins (at most 255, as
        /// documented) past the histogram's end are ignored.
        #[test]
        fn count_bins_counts(
            row in proptest::collection::vec(proptest::prop_oneof![0u16..4, 0u16..256], 0..2000),
            len in proptest::prop_oneof![proptest::strategy::Just(256usize), 1usize..300],
        ) {
            let mut want = vec![3u32; len];
            for &b in &row {
                if let Some(h) = want.get_mut(usize::from(b)) {
                    *h += 1;
                }
            }
            let mut got = vec![3u32; len];
            count_bins(&row, &mut got);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn median_odd_and_even() {
        // Even n: the lower middle value (index n/2 - 1 of the sorted values).
        assert_eq!(tomtom_median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.0));
        // Odd n: mean of sorted[(n-3)/2] and sorted[(n-1)/2] = (2 + 3) / 2.
        assert_eq!(tomtom_median(&mut [5.0, 1.0, 4.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(tomtom_median(&mut [7.0]), Some(7.0));
        assert_eq!(tomtom_median(&mut [7.0, 9.0]), Some(7.0));
        assert_eq!(tomtom_median(&mut [9.0, 1.0, 7.0]), Some(4.0));
        assert_eq!(tomtom_median(&mut []), None);
        // Ties.
        assert_eq!(tomtom_median(&mut [1.0, 1.0, 1.0, 5.0, 5.0]), Some(1.0));
    }

    #[test]
    fn median_matches_sorting() {
        let vals: Vec<f64> = (0..101)
            .map(|i| ((i * 37) % 101) as f64 * 0.5 - 3.0)
            .collect();
        for n in 1..vals.len() {
            let mut v = vals[..n].to_vec();
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let i1 = (n / 2).saturating_sub(1);
            let i2 = n.div_ceil(2) - 1;
            assert_eq!(
                tomtom_median(&mut v),
                Some((s[i1] + s[i2]) / 2.0),
                "n = {n}"
            );
        }
    }

    #[test]
    fn sampled_median_equals_sorting() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let mut buf = Vec::new();
        for n in [1usize, 2, 3, 100, 4095, 4096, 4097, 8193, 20_000, 30_001] {
            for shape in 0..3 {
                let v: Vec<f64> = (0..n)
                    .map(|_| match shape {
                        0 => -rng.gen::<f64>().sqrt(),
                        // heavy ties
                        1 => f64::from(rng.gen_range(0..7u8)) * 0.25,
                        // concentrated near one value
                        _ => 0.5 + rng.gen::<f64>() * 1e-9,
                    })
                    .collect();
                let want = tomtom_median(&mut v.clone());
                assert_eq!(median_of_row(&v, &mut buf), want, "n {n} shape {shape}");
            }
        }
        assert_eq!(median_of_row(&[], &mut buf), None);
        // A sample that misses the median (values sorted so the sample is all small) falls
        // back to a full selection.
        let mut skewed: Vec<f64> = (0..10_000).map(f64::from).collect();
        for (i, v) in skewed.iter_mut().enumerate() {
            if i % 19 == 0 {
                *v = -1.0;
            }
        }
        assert_eq!(
            median_of_row(&skewed, &mut buf),
            tomtom_median(&mut skewed.clone())
        );
    }

    proptest::proptest! {
        /// Order keys sort like `total_cmp` and map back to the same value.
        #[test]
        fn order_keys_follow_total_order(a in proptest::num::f64::ANY, b in proptest::num::f64::ANY) {
            proptest::prop_assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b));
            proptest::prop_assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
        }
    }

    /// Values with ties, both signs, zeros of both signs and exact half-bin points.
    fn awkward_values(n: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n)
            .map(|_| match rng.gen_range(0..6) {
                0 => -rng.gen::<f64>() * 2.0,
                1 => rng.gen::<f64>() * 2.0,
                2 => f64::from(rng.gen_range(-8..8i32)) * 0.25,
                3 => 0.0,
                4 => -0.0,
                _ => f64::from(rng.gen_range(-300..300i32)) / 50.0 + 0.01,
            })
            .collect()
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn vector_brackets_equal_portable() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        for (seed, n) in [
            (1u64, 0usize),
            (2, 3),
            (3, 4),
            (4, 5),
            (5, 1001),
            (6, 20_000),
        ] {
            let v = awkward_values(n, seed);
            for (lo, hi) in [
                (-0.5, 0.5),
                (0.0, 0.0),
                (-0.0, 0.25),
                (-3.0, 3.0),
                (1.0, -1.0),
            ] {
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                // SAFETY: AVX2 is available (checked above).
                let fast = unsafe { avx2::bracket(&v, lo, hi, &mut a) };
                let slow = bracket(&v, lo, hi, &mut b);
                assert_eq!(fast, slow, "n {n} [{lo}, {hi}]");
                let bits = |x: &[f64]| x[..slow.1].iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "n {n} [{lo}, {hi}]");
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut c = vec![0.0; n];
                    // SAFETY: AVX-512 F is available (checked just above).
                    let wide = unsafe { avx512::bracket(&v, lo, hi, &mut c) };
                    assert_eq!(wide, slow, "avx512: n {n} [{lo}, {hi}]");
                    assert_eq!(bits(&c), bits(&b), "avx512: n {n} [{lo}, {hi}]");
                }
            }
        }
    }

    #[test]
    fn bin_row_equals_scalar_bins() {
        for (seed, n) in [(7u64, 0usize), (8, 7), (9, 8), (10, 9), (11, 5000)] {
            let v = awkward_values(n, seed);
            for (small, large, median) in [(-1.2, 0.9, 0.1), (-1.0, 1.0, 0.0), (-0.3, 0.2, -2.5)] {
                let scale = ScoreScale::from_range(small, large);
                let mut out = vec![0u16; n];
                let mut hist = vec![0u32; 256];
                bin_row(&scale, median, &v, false, &mut out, &mut hist);
                for (j, (&x, &b)) in v.iter().zip(&out).enumerate() {
                    assert_eq!(b, u16::from(scale.bin(x - median)), "value {j}: {x}");
                }
                for (k, &h) in hist.iter().enumerate() {
                    assert_eq!(
                        h as usize,
                        out.iter().filter(|&&b| usize::from(b) == k).count()
                    );
                }
            }
        }
    }

    /// The single-precision estimate of squared rows' bins, over many scalings (scale up to
    /// the 128 it is used for, offsets and medians across their range): every bin must be the
    /// double-precision one, at edges and between them.
    #[test]
    fn neg_sqrt_bins_are_exact_across_scalings() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(12);
        for _ in 0..200 {
            let small = -rng.gen::<f64>() * 3.0;
            let large = small + 0.78 + rng.gen::<f64>() * 3.0;
            let median = -rng.gen::<f64>() * 1.5;
            let scale = ScoreScale::from_range(small, large);
            let mut u: Vec<f64> = (0..400).map(|_| rng.gen::<f64>() * 4.0).collect();
            for k in 0..=101 {
                let score = (f64::from(k) - 0.5) / scale.scale() + scale.offset() + median;
                if score <= 0.0 {
                    let edge = score * score;
                    for d in -2i64..=2 {
                        u.push(f64::from_bits((edge.to_bits() as i64 + d).max(0) as u64));
                    }
                }
            }
            let mut out = vec![0u16; u.len()];
            let mut hist = vec![0u32; 256];
            bin_row(&scale, median, &u, true, &mut out, &mut hist);
            for (&x, &b) in u.iter().zip(&out) {
                assert_eq!(
                    b,
                    u16::from(scale.bin(-x.sqrt() - median)),
                    "u = {x:e}, {scale:?}"
                );
            }
        }
    }

    #[test]
    fn neg_sqrt_bins_are_exact_at_bin_edges() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for (small, large, median) in [(-1.4, 0.1, -0.7), (-1.0, 0.0, -0.35), (-0.2, 0.05, -0.1)] {
            let scale = ScoreScale::from_range(small, large);
            let mut u = Vec::new();
            // Squared distances whose score sits exactly on each bin edge, and a few ulps
            // either side (where any shortcut in the root would pick the wrong bin).
            for k in 0..=101 {
                let score = (f64::from(k) - 0.5) / scale.scale() + scale.offset() + median;
                if score > 0.0 {
                    continue;
                }
                let edge = score * score;
                for d in -3i64..=3 {
                    u.push(f64::from_bits((edge.to_bits() as i64 + d).max(0) as u64));
                }
            }
            // Random values, zeros, and values beyond the range of probability columns (u > 2).
            u.extend((0..3000).map(|_| rng.gen::<f64>() * 2.0));
            u.extend([0.0, 1e-300, 4.0, 4.5, 9.0, f64::MIN_POSITIVE]);
            assert!(u.len() > 3000 + 6 + 7 * 20, "too few edge values");
            let mut out = vec![0u16; u.len()];
            let mut hist = vec![0u32; 256];
            bin_row(&scale, median, &u, true, &mut out, &mut hist);
            for (j, (&x, &b)) in u.iter().zip(&out).enumerate() {
                assert_eq!(
                    b,
                    u16::from(scale.bin(-x.sqrt() - median)),
                    "value {j}: u = {x:e}"
                );
            }
            assert_eq!(hist.iter().sum::<u32>() as usize, u.len());
        }
    }

    #[test]
    fn squared_row_median_equals_median_of_roots() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(17);
        let mut buf = Vec::new();
        for n in [1usize, 2, 3, 4, 101, 4095, 4096, 4097, 10_001, 20_000] {
            for ties in [false, true] {
                let u: Vec<f64> = (0..n)
                    .map(|_| {
                        if ties {
                            f64::from(rng.gen_range(0..9u8)) * 0.25
                        } else {
                            rng.gen::<f64>() * 2.0
                        }
                    })
                    .collect();
                let mut scores: Vec<f64> = u.iter().map(|&x| -x.sqrt()).collect();
                assert_eq!(
                    squared_row_median(&u, &mut buf).map(f64::to_bits),
                    tomtom_median(&mut scores).map(f64::to_bits),
                    "n {n} ties {ties}"
                );
            }
        }
        assert_eq!(squared_row_median(&[], &mut buf), None);
    }

    #[test]
    fn scaling_by_hand() {
        // Shifted ed scores in [-1.2, 0.9]: offset = -2, scale = floor(100 / 2.9) = 34.
        let s = ScoreScale::from_range(-1.2, 0.9);
        assert_eq!(s.offset(), -2.0);
        assert_eq!(s.scale(), 34.0);
        assert_eq!(s.zero_bin(), 68);
        assert_eq!(s.bin(0.0), 68);
        assert_eq!(s.bin(-1.2), 27); // 0.8 * 34 = 27.2
        assert_eq!(s.bin(0.9), 99); // 2.9 * 34 = 98.6
                                    // Exactly half rounds up: offset -1, scale 50, (-0.75 + 1) * 50 = 12.5.
        let h = ScoreScale::from_range(-1.0, 1.0);
        assert_eq!((h.offset(), h.scale()), (-1.0, 50.0));
        assert_eq!(h.bin(-0.75), 13);
        // Pearson-like range [-1.5, 1.5]: offset -2, scale floor(100/3.5) = 28.
        let p = ScoreScale::from_range(-1.5, 1.5);
        assert_eq!((p.offset(), p.scale(), p.zero_bin()), (-2.0, 28.0, 56));
        assert!(p.bin(1.5) <= 100);
    }

    #[test]
    fn degenerate_range() {
        // All scores equal: small becomes large - 1.
        let s = ScoreScale::from_range(0.0, 0.0);
        assert_eq!((s.offset(), s.scale()), (-1.0, 100.0));
        assert_eq!(s.bin(0.0), 100);
        assert_eq!(s.zero_bin(), 100);
    }
}

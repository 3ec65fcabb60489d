//! Step 7 of Tomtom: the best alignment of a query with each target strand.
//!
//! An alignment ("configuration" `c`, offset `c - w`) sums the bins along one diagonal of the
//! `w x W` block of binned scores between the query and a target strand. Summing every block
//! cell by cell costs `w * W` additions per strand, for a handful of configurations each.
//!
//! Instead, [`accumulate_diagonals`] turns the `w x n` matrix of bins (every query column
//! against the pool of all target columns, strands laid end to end) into running sums along its
//! diagonals, one vectorised pass per query column. The sum of any diagonal segment is then the
//! difference of two running sums, and for the segments of a strand's configurations these
//! always lie in the last query row, in the strand's last column or in the column just before
//! the strand (the previous strand's last column). So only the last row and the last column of
//! each strand are kept ([`StrandEnds`]), and a strand costs two loads per configuration from
//! memory next to its own. The running sums are `u16` with wrapping arithmetic: a difference is
//! exact modulo 2^16, hence exact whenever the true segment sum is below 2^16
//! ([`prefix_sums_are_exact`]); otherwise [`direct_diagonal_sums`] adds the cells.

/// Range of MEME "configurations" (`offset + query width`) allowed by the parameters, for a
/// query of width `w` and a target of width `tw`.
pub(crate) fn configurations(
    w: usize,
    tw: usize,
    internal: bool,
    min_overlap: usize,
) -> (usize, usize) {
    if internal {
        (w.min(tw), w.max(tw))
    } else if min_overlap > 1 {
        let mo = min_overlap.min(w).min(tw);
        (mo, w + tw - mo)
    } else {
        (1, w + tw - 1)
    }
}

/// The query rows and the first target column of configuration `c`, and its overlap.
#[inline(always)]
fn configuration_cells(w: usize, tw: usize, c: usize) -> (usize, usize, usize) {
    let (qi0, tj0) = if c <= w { (w - c, 0) } else { (0, c - w) };
    let ov = (w - qi0).min(tw - tj0);
    (qi0, tj0, ov)
}

/// Best complete-score alignment of one target strand, from its diagonal sums: `sum(c)` is
/// the sum of the bins of configuration `c` (asked only for the configurations in `range`).
/// Returns (shifted complete score, offset, overlap). Ties go to the larger overlap, then to
/// the first configuration (the most negative offset), as in MEME.
#[inline(always)]
pub(crate) fn best_alignment(
    sum: impl Fn(usize) -> i64,
    w: usize,
    tw: usize,
    z: usize,
    range: (usize, usize),
) -> (usize, i64, usize) {
    let z = z as i64;
    let mut best: Option<(i64, usize, usize)> = None; // (value, overlap, configuration)
    for c in range.0..=range.1 {
        let (_, _, ov) = configuration_cells(w, tw, c);
        let value = sum(c) - ov as i64 * z;
        let better = match best {
            None => true,
            Some((bv, bo, _)) => value > bv || (value == bv && ov > bo),
        };
        if better {
            best = Some((value, ov, c));
        }
    }
    let (value, ov, c) = best.unwrap_or((0, 0, w));
    let score = (value + w as i64 * z).max(0) as usize;
    (score, c as i64 - w as i64, ov)
}

/// Whether the running sums serve a query of width `w` against targets at most `widest`
/// columns wide, with bins at most `max_bin`: wrapping `u16` running sums give every segment
/// sum exactly when no segment can sum to 2^16 or more, and [`StrandEnds::best_alignment`]
/// packs configurations into 21 bits.
pub(crate) fn prefix_sums_are_exact(max_bin: usize, w: usize, widest: usize) -> bool {
    max_bin.saturating_mul(w.min(widest)) <= usize::from(u16::MAX) && w + widest < 1 << 21
}

/// Turn row `i` of a matrix of bins into running diagonal sums, given the already accumulated
/// row `i - 1`: `cur[p] += prev[p - 1]` (wrapping), so that afterwards
/// `cur[p] = sum_k bins[i - k][p - k]` down to row 0 or column 0.
pub(crate) fn accumulate_diagonals(prev: &[u16], cur: &mut [u16]) {
    crate::simd::dispatch!(accumulate_avx2, accumulate_kernel, prev, cur)
}

crate::simd::avx2_twin!(fn accumulate_avx2 = accumulate_kernel; (prev: &[u16], cur: &mut [u16]));

#[inline(always)]
fn accumulate_kernel(prev: &[u16], cur: &mut [u16]) {
    if cur.len() < 2 {
        return;
    }
    for (c, &p) in cur[1..].iter_mut().zip(prev) {
        *c = c.wrapping_add(p);
    }
}

/// The running diagonal sums that the configurations of every strand need: the last query
/// row, and the last column of each strand (all `w` rows, strand after strand, each column
/// stored bottom row first, so that the configurations read it in ascending order).
#[derive(Debug, Default)]
pub(crate) struct StrandEnds {
    w: usize,
    last_row: Vec<u16>,
    /// `ends[s * w + k]`: strand `s`'s last column at query row `w - 1 - k`.
    ends: Vec<u16>,
    /// `w` zeros: the "previous strand's last column" of the first strand.
    zeros: Vec<u16>,
}

impl StrandEnds {
    /// Prepare for a query of width `w`, a pool of `n` columns and `strands` strands.
    /// Every entry is written by [`StrandEnds::record_row`] before it is read, so the buffers
    /// are only resized, not cleared.
    pub(crate) fn reset(&mut self, w: usize, n: usize, strands: usize) {
        self.w = w;
        self.last_row.resize(n, 0);
        self.ends.resize(w * strands, 0);
        self.zeros.clear();
        self.zeros.resize(w, 0);
    }

    /// Record running-sum row `i`; `last_columns` lists each strand's last pool column.
    pub(crate) fn record_row(&mut self, i: usize, row: &[u16], last_columns: &[usize]) {
        let w = self.w;
        for (e, &p) in self.ends[w - 1 - i..]
            .iter_mut()
            .step_by(w)
            .zip(last_columns)
        {
            *e = row[p];
        }
        if i + 1 == w {
            self.last_row.copy_from_slice(row);
        }
    }

    /// The sum of configuration `c`'s diagonal for strand `s` (pool columns
    /// `start..start + tw`, directly after strand `s - 1`).
    ///
    /// The segment of configuration `c` starts at query row `w - c` (row 0 for `c >= w`) and
    /// ends in the last row at pool column `start + c - 1` while `c <= tw`, else in the
    /// strand's last column at row `w + tw - 1 - c`. The running sum before its start is in
    /// the previous strand's last column at row `w - 1 - c` while `c < w`, else 0.
    #[cfg(test)]
    pub(crate) fn configuration_sum(&self, s: usize, start: usize, tw: usize, c: usize) -> i64 {
        let w = self.w;
        // Row w + tw - 1 - c is entry c - tw of the bottom-first column; row w - 1 - c is
        // entry c.
        let end = if c <= tw {
            self.last_row[start + c - 1]
        } else {
            self.ends[s * w + c - tw]
        };
        let before = if c < w && s > 0 {
            self.ends[(s - 1) * w + c]
        } else {
            0
        };
        i64::from(end.wrapping_sub(before))
    }

    /// [`best_alignment`] of strand `s` (see `StrandEnds::configuration_sum` (tests)), with the
    /// choice made branch-free: value, overlap and configuration packed into one integer key
    /// whose maximum is the best alignment with MEME's tie-breaks. Valid when
    /// [`prefix_sums_are_exact`] holds (values within +-2^16) and `w + tw < 2^21`. With
    /// `simd` (which [`simd_available`] must have allowed) eight configurations are packed
    /// at a time with AVX-512; the keys, hence the results, are the same.
    #[inline(always)]
    pub(crate) fn best_alignment(
        &self,
        s: usize,
        start: usize,
        tw: usize,
        z: usize,
        range: (usize, usize),
        simd: bool,
    ) -> (usize, i64, usize) {
        let w = self.w;
        debug_assert!(w + tw < 1 << FIELD);
        let end_col = &self.ends[s * w..(s + 1) * w];
        let prev_col = if s > 0 {
            &self.ends[(s - 1) * w..s * w]
        } else {
            &self.zeros[..w]
        };
        #[cfg(target_arch = "x86_64")]
        let best = if simd {
            // SAFETY: `simd` is only set where `simd_available()` found the features.
            unsafe { avx512::best_key(&self.last_row, end_col, prev_col, w, start, tw, z, range) }
        } else {
            self.best_key(end_col, prev_col, start, tw, z, range)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let best = {
            let _ = simd;
            self.best_key(end_col, prev_col, start, tw, z, range)
        };
        let z = z as i64;
        if best == i64::MIN {
            // An empty range, as in `best_alignment`.
            return (w * z as usize, 0, 0);
        }
        let value = best >> (2 * FIELD);
        let ov = ((best >> FIELD) & MASK) as usize;
        let c = (MASK - (best & MASK)) as usize;
        let score = (value + w as i64 * z).max(0) as usize;
        (score, c as i64 - w as i64, ov)
    }

    /// The largest packed key of [`StrandEnds::best_alignment`] (`i64::MIN` for an empty
    /// range), one configuration at a time.
    #[inline(always)]
    fn best_key(
        &self,
        end_col: &[u16],
        prev_col: &[u16],
        start: usize,
        tw: usize,
        z: usize,
        range: (usize, usize),
    ) -> i64 {
        let w = self.w;
        let z = z as i64;
        let mut best = i64::MIN;
        let last_row = &self.last_row;
        // The configurations split into up to four runs by where their sums come from (see
        // `configuration_sum`): the end in the last row while c <= tw, else in the strand's
        // last column; the running sum before the start in the previous strand's last column
        // while c < w, else 0. In each run the overlap min(c, w, tw, w + tw - c) is one of its
        // four terms, so each run is a loop without branches or minimums.
        macro_rules! scan {
            ($from:expr, $to:expr, $c:ident => $end:expr, $before:expr, $ov:expr) => {
                for $c in $from..=$to {
                    let ov = ($ov) as i64;
                    let value = i64::from(($end).wrapping_sub($before)) - ov * z;
                    // Larger value, then larger overlap, then smaller configuration.
                    let key = (value << (2 * FIELD)) | (ov << FIELD) | (MASK - $c as i64);
                    best = best.max(key);
                }
            };
        }
        let (lo, hi) = range;
        scan!(lo, hi.min(tw).min(w - 1), c => last_row[start + c - 1], prev_col[c], c);
        scan!(lo.max(tw + 1), hi.min(w - 1), c => end_col[c - tw], prev_col[c], tw);
        scan!(lo.max(w), hi.min(tw), c => last_row[start + c - 1], 0u16, w);
        scan!(lo.max(w).max(tw + 1), hi, c => end_col[c - tw], 0u16, w + tw - c);
        best
    }
}

/// Bits per field of the packed alignment keys (overlap, configuration).
const FIELD: u32 = 21;
const MASK: i64 = (1 << FIELD) - 1;

/// Whether [`StrandEnds::best_alignment`] may take its AVX-512 path on this CPU.
pub(crate) fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{FIELD, MASK};
    use std::arch::x86_64::*;

    /// `StrandEnds::best_key`, eight configurations per step: each lane reads its end from the
    /// last row (`c <= tw`) or the strand's bottom-first last column (entry `c - tw`), and the
    /// sum before its start from the previous strand's column (entry `c`, while `c < w`),
    /// with masked loads, so no lane reads outside its array.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn best_key(
        last_row: &[u16],
        end_col: &[u16],
        prev_col: &[u16],
        w: usize,
        start: usize,
        tw: usize,
        z: usize,
        (lo, hi): (usize, usize),
    ) -> i64 {
        assert!(
            lo >= 1
                && end_col.len() == w
                && prev_col.len() == w
                && (hi < lo || start + hi.min(tw) <= last_row.len())
        );
        let iota = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
        let (wv, twv, sum) = (
            _mm512_set1_epi64(w as i64),
            _mm512_set1_epi64(tw as i64),
            _mm512_set1_epi64((w + tw) as i64),
        );
        let (zv, maskv) = (_mm512_set1_epi64(z as i64), _mm512_set1_epi64(MASK));
        let mut best = _mm512_set1_epi64(i64::MIN);
        let mut c0 = lo;
        while c0 <= hi {
            let c = _mm512_add_epi64(_mm512_set1_epi64(c0 as i64), iota);
            let valid: __mmask8 = if hi - c0 >= 7 {
                0xff
            } else {
                (1u8 << (hi - c0 + 1)) - 1
            };
            let in_row = _mm512_mask_cmple_epi64_mask(valid, c, twv);
            let in_col = valid & !in_row;
            let has_before = _mm512_mask_cmplt_epi64_mask(valid, c, wv);
            // SAFETY: each load reads only its mask's lanes: row lanes have c <= tw, so
            // start + c - 1 < start + tw <= last_row.len() (asserted); column lanes have
            // tw < c <= w + tw - 1, entries c - tw in 1..w; "before" lanes have c < w.
            // The base pointers are formed with wrapping arithmetic and never dereferenced
            // outside those lanes.
            let (end, before) = unsafe {
                let row = _mm_maskz_loadu_epi16(
                    in_row,
                    last_row.as_ptr().wrapping_add(start + c0 - 1).cast(),
                );
                let col = _mm_maskz_loadu_epi16(
                    in_col,
                    end_col.as_ptr().wrapping_add(c0).wrapping_sub(tw).cast(),
                );
                let before =
                    _mm_maskz_loadu_epi16(has_before, prev_col.as_ptr().wrapping_add(c0).cast());
                (_mm_or_si128(row, col), before)
            };
            // The running sums wrap; their difference, taken modulo 2^16 and widened without
            // sign, is the segment sum.
            let value = _mm512_cvtepu16_epi64(_mm_sub_epi16(end, before));
            let ov = _mm512_min_epi64(
                _mm512_min_epi64(_mm512_min_epi64(c, wv), twv),
                _mm512_sub_epi64(sum, c),
            );
            let value = _mm512_sub_epi64(value, _mm512_mul_epu32(ov, zv));
            // Larger value, then larger overlap, then smaller configuration.
            let key = _mm512_or_si512(
                _mm512_or_si512(
                    _mm512_slli_epi64::<{ 2 * FIELD }>(value),
                    _mm512_slli_epi64::<FIELD>(ov),
                ),
                _mm512_sub_epi64(maskv, c),
            );
            best = _mm512_mask_max_epi64(best, valid, best, key);
            c0 += 8;
        }
        _mm512_reduce_max_epi64(best)
    }
}

/// Sum the bins of a `w x tw` block (row `i` of query column `i` starts at `bins[i * stride]`)
/// along its diagonals: `diag[j - i + w - 1] += bins[i][j]`, i.e. per configuration. The
/// direct way, used when the running sums could wrap.
pub(crate) fn direct_diagonal_sums(
    bins: &[u16],
    stride: usize,
    w: usize,
    tw: usize,
    diag: &mut Vec<i64>,
) {
    diag.clear();
    diag.resize(w + tw - 1, 0);
    for i in 0..w {
        let row = &bins[i * stride..i * stride + tw];
        let d = &mut diag[w - 1 - i..w - 1 - i + tw];
        for (acc, &b) in d.iter_mut().zip(row) {
            *acc += i64::from(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn best_alignment_by_hand() {
        // Query width 2, target width 3, z = 1. Block rows = query columns (row stride 4: the
        // block sits inside a wider pool).
        //   q0: 0 5 1 | 9
        //   q1: 1 0 4 | 9
        // Configurations c = 1..=4 (offset c - 2):
        //   c=1: q1-t0            -> 1 - 1 = 0        (overlap 1)
        //   c=2: q0-t0, q1-t1     -> 0 + 0 - 2 = -2   (overlap 2)
        //   c=3: q0-t1, q1-t2     -> 5 + 4 - 2 = 7    (overlap 2)  <- best
        //   c=4: q0-t2            -> 1 - 1 = 0        (overlap 1)
        let bins = [0u16, 5, 1, 9, 1, 0, 4, 9];
        let mut diag = Vec::new();
        direct_diagonal_sums(&bins, 4, 2, 3, &mut diag);
        assert_eq!(diag, vec![1, 0, 9, 1]);
        let (score, offset, overlap) = best_alignment(|c| diag[c - 1], 2, 3, 1, (1, 4));
        assert_eq!((score, offset, overlap), (7 + 2, 1, 2));
        // min-overlap 2 keeps the same best; internal also.
        assert_eq!(best_alignment(|c| diag[c - 1], 2, 3, 1, (2, 3)).1, 1);
        // The same sums from running diagonal sums (strands of width 3 and 1).
        let ends = strand_ends(&bins, 4, 2, &[3, 1]);
        for c in 1..=4 {
            assert_eq!(ends.configuration_sum(0, 0, 3, c), diag[c - 1], "c {c}");
        }
        // The width-1 strand at column 3: c = 1 is q1-t3, c = 2 is q0-t3.
        assert_eq!(ends.configuration_sum(1, 3, 1, 1), 9);
        assert_eq!(ends.configuration_sum(1, 3, 1, 2), 9);
    }

    /// Running sums of a bins matrix row by row, as `analyse` makes them.
    fn strand_ends(bins: &[u16], n: usize, w: usize, widths: &[usize]) -> StrandEnds {
        let last_columns: Vec<usize> = widths
            .iter()
            .scan(0, |end, &tw| {
                *end += tw;
                Some(*end - 1)
            })
            .collect();
        let mut ends = StrandEnds::default();
        ends.reset(w, n, widths.len());
        let mut prev = vec![0u16; n];
        for i in 0..w {
            let mut cur = bins[i * n..(i + 1) * n].to_vec();
            if i > 0 {
                accumulate_diagonals(&prev, &mut cur);
            }
            ends.record_row(i, &cur, &last_columns);
            prev = cur;
        }
        ends
    }

    #[test]
    fn configurations_follow_min_overlap_and_internal() {
        // Default: every overlap from 1 to w + W - 1 (offsets 1 - w ..= W - 1).
        assert_eq!(configurations(5, 3, false, 1), (1, 7));
        // min-overlap 2: configurations 2 ..= w + W - 2.
        assert_eq!(configurations(5, 3, false, 2), (2, 6));
        // min-overlap larger than a motif is lowered to its width, as in MEME.
        assert_eq!(configurations(5, 3, false, 9), (3, 5));
        // Internal: the narrower motif inside the wider one.
        assert_eq!(configurations(5, 3, true, 1), (3, 5));
        assert_eq!(configurations(2, 3, true, 1), (2, 3));
    }

    #[test]
    fn ties_prefer_larger_overlap_then_first() {
        // z = 2; all bins 2 (every alignment scores 0): the largest overlap wins, and among
        // equal overlaps the first configuration (most negative offset).
        let bins = [2u16; 6];
        let mut diag = Vec::new();
        direct_diagonal_sums(&bins, 3, 2, 3, &mut diag);
        let (score, offset, overlap) = best_alignment(|c| diag[c - 1], 2, 3, 2, (1, 4));
        assert_eq!((score, offset, overlap), (4, 0, 2));
    }

    #[test]
    fn exactness_bound() {
        assert!(prefix_sums_are_exact(100, 655, 1000));
        assert!(prefix_sums_are_exact(100, 1000, 655));
        assert!(!prefix_sums_are_exact(100, 656, 656));
        assert!(!prefix_sums_are_exact(usize::MAX, 2, 2));
        assert!(!prefix_sums_are_exact(1, 1 << 20, 1 << 20));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Running diagonal sums give the cell-by-cell sums of every strand and configuration,
        /// including where the running sums wrap around 2^16 (large bins, many rows).
        #[test]
        fn prefix_sums_equal_direct_sums(
            // Past 257 rows of bin 255 the running sums wrap around 2^16.
            w in prop_oneof![1usize..40, 250usize..400],
            widths in proptest::collection::vec(1usize..30, 1..8),
            max_bin in prop_oneof![Just(3u16), Just(100), Just(255)],
            seed in any::<u64>(),
            min_overlap in 1usize..4,
            internal in any::<bool>(),
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
            let n: usize = widths.iter().sum();
            let bins: Vec<u16> = (0..w * n).map(|_| rng.gen_range(0..=max_bin)).collect();
            let ends = strand_ends(&bins, n, w, &widths);
            let mut direct = Vec::new();
            let mut start = 0;
            for (s, &tw) in widths.iter().enumerate() {
                let range = configurations(w, tw, internal, min_overlap);
                direct_diagonal_sums(&bins[start..], n, w, tw, &mut direct);
                for c in range.0..=range.1 {
                    prop_assert_eq!(direct[c - 1], ends.configuration_sum(s, start, tw, c), "strand {} c {}", s, c);
                }
                // Small bins make ties common, which exercises the tie-breaks.
                for z in [0usize, 1, usize::from(max_bin) / 2] {
                    let want = best_alignment(|c| direct[c - 1], w, tw, z, range);
                    prop_assert_eq!(ends.best_alignment(s, start, tw, z, range, false), want, "strand {} z {}", s, z);
                    if simd_available() {
                        prop_assert_eq!(ends.best_alignment(s, start, tw, z, range, true), want, "simd: strand {} z {}", s, z);
                    }
                }
                start += tw;
            }
        }
    }
}

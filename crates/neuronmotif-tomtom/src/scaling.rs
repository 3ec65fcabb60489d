//! Steps 4 and 5 of Tomtom: the per-query-column median shift that makes unaligned columns
//! score 0 ("complete scores"), and the integer scaling of shifted scores into bins.

/// Number of integer bins the whole shifted score range is scaled into (MEME's `BINS`).
pub const BINS: f64 = 100.0;

/// MEME's "median" of one query row: the mean of the sorted values at indices
/// `floor(n/2) - 1` and `ceil(n/2) - 1` (clamped at 0).
///
/// For an even `n` both indices coincide, so this is the lower middle value; for an odd `n` it
/// is the mean of the true median and the value below it. MEME's source calls this "off by one
/// position, but close enough"; we keep it because the bins depend on it. The slice is
/// reordered. Returns `None` for an empty slice.
pub fn tomtom_median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let i2 = n.div_ceil(2) - 1;
    let i1 = (n / 2).saturating_sub(1).min(i2);
    let (below, hi, _) = values.select_nth_unstable_by(i2, f64::total_cmp);
    let hi = *hi;
    let lo = if i1 == i2 {
        hi
    } else {
        // i1 == i2 - 1: the largest value below position i2.
        below.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    };
    Some((lo + hi) / 2.0)
}

/// Rows shorter than this go straight to [`tomtom_median`].
const SAMPLED_MEDIAN_MIN: usize = 4096;
/// Number of evenly spaced values sampled to bracket the median.
const MEDIAN_SAMPLES: usize = 512;
/// Half-width of the bracket, in sample ranks (about 2.8 standard deviations of the sample
/// median's rank for 512 samples).
const MEDIAN_BRACKET: usize = 32;

/// The same value as [`tomtom_median`], without reordering the row (Floyd-Rivest style):
/// two pivots taken from an evenly spaced sample bracket the wanted ranks; one pass counts the
/// values below the lower pivot and keeps those between the pivots in `buf`; the ranks are
/// then selected there. Should the bracket miss (the sample is unrepresentative), it falls
/// back to a full selection, so the result is always exact. Returns `None` for an empty row.
pub fn median_of_row(values: &[f64], buf: &mut Vec<f64>) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let full = |buf: &mut Vec<f64>| {
        buf.clear();
        buf.extend_from_slice(values);
        tomtom_median(buf)
    };
    if n < SAMPLED_MEDIAN_MIN {
        return full(buf);
    }
    let i2 = n.div_ceil(2) - 1;
    let i1 = (n / 2).saturating_sub(1).min(i2);
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
    let (below, kept) = crate::simd::dispatch!(
        bracket_avx2,
        bracket,
        values,
        lo_pivot,
        hi_pivot,
        &mut buf[..n]
    );
    if below > i1 || i2 >= below + kept {
        return full(buf);
    }
    buf.truncate(kept);
    let (r1, r2) = (i1 - below, i2 - below);
    let (left, v2, _) = buf.select_nth_unstable_by(r2, f64::total_cmp);
    let v2 = *v2;
    let v1 = if r1 == r2 {
        v2
    } else {
        left.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    };
    Some((v1 + v2) / 2.0)
}

crate::simd::avx2_twin!(fn bracket_avx2 = bracket;
    (values: &[f64], lo: f64, hi: f64, out: &mut [f64]) -> (usize, usize));

/// Count the values below `lo`, and copy those in `[lo, hi]` to the front of `out`
/// (`out.len() >= values.len()`). Returns (count below, count kept).
#[inline(always)]
fn bracket(values: &[f64], lo: f64, hi: f64, out: &mut [f64]) -> (usize, usize) {
    let (mut below, mut kept) = (0usize, 0usize);
    for &x in values {
        below += usize::from(x < lo);
        // Always store, advance only when inside: no unpredictable branch.
        if let Some(slot) = out.get_mut(kept) {
            *slot = x;
        }
        kept += usize::from(x >= lo && x <= hi);
    }
    (below, kept)
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

//! Steps 6 and 8 of Tomtom: null distributions of summed column scores, and the p-value of the
//! best alignment as the maximum over offsets and strands.
//!
//! **Null model (MEME's).** Under the null, each aligned query column `i` scores the bin of a
//! target column drawn uniformly from *all* target columns (both strands), independently of the
//! other columns. The bin distribution of column `i` is therefore the normalised histogram of
//! row `i` of the binned score matrix ([`ColumnPmf`]), and the null distribution of a
//! contiguous span of query columns is the convolution of their histograms ([`Pmf`]).
//!
//! **Complete scores.** An alignment of query span `[s, s + L)` against a target has the
//! complete score `sum of the L aligned bins + (w - L) * z`, where `z` is the bin of a shifted
//! score of 0 ([`crate::ScoreScale::zero_bin`]) and `w` the query width: every unaligned query
//! column contributes its median.
//!
//! **Maximum over alignments.** For a target of width `W`, MEME treats the `w + W - 1`
//! alignments (all of them, whatever `min_overlap`), each on both strands, as independent.
//! Then `P(max >= k) = 1 - prod_a (1 - S_a(k))^strands`, with `S_a` the survival function of
//! alignment `a`. We evaluate it as `-expm1(strands * sum_a ln(1 - S_a(k)))`, which keeps full
//! relative precision for tiny p-values; MEME computes the same quantity by a pmf recursion
//! followed by a reverse cumulative sum. Each `S_a` is itself a reverse cumulative sum of a
//! pmf: no tail probability is ever formed as `1 - cdf`.
//!
//! **Memory.** MEME tabulates all `w(w+1)/2` span distributions (length `100w + 1` each), which
//! is cubic in `w`. Here span distributions are built one start column at a time by
//! extending the span one column at a time, only up to the widest target, and each is
//! consumed as soon as it exists: at the `k` values that some target actually scored. The
//! working memory is `O(100 W_max)` doubles for the span buffers plus `O(100 w)` for the column
//! histograms: linear in the query width, never cubic.

/// Distribution of one query column's score bin against a target column drawn uniformly from
/// the database: `probs[k] = P(bin = lo + k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPmf {
    lo: usize,
    probs: Vec<f64>,
    /// The non-zero entries of `probs` as (index, probability), ascending: the terms of a
    /// convolution (column pmfs have gaps, bins that no target column reaches).
    terms: Vec<(usize, f64)>,
}

impl ColumnPmf {
    /// From bin counts (`counts[b]` = number of target columns scoring bin `b`). Returns `None`
    /// when every count is zero.
    pub fn from_counts(counts: &[u32]) -> Option<ColumnPmf> {
        let lo = counts.iter().position(|&c| c > 0)?;
        let hi = counts.iter().rposition(|&c| c > 0)?;
        let total: f64 = counts.iter().map(|&c| f64::from(c)).sum();
        let inv = 1.0 / total;
        let probs: Vec<f64> = counts[lo..=hi]
            .iter()
            .map(|&c| f64::from(c) * inv)
            .collect();
        let terms = probs
            .iter()
            .enumerate()
            .filter(|&(_, &p)| p != 0.0)
            .map(|(v, &p)| (v, p))
            .collect();
        Some(ColumnPmf { lo, probs, terms })
    }

    /// The lowest bin with non-zero probability.
    pub fn lo(&self) -> usize {
        self.lo
    }

    /// `P(bin = lo + k)` for `k = 0..`.
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }
}

/// Outputs per register block of [`Pmf::convolve_into`]: eight AVX2 vectors.
const CONV_BLOCK: usize = 32;

/// Distribution of a sum of column bins: `probs[k] = P(sum = lo + k)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pmf {
    lo: usize,
    probs: Vec<f64>,
}

impl Pmf {
    /// The distribution of a single column.
    pub fn from_column(c: &ColumnPmf) -> Pmf {
        Pmf {
            lo: c.lo,
            probs: c.probs.clone(),
        }
    }

    /// Overwrite with the distribution of a single column, reusing the allocation.
    pub fn set_column(&mut self, c: &ColumnPmf) {
        self.lo = c.lo;
        self.probs.clear();
        self.probs.extend_from_slice(&c.probs);
    }

    /// The lowest value with non-zero probability.
    pub fn lo(&self) -> usize {
        self.lo
    }

    /// `P(sum = lo + k)` for `k = 0..`.
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }

    /// `out` = the distribution of `self + c` (independent), reusing `out`'s allocation.
    ///
    /// Output-stationary: each block of 32 outputs is summed in registers over the
    /// column's values in ascending order and stored once. Every output is the same sum, in the
    /// same order, as adding `c[v] * self` for `v = 0, 1, ...` into a zeroed array (the terms
    /// that fall outside either pmf are `+0.0`, which leaves a sum of non-negative values
    /// unchanged), so the result does not depend on the blocking.
    pub fn convolve_into(&self, c: &ColumnPmf, out: &mut Pmf) {
        self.convolve_with(c, out, &mut Vec::new());
    }

    /// [`Pmf::convolve_into`] with a caller-kept scratch buffer (no allocation once warm).
    #[inline(always)]
    pub fn convolve_with(&self, c: &ColumnPmf, out: &mut Pmf, scratch: &mut Vec<f64>) {
        self.convolve_from(c, out, scratch, 0);
    }

    /// [`Pmf::convolve_with`] for the entries from `from` up only: the blocks of outputs
    /// wholly below `from` are set to 0 instead of summed (the others are the same sums),
    /// for a last span whose survival table is read from `from` up.
    #[inline(always)]
    pub(crate) fn convolve_from(
        &self,
        c: &ColumnPmf,
        out: &mut Pmf,
        scratch: &mut Vec<f64>,
        from: usize,
    ) {
        let (a, b, terms) = (&self.probs, &c.probs, &c.terms);
        out.lo = self.lo + c.lo;
        let len = a.len() + b.len() - 1;
        // `a` with b.len() - 1 zeros before it and enough after it for the last block:
        // out[k] = sum_v b[v] * padded[k + b.len() - 1 - v].
        let pad = b.len() - 1;
        let blocks = len.div_ceil(CONV_BLOCK);
        let skip = (from / CONV_BLOCK).min(blocks);
        let padded_len = blocks * CONV_BLOCK + pad;
        let padded = scratch;
        padded.clear();
        padded.resize(pad, 0.0);
        padded.extend_from_slice(a);
        padded.resize(padded_len, 0.0);
        let result = &mut out.probs;
        result.clear();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // The AVX2 blocks overwrite every output, so the outputs are not zeroed first.
                result.reserve(blocks * CONV_BLOCK);
                let spare = &mut result.spare_capacity_mut()[..blocks * CONV_BLOCK];
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { conv_blocks_avx2(terms, padded, pad, a.len(), skip, spare) };
                // SAFETY: conv_blocks_avx2 stored all blocks * CONV_BLOCK values of `spare`.
                unsafe { result.set_len(blocks * CONV_BLOCK) };
                result.truncate(len);
                return;
            }
        }
        result.resize(blocks * CONV_BLOCK, 0.0);
        conv_blocks(terms, padded, pad, a.len(), skip, result);
        result.truncate(len);
    }

    /// `out[k] = P(sum >= lo + k)` for `k >= from` only, as the same reverse cumulative sum as
    /// [`Pmf::survival_into`] (so the same values there); `out` is made at least as long as
    /// the pmf, and its entries below `from` are left as they were.
    #[inline(always)]
    pub fn survival_from(&self, from: usize, out: &mut Vec<f64>) {
        let n = self.probs.len();
        if out.len() < n {
            out.resize(n, 0.0);
        }
        let mut acc = 0.0;
        for (o, &p) in out[from..n].iter_mut().zip(&self.probs[from..]).rev() {
            acc += p;
            *o = acc;
        }
    }

    /// `out[k] = P(sum >= lo + k)`, as a reverse cumulative sum ([`Pmf::survival_from`] 0).
    pub fn survival_into(&self, out: &mut Vec<f64>) {
        out.clear();
        self.survival_from(0, out);
    }
}

/// The terms of `terms` (ascending `v`) that reach the values of `a` (length `a_len`) from
/// the block of outputs `k0 .. k0 + CONV_BLOCK`: output `k` reads `a[k - v]`. The other terms
/// read only zeros there and would add `+0.0` to each of the block's sums (non-negative,
/// started at `+0.0`), which leaves them unchanged: skipping them changes no bit. Edge blocks
/// skip most terms: an eighth of all term blocks in 879 × 879 JASPAR 2024.
#[inline(always)]
fn block_terms(terms: &[(usize, f64)], k0: usize, a_len: usize) -> &[(usize, f64)] {
    let first = terms.partition_point(|&(v, _)| v + a_len <= k0);
    let end = terms.partition_point(|&(v, _)| v < k0 + CONV_BLOCK);
    &terms[first..end.max(first)]
}

/// The blocks of [`Pmf::convolve_with`]: `out[k] = sum_v b[v] * padded[k + pad - v]` over
/// the non-zero terms `(v, b[v])`, each block of [`CONV_BLOCK`] outputs summed over `v` in
/// ascending order; `padded` holds `pad` zeros, the `a_len` values of `a`, then zeros. The
/// first `skip` blocks are left as they are (zeroed by the caller).
fn conv_blocks(
    terms: &[(usize, f64)],
    padded: &[f64],
    pad: usize,
    a_len: usize,
    skip: usize,
    out: &mut [f64],
) {
    for (i, block) in out.chunks_exact_mut(CONV_BLOCK).enumerate().skip(skip) {
        let k0 = i * CONV_BLOCK;
        for &(v, bv) in block_terms(terms, k0, a_len) {
            let src = &padded[k0 + pad - v..k0 + pad - v + CONV_BLOCK];
            for (x, &y) in block.iter_mut().zip(src) {
                *x += bv * y;
            }
        }
    }
}

/// [`conv_blocks`] with the block's sums held in eight AVX2 registers (the compiler keeps a
/// block array in memory and reloads it at every term; eight independent sums, rather than
/// four, keep both add pipes busy despite the add's latency). Same operations, same order.
/// Every element of `out` (a whole number of blocks) is written: the first `skip` blocks
/// with zeros.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn conv_blocks_avx2(
    terms: &[(usize, f64)],
    padded: &[f64],
    pad: usize,
    a_len: usize,
    skip: usize,
    out: &mut [std::mem::MaybeUninit<f64>],
) {
    use std::arch::x86_64::*;
    // Terms are ascending, so the last has the largest offset.
    assert!(
        out.len().is_multiple_of(CONV_BLOCK)
            && padded.len() >= out.len() + pad
            && terms.last().is_none_or(|&(v, _)| v <= pad)
    );
    for (i, block) in out.chunks_exact_mut(CONV_BLOCK).enumerate() {
        let k0 = i * CONV_BLOCK;
        let mut acc = [_mm256_setzero_pd(); CONV_BLOCK / 4];
        let terms = if i < skip {
            &[][..]
        } else {
            block_terms(terms, k0, a_len)
        };
        for &(v, bv) in terms {
            let m = _mm256_set1_pd(bv);
            // SAFETY: k0 + pad - v + CONV_BLOCK <= out.len() + pad <= padded.len() (asserted), and
            // v <= pad.
            unsafe {
                let src = padded.as_ptr().add(k0 + pad - v);
                for (t, a) in acc.iter_mut().enumerate() {
                    let y = _mm256_loadu_pd(src.add(4 * t));
                    *a = _mm256_add_pd(*a, _mm256_mul_pd(m, y));
                }
            }
        }
        for (t, a) in acc.iter().enumerate() {
            // SAFETY: the block has CONV_BLOCK elements; storing into uninitialised f64 slots is
            // fine.
            unsafe { _mm256_storeu_pd(block.as_mut_ptr().cast::<f64>().add(4 * t), *a) };
        }
    }
}

/// `P(X >= x)` from a survival table made by [`Pmf::survival_into`] for a pmf starting at `lo`.
#[cfg(test)]
fn survival_at(surv: &[f64], lo: usize, x: i64) -> f64 {
    let lo = lo as i64;
    if x <= lo {
        return 1.0;
    }
    surv.get((x - lo) as usize).map_or(0.0, |v| v.min(1.0))
}

/// The targets of one width, and the complete scores (in bins) they reached: the p-values
/// are needed only there.
#[derive(Debug, Clone, PartialEq)]
pub struct WidthGroup {
    width: usize,
    scores: Vec<usize>,
    log_cdf: Vec<f64>,
}

impl WidthGroup {
    /// A group for targets of `width` columns that scored `scores` (any order, duplicates
    /// allowed).
    pub fn new(width: usize, mut scores: Vec<usize>) -> WidthGroup {
        scores.sort_unstable();
        scores.dedup();
        let n = scores.len();
        WidthGroup {
            width,
            scores,
            log_cdf: vec![0.0; n],
        }
    }

    /// Make this the group of targets of `width` whose distinct scores, ascending, `fill`
    /// pushes (onto an empty list), keeping the allocations.
    pub(crate) fn refill(&mut self, width: usize, fill: impl FnOnce(&mut Vec<usize>)) {
        self.width = width;
        self.scores.clear();
        fill(&mut self.scores);
        debug_assert!(self.scores.windows(2).all(|p| p[0] < p[1]));
        self.log_cdf.clear();
        self.log_cdf.resize(self.scores.len(), 0.0);
    }

    /// Target width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The distinct complete scores, ascending.
    pub fn scores(&self) -> &[usize] {
        &self.scores
    }

    /// `P(max over alignments and strands >= k)` for each score `k` of [`WidthGroup::scores`],
    /// after [`max_null_pvalues`] has run.
    pub fn p_values(&self, strands: u32) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.scores.len());
        self.push_p_values(strands, &mut out);
        out
    }

    /// [`WidthGroup::p_values`] appended to `out`.
    pub(crate) fn push_p_values(&self, strands: u32, out: &mut Vec<f64>) {
        let n = f64::from(strands);
        out.extend(
            self.log_cdf
                .iter()
                .map(|&l| (-(n * l).exp_m1()).clamp(0.0, 1.0)),
        );
    }

    /// The p-value of one score (binary search in [`WidthGroup::scores`]).
    pub fn p_value_of(&self, score: usize, strands: u32) -> Option<f64> {
        let i = self.scores.binary_search(&score).ok()?;
        let n = f64::from(strands);
        Some((-(n * self.log_cdf[i]).exp_m1()).clamp(0.0, 1.0))
    }
}

/// How many of the alignments of a width-`target_width` target against a width-`w` query
/// use exactly the query span `[s, s + len)` (MEME's enumeration: start columns `w-1 .. 0` with
/// length `min(W, w - s)`, then prefixes of lengths `min(w, W-1) .. min(w, 1)`).
pub fn span_multiplicity(w: usize, target_width: usize, s: usize, len: usize) -> usize {
    let window = usize::from(len == target_width.min(w - s));
    let prefix = if s == 0 {
        if len < w {
            usize::from(len < target_width)
        } else {
            target_width.saturating_sub(w)
        }
    } else {
        0
    };
    window + prefix
}

/// Fill every group's `P(max >= k)` tables (read them with [`WidthGroup::p_values`]).
///
/// `columns[i]` is query column `i`'s bin distribution and `zero_bin` the bin of a shifted
/// score of 0. The accumulated quantity per (group, score) is
/// `sum over alignments a of ln(1 - S_a(score))`.
pub fn max_null_pvalues(columns: &[ColumnPmf], zero_bin: usize, groups: &mut [WidthGroup]) {
    max_null_pvalues_with(columns, zero_bin, groups, &mut NullScratch::default());
}

/// The buffers of [`max_null_pvalues`], kept between the queries of a workspace (every
/// element is written before it is read, or, for the logarithm memo, stamped stale).
#[derive(Debug, Default)]
pub(crate) struct NullScratch {
    cur: Pmf,
    next: Pmf,
    surv: Vec<f64>,
    padded: Vec<f64>,
    memo: LogMemo,
    runs: Vec<(usize, usize, usize)>,
}

/// [`max_null_pvalues`] with buffers kept by the caller.
pub(crate) fn max_null_pvalues_with(
    columns: &[ColumnPmf],
    zero_bin: usize,
    groups: &mut [WidthGroup],
    scratch: &mut NullScratch,
) {
    crate::simd::dispatch!(
        max_null_pvalues_avx2,
        max_null_pvalues_kernel,
        columns,
        zero_bin,
        groups,
        scratch
    )
}

crate::simd::avx2_twin!(fn max_null_pvalues_avx2 = max_null_pvalues_kernel;
    (columns: &[ColumnPmf], zero_bin: usize, groups: &mut [WidthGroup], scratch: &mut NullScratch));

#[inline(always)]
fn max_null_pvalues_kernel(
    columns: &[ColumnPmf],
    zero_bin: usize,
    groups: &mut [WidthGroup],
    scratch: &mut NullScratch,
) {
    let w = columns.len();
    let Some(max_width) = groups.iter().map(|g| g.width).max() else {
        return;
    };
    for g in groups.iter_mut() {
        g.log_cdf.iter_mut().for_each(|v| *v = 0.0);
    }
    let NullScratch {
        cur,
        next,
        surv,
        padded: scratch,
        memo,
        runs,
    } = scratch;
    // Per group: its multiplicity for the current span and its runs of scores there.
    runs.clear();
    runs.resize(groups.len(), (0, 0, 0));
    for s in 0..w {
        let longest = (w - s).min(max_width);
        for len in 1..=longest {
            let shift = ((w - len) * zero_bin) as i64;
            // The span's pmf starts at `lo` and has `slots` entries: known before it is
            // computed (its first column's, or the previous span's and the new column's).
            let c = &columns[s + len - 1];
            let (lo, slots) = if len == 1 {
                (c.lo, c.probs.len())
            } else {
                (cur.lo + c.lo, cur.probs.len() + c.probs.len() - 1)
            };
            let first = shift + lo as i64;
            // The scores are ascending, so they fall in three runs: at or below the span's
            // lowest value (survival 1), inside the survival table, and beyond it (survival
            // 0, nothing to add). Table slot of score k: k - shift - lo.
            let mut lowest = None::<usize>;
            // Groups that read the table (a group's scores are distinct, so a table read by
            // one group is read once per slot: no use for the memo).
            let mut readers = 0;
            for (g, run) in groups.iter().zip(runs.iter_mut()) {
                let m = span_multiplicity(w, g.width, s, len);
                if m == 0 {
                    *run = (0, 0, 0);
                    continue;
                }
                // (Usually the table starts below every score, or reaches past them all:
                // tested first.)
                let below = match g.scores.first() {
                    Some(&k) if k as i64 > first => 0,
                    _ => g.scores.partition_point(|&k| k as i64 <= first),
                };
                let in_table = |&k: &usize| ((k as i64 - first) as u64) < slots as u64;
                let inside = match g.scores.last() {
                    Some(k) if below < g.scores.len() && in_table(k) => g.scores.len() - below,
                    _ => g.scores[below..].partition_point(in_table),
                };
                if inside > 0 {
                    let slot = (g.scores[below] as i64 - first) as usize;
                    lowest = Some(lowest.map_or(slot, |l| l.min(slot)));
                    readers += 1;
                }
                *run = (m, below, inside);
            }
            // The span's pmf. The last span from `s` extends no other, so its entries below
            // the lowest slot read are not needed.
            if len == 1 {
                cur.set_column(c);
            } else {
                let from = if len == longest {
                    lowest.unwrap_or(slots)
                } else {
                    0
                };
                cur.convolve_from(c, next, scratch, from);
                std::mem::swap(cur, next);
            }
            debug_assert_eq!((cur.lo, cur.probs.len()), (lo, slots));
            // The survival table from the top down to the lowest slot read (the same sums,
            // in the same order, as the whole table has there), and fresh logarithms for it.
            if let Some(from) = lowest {
                cur.survival_from(from, surv);
                if readers > 1 {
                    memo.next_span(slots);
                }
            }
            // A span serves every group whose targets align it, often the same scores over
            // and over.
            for (g, &(m, below, inside)) in groups.iter_mut().zip(runs.iter()) {
                if m == 0 {
                    continue;
                }
                let m = m as f64;
                let (certain, accs) = g.log_cdf.split_at_mut(below);
                let scores = &g.scores[below..];
                let one = m * (-1.0f64).ln_1p();
                for acc in certain {
                    *acc += one;
                }
                let reads = scores[..inside].iter().zip(&mut accs[..inside]);
                if readers > 1 {
                    for (&k, acc) in reads {
                        let i = (k as i64 - first) as usize;
                        let sv = surv[i].min(1.0);
                        if sv > 0.0 {
                            *acc += m * memo.ln_1m(i, sv);
                        }
                    }
                } else {
                    for (&k, acc) in reads {
                        let sv = surv[(k as i64 - first) as usize].min(1.0);
                        if sv > 0.0 {
                            *acc += m * (-sv).ln_1p();
                        }
                    }
                }
            }
        }
    }
}

/// `ln(1 - S)` memoised per survival-table slot for the current span: a span serves every
/// width group, often at the same scores, and the logarithm is the costly part. A slot is
/// current when its stamp is the span's; a new span takes a new stamp instead of clearing the
/// table, and the stamps start over once `limit` spans have been stamped.
#[derive(Debug)]
struct LogMemo {
    logs: Vec<f64>,
    stamps: Vec<u32>,
    stamp: u32,
    limit: u32,
}

impl Default for LogMemo {
    /// A memo whose stamps run across every span of every query it serves (a slot from an
    /// earlier query has an older stamp, so it is stale).
    fn default() -> LogMemo {
        LogMemo::new(u32::MAX)
    }
}

impl LogMemo {
    fn new(limit: u32) -> LogMemo {
        LogMemo {
            logs: Vec::new(),
            stamps: Vec::new(),
            stamp: 0,
            limit,
        }
    }

    /// Start a span whose survival table has `len` slots: every slot becomes stale.
    #[inline(always)]
    fn next_span(&mut self, len: usize) {
        if self.stamp == self.limit {
            // Stamps would repeat from here: clear them and start over.
            self.stamps.fill(0);
            self.stamp = 0;
        }
        self.stamp += 1;
        if self.stamps.len() < len {
            self.stamps.resize(len, 0);
            self.logs.resize(len, 0.0);
        }
    }

    /// `ln(1 - sv)` for slot `i` of the current span, whose survival value there is `sv`.
    #[inline(always)]
    fn ln_1m(&mut self, i: usize, sv: f64) -> f64 {
        if self.stamps[i] != self.stamp {
            self.stamps[i] = self.stamp;
            self.logs[i] = (-sv).ln_1p();
        }
        self.logs[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Column pmfs from a tiny integer "binned score matrix" (rows: query columns).
    fn columns(rows: &[&[usize]]) -> Vec<ColumnPmf> {
        rows.iter()
            .map(|r| {
                let mut counts = vec![0u32; r.iter().max().unwrap() + 1];
                for &b in r.iter() {
                    counts[b] += 1;
                }
                ColumnPmf::from_counts(&counts).unwrap()
            })
            .collect()
    }

    /// Brute force: the distribution of sum_{i in span} row_i[j_i] over all choices of j.
    fn brute_span(rows: &[&[usize]]) -> Vec<f64> {
        let n = rows[0].len();
        let max: usize = rows.iter().map(|r| r.iter().max().unwrap()).sum();
        let mut pmf = vec![0.0; max + 1];
        let total = n.pow(rows.len() as u32);
        for code in 0..total {
            let mut c = code;
            let mut sum = 0;
            for r in rows {
                sum += r[c % n];
                c /= n;
            }
            pmf[sum] += 1.0 / total as f64;
        }
        pmf
    }

    fn dense(p: &Pmf) -> Vec<f64> {
        let mut v = vec![0.0; p.lo];
        v.extend_from_slice(&p.probs);
        v
    }

    const ROWS: [&[usize]; 3] = [&[0, 3, 3, 5, 1], &[2, 2, 0, 4, 4], &[1, 6, 0, 0, 2]];

    /// Across many spans, and through the stamps starting over (a limit of 3 spans instead
    /// of 2^32 - 1), the memo gives each span its own logarithms, never a stale one.
    #[test]
    fn log_memo_never_serves_a_stale_slot() {
        let mut memo = LogMemo::new(3);
        for span in 0..20u32 {
            let len = 1 + (span as usize % 4);
            memo.next_span(len);
            for i in 0..len {
                let sv = 0.01 * f64::from(span + 1) + 0.001 * i as f64;
                // twice: the second read comes from the memo
                for _ in 0..2 {
                    assert_eq!(memo.ln_1m(i, sv).to_bits(), (-sv).ln_1p().to_bits());
                }
            }
        }
        assert!(memo.stamp <= 3);
    }

    #[test]
    fn span_dp_equals_enumeration() {
        let cols = columns(&ROWS);
        for s in 0..3 {
            let mut cur = Pmf::from_column(&cols[s]);
            for e in s..3 {
                if e > s {
                    let mut next = Pmf::default();
                    cur.convolve_into(&cols[e], &mut next);
                    cur = next;
                }
                let want = brute_span(&ROWS[s..=e]);
                let got = dense(&cur);
                assert_eq!(got.len(), want.len(), "span {s}..={e}");
                for (g, w) in got.iter().zip(&want) {
                    assert_relative_eq!(g, w, epsilon = 1e-15);
                }
                let total: f64 = cur.probs().iter().sum();
                assert_relative_eq!(total, 1.0, epsilon = 1e-14);
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_convolution_equals_portable() {
        use rand::{Rng, SeedableRng};
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(21);
        for (la, lb) in [
            (1usize, 1usize),
            (3, 40),
            (17, 5),
            (40, 33),
            (100, 61),
            (600, 90),
            (33, 200),
        ] {
            // Column counts with gaps (zero bins), as real histograms have.
            let counts: Vec<u32> = (0..lb)
                .map(|_| {
                    if rng.gen_bool(0.4) {
                        0
                    } else {
                        rng.gen_range(1..50)
                    }
                })
                .chain([7])
                .collect();
            let c = ColumnPmf::from_counts(&counts).unwrap();
            let a: Vec<f64> = (0..la).map(|_| rng.gen::<f64>()).collect();
            let pad = c.probs.len() - 1;
            let blocks = (la + pad).div_ceil(CONV_BLOCK);
            let mut padded = vec![0.0; pad];
            padded.extend_from_slice(&a);
            padded.resize(blocks * CONV_BLOCK + pad, 0.0);
            // The reference: every term added to every output, zeros included, in ascending v.
            let naive: Vec<f64> = (0..blocks * CONV_BLOCK)
                .map(|k| {
                    let mut sum = 0.0;
                    for &(v, bv) in &c.terms {
                        let y = if k >= v && k - v < la { a[k - v] } else { 0.0 };
                        sum += bv * y;
                    }
                    sum
                })
                .collect();
            // Skipped blocks are zeros; the others are the full sums.
            for skip in [0, 1, blocks / 2, blocks] {
                let mut slow = vec![0.0; blocks * CONV_BLOCK];
                conv_blocks(&c.terms, &padded, pad, la, skip, &mut slow);
                let mut fast = vec![std::mem::MaybeUninit::new(f64::NAN); blocks * CONV_BLOCK];
                // SAFETY: AVX2 is available (checked above).
                unsafe { conv_blocks_avx2(&c.terms, &padded, pad, la, skip, &mut fast) };
                for (k, ((f, s), &n)) in fast.iter().zip(&slow).zip(&naive).enumerate() {
                    // SAFETY: initialised above (and overwritten by the kernel).
                    let f = unsafe { f.assume_init() };
                    let n = if k < skip * CONV_BLOCK { 0.0 } else { n };
                    let at = format!("la {la} lb {lb} skip {skip} k {k}");
                    assert_eq!(s.to_bits(), n.to_bits(), "portable: {at}");
                    assert_eq!(f.to_bits(), n.to_bits(), "AVX2: {at}");
                }
            }
        }
    }

    /// The pmf of the sum of the first two columns of `ROWS`, and its survival table.
    fn first_two_columns() -> (Pmf, Vec<f64>) {
        let cols = columns(&ROWS);
        let mut p = Pmf::default();
        Pmf::from_column(&cols[0]).convolve_into(&cols[1], &mut p);
        let mut surv = Vec::new();
        p.survival_into(&mut surv);
        (p, surv)
    }

    #[test]
    fn survival_is_reverse_cumsum() {
        let (p, mut surv) = first_two_columns();
        let d = dense(&p);
        for x in 0..=d.len() as i64 + 2 {
            let want: f64 = d.iter().skip(x as usize).sum();
            let got = survival_at(&surv, p.lo(), x);
            assert_relative_eq!(got, want.min(1.0), epsilon = 1e-15);
        }
        // Deep in the tail the survival keeps its relative precision.
        let tiny = ColumnPmf::from_counts(&[1_000_000_000, 1]).unwrap();
        let mut t = Pmf::from_column(&tiny);
        for _ in 0..9 {
            let mut n = Pmf::default();
            t.convolve_into(&tiny, &mut n);
            t = n;
        }
        t.survival_into(&mut surv);
        let p10 = (1.0f64 / 1_000_000_001.0).powi(10);
        assert_relative_eq!(surv[10], p10, max_relative = 1e-12);
    }

    /// The partial table has the whole table's bits from `from` up, and leaves the rest.
    #[test]
    fn partial_survival_is_the_top_of_the_whole() {
        let (p, whole) = first_two_columns();
        let n = whole.len();
        for from in [0, 1, n / 2, n - 1] {
            let mut part = vec![-7.0; n + 3];
            p.survival_from(from, &mut part);
            assert_eq!(part.len(), n + 3);
            for k in 0..n {
                let want = if k < from { -7.0 } else { whole[k] };
                assert_eq!(part[k].to_bits(), want.to_bits(), "from {from}, slot {k}");
            }
            let mut grown = Vec::new();
            p.survival_from(from, &mut grown);
            assert_eq!(grown.len(), n);
            assert_eq!(grown[from..], whole[from..]);
        }
    }

    #[test]
    fn multiplicities_follow_meme_enumeration() {
        // Enumerate MEME's alignments literally and count the spans.
        for w in 1..7 {
            for tw in 1..9 {
                let mut counts = std::collections::HashMap::new();
                for i in 0..(w + tw - 1) {
                    let (start, end) = if i < w {
                        let start = w - i - 1;
                        (start, w.min(start + tw) - 1)
                    } else {
                        (0, w.min(tw + w - i - 1) - 1)
                    };
                    *counts.entry((start, end - start + 1)).or_insert(0usize) += 1;
                }
                for s in 0..w {
                    for len in 1..=(w - s) {
                        let want = counts.get(&(s, len)).copied().unwrap_or(0);
                        assert_eq!(
                            span_multiplicity(w, tw, s, len),
                            want,
                            "w {w} W {tw} s {s} len {len}"
                        );
                    }
                }
            }
        }
    }

    /// MEME's recursion for the pmf of the max of independent variables, on dense pmfs.
    fn max_pmf(a: &[f64], b: &[f64]) -> Vec<f64> {
        let n = a.len().max(b.len());
        let get = |v: &[f64], k: usize| v.get(k).copied().unwrap_or(0.0);
        let cdf = |v: &[f64], k: usize| (0..=k).map(|i| get(v, i)).sum::<f64>();
        (0..n)
            .map(|k| {
                if k == 0 {
                    get(a, 0) * get(b, 0)
                } else {
                    get(a, k) * cdf(b, k - 1) + get(b, k) * cdf(a, k - 1) + get(a, k) * get(b, k)
                }
            })
            .collect()
    }

    #[test]
    fn p_value_of_max_equals_brute_force() {
        // Query of width 3 (ROWS), targets of width 2; z = 2.
        let cols = columns(&ROWS);
        let zero_bin = 2;
        let (w, tw) = (3usize, 2usize);
        // Every alignment's complete-score pmf, by brute force, in MEME's order.
        let mut alignment_pmfs = Vec::new();
        for i in 0..(w + tw - 1) {
            let (start, end) = if i < w {
                let start = w - i - 1;
                (start, w.min(start + tw) - 1)
            } else {
                (0, w.min(tw + w - i - 1) - 1)
            };
            let span = brute_span(&ROWS[start..=end]);
            let shift = (w - (end - start + 1)) * zero_bin;
            let mut shifted = vec![0.0; shift];
            shifted.extend(span);
            alignment_pmfs.push(shifted);
        }
        // The max over all alignments and two strands, by MEME's recursion.
        let mut max = vec![1.0];
        for a in &alignment_pmfs {
            for _strand in 0..2 {
                max = max_pmf(&max, a);
            }
        }
        let all_scores: Vec<usize> = (0..max.len()).collect();
        let mut groups = vec![WidthGroup::new(tw, all_scores.clone())];
        max_null_pvalues(&cols, zero_bin, &mut groups);
        let p = groups[0].p_values(2);
        for &k in &all_scores {
            let want: f64 = max.iter().skip(k).sum();
            assert_relative_eq!(p[k], want.min(1.0), max_relative = 1e-12, epsilon = 1e-15);
        }
        assert_eq!(groups[0].p_value_of(0, 2), Some(1.0));
        assert!(groups[0].p_value_of(max.len() + 5, 2).is_none());
    }

    #[test]
    fn p_value_of_max_by_monte_carlo_on_the_matrix() {
        // Direct simulation of the null model: draw a target column per aligned query column
        // from the pool, independently per alignment and strand, and take the max.
        use rand::{Rng, SeedableRng};
        let cols = columns(&ROWS);
        let zero_bin = 2;
        let (w, tw) = (3usize, 1usize);
        let mut groups = vec![WidthGroup::new(tw, (0..20).collect())];
        max_null_pvalues(&cols, zero_bin, &mut groups);
        let p = groups[0].p_values(1);
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let n = 200_000;
        let mut hits = [0usize; 20];
        for _ in 0..n {
            // width-1 target: w alignments, each aligning one query column.
            let best = (0..w)
                .map(|i| ROWS[i][rng.gen_range(0..5)] + (w - 1) * zero_bin)
                .max()
                .unwrap();
            for h in hits.iter_mut().take(best + 1) {
                *h += 1;
            }
        }
        for k in 0..20 {
            let mc = hits[k] as f64 / n as f64;
            assert!((mc - p[k]).abs() < 0.005, "k {k}: mc {mc} dp {}", p[k]);
        }
    }
}

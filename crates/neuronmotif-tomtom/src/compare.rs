//! One query against a prepared [`TargetDb`]: steps 3 to 11 of Tomtom.

use std::fmt;
use std::sync::Arc;

use crate::align;
use crate::db::TargetDb;
use crate::distance::{ColumnPool, PreparedColumn, ROW_BLOCK};
use crate::ed_single;
use crate::motif::consensus;
use crate::null::{max_null_pvalues_with, ColumnPmf, NullScratch, WidthGroup};
use crate::qvalue::qvalues_into;
use crate::scaling::{self, median_of_row, ScoreScale};
use crate::{TomtomError, TomtomMotif};

/// Which strand of the target the query aligned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Orientation {
    /// The target as given (`+`).
    Forward,
    /// The reverse complement of the target (`-`); the offset and the target consensus then
    /// refer to the reverse-complemented target.
    Reverse,
}

impl Orientation {
    /// `'+'` or `'-'`, as in Tomtom's `Orientation` column.
    pub fn symbol(self) -> char {
        match self {
            Orientation::Forward => '+',
            Orientation::Reverse => '-',
        }
    }

    /// The other strand.
    pub fn flip(self) -> Orientation {
        match self {
            Orientation::Forward => Orientation::Reverse,
            Orientation::Reverse => Orientation::Forward,
        }
    }

    /// Parse `+` or `-`.
    pub fn from_symbol(s: &str) -> Option<Orientation> {
        match s {
            "+" => Some(Orientation::Forward),
            "-" => Some(Orientation::Reverse),
            _ => None,
        }
    }
}

impl fmt::Display for Orientation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.symbol())
    }
}

/// One reported query-target match: a row of Tomtom's TSV output.
///
/// The text fields are shared (`Arc<str>`): every row of a query points at one copy of the
/// query's ID and consensus (which may be 1,000 letters long), and target fields point into
/// the [`TargetDb`] (or, from [`TargetDb::compare_batch`], into a copy of its strings made per
/// batch job, so that threads do not share reference counts). Use them as `&str` through
/// `&*m.target_id` or `m.target_id.as_ref()`.
#[derive(Debug, Clone, PartialEq)]
pub struct TomtomMatch {
    /// Query motif ID.
    pub query_id: Arc<str>,
    /// Target motif ID.
    pub target_id: Arc<str>,
    /// Index of the target in the [`TargetDb`] (input order).
    pub target_index: usize,
    /// Optimal offset: query column 0 sits at target column `offset` (of the
    /// reverse-complemented target for [`Orientation::Reverse`]). A target found at 0-based
    /// position `s` inside a longer query has offset `-s`.
    pub offset: i64,
    /// p-value of the best alignment, corrected for all offsets and both strands (f64; MEME
    /// stores it in a C float, hence its `0` rows below about 1e-45).
    pub p_value: f64,
    /// E-value: `p_value * number of targets`.
    pub e_value: f64,
    /// q-value (Storey) among all target strands of this query.
    pub q_value: f64,
    /// Number of aligned columns.
    pub overlap: usize,
    /// Consensus of the pseudocounted query (argmax letter, ties to the earlier letter).
    pub query_consensus: Arc<str>,
    /// Consensus of the pseudocounted target, reverse-complemented for `-` rows.
    pub target_consensus: Arc<str>,
    /// Strand of the target.
    pub orientation: Orientation,
}

/// One reported match in compact form: a [`TomtomMatch`] whose text fields are left in the
/// [`TargetDb`] (the target, by its index) and in the [`QueryMatches`] that holds the row
/// (the query). 40 bytes instead of 120 and no shared strings to count up and down, which is
/// what an all-against-all comparison spends most of its row-building time on (see
/// `docs/tomtom.md`, "Speed").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchRow {
    /// Index of the target in the [`TargetDb`] (input order); its ID is
    /// [`TargetDb::target_id`].
    pub target_index: u32,
    /// Strand of the target.
    pub orientation: Orientation,
    /// Optimal offset, as in [`TomtomMatch::offset`].
    pub offset: i32,
    /// Number of aligned columns.
    pub overlap: u32,
    /// p-value of the best alignment, as in [`TomtomMatch::p_value`].
    pub p_value: f64,
    /// E-value: `p_value * number of targets`.
    pub e_value: f64,
    /// q-value (Storey) among all target strands of this query.
    pub q_value: f64,
}

/// Every reported match of one query, best first (the order of [`TargetDb::compare`]), as
/// [`MatchRow`]s: what [`TargetDb::search`] returns. [`QueryMatches::matches`] turns the rows
/// into [`TomtomMatch`]es one at a time, for writing or filtering without keeping them all.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryMatches {
    /// Query motif ID.
    pub query_id: Arc<str>,
    /// Consensus of the pseudocounted query.
    pub query_consensus: Arc<str>,
    /// The matches, best first, one per target.
    pub rows: Vec<MatchRow>,
}

impl QueryMatches {
    /// The rows as [`TomtomMatch`]es, with the target strings of `db`, the database that was
    /// searched.
    ///
    /// # Panics
    /// If `db` has fewer targets than a row's `target_index` (a row of another database).
    pub fn matches<'a>(&'a self, db: &'a TargetDb) -> impl Iterator<Item = TomtomMatch> + 'a {
        self.matches_with(db.targets())
    }

    fn matches_with<'a>(
        &'a self,
        targets: &'a [crate::db::TargetInfo],
    ) -> impl Iterator<Item = TomtomMatch> + 'a {
        self.rows.iter().map(move |r| {
            let t = &targets[r.target_index as usize];
            TomtomMatch {
                query_id: Arc::clone(&self.query_id),
                target_id: Arc::clone(&t.id),
                target_index: r.target_index as usize,
                offset: i64::from(r.offset),
                p_value: r.p_value,
                e_value: r.e_value,
                q_value: r.q_value,
                overlap: r.overlap as usize,
                query_consensus: Arc::clone(&self.query_consensus),
                target_consensus: Arc::clone(t.consensus_of(r.orientation)),
                orientation: r.orientation,
            }
        })
    }
}

/// The best alignment of a query with one target strand, and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StrandHit {
    /// Index into [`TargetDb::strands`].
    pub(crate) strand: usize,
    /// Complete score in bins, shifted to be non-negative: aligned bins plus `z` for each
    /// unaligned query column.
    pub(crate) score: usize,
    pub(crate) offset: i64,
    pub(crate) overlap: usize,
    pub(crate) p: f64,
}

/// Everything computed for one query: per-strand hits in MEME's sort order and their
/// q-values.
#[derive(Debug, Clone)]
pub(crate) struct QueryAnalysis {
    pub(crate) sorted: Vec<StrandHit>,
    pub(crate) q_values: Vec<f64>,
    pub(crate) query_consensus: Arc<str>,
}

/// Largest query-width x pool-size product for which the raw scores of step 3 are kept between
/// the median pass and the binning pass (32 MB of f64); above it they are recomputed.
const SCORE_CACHE_ENTRIES: usize = 1 << 22;

/// Largest buffer a workspace keeps when it is given back to its database
/// ([`Workspace::trim`]).
const KEPT_BYTES: usize = 8 << 20;

/// Scratch buffers of one query's comparison, reused across the queries of a batch (every
/// element is written before it is read, so reuse changes no result).
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    pub(crate) scores: Vec<f64>,
    pub(crate) bins: Vec<u16>,
    scratch: Vec<f64>,
    diag: Vec<i64>,
    ends: align::StrandEnds,
    last_columns: Vec<usize>,
    /// Whether to give output rows this workspace's own copy of the target strings (batches:
    /// one copy per workspace, which serves one rayon job at a time, so threads do not contend
    /// for the same reference counts) rather than the database's (single queries: no
    /// copying).
    own_strings: bool,
    /// That copy, and the database it was made from.
    targets: Vec<crate::db::TargetInfo>,
    targets_of: usize,
    /// Tests: always take the direct diagonal sums (the path for very wide queries and
    /// targets), to compare it with the running sums.
    #[cfg(test)]
    direct: bool,
    /// Buffers of the single-precision `ed` rows.
    single: ed_single::Scratch,
    /// Buffers of the null distributions.
    null: NullScratch,
    /// Per-query lists of steps 8-9: (score, strand) pairs by width group, a cursor per
    /// group, each strand's score class, the width groups, and their p-values by class (with
    /// each group's start).
    pairs: Vec<u64>,
    cursor: Vec<usize>,
    class: Vec<u32>,
    groups: Vec<WidthGroup>,
    group_p: Vec<f64>,
    p_starts: Vec<usize>,
    /// The strands' tie ranks in MEME's order, and their p keys by tie rank.
    order: Vec<u64>,
    order_p: Vec<u64>,
    /// The strands' hits, in strand order and in MEME's order (lent to the query's analysis
    /// and given back), the p-values in that order, and their q-values (likewise lent).
    hits: Vec<StrandHit>,
    sorted: Vec<StrandHit>,
    p_sorted: Vec<f64>,
    q_values: Vec<f64>,
    /// Tests: always take the double-precision rows, to compare the single-precision ones
    /// with them.
    #[cfg(test)]
    exact: bool,
    /// Tests: multiply the single-precision error bound by this (when above 1), which is still
    /// a valid bound and sends far more values through the exact fallbacks.
    #[cfg(test)]
    error_factor: f64,
    /// Tests: how many queries took the single-precision rows.
    #[cfg(test)]
    single_queries: usize,
}

impl Workspace {
    #[cfg(test)]
    fn direct_only(&self) -> bool {
        self.direct
    }

    #[cfg(not(test))]
    fn direct_only(&self) -> bool {
        false
    }

    #[cfg(test)]
    fn exact_only(&self) -> bool {
        self.exact
    }

    #[cfg(not(test))]
    fn exact_only(&self) -> bool {
        false
    }

    #[cfg(test)]
    fn error_bound_factor(&self) -> f64 {
        self.error_factor.max(1.0)
    }

    #[cfg(not(test))]
    fn error_bound_factor(&self) -> f64 {
        1.0
    }

    /// Whether the workspace serves a job of a parallel batch (see `own_strings`).
    pub(crate) fn set_batch(&mut self, batch: bool) {
        self.own_strings = batch;
    }

    /// Free the buffers that only very wide queries grow past [`KEPT_BYTES`] (the raw scores
    /// kept between passes, the whole bin matrix), so that a workspace kept for later calls
    /// holds little more than the pool-sized rows (and the kept single-precision rows, at
    /// most 8 MB).
    pub(crate) fn trim(&mut self) {
        fn free<T>(v: &mut Vec<T>) {
            if v.capacity() * std::mem::size_of::<T>() > KEPT_BYTES {
                *v = Vec::new();
            }
        }
        free(&mut self.scores);
        free(&mut self.bins);
        free(&mut self.scratch);
        free(&mut self.diag);
    }

    /// The target strings that output rows share: the database's, or (batches) a copy made
    /// on first use.
    fn local_targets<'a>(&'a mut self, db: &'a TargetDb) -> &'a [crate::db::TargetInfo] {
        if !self.own_strings {
            return db.targets();
        }
        let key = std::ptr::from_ref(db) as usize;
        if self.targets_of != key || self.targets.len() != db.targets().len() {
            self.targets = db
                .targets()
                .iter()
                .map(|t| crate::db::TargetInfo {
                    id: Arc::from(&*t.id),
                    width: t.width,
                    consensus: [Arc::from(&*t.consensus[0]), Arc::from(&*t.consensus[1])],
                })
                .collect();
            self.targets_of = key;
        }
        &self.targets
    }
}

/// A slice of `len` elements of `buf`, growing it when needed (contents unspecified).
fn sized<T: Copy + Default>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    if buf.len() < len {
        buf.resize(len, T::default());
    }
    &mut buf[..len]
}

/// Steps 3-10 for one query.
pub(crate) fn analyse(
    db: &TargetDb,
    query: &TomtomMotif,
    ws: &mut Workspace,
) -> Result<QueryAnalysis, TomtomError> {
    query.validate()?;
    let direct_only = ws.direct_only();
    let params = db.params();
    let dist = params.distance();
    let raw = query.pseudocounted_columns(params.motif_pseudocount(), query.background);
    let query_consensus: Arc<str> = consensus(&raw).into();
    let qcols: Vec<PreparedColumn> = raw.iter().map(|&c| PreparedColumn::new(c)).collect();
    let w = qcols.len();
    let pool = db.columns();
    let n = pool.len();
    if n == 0 {
        return Err(TomtomError::EmptyDatabase);
    }

    let squared = dist.raw_is_squared();
    // Steps 3-5 for `ed` run in single precision where the CPU and the inputs allow it and
    // the scaling is certain (see `ed_single`); otherwise in double precision. Both give the
    // same bins.
    let single = if squared && !ws.exact_only() {
        ed_single::error_bound(pool, &raw)
            .map(|e| e * ws.error_bound_factor())
            .and_then(|e| {
                let (medians, scale, nbins) = single_scaling(pool, &qcols, e, &mut ws.single)?;
                Some((medians, scale, nbins, e))
            })
    } else {
        None
    };
    #[cfg(test)]
    {
        ws.single_queries += usize::from(single.is_some());
    }
    let (medians, scale, nbins, source) = match single {
        Some((medians, scale, nbins, e)) => (medians, scale, nbins, RowSource::Single(e)),
        None => {
            let (medians, small, large, cache) = exact_medians(pool, dist, &qcols, ws)?;
            let scale = ScoreScale::from_range(small, large);
            let nbins = usize::from(scale.bin(large)).max(scale.zero_bin()) + 1;
            let source = if cache {
                RowSource::Cached
            } else {
                RowSource::Recomputed
            };
            (medians, scale, nbins, source)
        }
    };

    // Step 5: integer bins of every (query column, target column) pair, and each query
    // column's bin histogram (step 6's input). Where exact (nearly always), the bins are turned
    // into running diagonal sums row by row, for step 7.
    let z = scale.zero_bin();
    let strands = db.strands();
    let widest = strands.iter().map(|s| s.width).max().unwrap_or(0);
    let running = align::prefix_sums_are_exact(nbins - 1, w, widest) && !direct_only;
    // Running mode keeps two rows (the previous one for the running sums); otherwise the whole
    // matrix of bins is kept for the direct sums.
    let bins = sized(&mut ws.bins, if running { 2 * n } else { w * n });
    let mut counts = vec![0u32; w * nbins];
    if running {
        ws.ends.reset(w, n, strands.len());
        ws.last_columns.clear();
        ws.last_columns
            .extend(strands.iter().map(|s| s.start + s.width - 1));
    }
    let rows = RowBinner {
        pool,
        dist,
        scale,
        source,
    };
    for (i, (qc, &med)) in qcols.iter().zip(&medians).enumerate() {
        let hist = &mut counts[i * nbins..(i + 1) * nbins];
        let (scores, single) = (&mut ws.scores, &mut ws.single);
        if running {
            // Rows alternate between the two halves of `bins`.
            let (a, b) = bins.split_at_mut(n);
            let (prev, cur) = if i % 2 == 0 { (b, a) } else { (a, b) };
            rows.bin(i, qc, med, scores, single, cur, hist);
            if i > 0 {
                align::accumulate_diagonals(prev, cur);
            }
            ws.ends.record_row(i, cur, &ws.last_columns);
        } else {
            rows.bin(
                i,
                qc,
                med,
                scores,
                single,
                &mut bins[i * n..(i + 1) * n],
                hist,
            );
        }
    }

    // Step 7: the best alignment of every target strand.
    let simd = align::simd_available();
    let diag = &mut ws.diag;
    // The per-strand lists below reuse the workspace's buffers: new ones every query would
    // fault their pages in again each time the allocator gives memory back.
    let mut hits = std::mem::take(&mut ws.hits);
    hits.clear();
    for (si, st) in strands.iter().enumerate() {
        let range = align::configurations(w, st.width, params.internal(), params.min_overlap());
        let (score, offset, overlap) = if running {
            ws.ends
                .best_alignment(si, st.start, st.width, z, range, simd)
        } else {
            align::direct_diagonal_sums(&bins[st.start..], n, w, st.width, diag);
            align::best_alignment(|c| diag[c - 1], w, st.width, z, range)
        };
        hits.push(StrandHit {
            strand: si,
            score,
            offset,
            overlap,
            p: 1.0,
        });
    }

    // Steps 6 and 8: the null of the best complete score, per target width, at the scores
    // reached.
    let columns: Vec<ColumnPmf> = counts
        .chunks(nbins)
        .map(ColumnPmf::from_counts)
        .collect::<Option<_>>()
        .ok_or(TomtomError::EmptyDatabase)?;
    // Each group's distinct scores, and which of them each strand reached (its class), from
    // one sort of (score, strand) pairs per group (both below 2^32: a score is at most the
    // query width times 256 bins, and strands are counted in `u32` tie ranks). The pairs are
    // listed by group (`TargetDb::group_starts`) in one buffer.
    let starts = db.group_starts();
    let n_groups = db.widths().len();
    let pairs = sized(&mut ws.pairs, hits.len());
    let cursor = &mut ws.cursor;
    cursor.clear();
    cursor.extend_from_slice(&starts[..n_groups]);
    for (i, h) in hits.iter().enumerate() {
        let g = strands[h.strand].group;
        pairs[cursor[g]] = ((h.score as u64) << 32) | i as u64;
        cursor[g] += 1;
    }
    let class = sized(&mut ws.class, hits.len());
    let groups = &mut ws.groups;
    groups.truncate(n_groups);
    groups.resize_with(n_groups, || WidthGroup::new(0, Vec::new()));
    for (gi, (g, &width)) in groups.iter_mut().zip(db.widths()).enumerate() {
        let group_pairs = &mut pairs[starts[gi]..starts[gi + 1]];
        group_pairs.sort_unstable();
        g.refill(width, |scores| {
            for &pair in group_pairs.iter() {
                let score = (pair >> 32) as usize;
                if scores.last() != Some(&score) {
                    scores.push(score);
                }
                class[(pair & 0xffff_ffff) as usize] = (scores.len() - 1) as u32;
            }
        });
    }
    max_null_pvalues_with(&columns, z, groups, &mut ws.null);
    let n_strands = if params.reverse_complements() { 2 } else { 1 };
    let float_p = params.float_p_values();
    // One p-value per distinct score of a group, read by each of its strands; group `g`'s
    // start in `group_p` is `p_starts[g]`.
    let (group_p, p_starts) = (&mut ws.group_p, &mut ws.p_starts);
    group_p.clear();
    p_starts.clear();
    for g in groups.iter() {
        p_starts.push(group_p.len());
        g.push_p_values(n_strands, group_p);
    }
    for (h, &c) in hits.iter_mut().zip(class.iter()) {
        let p = group_p[p_starts[strands[h.strand].group] + c as usize];
        // MEME parity: MEME keeps the p-value in a C float.
        h.p = if float_p { f64::from(p as f32) } else { p };
    }

    // Step 10: MEME's order, then q-values over every strand's p-value.
    // One integer key per strand: p in `total_cmp` order (as the earlier comparator had it, so
    // a -0 sorts before a +0), then the larger overlap, then the tie rank (`+` before `-`,
    // then target ID), which also names the strand. Keys are unique, so an unstable sort is
    // exact.
    let order = meme_order(
        &hits,
        |h| strands[h.strand].tie_rank,
        (&mut ws.order, &mut ws.order_p),
    );
    let mut sorted = std::mem::take(&mut ws.sorted);
    sorted.clear();
    sorted.extend(
        order
            .iter()
            .map(|&rank| hits[db.strand_by_rank(rank as usize)]),
    );
    ws.hits = hits;
    let p_sorted = &mut ws.p_sorted;
    p_sorted.clear();
    p_sorted.extend(sorted.iter().map(|h| h.p));
    let mut q_values = std::mem::take(&mut ws.q_values);
    qvalues_into(p_sorted, &mut q_values);
    Ok(QueryAnalysis {
        sorted,
        q_values,
        query_consensus,
    })
}

/// Where step 5 finds a query column's scores.
#[derive(Debug, Clone, Copy)]
enum RowSource {
    /// Single precision ([`ed_single::bin_row`]: kept from pass one or computed again), with
    /// this error bound.
    Single(f64),
    /// Kept from steps 3-4 in `Workspace::scores`, row after row.
    Cached,
    /// Computed again in double precision (rows too many to keep).
    Recomputed,
}

/// Step 5 for one query column at a time.
struct RowBinner<'a> {
    pool: &'a ColumnPool,
    dist: crate::Distance,
    scale: ScoreScale,
    source: RowSource,
}

impl RowBinner<'_> {
    /// The bins of query column `i` (`qc`, median `med`) into `out`, counted into `hist`.
    #[allow(clippy::too_many_arguments)]
    fn bin(
        &self,
        i: usize,
        qc: &PreparedColumn,
        med: f64,
        scores: &mut Vec<f64>,
        single: &mut ed_single::Scratch,
        out: &mut [u16],
        hist: &mut [u32],
    ) {
        let n = self.pool.len();
        if let RowSource::Single(e) = self.source {
            if ed_single::bin_row(self.pool, qc, i, e, &self.scale, med, out, single) {
                scaling::count_bins(out, hist);
                return;
            }
        }
        let row: &[f64] = if let RowSource::Cached = self.source {
            &scores[i * n..(i + 1) * n]
        } else {
            // Single rows the margins do not cover, and rows too many to keep.
            let row = sized(scores, n);
            let _ = self.pool.raw_scores_into(self.dist, qc, 0, row);
            row
        };
        scaling::bin_row(&self.scale, med, row, self.dist.raw_is_squared(), out, hist);
    }
}

/// Steps 3-4 in single precision (`ed`): every column's exact median, and the scaling when
/// the bracketed extremes leave no doubt about it (with an upper bound on the bin count).
fn single_scaling(
    pool: &ColumnPool,
    qcols: &[PreparedColumn],
    e: f64,
    scratch: &mut ed_single::Scratch,
) -> Option<(Vec<f64>, ScoreScale, usize)> {
    scratch.keep_rows(qcols.len(), pool.len());
    let mut stats: Vec<ed_single::RowStats> = qcols
        .iter()
        .enumerate()
        .map(|(i, qc)| ed_single::row_stats(pool, qc, i, e, scratch))
        .collect();
    let scaling = |stats: &[ed_single::RowStats]| {
        let mut small = (f64::INFINITY, f64::INFINITY);
        let mut large = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for st in stats {
            // As in `exact_medians`: the lowest score is -sqrt(largest u), the highest
            // -sqrt(smallest u); both move the opposite way to u.
            small.0 = small.0.min(-st.u_hi.1.sqrt() - st.median);
            small.1 = small.1.min(-st.u_hi.0.sqrt() - st.median);
            large.0 = large.0.max(-st.u_lo.1.sqrt() - st.median);
            large.1 = large.1.max(-st.u_lo.0.sqrt() - st.median);
        }
        ed_single::scale_of(small, large)
    };
    let (scale, nbins) = match scaling(&stats) {
        Some(found) => found,
        None => {
            for (qc, st) in qcols.iter().zip(&mut stats) {
                ed_single::exact_extremes(pool, qc, e, st, scratch);
            }
            scaling(&stats)?
        }
    };
    let medians = stats.iter().map(|st| st.median).collect();
    Some((medians, scale, nbins))
}

/// Steps 3-4 in double precision: each query column against all target columns; its median;
/// the global range of the shifted scores. Raw scores are kept in `ws.scores` for step 5 when
/// they fit the cache budget (the returned flag).
fn exact_medians(
    pool: &ColumnPool,
    dist: crate::Distance,
    qcols: &[PreparedColumn],
    ws: &mut Workspace,
) -> Result<(Vec<f64>, f64, f64, bool), TomtomError> {
    let (w, n) = (qcols.len(), pool.len());
    let cache = w * n <= SCORE_CACHE_ENTRIES;
    let scores = sized(&mut ws.scores, if cache { w * n } else { n });
    let scratch = &mut ws.scratch;
    let mut medians = Vec::with_capacity(w);
    let (mut small, mut large) = (f64::INFINITY, f64::NEG_INFINITY);
    let squared = dist.raw_is_squared();
    // Squared-distance rows come a block of query columns at a time when they are kept; each
    // block's medians are taken right after it is scored, while its rows are still in cache.
    let mut block_ranges = [(0.0, 0.0); ROW_BLOCK];
    for (i, qc) in qcols.iter().enumerate() {
        if squared && cache && i % ROW_BLOCK == 0 {
            let end = (i + ROW_BLOCK).min(w);
            block_ranges = pool.squared_rows_into(&qcols[i..end], &mut scores[i * n..end * n]);
        }
        let row = if cache {
            &mut scores[i * n..(i + 1) * n]
        } else {
            &mut scores[..]
        };
        let (lo, hi, med) = if squared {
            // Scores -sqrt(u) sort opposite to u: score rank r is u rank n - 1 - r.
            let (u_lo, u_hi) = if cache {
                block_ranges[i % ROW_BLOCK]
            } else {
                pool.raw_scores_into(dist, qc, 0, row)
            };
            let med =
                scaling::squared_row_median(row, scratch).ok_or(TomtomError::EmptyDatabase)?;
            (-u_hi.sqrt(), -u_lo.sqrt(), med)
        } else {
            let (lo, hi) = pool.raw_scores_into(dist, qc, 0, row);
            (lo, hi, median_of_row(row, scratch).unwrap_or(0.0))
        };
        medians.push(med);
        small = small.min(lo - med);
        large = large.max(hi - med);
    }
    Ok((medians, small, large, cache))
}

/// The sort key of a strand's hit: p in [`f64::total_cmp`] order, then the larger overlap,
/// then the tie rank (below 2^32) in the low bits.
fn strand_key(p: f64, overlap: usize, tie_rank: usize) -> u128 {
    let ov = u32::MAX - overlap.min(u32::MAX as usize) as u32;
    (u128::from(p_key(p)) << 64) | (u128::from(ov) << 32) | tie_rank as u128
}

/// p as an unsigned key in [`f64::total_cmp`] order.
fn p_key(p: f64) -> u64 {
    (scaling::order_key(p) as u64) ^ (1 << 63)
}

/// The tie ranks of `hits` (one per strand, `tie_rank` giving each one's rank, all below
/// `hits.len()`) in MEME's order, [`strand_key`]'s, in `out`.
///
/// Sorting 64-bit keys costs about two thirds of sorting the 128-bit ones (1,758 strands:
/// 17 against 27 µs). When the larger-overlap and tie-rank fields fit in 32 bits, the key
/// holds the top 32 bits of the p key above them; a run of equal top bits whose full p-values
/// differ (p-values within a relative 2^-20 of each other) is then sorted again by the full
/// key. Otherwise the 128-bit keys are sorted.
fn meme_order<'a>(
    hits: &[StrandHit],
    tie_rank: impl Fn(&StrandHit) -> usize,
    (out, full): (&'a mut Vec<u64>, &mut Vec<u64>),
) -> &'a [u64] {
    let n = hits.len();
    let bits = |x: usize| usize::BITS - x.leading_zeros();
    let max_ov = hits.iter().map(|h| h.overlap).max().unwrap_or(0);
    let (ob, tb) = (bits(max_ov), bits(n.saturating_sub(1)));
    out.clear();
    if ob + tb > 32 {
        let mut keys: Vec<u128> = hits
            .iter()
            .map(|h| strand_key(h.p, h.overlap, tie_rank(h)))
            .collect();
        keys.sort_unstable();
        out.extend(keys.iter().map(|&k| u64::from(k as u32)));
        return out;
    }
    // Tie rank -> full p key, for the runs that need it.
    full.clear();
    full.resize(n, 0);
    out.extend(hits.iter().map(|h| {
        let (pk, t) = (p_key(h.p), tie_rank(h));
        full[t] = pk;
        ((pk >> 32) << 32) | (((max_ov - h.overlap) as u64) << tb) | t as u64
    }));
    out.sort_unstable();
    let tie_mask = (1u64 << tb) - 1;
    // Runs of equal top bits: `start` opens the current one; `mixed` records whether its
    // full p-values differ.
    let p = |k: u64| full[(k & tie_mask) as usize];
    let (mut start, mut mixed) = (0, false);
    let mut p_start = out.first().map_or(0, |&k| p(k));
    for i in 1..=n {
        if i < n && out[i] >> 32 == out[start] >> 32 {
            mixed |= p(out[i]) != p_start;
            continue;
        }
        if mixed {
            out[start..i].sort_unstable_by_key(|&k| (p(k), k as u32));
        }
        (start, mixed) = (i, false);
        p_start = out.get(i).map_or(0, |&k| p(k));
    }
    for k in out.iter_mut() {
        *k &= tie_mask;
    }
    out
}

/// Step 11: one row per target (its better strand), while the threshold holds.
pub(crate) fn search_query(
    db: &TargetDb,
    query: &TomtomMotif,
    ws: &mut Workspace,
) -> Result<QueryMatches, TomtomError> {
    let a = analyse(db, query, ws)?;
    let strands = db.strands();
    let n_targets = db.len() as f64;
    let threshold = db.params().threshold();
    let mut seen = vec![false; db.len()];
    let passing = a
        .sorted
        .iter()
        .zip(&a.q_values)
        .take_while(|&(h, &q)| threshold.passes(q, h.p * n_targets))
        .count();
    let mut rows = Vec::with_capacity(passing.min(db.len()));
    for (h, &q) in a.sorted.iter().zip(&a.q_values).take(passing) {
        let st = strands[h.strand];
        if std::mem::replace(&mut seen[st.target], true) {
            continue;
        }
        // Offsets and overlaps are bounded by the widths, which `TomtomMotif::validate` keeps
        // below 2^31; targets are counted in `u32` (`TargetDb::new`).
        rows.push(MatchRow {
            target_index: st.target as u32,
            orientation: st.orientation,
            offset: h.offset as i32,
            overlap: h.overlap as u32,
            p_value: h.p,
            e_value: h.p * n_targets,
            q_value: q,
        });
    }
    // The analysis's lists go back to the workspace for the next query.
    (ws.sorted, ws.q_values) = (a.sorted, a.q_values);
    Ok(QueryMatches {
        query_id: query.id.as_str().into(),
        query_consensus: a.query_consensus,
        rows,
    })
}

/// [`search_query`] with the rows as [`TomtomMatch`]es (sharing the workspace's copy of the
/// target strings in batches).
pub(crate) fn compare_query(
    db: &TargetDb,
    query: &TomtomMotif,
    ws: &mut Workspace,
) -> Result<Vec<TomtomMatch>, TomtomError> {
    let found = search_query(db, query, ws)?;
    Ok(found.matches_with(ws.local_targets(db)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single-precision `ed` rows against the double-precision ones.
    mod single_precision {
        use super::super::*;
        use crate::TomtomParams;
        use ndarray::Array2;
        use neuronmotif_core::Ppm;
        use proptest::prelude::*;
        use rand::{Rng, SeedableRng};

        /// A random column: spread-out, near one-hot, or uniform.
        fn column(rng: &mut impl Rng) -> [f64; 4] {
            let mut c = [0.0; 4];
            match rng.gen_range(0..4) {
                0 => {
                    let k = rng.gen_range(0..4);
                    c = [0.01; 4];
                    c[k] = 0.97;
                }
                1 => c = [0.25; 4],
                _ => c.iter_mut().for_each(|v| *v = rng.gen::<f64>().powi(2)),
            }
            let sum: f64 = c.iter().sum();
            c.map(|v| v / sum)
        }

        fn motif(rng: &mut impl Rng, width: usize) -> Ppm {
            let mut m = Array2::zeros((width, 4));
            for mut row in m.rows_mut() {
                for (v, x) in row.iter_mut().zip(column(rng)) {
                    *v = x;
                }
            }
            Ppm::new(m).unwrap()
        }

        /// `targets` random motifs (some repeated, for tied distances) and a query that is
        /// random or (`copy`) a copy of a target, whose columns then score 0 against
        /// themselves.
        fn case(seed: u64, targets: usize, width: usize, copy: bool) -> (TargetDb, TomtomMotif) {
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut ms: Vec<Ppm> = Vec::new();
            for _ in 0..targets {
                if !ms.is_empty() && rng.gen_range(0..10) == 0 {
                    let k = rng.gen_range(0..ms.len());
                    ms.push(ms[k].clone());
                } else {
                    let w = rng.gen_range(4..20);
                    ms.push(motif(&mut rng, w));
                }
            }
            let q = if copy {
                ms[rng.gen_range(0..ms.len())].clone()
            } else {
                motif(&mut rng, width)
            };
            let ts = ms
                .into_iter()
                .enumerate()
                .map(|(i, p)| TomtomMotif::new(format!("T{i}"), p, Some(20.0)));
            let params = TomtomParams::new().check().unwrap();
            (
                TargetDb::new(ts, &params).unwrap(),
                TomtomMotif::new("q", q, None),
            )
        }

        /// (single-precision analysis, exact analysis, whether the single path ran).
        fn both(
            db: &TargetDb,
            q: &TomtomMotif,
            factor: f64,
        ) -> (QueryAnalysis, QueryAnalysis, bool) {
            let mut ws = Workspace {
                error_factor: factor,
                ..Workspace::default()
            };
            let single = analyse(db, q, &mut ws).unwrap();
            // Again with the warm workspace, whose pass one keeps its rows for pass two.
            let again = analyse(db, q, &mut ws).unwrap();
            assert_eq!(single.sorted, again.sorted, "{}: kept rows", q.id);
            assert_eq!(single.q_values, again.q_values, "{}: kept rows", q.id);
            let ran = ws.single_queries == 2;
            let mut ws = Workspace {
                exact: true,
                ..Workspace::default()
            };
            (single, analyse(db, q, &mut ws).unwrap(), ran)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]

            /// Same hits, p-values and q-values, bit for bit, whether the pool is selected
            /// whole (under 4,096 columns) or bracketed, and with the error bound inflated
            /// (still a bound), which sends many values through every exact fallback.
            #[test]
            fn single_precision_rows_give_the_exact_analysis(
                seed in any::<u64>(),
                targets in prop_oneof![5usize..60, 250usize..400],
                width in 1usize..16,
                copy in any::<bool>(),
                factor in prop_oneof![Just(1.0), Just(30.0), Just(3e3), Just(1e5)],
            ) {
                if ed_single::untested("the single-precision analyses are") {
                    return Ok(());
                }
                let (db, q) = case(seed, targets, width, copy);
                let (single, exact, _) = both(&db, &q, factor);
                prop_assert_eq!(single.sorted, exact.sorted);
                prop_assert_eq!(single.q_values, exact.q_values);
            }
        }

        /// The single path is the one normally taken (so the test above compares it), and it
        /// agrees on a long query too.
        #[test]
        fn single_precision_rows_are_taken_and_agree_on_long_queries() {
            if ed_single::untested("the single-precision analyses are") {
                return;
            }
            let mut taken = 0;
            for seed in 0..20 {
                let (db, q) = case(seed, 300, 8 + 7 * seed as usize, seed % 3 == 0);
                let (single, exact, ran) = both(&db, &q, 1.0);
                assert_eq!(single.sorted, exact.sorted, "seed {seed}");
                assert_eq!(single.q_values, exact.q_values, "seed {seed}");
                taken += usize::from(ran);
            }
            assert!(taken >= 18, "single path taken for {taken} of 20 queries");
        }
        /// Every JASPAR 2024 motif against all of them (the all-against-all benchmark, 157
        /// million column pairs): the same analyses, bit for bit.
        #[test]
        fn single_precision_rows_agree_on_jaspar() {
            if ed_single::untested("the single-precision analyses are") {
                return;
            }
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
                "../../../shared/fixtures/jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme",
            );
            if !path.exists() {
                eprintln!("notice: {} not found; skipping", path.display());
                return;
            }
            let file = neuronmotif_io::MotifFile::read_path(&path, &Default::default()).unwrap();
            let motifs = crate::motifs_from_file(&file).unwrap();
            let db = TargetDb::new(motifs.clone(), &TomtomParams::new().check().unwrap()).unwrap();
            let mut taken = 0;
            for q in &motifs {
                let (single, exact, ran) = both(&db, q, 1.0);
                assert_eq!(single.sorted, exact.sorted, "{}", q.id);
                assert_eq!(single.q_values, exact.q_values, "{}", q.id);
                taken += usize::from(ran);
            }
            eprintln!(
                "single-precision rows taken for {taken} of {} queries",
                motifs.len()
            );
            assert!(taken * 10 >= motifs.len() * 9);
        }
    }

    mod symmetry {
        use super::super::*;
        use crate::{Distance, TomtomParams};
        use neuronmotif_core::testing::ppm;
        use proptest::prelude::*;

        fn targets() -> impl Strategy<Value = Vec<TomtomMotif>> {
            proptest::collection::vec(ppm(1..9), 2..15).prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, p)| TomtomMotif::new(format!("T{i}"), p, Some(25.0)))
                    .collect()
            })
        }

        /// Per target: (best complete score, overlap, p) of each strand.
        fn per_strand(db: &TargetDb, q: &TomtomMotif) -> Vec<[(usize, usize, f64); 2]> {
            let a = analyse(db, q, &mut Workspace::default()).unwrap();
            let mut out = vec![[(0, 0, 0.0); 2]; db.len()];
            for h in &a.sorted {
                let st = db.strands()[h.strand];
                let k = usize::from(st.orientation == Orientation::Reverse);
                out[st.target][k] = (h.score, h.overlap, h.p);
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(40))]

            /// The running diagonal sums and the cell-by-cell sums give the same analysis.
            #[test]
            fn running_and_direct_sums_agree(
                ts in targets(),
                q in ppm(1..12),
                d in prop_oneof![Just(Distance::Euclidean), Just(Distance::Pearson), Just(Distance::Sandelin)],
                min_overlap in 1usize..4,
                internal in any::<bool>(),
            ) {
                let params = TomtomParams::new()
                    .distance(d)
                    .min_overlap(min_overlap)
                    .internal(internal)
                    .check()
                    .unwrap();
                let db = TargetDb::new(ts, &params).unwrap();
                let query = TomtomMotif::new("q", q, None);
                let running = analyse(&db, &query, &mut Workspace::default()).unwrap();
                let mut ws = Workspace { direct: true, ..Workspace::default() };
                let direct = analyse(&db, &query, &mut ws).unwrap();
                prop_assert_eq!(running.sorted, direct.sorted);
                prop_assert_eq!(running.q_values, direct.q_values);
            }

            /// Reverse-complementing the query swaps the strands of every target: the forward
            /// strand of each target against RC(query) is its reverse strand against the query,
            /// with the same complete score, overlap and p-value.
            #[test]
            fn reverse_complementing_the_query_swaps_strands(
                ts in targets(),
                q in ppm(1..12),
                d in prop_oneof![Just(Distance::Euclidean), Just(Distance::Pearson), Just(Distance::Sandelin)],
            ) {
                let params = TomtomParams::new().distance(d).check().unwrap();
                let db = TargetDb::new(ts, &params).unwrap();
                let fwd = per_strand(&db, &TomtomMotif::new("q", q.clone(), None));
                let rev = per_strand(&db, &TomtomMotif::new("rc", q.reverse_complement(), None));
                for (f, r) in fwd.iter().zip(&rev) {
                    for k in 0..2 {
                        let (a, b) = (f[k], r[1 - k]);
                        // Scores are sums of the same terms in another order, so a bin may
                        // (very rarely) flip; p-values then move by a hair.
                        prop_assert_eq!(a.0, b.0);
                        prop_assert_eq!(a.1, b.1);
                        prop_assert!((a.2 - b.2).abs() <= 1e-9 * a.2.max(b.2) + 1e-300, "{} vs {}", a.2, b.2);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The 64-bit order (with its fix-up of p-values equal in their top bits; overlaps up to
        /// 2^25) and the 128-bit one (overlaps from 2^32) give the order of sorting
        /// `strand_key`s. p-values come from a few bases nudged by a few ulps, so that many
        /// share their top 32 bits without being equal.
        #[test]
        fn meme_order_is_the_strand_key_order(
            picks in proptest::collection::vec((0usize..6, 0u64..4, 1usize..40), 1..300),
            shift in proptest::sample::select(vec![0usize, 20, 32]),
            seed in 0u64..1000,
        ) {
            let bases = [0.0, 1e-300, 3.5e-8, 0.0625, 0.5, 1.0];
            let n = picks.len();
            // Tie ranks: a permutation of 0..n.
            let mut ranks: Vec<usize> = (0..n).collect();
            ranks.sort_by_key(|&r| (r as u64).wrapping_mul(seed * 2 + 1) % 1009);
            let hits: Vec<StrandHit> = picks
                .iter()
                .enumerate()
                .map(|(i, &(b, ulps, ov))| StrandHit {
                    strand: i,
                    score: 0,
                    offset: 0,
                    overlap: ov << shift,
                    p: f64::from_bits(f64::to_bits(bases[b]) + ulps),
                })
                .collect();
            let mut want: Vec<u128> = hits
                .iter()
                .map(|h| strand_key(h.p, h.overlap, ranks[h.strand]))
                .collect();
            want.sort_unstable();
            let want: Vec<u64> = want.iter().map(|&k| u64::from(k as u32)).collect();
            let (mut out, mut full) = (Vec::new(), Vec::new());
            let got = meme_order(&hits, |h| ranks[h.strand], (&mut out, &mut full));
            proptest::prop_assert_eq!(got, &want[..]);
        }

        /// The packed key orders like MEME's comparator: p by `total_cmp` (a -0 before a +0),
        /// then the larger overlap, then the tie rank.
        #[test]
        fn strand_keys_sort_like_the_comparator(
            a in (proptest::prop_oneof![proptest::strategy::Just(0.0f64), proptest::strategy::Just(-0.0), 0.0f64..1.0], 1usize..50, 0usize..2000),
            b in (proptest::prop_oneof![proptest::strategy::Just(0.0f64), proptest::strategy::Just(-0.0), 0.0f64..1.0], 1usize..50, 0usize..2000),
        ) {
            let want = a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2));
            proptest::prop_assert_eq!(strand_key(a.0, a.1, a.2).cmp(&strand_key(b.0, b.1, b.2)), want);
        }
    }

    /// The sizes `MatchRow`'s docs give.
    #[test]
    fn compact_rows_are_a_third_of_the_size() {
        assert_eq!(std::mem::size_of::<MatchRow>(), 40);
        assert_eq!(std::mem::size_of::<TomtomMatch>(), 120);
    }

    #[test]
    fn orientation_symbols() {
        assert_eq!(Orientation::Forward.to_string(), "+");
        assert_eq!(Orientation::Reverse.symbol(), '-');
        assert_eq!(Orientation::from_symbol("-"), Some(Orientation::Reverse));
        assert_eq!(Orientation::from_symbol("x"), None);
        assert_eq!(Orientation::Forward.flip(), Orientation::Reverse);
        assert!(Orientation::Forward < Orientation::Reverse);
    }
}

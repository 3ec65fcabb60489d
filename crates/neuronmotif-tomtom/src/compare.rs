//! One query against a prepared [`TargetDb`]: steps 3 to 11 of Tomtom.

use std::fmt;
use std::sync::Arc;

use crate::db::TargetDb;
use crate::distance::PreparedColumn;
use crate::motif::consensus;
use crate::null::{max_null_pvalues, ColumnPmf, WidthGroup};
use crate::qvalue::qvalues;
use crate::scaling::{median_of_row, ScoreScale};
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
/// the [`TargetDb`]. Use them as `&str` through `&*m.target_id` or `m.target_id.as_ref()`.
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

/// Range of MEME "configurations" (`offset + query width`) allowed by the parameters.
fn configurations(db: &TargetDb, w: usize, tw: usize) -> (usize, usize) {
    let p = db.params();
    if p.internal() {
        (w.min(tw), w.max(tw))
    } else if p.min_overlap() > 1 {
        let mo = p.min_overlap().min(w).min(tw);
        (mo, w + tw - mo)
    } else {
        (1, w + tw - 1)
    }
}

/// Largest query-width x pool-size product for which the raw scores of step 3 are kept between
/// the median pass and the binning pass (32 MB of f64); above it they are recomputed.
const SCORE_CACHE_ENTRIES: usize = 1 << 22;

/// Best complete-score alignment of one target strand, from its diagonal sums: `diag[c - 1]`
/// is the sum of the bins of configuration `c` (offset `c - w`). Returns (shifted complete
/// score, offset, overlap). Ties go to the larger overlap, then to the first configuration (the
/// most negative offset), as in MEME.
fn best_alignment(
    diag: &[i64],
    w: usize,
    tw: usize,
    z: usize,
    range: (usize, usize),
) -> (usize, i64, usize) {
    let z = z as i64;
    let mut best: Option<(i64, usize, usize)> = None; // (value, overlap, configuration)
    for c in range.0..=range.1 {
        let (qi0, tj0) = if c <= w { (w - c, 0) } else { (0, c - w) };
        let ov = (w - qi0).min(tw - tj0);
        let value = diag[c - 1] - ov as i64 * z;
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

/// Sum the bins of a `w x tw` block (row `i` of query column `i` starts at `bins[i * stride]`)
/// along its diagonals: `diag[j - i + w - 1] += bins[i][j]`, i.e. per configuration.
fn diagonal_sums(bins: &[u8], stride: usize, w: usize, tw: usize, diag: &mut Vec<i64>) {
    diag.clear();
    diag.resize(w + tw - 1, 0);
    crate::simd::dispatch!(
        diagonal_sums_avx2,
        diagonal_sums_kernel,
        bins,
        stride,
        w,
        tw,
        diag
    )
}

crate::simd::avx2_twin!(fn diagonal_sums_avx2 = diagonal_sums_kernel;
    (bins: &[u8], stride: usize, w: usize, tw: usize, diag: &mut [i64]));

#[inline(always)]
fn diagonal_sums_kernel(bins: &[u8], stride: usize, w: usize, tw: usize, diag: &mut [i64]) {
    for i in 0..w {
        let row = &bins[i * stride..i * stride + tw];
        let d = &mut diag[w - 1 - i..w - 1 - i + tw];
        for (acc, &b) in d.iter_mut().zip(row) {
            *acc += i64::from(b);
        }
    }
}

/// Add the bins of `row` to the histogram `hist` (bins beyond its end are ignored). Four
/// interleaved sub-histograms avoid the store-to-load stalls of repeated bins.
fn add_histogram(row: &[u8], hist: &mut [u32]) {
    let mut sub = [[0u32; 256]; 4];
    let mut chunks = row.chunks_exact(4);
    for c in &mut chunks {
        sub[0][usize::from(c[0])] += 1;
        sub[1][usize::from(c[1])] += 1;
        sub[2][usize::from(c[2])] += 1;
        sub[3][usize::from(c[3])] += 1;
    }
    for &b in chunks.remainder() {
        sub[0][usize::from(b)] += 1;
    }
    for (k, h) in hist.iter_mut().enumerate() {
        *h += sub[0][k] + sub[1][k] + sub[2][k] + sub[3][k];
    }
}

/// `out[j] = scale.bin(row[j] - median)`.
fn bin_into(scale: &ScoreScale, median: f64, row: &[f64], out: &mut [u8]) {
    crate::simd::dispatch!(bin_into_avx2, bin_into_kernel, scale, median, row, out)
}

crate::simd::avx2_twin!(fn bin_into_avx2 = bin_into_kernel;
    (scale: &ScoreScale, median: f64, row: &[f64], out: &mut [u8]));

#[inline(always)]
fn bin_into_kernel(scale: &ScoreScale, median: f64, row: &[f64], out: &mut [u8]) {
    for (b, &x) in out.iter_mut().zip(row) {
        *b = scale.bin(x - median);
    }
}

/// Scratch buffers of one query's comparison, reused across the queries of a batch (every
/// element is written before it is read, so reuse changes no result).
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    scores: Vec<f64>,
    bins: Vec<u8>,
    scratch: Vec<f64>,
    diag: Vec<i64>,
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

    // Steps 3-4: each query column against all target columns; its median; the global range
    // of the shifted scores. Raw scores are kept for step 5 when they fit the cache budget.
    let cache = w * n <= SCORE_CACHE_ENTRIES;
    let scores = sized(&mut ws.scores, if cache { w * n } else { n });
    let scratch = &mut ws.scratch;
    let mut medians = Vec::with_capacity(w);
    let (mut small, mut large) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, qc) in qcols.iter().enumerate() {
        let row = if cache {
            &mut scores[i * n..(i + 1) * n]
        } else {
            &mut scores[..]
        };
        let (lo, hi) = pool.score_into(dist, qc, 0, row);
        let med = median_of_row(row, scratch).unwrap_or(0.0);
        medians.push(med);
        small = small.min(lo - med);
        large = large.max(hi - med);
    }

    // Step 5: integer bins of every (query column, target column) pair, and each query
    // column's bin histogram (step 6's input).
    let scale = ScoreScale::from_range(small, large);
    let z = scale.zero_bin();
    let nbins = usize::from(scale.bin(large)).max(z) + 1;
    let bins = sized(&mut ws.bins, w * n);
    let mut counts = vec![0u32; w * nbins];
    for (i, (qc, &med)) in qcols.iter().zip(&medians).enumerate() {
        let row: &[f64] = if cache {
            &scores[i * n..(i + 1) * n]
        } else {
            let _ = pool.score_into(dist, qc, 0, &mut scores[..]);
            &scores[..]
        };
        let bin_row = &mut bins[i * n..(i + 1) * n];
        bin_into(&scale, med, row, bin_row);
        add_histogram(bin_row, &mut counts[i * nbins..(i + 1) * nbins]);
    }

    // Step 7: the best alignment of every target strand.
    let strands = db.strands();
    let diag = &mut ws.diag;
    let mut hits = Vec::with_capacity(strands.len());
    for (si, st) in strands.iter().enumerate() {
        diagonal_sums(&bins[st.start..], n, w, st.width, diag);
        let range = configurations(db, w, st.width);
        let (score, offset, overlap) = best_alignment(diag, w, st.width, z, range);
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
    let mut groups: Vec<WidthGroup> = db
        .widths()
        .iter()
        .enumerate()
        .map(|(g, &width)| {
            let scores = hits
                .iter()
                .filter(|h| strands[h.strand].group == g)
                .map(|h| h.score)
                .collect();
            WidthGroup::new(width, scores)
        })
        .collect();
    max_null_pvalues(&columns, z, &mut groups);
    let n_strands = if params.reverse_complements() { 2 } else { 1 };
    let float_p = params.float_p_values();
    for h in &mut hits {
        let g = &groups[strands[h.strand].group];
        let p = g.p_value_of(h.score, n_strands).unwrap_or(1.0);
        // MEME parity: MEME keeps the p-value in a C float.
        h.p = if float_p { f64::from(p as f32) } else { p };
    }

    // Step 10: MEME's order, then q-values over every strand's p-value.
    // The keys are unique per strand (orientation and ID rank), so an unstable sort is exact.
    hits.sort_unstable_by(|a, b| {
        let (sa, sb) = (&strands[a.strand], &strands[b.strand]);
        a.p.total_cmp(&b.p)
            .then(b.overlap.cmp(&a.overlap))
            .then(sa.orientation.cmp(&sb.orientation))
            .then(sa.id_rank.cmp(&sb.id_rank))
    });
    let p_sorted: Vec<f64> = hits.iter().map(|h| h.p).collect();
    let q_values = qvalues(&p_sorted);
    Ok(QueryAnalysis {
        sorted: hits,
        q_values,
        query_consensus,
    })
}

/// Step 11: one row per target (its better strand), while the threshold holds.
pub(crate) fn compare_query(
    db: &TargetDb,
    query: &TomtomMotif,
    ws: &mut Workspace,
) -> Result<Vec<TomtomMatch>, TomtomError> {
    let a = analyse(db, query, ws)?;
    let strands = db.strands();
    let targets = db.targets();
    let n_targets = targets.len() as f64;
    let threshold = db.params().threshold();
    let mut seen = vec![false; targets.len()];
    let mut out = Vec::new();
    let query_id: Arc<str> = query.id.as_str().into();
    for (h, &q) in a.sorted.iter().zip(&a.q_values) {
        let e = h.p * n_targets;
        if !threshold.passes(q, e) {
            break;
        }
        let st = strands[h.strand];
        if std::mem::replace(&mut seen[st.target], true) {
            continue;
        }
        let t = &targets[st.target];
        let cons = match st.orientation {
            crate::Orientation::Forward => &t.consensus[0],
            crate::Orientation::Reverse => &t.consensus[1],
        };
        out.push(TomtomMatch {
            query_id: Arc::clone(&query_id),
            target_id: Arc::clone(&t.id),
            target_index: st.target,
            offset: h.offset,
            p_value: h.p,
            e_value: e,
            q_value: q,
            overlap: h.overlap,
            query_consensus: Arc::clone(&a.query_consensus),
            target_consensus: Arc::clone(cons),
            orientation: st.orientation,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let bins = [0u8, 5, 1, 9, 1, 0, 4, 9];
        let mut diag = Vec::new();
        diagonal_sums(&bins, 4, 2, 3, &mut diag);
        assert_eq!(diag, vec![1, 0, 9, 1]);
        let (score, offset, overlap) = best_alignment(&diag, 2, 3, 1, (1, 4));
        assert_eq!((score, offset, overlap), (7 + 2, 1, 2));
        // min-overlap 2 keeps the same best; internal also.
        assert_eq!(best_alignment(&diag, 2, 3, 1, (2, 3)).1, 1);
    }

    #[test]
    fn configurations_follow_min_overlap_and_internal() {
        use crate::TomtomParams;
        use neuronmotif_core::Ppm;
        let db_with = |p: TomtomParams| {
            TargetDb::new(
                vec![TomtomMotif::new("t", Ppm::uniform(3), None)],
                &p.check().unwrap(),
            )
            .unwrap()
        };
        // Default: every overlap from 1 to w + W - 1 (offsets 1 - w ..= W - 1).
        assert_eq!(configurations(&db_with(TomtomParams::new()), 5, 3), (1, 7));
        // min-overlap 2: configurations 2 ..= w + W - 2.
        assert_eq!(
            configurations(&db_with(TomtomParams::new().min_overlap(2)), 5, 3),
            (2, 6)
        );
        // min-overlap larger than a motif is lowered to its width, as in MEME.
        assert_eq!(
            configurations(&db_with(TomtomParams::new().min_overlap(9)), 5, 3),
            (3, 5)
        );
        // Internal: the narrower motif inside the wider one.
        assert_eq!(
            configurations(&db_with(TomtomParams::new().internal(true)), 5, 3),
            (3, 5)
        );
        assert_eq!(
            configurations(&db_with(TomtomParams::new().internal(true)), 2, 3),
            (2, 3)
        );
    }

    #[test]
    fn histogram_counts_every_bin() {
        let row: Vec<u8> = (0..1003u32).map(|i| (i * 7 % 11) as u8).collect();
        let mut hist = vec![0u32; 11];
        add_histogram(&row, &mut hist);
        for (k, &h) in hist.iter().enumerate() {
            assert_eq!(
                h as usize,
                row.iter().filter(|&&b| usize::from(b) == k).count()
            );
        }
    }

    #[test]
    fn ties_prefer_larger_overlap_then_first() {
        // z = 2; all bins 2 (every alignment scores 0): the largest overlap wins, and among
        // equal overlaps the first configuration (most negative offset).
        let bins = [2u8; 6];
        let mut diag = Vec::new();
        diagonal_sums(&bins, 3, 2, 3, &mut diag);
        let (score, offset, overlap) = best_alignment(&diag, 2, 3, 2, (1, 4));
        assert_eq!((score, offset, overlap), (4, 0, 2));
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

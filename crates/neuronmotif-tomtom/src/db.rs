//! The prepared target database: built once, compared against many queries.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::compare::{
    compare_query, search_query, Orientation, QueryMatches, TomtomMatch, Workspace,
};
use crate::distance::ColumnPool;
use crate::motif::{consensus, reverse_complement_columns};
use crate::{TomtomError, TomtomMotif, ValidTomtomParams};

/// One target motif as the database keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetInfo {
    pub(crate) id: Arc<str>,
    pub(crate) width: usize,
    /// Consensus of the pseudocounted forward and reverse-complement matrices.
    pub(crate) consensus: [Arc<str>; 2],
}

impl TargetInfo {
    /// The consensus of one strand (the reverse complement's for `-`).
    pub(crate) fn consensus_of(&self, orientation: Orientation) -> &Arc<str> {
        match orientation {
            Orientation::Forward => &self.consensus[0],
            Orientation::Reverse => &self.consensus[1],
        }
    }
}

/// One strand of one target: where its columns sit in the column pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Strand {
    pub(crate) target: usize,
    pub(crate) orientation: Orientation,
    pub(crate) start: usize,
    pub(crate) width: usize,
    /// Index of this width in [`TargetDb::widths`].
    pub(crate) group: usize,
    /// Rank of the target's ID in byte order (ties by input order): MEME's last sort key.
    pub(crate) id_rank: usize,
    /// Rank among strands in MEME's tie order for equal p-values and overlaps: `+` before `-`,
    /// then target ID (`id_rank`, or `targets + id_rank` for `-` strands).
    pub(crate) tie_rank: usize,
}

/// Target motifs prepared for Tomtom: pseudocounted columns of every target and (unless
/// reverse complements are off) of its reverse complement, in one pool; the strands in MEME's
/// order (`t0+, t0-, t1+, t1-, ...`); and the distinct target widths.
///
/// Build it once per parameter set and reuse it for any number of queries; [`TargetDb::compare`]
/// and [`TargetDb::compare_batch`] only read it.
///
/// ```
/// use ndarray::array;
/// use neuronmotif_core::Ppm;
/// use neuronmotif_tomtom::{TargetDb, TomtomMotif, TomtomParams, Orientation};
///
/// let ebox = Ppm::new(array![
///     [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0],
///     [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0],
/// ]).unwrap(); // CACGTG
/// let other = Ppm::new(array![[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]).unwrap();
/// let params = TomtomParams::new().check().unwrap();
/// let db = TargetDb::new(
///     vec![TomtomMotif::new("EBOX", ebox.clone(), Some(20.0)), TomtomMotif::new("TTA", other, None)],
///     &params,
/// ).unwrap();
/// let hits = db.compare(&TomtomMotif::new("q", ebox, Some(20.0))).unwrap();
/// assert_eq!(&*hits[0].target_id, "EBOX");
/// assert_eq!(hits[0].offset, 0);
/// assert_eq!(hits[0].orientation, Orientation::Forward); // palindrome: ties go to +
/// ```
#[derive(Debug)]
pub struct TargetDb {
    params: ValidTomtomParams,
    targets: Vec<TargetInfo>,
    strands: Vec<Strand>,
    columns: ColumnPool,
    widths: Vec<usize>,
    /// The strands in MEME's tie order (all `+` strands by target ID, then all `-` strands).
    strands_by_rank: Vec<u32>,
    /// Where each width group's strands start in a list of all strands grouped by width
    /// (`widths.len() + 1` entries, the last being the number of strands).
    group_starts: Vec<usize>,
    /// Scratch buffers of finished calls, lent to the next ones (see [`Lent`]).
    spare: Spare,
}

/// The workspaces a [`TargetDb`] keeps between calls. Its `Debug` gives their number only:
/// their buffers are scratch, megabytes of it.
#[derive(Default)]
struct Spare(Mutex<Vec<Workspace>>);

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.try_lock() {
            Ok(spare) => write!(f, "{} spare workspaces", spare.len()),
            Err(_) => f.write_str("spare workspaces (being lent)"),
        }
    }
}

impl Clone for TargetDb {
    /// A copy with no spare scratch buffers of its own.
    fn clone(&self) -> TargetDb {
        TargetDb {
            params: self.params.clone(),
            targets: self.targets.clone(),
            strands: self.strands.clone(),
            columns: self.columns.clone(),
            widths: self.widths.clone(),
            strands_by_rank: self.strands_by_rank.clone(),
            group_starts: self.group_starts.clone(),
            spare: Spare::default(),
        }
    }
}

/// A workspace lent by a [`TargetDb`] for one call (or one job of a batch), given back when
/// dropped. A fresh workspace's first writes to its buffers fault their pages in (see
/// `ed_single::Scratch::keep_rows` for what that cost measured); lent ones are warm, and a
/// batch job's copy of the target strings is kept. The database keeps at most one more than the number
/// of rayon threads, each trimmed of its largest buffers ([`Workspace::trim`]): about the
/// pool's size in rows plus up to 8 MB of kept single-precision rows each, until the database
/// is dropped.
struct Lent<'a> {
    db: &'a TargetDb,
    ws: Option<Workspace>,
}

impl Lent<'_> {
    fn workspace(&mut self) -> &mut Workspace {
        self.ws.get_or_insert_with(Workspace::default)
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let (Some(mut ws), Ok(mut spare)) = (self.ws.take(), self.db.spare.0.lock()) {
            if spare.len() <= rayon::current_num_threads() {
                ws.trim();
                spare.push(ws);
            }
        }
    }
}

impl TargetDb {
    /// Validate and prepare `targets` for `params` (the pseudocount, the background and the
    /// strand setting are applied here).
    pub fn new(
        targets: impl IntoIterator<Item = TomtomMotif>,
        params: &ValidTomtomParams,
    ) -> Result<TargetDb, TomtomError> {
        let mut infos = Vec::new();
        let mut strands = Vec::new();
        let mut columns = ColumnPool::default();
        let bg = params.background();
        for (ti, t) in targets.into_iter().enumerate() {
            t.validate()?;
            let fwd = t.pseudocounted_columns(params.motif_pseudocount(), bg);
            let rc = reverse_complement_columns(&fwd);
            let width = fwd.len();
            let mut push = |cols: &[[f64; 4]], orientation| {
                strands.push(Strand {
                    target: ti,
                    orientation,
                    start: columns.len(),
                    width,
                    group: 0,
                    id_rank: 0,
                    tie_rank: 0,
                });
                for &c in cols {
                    columns.push(c);
                }
            };
            push(&fwd, Orientation::Forward);
            if params.reverse_complements() {
                push(&rc, Orientation::Reverse);
            }
            infos.push(TargetInfo {
                id: t.id.into(),
                width,
                consensus: [consensus(&fwd).into(), consensus(&rc).into()],
            });
        }
        columns.take_sample(crate::ed_single::SAMPLES);
        if infos.is_empty() {
            return Err(TomtomError::EmptyDatabase);
        }
        let mut widths: Vec<usize> = infos.iter().map(|t| t.width).collect();
        widths.sort_unstable();
        widths.dedup();
        let mut by_id: Vec<usize> = (0..infos.len()).collect();
        by_id.sort_by(|&a, &b| infos[a].id.cmp(&infos[b].id).then(a.cmp(&b)));
        let mut id_rank = vec![0; infos.len()];
        for (rank, &t) in by_id.iter().enumerate() {
            id_rank[t] = rank;
        }
        for s in &mut strands {
            s.group = widths.binary_search(&s.width).unwrap_or(0);
            s.id_rank = id_rank[s.target];
        }
        let n = infos.len();
        if strands.len() > u32::MAX as usize {
            return Err(TomtomError::TooManyTargets(n));
        }
        let mut group_starts = vec![0usize; widths.len() + 1];
        for s in &strands {
            group_starts[s.group + 1] += 1;
        }
        for g in 0..widths.len() {
            group_starts[g + 1] += group_starts[g];
        }
        let mut strands_by_rank = vec![0u32; strands.len()];
        for (i, s) in strands.iter_mut().enumerate() {
            s.tie_rank = match s.orientation {
                Orientation::Forward => s.id_rank,
                Orientation::Reverse => n + s.id_rank,
            };
            strands_by_rank[s.tie_rank] = i as u32;
        }
        Ok(TargetDb {
            params: params.clone(),
            targets: infos,
            strands,
            columns,
            widths,
            strands_by_rank,
            group_starts,
            spare: Spare::default(),
        })
    }

    /// The parameters this database was prepared for.
    pub fn params(&self) -> &ValidTomtomParams {
        &self.params
    }

    /// A copy of this database that reports with another threshold (nothing is recomputed).
    pub fn with_threshold(&self, t: crate::Threshold) -> Result<TargetDb, TomtomError> {
        let mut db = self.clone();
        db.params = self.params.with_threshold(t)?;
        Ok(db)
    }

    /// Number of target motifs (not counting reverse complements); E-values are
    /// `p * len()`.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Always false: an empty database is rejected by [`TargetDb::new`].
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Target IDs in input order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.targets.iter().map(|t| &*t.id)
    }

    /// The ID of target `index` (input order; [`MatchRow::target_index`]).
    ///
    /// # Panics
    /// If `index >= self.len()`.
    ///
    /// [`MatchRow::target_index`]: crate::MatchRow::target_index
    pub fn target_id(&self, index: usize) -> &str {
        &self.targets[index].id
    }

    /// The consensus of one strand of target `index`, as [`TomtomMatch::target_consensus`]
    /// gives it (reverse-complemented for `-`).
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn target_consensus(&self, index: usize, orientation: Orientation) -> &str {
        self.targets[index].consensus_of(orientation)
    }

    /// The distinct target widths, ascending.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Total number of target columns in the pool (both strands).
    pub fn total_columns(&self) -> usize {
        self.columns.len()
    }

    pub(crate) fn targets(&self) -> &[TargetInfo] {
        &self.targets
    }

    pub(crate) fn strands(&self) -> &[Strand] {
        &self.strands
    }

    /// Where each width group's strands start when all strands are listed by group (one
    /// more entry than groups: the last is the number of strands).
    pub(crate) fn group_starts(&self) -> &[usize] {
        &self.group_starts
    }

    /// The strand whose [`Strand::tie_rank`] is `rank`.
    pub(crate) fn strand_by_rank(&self, rank: usize) -> usize {
        self.strands_by_rank[rank] as usize
    }

    pub(crate) fn columns(&self) -> &ColumnPool {
        &self.columns
    }

    /// Compare one query against every target: the matches that pass the threshold, best
    /// first (ascending p-value, then larger overlap, then `+` before `-`, then target ID), one
    /// per target (its better strand).
    pub fn compare(&self, query: &TomtomMotif) -> Result<Vec<TomtomMatch>, TomtomError> {
        compare_query(self, query, self.lend(false).workspace())
    }

    /// [`TargetDb::compare`] with compact rows: the same matches in the same order, with the
    /// target named by its index ([`QueryMatches`]). Cheaper to build and to keep when there
    /// are many rows (a third of the memory, no reference counting).
    ///
    /// ```
    /// use ndarray::array;
    /// use neuronmotif_core::Ppm;
    /// use neuronmotif_tomtom::{Orientation, TargetDb, TomtomMotif, TomtomParams};
    ///
    /// let gata = Ppm::new(array![
    ///     [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0],
    /// ]).unwrap(); // GATA
    /// let ccaat = Ppm::new(array![
    ///     [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0],
    ///     [0.0, 0.0, 0.0, 1.0],
    /// ]).unwrap(); // CCAAT
    /// let db = TargetDb::new(
    ///     vec![TomtomMotif::new("CCAAT", ccaat, Some(20.0)), TomtomMotif::new("GATA", gata.clone(), Some(20.0))],
    ///     &TomtomParams::new().check().unwrap(),
    /// ).unwrap();
    /// let found = db.search(&TomtomMotif::new("q", gata, Some(20.0))).unwrap();
    /// let best = &found.rows[0];
    /// assert_eq!(db.target_id(best.target_index as usize), "GATA");
    /// assert_eq!((best.offset, best.orientation), (0, Orientation::Forward));
    /// assert_eq!(db.target_consensus(best.target_index as usize, best.orientation), "GATA");
    /// // The same rows with their strings, as `compare` gives them.
    /// let rows: Vec<_> = found.matches(&db).collect();
    /// assert_eq!(&*rows[0].target_id, "GATA");
    /// ```
    pub fn search(&self, query: &TomtomMotif) -> Result<QueryMatches, TomtomError> {
        search_query(self, query, self.lend(false).workspace())
    }

    /// [`TargetDb::search`] for many queries, in parallel over queries like
    /// [`TargetDb::compare_batch`]: in query order, identical for any number of threads.
    pub fn search_batch(&self, queries: &[TomtomMotif]) -> Result<Vec<QueryMatches>, TomtomError> {
        self.batch(queries, false, search_query)
    }

    /// `each` over `queries` in parallel, one lent workspace per rayon job (`batch` as in
    /// [`Workspace::set_batch`]); in query order, the first failing query's error.
    fn batch<T: Send>(
        &self,
        queries: &[TomtomMotif],
        batch: bool,
        each: fn(&TargetDb, &TomtomMotif, &mut Workspace) -> Result<T, TomtomError>,
    ) -> Result<Vec<T>, TomtomError> {
        let all: Vec<Result<T, TomtomError>> = queries
            .par_iter()
            .map_init(|| self.lend(batch), |ws, q| each(self, q, ws.workspace()))
            .collect();
        all.into_iter().collect()
    }

    /// A spare workspace (or a new one); `batch` as in [`Workspace::set_batch`].
    fn lend(&self, batch: bool) -> Lent<'_> {
        let mut ws = self
            .spare
            .0
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default();
        ws.set_batch(batch);
        Lent {
            db: self,
            ws: Some(ws),
        }
    }

    /// [`TargetDb::compare`] for many queries, in parallel over queries with rayon. The output
    /// is in query order and identical whatever the number of threads. The first failing
    /// query (in input order) gives the error.
    pub fn compare_batch(
        &self,
        queries: &[TomtomMotif],
    ) -> Result<Vec<Vec<TomtomMatch>>, TomtomError> {
        self.batch(queries, true, compare_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TomtomParams;
    use ndarray::Array2;
    use neuronmotif_core::Ppm;

    fn motif(id: &str, width: usize, shift: usize) -> TomtomMotif {
        let probs = Array2::from_shape_fn(
            (width, 4),
            |(i, b)| {
                if (i + shift) % 4 == b {
                    0.7
                } else {
                    0.1
                }
            },
        );
        TomtomMotif::new(id, Ppm::new(probs).unwrap(), Some(20.0))
    }

    /// Lent workspaces come back trimmed, at most one more than the threads are kept, and a
    /// warm workspace gives the same rows as a new one.
    #[test]
    fn lent_workspaces_are_kept_trimmed_and_change_nothing() {
        let targets: Vec<TomtomMotif> = (0..30)
            .map(|i| motif(&format!("T{i}"), 5 + i % 9, i))
            .collect();
        let db = TargetDb::new(targets, &TomtomParams::new().check().unwrap()).unwrap();
        let query = motif("q", 8, 1);
        let cold = compare_query(&db, &query, &mut Workspace::default()).unwrap();
        for _ in 0..3 {
            assert_eq!(db.compare(&query).unwrap(), cold);
        }
        assert_eq!(
            db.spare.0.lock().unwrap().len(),
            1,
            "one call, one workspace kept"
        );
        // Many at once: all but threads + 1 are dropped when given back.
        let many: Vec<Lent<'_>> = (0..rayon::current_num_threads() + 5)
            .map(|_| db.lend(true))
            .collect();
        drop(many);
        assert_eq!(
            db.spare.0.lock().unwrap().len(),
            rayon::current_num_threads() + 1
        );
        // A big buffer is freed on the way back, a small one kept.
        {
            let mut lent = db.lend(false);
            let ws = lent.workspace();
            ws.scores = Vec::with_capacity(2 << 20);
            ws.bins = Vec::with_capacity(1000);
        }
        let spare = db.spare.0.lock().unwrap();
        let back = spare.last().unwrap();
        assert_eq!(back.scores.capacity(), 0);
        assert!(back.bins.capacity() >= 1000);
        drop(spare);
        // Debug names the spare workspaces, not their buffers.
        let shown = format!("{db:?}");
        assert!(shown.contains(&format!(
            "{} spare workspaces",
            rayon::current_num_threads() + 1
        )));
        let batch = db.compare_batch(&[query.clone(), query.clone()]).unwrap();
        assert_eq!(batch, vec![cold.clone(), cold]);
    }
}

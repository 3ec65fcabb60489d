//! Matching CRM segments against a motif database with the Tomtom-compatible comparison.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use neuronmotif_core::SegmentParams;
use neuronmotif_io::{Motif, MotifFile, ReadOptions};
use neuronmotif_sample::Crm;
use neuronmotif_tomtom::{motifs_from_file, TargetDb, TomtomMatch, TomtomMotif, TomtomParams};

use crate::Error;

/// A motif database ready for comparisons.
#[derive(Debug)]
pub struct Database {
    /// The database motifs as read.
    pub motifs: Vec<Motif>,
    /// Prepared targets.
    pub targets: TargetDb,
}

impl Database {
    /// Read any motif file the io crate reads and prepare it as Tomtom targets.
    pub fn open(path: &Path, params: TomtomParams) -> Result<Database, Error> {
        let file = MotifFile::read_path(path, &ReadOptions::default())?;
        if file.motifs.is_empty() {
            return Err(Error::Config(format!(
                "{}: the motif database holds no motifs",
                path.display()
            )));
        }
        let targets = TargetDb::new(motifs_from_file(&file)?, &params.check()?)?;
        Ok(Database {
            motifs: file.motifs,
            targets,
        })
    }
}

/// Where a layer's CRMs come from; it decides whether their PPMs are discounted before the
/// informative segments are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrmOrigin {
    /// Sampled by the genetic search: a cluster of few sequences can look informative by
    /// chance, so the original's `.sel` rule smooths it with M = 80 pseudo-sequences.
    Sampled,
    /// Every sequence of the receptive field was evaluated (the exhaustive branch): a CRM is
    /// the complete set of sequences that activate the neuron in that shift state, not a
    /// sample of it, so its PPM is not discounted. (With M = 80, a neuron that only 32 of the
    /// 4^10 10-mers activate would show no informative position at all.)
    Census,
}

impl CrmOrigin {
    /// The segmentation rule for CRMs of this origin.
    fn segment_params(self) -> SegmentParams {
        match self {
            CrmOrigin::Sampled => SegmentParams::report(),
            CrmOrigin::Census => SegmentParams {
                pseudocount: 0.0,
                ..SegmentParams::report()
            },
        }
    }
}

/// The informative segments of CRMs, as motifs `<crm id>_<start>-<end>` with the CRM's
/// statistics as name and its sample count as nsites.
///
/// A CRM narrower than the shortest segment (a receptive field under 9 bp, such as demo2's
/// first layer, 7 bp) is matched whole, `<crm id>_0-<width>`, when it has an informative
/// position ([`SegmentParams::min_len`]).
pub fn crm_segments(crms: &[Crm], origin: CrmOrigin) -> Result<Vec<Motif>, Error> {
    let params = origin.segment_params();
    let mut out = Vec::new();
    for c in crms {
        let segs = c
            .ppm
            .segments(c.n as f64, &params)
            .map_err(neuronmotif_sample::SampleError::from)?;
        for seg in segs {
            let ppm = c
                .ppm
                .slice(seg.range.clone())
                .map_err(neuronmotif_sample::SampleError::from)?;
            let mut m = Motif::from_ppm(
                format!("{}_{}-{}", c.id(), seg.range.start, seg.range.end),
                ppm,
            );
            m.name = Some(c.alt_name());
            m.nsites = Some(c.n as f64);
            out.push(m);
        }
    }
    Ok(out)
}

/// Significance (q-value) a match needs for the rest of its segment to be searched again.
const RESIDUAL_Q: f64 = 0.05;

/// The parts of segments left beside their significant matches, cut again into segments:
/// Tomtom reports one alignment per segment and database motif, so when a segment holds two
/// sites of the same motif (an inverted or tandem repeat closer than a segment's flanks can
/// separate) only one would be reported. For every match with q < 0.05, the columns outside
/// its aligned span are segmented by the same rule as the CRM; every new segment is returned
/// once, as a motif `<crm id>_<start>-<end>` like the others, to be matched in turn.
/// `segments` and `matches` are the output of [`crm_segments`] and [`match_segments`].
pub fn residual_segments(
    crms: &[Crm],
    origin: CrmOrigin,
    segments: &[Motif],
    matches: &[TomtomMatch],
) -> Result<Vec<Motif>, Error> {
    let params = origin.segment_params();
    let by_id: std::collections::HashMap<String, &Crm> = crms.iter().map(|c| (c.id(), c)).collect();
    let known: BTreeSet<&str> = segments.iter().map(|m| m.id.as_str()).collect();
    let mut made = BTreeSet::new();
    let mut kept: std::collections::HashMap<&str, Vec<Range<usize>>> =
        std::collections::HashMap::new();
    let mut pieces_done = BTreeSet::new();
    let mut out = Vec::new();
    for m in matches {
        if m.q_value >= RESIDUAL_Q {
            continue;
        }
        let Some((crm_id, range)) = m.query_id.rsplit_once('_') else {
            continue;
        };
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Some(crm)) =
            (a.parse::<usize>(), b.parse::<usize>(), by_id.get(crm_id))
        else {
            continue;
        };
        let first = usize::try_from(-m.offset.min(0)).unwrap_or(0);
        let span = (start + first).min(end)..(start + first + m.overlap).min(end);
        for piece in [start..span.start, span.end..end] {
            if piece.len() < params.min_len || !pieces_done.insert((crm_id, piece.start, piece.end))
            {
                continue;
            }
            let ppm = crm
                .ppm
                .slice(piece.clone())
                .map_err(neuronmotif_sample::SampleError::from)?;
            for seg in ppm
                .segments(crm.n as f64, &params)
                .map_err(neuronmotif_sample::SampleError::from)?
            {
                let (a, b) = (piece.start + seg.range.start, piece.start + seg.range.end);
                let id = format!("{crm_id}_{a}-{b}");
                if known.contains(id.as_str()) || made.contains(&id) {
                    continue;
                }
                // Similar database motifs align to one site with slightly different spans and
                // leave nested remainders: keep the first of each such family.
                let spans = kept.entry(crm_id).or_default();
                if spans
                    .iter()
                    .any(|s: &Range<usize>| near_copy(s, &(a..b), params.min_len))
                {
                    continue;
                }
                spans.push(a..b);
                made.insert(id.clone());
                let mut motif = Motif::from_ppm(
                    id,
                    crm.ppm
                        .slice(a..b)
                        .map_err(neuronmotif_sample::SampleError::from)?,
                );
                motif.name = Some(crm.alt_name());
                motif.nsites = Some(crm.n as f64);
                out.push(motif);
            }
        }
    }
    Ok(out)
}

/// Whether two column ranges of one CRM share at least 3/4 of their union and differ by fewer
/// columns than a segment (`min_len`): the same site cut a little differently, never one range
/// plus room for another site.
fn near_copy(x: &Range<usize>, y: &Range<usize>, min_len: usize) -> bool {
    let shared = x.end.min(y.end).saturating_sub(x.start.max(y.start));
    let union = x.end.max(y.end) - x.start.min(y.start);
    4 * shared >= 3 * union && union - shared < min_len
}

/// Compare segments with the database (parallel over segments).
pub fn match_segments(db: &Database, segments: &[Motif]) -> Result<Vec<TomtomMatch>, Error> {
    let queries: Vec<TomtomMotif> = segments.iter().map(TomtomMotif::from).collect();
    let per_query = db.targets.compare_batch(&queries)?;
    Ok(per_query.into_iter().flatten().collect())
}

/// The database motifs that appear as targets.
pub fn matched_targets(db: &Database, matches: &[TomtomMatch]) -> Vec<Motif> {
    let ids: BTreeSet<&str> = matches.iter().map(|m| &*m.target_id).collect();
    db.motifs
        .iter()
        .filter(|m| ids.contains(m.id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuronmotif_core::Ppm;
    use neuronmotif_field::ShiftId;

    fn crm(rows: Vec<[f64; 4]>, n: usize) -> Crm {
        Crm {
            layer: 1,
            neuron: 3,
            shift: ShiftId(0),
            motif_nb: 1,
            ppm: Ppm::new(ndarray::Array2::from_shape_vec((rows.len(), 4), rows.concat()).unwrap())
                .unwrap(),
            n,
            act_max: 1.0,
            conact: 1.0,
            route: None,
        }
    }

    #[test]
    fn near_copies_share_three_quarters_and_leave_no_room_for_a_site() {
        assert!(near_copy(&(0..15), &(0..17), 9));
        assert!(near_copy(&(0..15), &(0..20), 9));
        assert!(!near_copy(&(0..15), &(0..24), 9));
        assert!(!near_copy(&(0..15), &(14..34), 9));
        assert!(near_copy(&(3..12), &(3..12), 9));
        // 3/4 shared, but the 9 extra columns could hold another site
        assert!(!near_copy(&(0..27), &(0..36), 9));
        assert!(near_copy(&(0..27), &(0..35), 9));
    }

    /// A CRM narrower than the shortest segment is matched whole when it holds an informative
    /// position, and not at all when it holds none; a wide one is cut as before.
    #[test]
    fn narrow_crms_are_matched_whole_when_informative() {
        let sharp = [0.97, 0.01, 0.01, 0.01];
        let flat = [0.25; 4];
        let narrow = crm(vec![flat, sharp, sharp, sharp, flat, sharp, flat], 200);
        let segs = crm_segments(&[narrow], CrmOrigin::Census).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].id, "L1_N3_S0_0-7");
        assert_eq!(segs[0].width(), 7);
        let uniform = crm(vec![flat; 7], 200);
        assert!(crm_segments(&[uniform], CrmOrigin::Census)
            .unwrap()
            .is_empty());
        // 12 wide: the ordinary rule (informative run 3..9 plus flanks of 2)
        let mut rows = vec![flat; 12];
        rows[3..9].fill(sharp);
        let segs = crm_segments(&[crm(rows, 200)], CrmOrigin::Census).unwrap();
        let ids: Vec<&str> = segs.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["L1_N3_S0_1-11"]);
    }
}

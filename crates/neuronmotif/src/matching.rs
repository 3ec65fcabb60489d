//! Matching CRM segments against a motif database with the Tomtom-compatible comparison.

use std::collections::BTreeSet;
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

/// The informative segments of CRMs, as motifs `<crm id>_<start>-<end>` with the CRM's
/// statistics as name and its sample count as nsites.
pub fn crm_segments(crms: &[Crm], origin: CrmOrigin) -> Result<Vec<Motif>, Error> {
    let params = match origin {
        CrmOrigin::Sampled => SegmentParams::report(),
        CrmOrigin::Census => SegmentParams {
            pseudocount: 0.0,
            ..SegmentParams::report()
        },
    };
    let mut out = Vec::new();
    for c in crms {
        for seg in c
            .ppm
            .segments(c.n as f64, &params)
            .map_err(neuronmotif_sample::SampleError::from)?
        {
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

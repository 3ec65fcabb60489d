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

/// The informative segments of CRMs, as motifs `<crm id>_<start>-<end>` with the CRM's
/// statistics as name and its sample count as nsites.
pub fn crm_segments(crms: &[Crm]) -> Result<Vec<Motif>, Error> {
    let params = SegmentParams::report();
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

//! `cargo xtask jaspar-subset`: the small JASPAR 2024 file the demo and the planted-model tests
//! match against, `testdata/jaspar/JASPAR2024_demo_subset.meme`.
//!
//! The subset is a fixed list of matrix IDs ([`SUBSET`]): every motif planted in the
//! ground-truth models or in the demo's training data, their close relatives (so that a
//! recovered motif has to beat its family to be called, and q-values are computed against
//! look-alikes), and unrelated decoys. Each selected motif is copied with its exact text: the
//! file is read and written with `neuronmotif-io`, whose MEME writer reproduces what it read
//! byte for byte (a test below checks every block against the source).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use neuronmotif_io::{Format, MotifFile, ReadOptions};

const HELP: &str = "cargo xtask jaspar-subset [--fixtures DIR] [--out FILE]

Writes the demo's JASPAR subset (62 fixed matrix IDs, listed in xtask/src/jaspar_subset.rs)
from JASPAR2024_CORE_vertebrates_non-redundant.meme, keeping each motif's text exactly.
No Python needed.
  --fixtures DIR   the shared fixtures folder (default ../shared/fixtures beside the repository)
  --out FILE       output (default testdata/jaspar/JASPAR2024_demo_subset.meme)";

/// Why a matrix is in the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Planted in a ground-truth model (`testdata/planted/`).
    Planted,
    /// Planted in the demo model's simulated training data.
    Trained,
    /// Planted in both.
    PlantedAndTrained,
    /// A family member of a planted or trained motif.
    Relative,
    /// Unrelated to anything planted.
    Decoy,
}

/// The subset: JASPAR 2024 matrix ID, name (as JASPAR spells it) and role.
pub const SUBSET: &[(&str, &str, Role)] = &[
    // planted in the ground-truth models and/or the demo training data
    ("MA0139.2", "CTCF", Role::PlantedAndTrained),
    ("MA0035.5", "GATA1", Role::Trained),
    ("MA0091.2", "TAL1::TCF3", Role::PlantedAndTrained),
    ("MA0099.4", "FOS::JUN", Role::Trained),
    ("MA0037.5", "Gata3", Role::Planted),
    ("MA0143.5", "SOX2", Role::Planted),
    ("MA0090.4", "TEAD1", Role::Planted),
    ("MA0047.4", "FOXA2", Role::Planted),
    // relatives: CTCF
    ("MA1102.3", "CTCFL", Role::Relative),
    // GATA family and the GATA1::TAL1 composite
    ("MA0036.4", "GATA2", Role::Relative),
    ("MA0482.3", "GATA4", Role::Relative),
    ("MA0766.3", "GATA5", Role::Relative),
    ("MA1104.3", "GATA6", Role::Relative),
    ("MA0140.3", "GATA1::TAL1", Role::Relative),
    // E-box (bHLH) relatives of TAL1::TCF3
    ("MA0522.4", "TCF3", Role::Relative),
    ("MA0521.3", "Tcf12", Role::Relative),
    ("MA0830.3", "TCF4", Role::Relative),
    ("MA0092.2", "Hand1::Tcf3", Role::Relative),
    ("MA0103.4", "ZEB1", Role::Relative),
    // AP-1 (bZIP) relatives of FOS::JUN
    ("MA0476.2", "FOS", Role::Relative),
    ("MA0477.3", "FOSL1", Role::Relative),
    ("MA0478.2", "FOSL2", Role::Relative),
    ("MA0489.3", "Jun", Role::Relative),
    ("MA0490.3", "JUNB", Role::Relative),
    ("MA0462.3", "BATF::JUN", Role::Relative),
    ("MA0841.2", "NFE2", Role::Relative),
    ("MA0496.4", "MAFK", Role::Relative),
    ("MA0591.2", "Bach1::Mafk", Role::Relative),
    // SOX relatives
    ("MA0077.2", "SOX9", Role::Relative),
    ("MA0078.3", "Sox17", Role::Relative),
    ("MA0442.3", "SOX10", Role::Relative),
    ("MA0142.1", "Pou5f1::Sox2", Role::Relative),
    // TEAD relatives
    ("MA1121.2", "TEAD2", Role::Relative),
    ("MA0808.1", "TEAD3", Role::Relative),
    ("MA0809.3", "TEAD4", Role::Relative),
    // FOXA relatives
    ("MA0148.5", "FOXA1", Role::Relative),
    ("MA1683.2", "FOXA3", Role::Relative),
    // unrelated decoys
    ("MA0002.3", "Runx1", Role::Decoy),
    ("MA0014.4", "PAX5", Role::Decoy),
    ("MA0017.3", "NR2F1", Role::Decoy),
    ("MA0018.5", "CREB1", Role::Decoy),
    ("MA0028.3", "ELK1", Role::Decoy),
    ("MA0039.5", "KLF4", Role::Decoy),
    ("MA0046.3", "HNF1A", Role::Decoy),
    ("MA0050.4", "Irf1", Role::Decoy),
    ("MA0052.5", "MEF2A", Role::Decoy),
    ("MA0058.4", "MAX", Role::Decoy),
    ("MA0060.4", "NFYA", Role::Decoy),
    ("MA0079.5", "SP1", Role::Decoy),
    ("MA0080.7", "Spi1", Role::Decoy),
    ("MA0088.2", "ZNF143", Role::Decoy),
    ("MA0095.4", "Yy1", Role::Decoy),
    ("MA0102.5", "CEBPA", Role::Decoy),
    ("MA0106.3", "TP53", Role::Decoy),
    ("MA0112.4", "ESR1", Role::Decoy),
    ("MA0114.5", "HNF4A", Role::Decoy),
    ("MA0138.3", "REST", Role::Decoy),
    ("MA0144.3", "STAT3", Role::Decoy),
    ("MA0147.4", "MYC", Role::Decoy),
    ("MA0154.5", "EBF1", Role::Decoy),
    ("MA0506.3", "Nrf1", Role::Decoy),
    ("MA0647.2", "GRHL1", Role::Decoy),
];

/// The source file name inside the fixtures' `jaspar/` folder.
pub const SOURCE: &str = "JASPAR2024_CORE_vertebrates_non-redundant.meme";

/// Where the subset lives in the repository.
pub const OUTPUT: &str = "testdata/jaspar/JASPAR2024_demo_subset.meme";

/// The repository root (this crate's parent folder).
fn repo_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    p.canonicalize().unwrap_or(p)
}

/// The subset of `source` as MEME text, motifs in the source file's order.
pub fn subset_text(source: &Path) -> Result<String, String> {
    let file = MotifFile::read_path(source, &ReadOptions::with_format(Format::Meme))
        .map_err(|e| e.to_string())?;
    let mut wanted: BTreeSet<&str> = SUBSET.iter().map(|(id, _, _)| *id).collect();
    if wanted.len() != SUBSET.len() {
        return Err("the subset list repeats an ID".into());
    }
    let mut motifs = Vec::with_capacity(SUBSET.len());
    for m in &file.motifs {
        if wanted.remove(m.id.as_str()) {
            let expected = SUBSET
                .iter()
                .find(|(id, _, _)| *id == m.id)
                .map(|(_, name, _)| *name);
            if m.name.as_deref() != expected {
                return Err(format!(
                    "{}: {} is named {:?} there, the subset list expects {:?}",
                    source.display(),
                    m.id,
                    m.name,
                    expected
                ));
            }
            motifs.push(m.clone());
        }
    }
    if !wanted.is_empty() {
        return Err(format!(
            "{} lacks {} of the subset's IDs: {:?} (is it the JASPAR 2024 release?)",
            source.display(),
            wanted.len(),
            wanted
        ));
    }
    let subset = MotifFile {
        format: Format::Meme,
        meme_header: file.meme_header.clone(),
        motifs,
    };
    let mut out = Vec::new();
    subset
        .write(&mut out, Format::Meme)
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

pub fn run(args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let mut fixtures = root.join("../shared/fixtures");
    let mut out = root.join(OUTPUT);
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    while let Some(flag) = a.flag() {
        match flag {
            "--fixtures" => fixtures = a.path(flag, "a folder")?,
            "--out" => out = a.path(flag, "a file")?,
            other => return Err(a.unknown(other)),
        }
    }
    let source = fixtures.join("jaspar").join(SOURCE);
    if !source.exists() {
        return Err(format!(
            "{} not found (pass --fixtures DIR; the subset is committed, so this task is only needed to remake it)",
            source.display()
        ));
    }
    let text = subset_text(&source)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {} ({} motifs, {} bytes) from {}",
        out.display(),
        SUBSET.len(),
        text.len(),
        source.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Option<PathBuf> {
        let p = repo_root().join("../shared/fixtures/jaspar").join(SOURCE);
        if p.exists() {
            Some(p)
        } else {
            eprintln!(
                "skipped: {} is absent (shared fixtures not available)",
                p.display()
            );
            None
        }
    }

    /// Every motif block of the subset is a verbatim block of the source file, and the header
    /// is the source's header.
    #[test]
    fn subset_keeps_the_exact_motif_text() {
        let Some(src) = source() else { return };
        let text = subset_text(&src).unwrap();
        let original = std::fs::read_to_string(&src).unwrap();
        let mut blocks = text.split("\nMOTIF ");
        let header = blocks.next().unwrap();
        assert!(original.starts_with(header), "header differs");
        let mut n = 0;
        for block in blocks {
            let block = format!("\nMOTIF {block}");
            assert!(original.contains(&block), "not verbatim:{block}");
            n += 1;
        }
        assert_eq!(n, SUBSET.len());
    }

    /// The roles are right: every motif planted in a ground-truth model or in the demo's
    /// training data (as metrics.json records it) is in the subset with that role.
    #[test]
    fn planted_and_trained_motifs_have_their_roles() {
        let role = |id: &str| SUBSET.iter().find(|(i, _, _)| *i == id).map(|(_, _, r)| *r);
        for d in crate::planted::designs() {
            for f in &d.filters {
                assert!(
                    matches!(role(f.id), Some(Role::Planted | Role::PlantedAndTrained)),
                    "{} of {} is not marked planted",
                    f.id,
                    d.name
                );
            }
        }
        let metrics: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("testdata/demo/metrics.json")).unwrap(),
        )
        .unwrap();
        let trained = metrics["design"]["motifs"].as_object().unwrap();
        assert_eq!(trained.len(), 4);
        for id in trained.keys() {
            assert!(
                matches!(role(id), Some(Role::Trained | Role::PlantedAndTrained)),
                "{id} is not marked trained"
            );
        }
        assert!(HELP.contains(&format!("({} fixed matrix IDs", SUBSET.len())));
    }

    /// The committed file is what the task writes.
    #[test]
    fn committed_subset_is_up_to_date() {
        let Some(src) = source() else { return };
        let committed = std::fs::read_to_string(repo_root().join(OUTPUT)).unwrap();
        assert_eq!(committed, subset_text(&src).unwrap());
    }
}

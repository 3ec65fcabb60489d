//! Claim: motifs read with neuronmotif-io become the same Tomtom inputs as the fixtures'
//! reference reader gives (so the CLI and the tests compare the same numbers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::motifs_from_file;

#[test]
fn io_reader_gives_the_same_inputs() {
    for rel in [
        "tomtom/queries_dev.meme",
        "jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme",
    ] {
        let Some(path) = common::fixture(rel) else {
            return;
        };
        let file = MotifFile::read_path(&path, &ReadOptions::default()).unwrap();
        let via_io = motifs_from_file(&file).unwrap();
        let via_test = common::read_meme(&path);
        assert_eq!(via_io.len(), via_test.len());
        for (a, b) in via_io.iter().zip(&via_test) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.nsites, b.nsites);
            assert_eq!(a.background, b.background);
            let diff = (&a.ppm.view() - &b.ppm.view())
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(diff < 1e-12, "{} differs by {diff}", a.id);
        }
    }
}

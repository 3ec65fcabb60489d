//! Reading a motif database and writing it back in the same format reproduces the file byte
//! for byte: the record keeps what the file had, and the writers use the layouts of JASPAR's
//! and MEME's own exports.

mod common;

use common::{fixture, MOTIF_DATABASES};
use neuronmotif_io::{MotifFile, ReadOptions};

#[test]
fn every_database_is_rewritten_exactly() {
    for (relative, _) in MOTIF_DATABASES {
        let Some(path) = fixture(relative) else {
            continue;
        };
        let original = std::fs::read_to_string(&path).unwrap();
        let file = MotifFile::read_path(&path, &ReadOptions::default()).unwrap();
        let mut out = Vec::new();
        file.write(&mut out, file.format).unwrap();
        let written = String::from_utf8(out).unwrap();
        if written != original {
            let line = written
                .lines()
                .zip(original.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |i| i + 1);
            panic!(
                "{relative}: first difference at line {line}:\n ours: {:?}\n file: {:?}",
                written.lines().nth(line.saturating_sub(1)),
                original.lines().nth(line.saturating_sub(1))
            );
        }
    }
}

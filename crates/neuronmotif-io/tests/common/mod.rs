//! Shared helpers for the integration tests.
#![allow(dead_code)] // each test crate uses a different part of this module

// The oracle panics on failure by design: it runs inside tests and fuzz targets.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod oracle;

use std::path::PathBuf;

/// The path of a file under `../shared/fixtures` (relative to the workspace root), or `None`
/// with a notice on stderr when the fixtures are not on this machine: the suite must pass on a
/// fresh checkout that has only the repository.
pub fn fixture(relative: &str) -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = workspace.join("../shared/fixtures").join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "notice: skipping, fixture {} is absent (expected at {})",
            relative,
            path.display()
        );
        None
    }
}

/// The JASPAR exports and the original's MEME database, with their motif counts.
pub const MOTIF_DATABASES: [(&str, usize); 6] = [
    ("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme", 879),
    (
        "jaspar/JASPAR2024_CORE_vertebrates_non-redundant.jaspar",
        879,
    ),
    (
        "jaspar/JASPAR2024_CORE_vertebrates_non-redundant.transfac",
        879,
    ),
    (
        "jaspar/JASPAR2026_CORE_vertebrates_non-redundant.meme",
        1019,
    ),
    (
        "neuronmotif-demos/jaspar2020_core_vertebrates_redundant.meme",
        1011,
    ),
    ("tomtom/queries_dev.meme", 60),
];

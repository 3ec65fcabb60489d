//! Locating `../shared/fixtures`; tests skip with a notice when it is absent.

use std::path::PathBuf;

pub fn fixtures(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "notice: {} is absent; skipping this fixture test",
            dir.display()
        );
        None
    }
}

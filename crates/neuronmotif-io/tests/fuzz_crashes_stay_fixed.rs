//! Every input that once crashed a fuzz target (`fuzz/`, see docs/fuzzing.md) now passes the
//! same round-trip oracle the targets apply. Files are named `<target>-<hash>`; the target
//! names the format (`detect` detects it).

mod common;

use std::path::Path;

use common::oracle::check_round_trip;
use neuronmotif_io::Format;

#[test]
fn every_recorded_crash_passes_the_oracle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = name.split('-').next().unwrap();
        let format = match target {
            "detect" => None,
            other => Some(other.parse::<Format>().unwrap()),
        };
        let data = std::fs::read(&path).unwrap();
        check_round_trip(&data, format);
        replayed += 1;
    }
    assert!(replayed >= 8, "only {replayed} regression inputs found");
}

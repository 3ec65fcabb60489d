//! Time and peak memory of one very wide query (default 1,000 columns) against JASPAR 2024.
//!
//! ```text
//! cargo run --release -p neuronmotif-tomtom --example long_query -- [WIDTH] [JASPAR.meme]
//! ```
//!
//! The query is near-uniform noise with two JASPAR motifs pasted in (the first at column 100 on
//! the + strand, the second reverse-complemented at column WIDTH - 300). Prints the wall time
//! of `TargetDb::compare`, where the two motifs rank, and the process's peak resident memory
//! (`VmHWM` from `/proc/self/status`, Linux only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use neuronmotif_core::Ppm;
use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::{motifs_from_file, TargetDb, Threshold, TomtomMotif, TomtomParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let width: usize = args
        .next()
        .map_or(1000, |w| w.parse().expect("WIDTH must be a number"));
    let db_path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme"
        )
        .to_string()
    });
    let file = MotifFile::read_path(&db_path, &ReadOptions::default())
        .expect("reading the target database");
    let targets = motifs_from_file(&file).unwrap();
    let (a, b) = (&targets[100], &targets[500]);
    // Deterministic near-uniform columns (weights 1 + small wobble).
    let mut rows: Vec<[f64; 4]> = (0..width)
        .map(|i| {
            std::array::from_fn(|k| 1.0 + ((i * 2654435761 + k * 40503) % 1000) as f64 / 2000.0)
        })
        .collect();
    let mut paste = |ppm: &Ppm, at: usize| {
        for (k, r) in ppm.view().outer_iter().enumerate() {
            rows[at + k] = [r[0], r[1], r[2], r[3]];
        }
    };
    let (at_a, at_b) = (
        100.min(width - a.width()),
        width.saturating_sub(300).min(width - b.width()),
    );
    paste(&a.ppm, at_a);
    paste(&b.ppm.reverse_complement(), at_b);
    let q = ndarray::Array2::from_shape_fn((width, 4), |(i, k)| rows[i][k]);
    let query = TomtomMotif::new(
        format!("wide_{width}"),
        Ppm::from_weights(q).unwrap(),
        Some(1000.0),
    );

    let params = TomtomParams::new()
        .threshold(Threshold::QValue(1.0))
        .check()
        .unwrap();
    let db = TargetDb::new(targets.clone(), &params).unwrap();
    let t0 = Instant::now();
    let hits = db.compare(&query).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let rank = |id: &str| {
        hits.iter()
            .position(|m| &*m.target_id == id)
            .map(|r| (r + 1, &hits[r]))
    };
    println!(
        "query width {width} vs {} targets: {secs:.3} s, {} rows",
        db.len(),
        hits.len()
    );
    for (t, at) in [(a, at_a), (b, at_b)] {
        if let Some((r, m)) = rank(&t.id) {
            println!(
                "  {} pasted at {at}: rank {r}, p {:.3e}, offset {} {}",
                t.id, m.p_value, m.offset, m.orientation
            );
        }
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            println!(
                "  peak memory: {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
}

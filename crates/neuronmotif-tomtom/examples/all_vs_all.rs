//! All JASPAR 2024 motifs against themselves, every pair kept (Tomtom `-thresh 1`): the
//! all-against-all task of `cargo xtask bench-tomtom`, as a plain loop for profilers.
//!
//! ```text
//! cargo run --release -p neuronmotif-tomtom --example all_vs_all -- [REPS] [JASPAR.meme]
//! ```
//!
//! Prints each repetition's wall time and the minimum; threads follow `RAYON_NUM_THREADS`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::{motifs_from_file, TargetDb, Threshold, TomtomParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let reps: usize = args
        .next()
        .map_or(5, |r| r.parse().expect("REPS must be a number"));
    let path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme"
        )
        .to_string()
    });
    let file = MotifFile::read_path(&path, &ReadOptions::default()).expect("motif file");
    let motifs = motifs_from_file(&file).expect("motifs");
    let params = TomtomParams::new()
        .threshold(Threshold::QValue(1.0))
        .check()
        .unwrap();
    let db = TargetDb::new(motifs.clone(), &params).unwrap();
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    let mut rows = 0;
    for r in 0..reps {
        let (t, c) = (Instant::now(), cpu_seconds());
        let out = db.compare_batch(&motifs).unwrap();
        let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        rows = out.iter().map(Vec::len).sum();
        best = best.min(s);
        best_cpu = best_cpu.min(cpu);
        println!("rep {r}: {s:.3} s wall, {cpu:.3} s CPU");
    }
    println!(
        "{} queries, {} pool columns, {rows} rows, best {best:.3} s wall, {best_cpu:.3} s CPU",
        motifs.len(),
        db.total_columns()
    );
}

/// User + system time of this process, all threads (Linux: `/proc/self/stat`, in clock ticks
/// of 10 ms; a virtual machine's kernel leaves out the time the hypervisor took); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

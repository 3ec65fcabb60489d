//! All JASPAR 2024 motifs against themselves, every pair kept (Tomtom `-thresh 1`): the
//! all-against-all task of `cargo xtask bench-tomtom`, as a plain loop for profilers.
//!
//! ```text
//! cargo run --release -p neuronmotif-tomtom --example all_vs_all -- [REPS] [JASPAR.meme] [rows]
//! ```
//!
//! Prints each repetition's wall time and the minimum; threads follow `RAYON_NUM_THREADS`.
//! The loop times `search_batch` (compact rows, what the bench times). With `rows` as the
//! third argument it instead alternates, REPS rounds, the same comparison keeping every row as
//! a `TomtomMatch`, as compact rows, and none (E-value threshold 1e-300), to measure what
//! building the 772,641 output rows costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::{motifs_from_file, TargetDb, Threshold, TomtomMotif, TomtomParams};

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
    if args.next().as_deref() == Some("rows") {
        rows_ab(&db, &motifs, reps);
        return;
    }
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    let mut rows = 0;
    for r in 0..reps {
        let (t, c) = (Instant::now(), cpu_seconds());
        let out = db.search_batch(&motifs).unwrap();
        let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        rows = out.iter().map(|m| m.rows.len()).sum();
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

/// Three ways of keeping the 772,641 rows, taking turns call by call: [`TomtomMatch`] rows
/// (`compare_batch`), compact rows (`search_batch`), and none (E-value threshold 1e-300, the
/// analysis alone); prints each round and the median ratios to the first.
///
/// [`TomtomMatch`]: neuronmotif_tomtom::TomtomMatch
fn rows_ab(db: &TargetDb, motifs: &[TomtomMotif], reps: usize) {
    let none = TargetDb::new(
        motifs.to_vec(),
        &TomtomParams::new()
            .threshold(Threshold::EValue(1e-300))
            .check()
            .unwrap(),
    )
    .unwrap();
    let mut ratios = [Vec::new(), Vec::new()];
    for r in 0..reps {
        let mut secs = [0.0; 3];
        // each goes first in turn
        let order = [[0, 1, 2], [1, 2, 0], [2, 0, 1]][r % 3];
        for i in order {
            let t = Instant::now();
            match i {
                0 => drop(db.compare_batch(motifs).unwrap()),
                1 => drop(db.search_batch(motifs).unwrap()),
                _ => drop(none.search_batch(motifs).unwrap()),
            }
            secs[i] = t.elapsed().as_secs_f64();
        }
        println!(
            "round {r}: TomtomMatch rows {:.3} s, compact rows {:.3} s, no rows {:.3} s",
            secs[0], secs[1], secs[2]
        );
        ratios[0].push(secs[1] / secs[0]);
        ratios[1].push(secs[2] / secs[0]);
    }
    for r in &mut ratios {
        r.sort_by(f64::total_cmp);
    }
    println!(
        "median compact / TomtomMatch rows: {:.3}; no rows / TomtomMatch rows: {:.3}",
        ratios[0][reps / 2],
        ratios[1][reps / 2]
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

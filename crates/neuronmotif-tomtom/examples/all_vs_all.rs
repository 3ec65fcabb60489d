//! All JASPAR 2024 motifs against themselves, every pair kept (Tomtom `-thresh 1`): the
//! all-against-all task of `cargo xtask bench-tomtom`, as a plain loop for profilers.
//!
//! ```text
//! cargo run --release -p neuronmotif-tomtom --example all_vs_all -- [REPS] [JASPAR.meme] [rows]
//! ```
//!
//! Prints each repetition's wall time and the minimum; threads follow `RAYON_NUM_THREADS`.
//! With `rows` as the third argument it instead alternates, REPS rounds, the same comparison
//! keeping every row and keeping none (E-value threshold 1e-300), to measure what building
//! the 772,641 output rows costs.
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

/// Every row kept against none kept, alternating call by call; prints each round and the
/// median ratio none / all.
fn rows_ab(db: &TargetDb, motifs: &[TomtomMotif], reps: usize) {
    let none = TargetDb::new(
        motifs.to_vec(),
        &TomtomParams::new()
            .threshold(Threshold::EValue(1e-300))
            .check()
            .unwrap(),
    )
    .unwrap();
    let mut ratios = Vec::new();
    for r in 0..reps {
        let mut secs = [0.0; 2];
        // the two take turns to go first
        let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let d = if i == 0 { db } else { &none };
            let t = Instant::now();
            let out = d.compare_batch(motifs).unwrap();
            drop(out);
            secs[i] = t.elapsed().as_secs_f64();
        }
        println!(
            "round {r}: all rows {:.3} s, no rows {:.3} s",
            secs[0], secs[1]
        );
        ratios.push(secs[1] / secs[0]);
    }
    ratios.sort_by(f64::total_cmp);
    println!("median no rows / all rows: {:.3}", ratios[ratios.len() / 2]);
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

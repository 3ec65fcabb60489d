#![allow(clippy::unwrap_used)] // a bench has nothing to recover from
//! How long reading and writing a JASPAR-sized motif database takes.
//!
//! Uses JASPAR 2024 (879 motifs) from `../shared/fixtures` when present, otherwise a synthetic
//! database of the same size and widths, so the bench runs on a fresh checkout too.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use neuronmotif_core::Ppm;
use neuronmotif_io::{read_str, write_string, Format, Motif, WriteOptions};

fn database_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return text;
    }
    eprintln!(
        "notice: {} absent, using a synthetic database",
        path.display()
    );
    let motifs: Vec<Motif> = (0..879)
        .map(|i| {
            let width = 6 + i % 15;
            let weights = ndarray::Array2::from_shape_fn((width, 4), |(p, b)| {
                1.0 + ((i * 31 + p * 7 + b * 13) % 17) as f64
            });
            let mut m = Motif::from_ppm(format!("MA{i:04}.1"), Ppm::from_weights(weights).unwrap());
            m.nsites = Some(100.0);
            m
        })
        .collect();
    write_string(Format::Meme, &motifs, &WriteOptions::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    let text = database_text();
    let motifs = read_str(&text, Some(Format::Meme)).unwrap();
    c.bench_function("read 879-motif MEME database", |b| {
        b.iter(|| read_str(black_box(&text), Some(Format::Meme)).unwrap())
    });
    c.bench_function("detect and read 879-motif MEME database", |b| {
        b.iter(|| read_str(black_box(&text), None).unwrap())
    });
    c.bench_function("write 879-motif MEME database", |b| {
        b.iter(|| write_string(Format::Meme, black_box(&motifs), &WriteOptions::default()).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

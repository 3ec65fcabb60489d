//! Tomtom throughput on the tasks of `shared/anchors/tomtom-timing.md`: the 60 dev queries
//! against JASPAR 2024 (879 targets), and all 879 JASPAR motifs against themselves (also with
//! compact rows, `search_batch`), for `ed` and `pearson`; plus one 1,000-column query.
//! Parallel over queries (rayon's default pool).
//! Skips the fixture tasks with a notice when `../shared/fixtures` is absent.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use neuronmotif_core::Ppm;
use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::{
    motifs_from_file, Distance, TargetDb, Threshold, TomtomMotif, TomtomParams,
};

fn fixture(rel: &str) -> Option<Vec<TomtomMotif>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(rel);
    if !p.exists() {
        eprintln!("skipping: {} not found", p.display());
        return None;
    }
    let file = MotifFile::read_path(&p, &ReadOptions::default()).unwrap();
    Some(motifs_from_file(&file).unwrap())
}

fn params(d: Distance) -> neuronmotif_tomtom::ValidTomtomParams {
    // Every pair reported, as the anchor runs (-thresh 1).
    TomtomParams::new()
        .distance(d)
        .threshold(Threshold::QValue(1.0))
        .check()
        .unwrap()
}

fn bench_fixture_tasks(c: &mut Criterion) {
    let (Some(queries), Some(jaspar)) = (
        fixture("tomtom/queries_dev.meme"),
        fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme"),
    ) else {
        return;
    };
    let mut g = c.benchmark_group("tomtom");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    for d in [Distance::Euclidean, Distance::Pearson] {
        let db = TargetDb::new(jaspar.clone(), &params(d)).unwrap();
        g.throughput(Throughput::Elements(queries.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("dev60_vs_jaspar2024", d),
            &queries,
            |b, q| b.iter(|| db.compare_batch(q).unwrap()),
        );
        g.throughput(Throughput::Elements(jaspar.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("jaspar879_vs_jaspar2024", d),
            &jaspar,
            |b, q| b.iter(|| db.compare_batch(q).unwrap()),
        );
        // The same with compact rows (what `cargo xtask bench-tomtom` times).
        g.bench_with_input(
            BenchmarkId::new("jaspar879_vs_jaspar2024_compact", d),
            &jaspar,
            |b, q| b.iter(|| db.search_batch(q).unwrap()),
        );
    }
    g.finish();
}

fn bench_wide_query(c: &mut Criterion) {
    // A 1,000-column query against 200 synthetic targets of widths 6-25 (fixture-free).
    let col = |i: usize, b: usize| 0.1 + ((i * 7 + b * 13) % 17) as f64 / 17.0;
    let targets: Vec<TomtomMotif> = (0..200)
        .map(|t| {
            let w = 6 + t % 20;
            let a = ndarray::Array2::from_shape_fn((w, 4), |(i, b)| col(i + 31 * t, b).powi(4));
            TomtomMotif::new(format!("T{t}"), Ppm::from_weights(a).unwrap(), Some(50.0))
        })
        .collect();
    let q = ndarray::Array2::from_shape_fn((1000, 4), |(i, b)| col(i * 3, b));
    let query = TomtomMotif::new("wide", Ppm::from_weights(q).unwrap(), Some(1000.0));
    let db = TargetDb::new(targets, &params(Distance::Euclidean)).unwrap();
    let mut g = c.benchmark_group("tomtom_wide");
    g.sample_size(10);
    g.bench_function("query_1000_cols_vs_200_targets", |b| {
        b.iter(|| db.compare(&query).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_fixture_tasks, bench_wide_query);
criterion_main!(benches);

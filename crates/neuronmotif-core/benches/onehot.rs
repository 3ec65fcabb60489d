//! One-hot encoding and exhaustive enumeration throughput.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array3;
use neuronmotif_core::onehot::{self, SequenceSpace};
use neuronmotif_core::DnaSeq;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn bench_encode(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let batch = onehot::random(5000, 144, &mut rng);
    let seqs: Vec<DnaSeq> = onehot::decode(batch.view()).unwrap();
    let mut g = c.benchmark_group("onehot");
    g.throughput(Throughput::Elements(5000));
    g.bench_function("encode 5000x144", |b| {
        b.iter(|| onehot::encode(&seqs).unwrap())
    });
    g.bench_function("random 5000x144", |b| {
        b.iter(|| onehot::random(5000, 144, &mut rng))
    });
    g.finish();
}

fn bench_enumerate(c: &mut Criterion) {
    let mut g = c.benchmark_group("enumerate");
    for len in [8usize, 10] {
        let sp = SequenceSpace::new(len).unwrap();
        g.throughput(Throughput::Elements(sp.count() as u64));
        let mut buf = Array3::zeros((4096, len, 4));
        g.bench_with_input(BenchmarkId::from_parameter(len), &sp, |b, sp| {
            b.iter(|| {
                let mut start = 0;
                while start < sp.count() {
                    let n = 4096.min(sp.count() - start);
                    sp.fill(start, buf.slice_mut(ndarray::s![..n, .., ..]))
                        .unwrap();
                    start += n;
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_encode, bench_enumerate);
criterion_main!(benches);

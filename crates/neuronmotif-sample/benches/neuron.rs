//! One neuron's sampling and demixing: BD-10 layer 10 with random weights (per generation of
//! the genetic search, and demixing 20,000 samples), and demo2-shaped layer 4 demixing at
//! motif_nb 1-3.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use neuronmotif_cnn::testing::{random_model, BD10_BRIEF};
use neuronmotif_sample::*;

fn bd10_layer10(c: &mut Criterion) {
    let model = random_model(&BD10_BRIEF, 3);
    let sub = model.substructure(10).unwrap();
    let mut g = c.benchmark_group("bd10_layer10");
    g.sample_size(10);
    // the genetic search for 3 generations from random sequences (population 5,000)
    let sampler = SamplerParams {
        generations: 3,
        patience: 100,
        ..Default::default()
    }
    .check()
    .unwrap();
    let dec = DecoupleParams {
        motif_nb: MotifNb::Fixed(1),
        ..Default::default()
    }
    .check()
    .unwrap();
    let ctx = LayerContext {
        sub: &sub,
        geometry: model.geometry(),
        seeds: None,
        sampler: &sampler,
        decouple: &dec,
        seed: 1,
    };
    g.bench_function("sampling 3 generations x 5000", |b| {
        b.iter(|| sample_neuron(&ctx, 0, &Silent).unwrap())
    });
    // demixing a fixed set of 20,000 samples (16 shift states, features up to 138 x 64 wide)
    let (samples, _) = sample_neuron(&ctx, 0, &Silent).unwrap();
    let samples = samples.select(&(0..samples.len().min(20_000)).collect::<Vec<_>>());
    g.bench_function(
        format!("decoupling {} samples, motif_nb 1", samples.len()),
        |b| b.iter(|| decouple_neuron(&ctx, 0, &samples, 1).unwrap()),
    );
    g.finish();
}

fn demo2_layer4(c: &mut Criterion) {
    let model = random_model(&[(7, 5, 2), (3, 5, 2), (3, 6, 2), (3, 6, 1)], 5);
    let sub = model.substructure(4).unwrap();
    let sampler = SamplerParams {
        generations: 20,
        ..Default::default()
    }
    .check()
    .unwrap();
    let dec = DecoupleParams::default().check().unwrap();
    let ctx = LayerContext {
        sub: &sub,
        geometry: model.geometry(),
        seeds: None,
        sampler: &sampler,
        decouple: &dec,
        seed: 1,
    };
    let (samples, _) = sample_neuron(&ctx, 0, &Silent).unwrap();
    let mut g = c.benchmark_group("demo2_shaped_layer4");
    g.sample_size(10);
    for m in 1..=3 {
        g.bench_function(
            format!("decoupling {} samples, motif_nb {m}", samples.len()),
            |b| b.iter(|| decouple_neuron(&ctx, 0, &samples, m).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, demo2_layer4, bd10_layer10);
criterion_main!(benches);

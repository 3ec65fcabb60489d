//! Repeated demixing of one neuron's samples (for `perf record`).
#![allow(clippy::unwrap_used)]

use neuronmotif_cnn::testing::random_model;
use neuronmotif_sample::*;

fn main() {
    let m: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let model = random_model(&[(7, 5, 2), (3, 5, 2), (3, 6, 2), (3, 6, 1)], 5);
    let sub = model.substructure(4).unwrap();
    let sampler = SamplerParams {
        generations: 20,
        ..Default::default()
    }
    .check()
    .unwrap();
    let iters: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let runs: usize = std::env::args()
        .nth(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dec = DecoupleParams {
        kmeans_max_iter: iters,
        kmeans_runs: runs,
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
    let (samples, _) = sample_neuron(&ctx, 0, &Silent).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..5 {
        decouple_neuron(&ctx, 0, &samples, m).unwrap();
    }
    println!(
        "{} samples, motif_nb {m}: {:.3} s per demixing",
        samples.len(),
        t.elapsed().as_secs_f64() / 5.0
    );
}

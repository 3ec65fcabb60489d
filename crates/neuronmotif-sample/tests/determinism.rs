//! A seed fixes every output, whatever the thread count.
#![allow(clippy::unwrap_used)]

use neuronmotif_cnn::testing::random_model;
use neuronmotif_sample::*;

fn run(threads: usize, seed: u64) -> Vec<Crm> {
    // demo2's shape with random weights: layers 1-3 exercise exhaustive search, the genetic
    // search with seeding, and demixing with pools
    let model = random_model(&[(7, 6, 2), (3, 6, 2), (3, 4, 1)], 11);
    let sampler = SamplerParams {
        generations: 8,
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut prev: Option<LayerTable> = None;
        let mut all = Vec::new();
        for layer in 1..=3 {
            let sub = model.substructure(layer).unwrap();
            let seeds = prev.as_ref().map(|t| SeedSource::new(t, &sampler));
            let ctx = LayerContext {
                sub: &sub,
                geometry: model.geometry(),
                seeds: seeds.as_ref(),
                sampler: &sampler,
                decouple: &dec,
                seed,
            };
            let neurons: Vec<usize> = (0..sub.channels()).collect();
            let r = explain_layer(&ctx, &neurons, &MemoryStore::default(), &Silent).unwrap();
            let crms: Vec<Crm> = r.neurons.into_iter().flat_map(|n| n.crms).collect();
            prev = Some(LayerTable {
                layer,
                rf: sub.input_len(),
                neurons: sub.channels(),
                crms: crms.clone(),
            });
            all.extend(crms);
        }
        all
    })
}

#[test]
fn same_seed_same_crms_for_any_thread_count() {
    let one = run(1, 42);
    assert!(one.iter().any(|c| c.layer == 3), "layer 3 produced CRMs");
    assert_eq!(one, run(2, 42));
    assert_eq!(one, run(3, 42));
    assert_ne!(one, run(2, 43), "a different seed gives different samples");
}

//! A seed fixes every output, whatever the thread count.
#![allow(clippy::unwrap_used)]

use neuronmotif_cnn::testing::random_model;
use neuronmotif_sample::Crm;

mod common;

fn run(threads: usize, seed: u64) -> Vec<Crm> {
    // demo2's shape with random weights: layers 1-3 exercise exhaustive search, the genetic
    // search with seeding, and demixing with pools
    let model = random_model(&[(7, 6, 2), (3, 6, 2), (3, 4, 1)], 11);
    let params = common::quick_params();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        common::explain_layers(&model, 3, &params, seed, |_, channels| {
            (0..channels).collect()
        })
        .into_iter()
        .flat_map(|r| r.neurons)
        .flat_map(|n| n.crms)
        .collect()
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

//! Run one configuration's forward+gradient repeatedly (for `perf record`).
//! `cargo run --release -p neuronmotif-cnn --features testing --example profile_one -- basset|bd10 [grad|fwd] [reps] [direct|winograd|bf16]`
#![allow(clippy::unwrap_used)]

use neuronmotif_cnn::testing::{random_model, BASSET3, BD10_BRIEF};
use neuronmotif_cnn::ConvAlgorithm;
use rand::SeedableRng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let blocks = if args.first().map(String::as_str) == Some("bd10") {
        &BD10_BRIEF[..]
    } else {
        &BASSET3[..]
    };
    let grad = args.get(1).map(String::as_str) != Some("fwd");
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let model = random_model(blocks, 0);
    let algorithm = match args.get(3).map(String::as_str) {
        Some("winograd") => ConvAlgorithm::Winograd,
        Some("bf16") => ConvAlgorithm::Bf16,
        _ => ConvAlgorithm::Direct,
    };
    let sub = model
        .substructure(blocks.len())
        .unwrap()
        .with_conv_algorithm(algorithm);
    eprintln!("{algorithm:?}: tiles {:?}", sub.winograd_tiles());
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let x = neuronmotif_core::onehot::random(5000, sub.input_len(), &mut rng);
    let t = std::time::Instant::now();
    for _ in 0..reps {
        if grad {
            sub.activation_and_gradient(x.view(), 0).unwrap();
        } else {
            sub.activations(x.view(), 0).unwrap();
        }
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    println!("{:.0} seq/s", 5000.0 / s);
}

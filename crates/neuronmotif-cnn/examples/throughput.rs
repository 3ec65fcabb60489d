//! Quick throughput report (the criterion bench is `benches/inference.rs`):
//! `cargo run --release -p neuronmotif-cnn --features testing --example throughput [-- batch runs]`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use neuronmotif_cnn::testing::{
    flops_per_seq, random_model, BASSET3, BD10_BRIEF, BD10_REPO, DEMO2,
};
use neuronmotif_core::onehot;
use rand::SeedableRng;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let batch = args.first().copied().unwrap_or(5000);
    let runs = args.get(1).copied().unwrap_or(5);
    println!(
        "kernel: {}, threads: {}",
        neuronmotif_cnn::kernel_name(),
        rayon::current_num_threads()
    );
    for (name, blocks) in [
        ("BD10_brief", &BD10_BRIEF[..]),
        ("BD10_repo", &BD10_REPO[..]),
        ("Basset_conv3", &BASSET3[..]),
        ("demo2_conv5", &DEMO2[..]),
    ] {
        let model = random_model(blocks, 0);
        let l = blocks.len();
        let sub = model.substructure(l).unwrap();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let x = onehot::random(batch, sub.input_len(), &mut rng);
        let codes = ndarray::Array2::from_shape_fn((batch, sub.input_len()), |(i, j)| {
            (0..4).position(|c| x[[i, j, c]] == 1.0).unwrap() as u8
        });
        let time = |f: &dyn Fn()| {
            f();
            let mut ts: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .collect();
            ts.sort_by(f64::total_cmp);
            ts[ts.len() / 2]
        };
        let fwd_oh = time(&|| {
            sub.activations(x.view(), 0).unwrap();
        });
        let grad_oh = time(&|| {
            sub.activation_and_gradient(x.view(), 0).unwrap();
        });
        let fwd_c = time(&|| {
            sub.activations(codes.view(), 0).unwrap();
        });
        let grad_c = time(&|| {
            sub.activation_and_gradient(codes.view(), 0).unwrap();
        });
        let gf = flops_per_seq(&model, l, model.conv(l).unwrap().out_channels()) / 1e9;
        let n = batch as f64;
        println!(
            "{name:<13} RF {:>3}  forward {:>7.0} seq/s (one-hot) {:>7.0} (codes)   fwd+grad {:>7.0} (one-hot) {:>7.0} (codes)   [{:.1} MFLOP/seq; forward {:.0} GFLOP/s-equivalent]",
            sub.input_len(), n / fwd_oh, n / fwd_c, n / grad_oh, n / grad_c, gf * 1e3, gf * n / fwd_oh
        );
    }
}

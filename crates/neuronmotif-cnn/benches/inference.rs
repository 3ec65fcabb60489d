//! Forward and forward+gradient throughput on the substructures the TensorFlow anchor measures
//! (batch 5,000, random weights, input = RF of the last layer), and the machine's practical
//! f32 peak (a large square GEMM through the same kernel). Each substructure is timed with the
//! direct convolution, with the opt-in Winograd forward and (on CPUs with AVX-512 BF16) with
//! bf16 operands. `cargo xtask bench-cnn` prints the
//! side-by-side table with TensorFlow.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use neuronmotif_cnn::testing::{
    random_model, square_gemm_seconds, BASSET3, BD10_BRIEF, BD10_REPO, DEMO2,
};
use neuronmotif_cnn::ConvAlgorithm;
use neuronmotif_core::onehot;
use rand::SeedableRng;

fn substructures(c: &mut Criterion) {
    for (name, blocks) in [
        ("BD10_brief", &BD10_BRIEF[..]),
        ("BD10_repo", &BD10_REPO[..]),
        ("Basset_conv3", &BASSET3[..]),
        ("demo2_conv5", &DEMO2[..]),
    ] {
        let model = random_model(blocks, 0);
        let sub = model.substructure(blocks.len()).unwrap();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let x = onehot::random(5000, sub.input_len(), &mut rng);
        let codes = ndarray::Array2::from_shape_fn((5000, sub.input_len()), |(i, j)| {
            (0..4).position(|b| x[[i, j, b]] == 1.0).unwrap() as u8
        });
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        g.throughput(Throughput::Elements(5000));
        g.bench_function("forward one-hot", |b| {
            b.iter(|| sub.activations(x.view(), 0).unwrap())
        });
        g.bench_function("forward+gradient one-hot", |b| {
            b.iter(|| sub.activation_and_gradient(x.view(), 0).unwrap())
        });
        g.bench_function("forward codes", |b| {
            b.iter(|| sub.activations(codes.view(), 0).unwrap())
        });
        g.bench_function("forward+gradient codes", |b| {
            b.iter(|| sub.activation_and_gradient(codes.view(), 0).unwrap())
        });
        // The opt-in Winograd forward on the same inputs.
        let wino = sub.clone().with_conv_algorithm(ConvAlgorithm::Winograd);
        g.bench_function("winograd forward one-hot", |b| {
            b.iter(|| wino.activations(x.view(), 0).unwrap())
        });
        g.bench_function("winograd forward+gradient one-hot", |b| {
            b.iter(|| wino.activation_and_gradient(x.view(), 0).unwrap())
        });
        g.bench_function("winograd forward codes", |b| {
            b.iter(|| wino.activations(codes.view(), 0).unwrap())
        });
        // bf16 operands, where the CPU has AVX-512 BF16.
        if ConvAlgorithm::Bf16.is_supported() {
            let half = sub.clone().with_conv_algorithm(ConvAlgorithm::Bf16);
            g.bench_function("bf16 forward one-hot", |b| {
                b.iter(|| half.activations(x.view(), 0).unwrap())
            });
            g.bench_function("bf16 forward+gradient one-hot", |b| {
                b.iter(|| half.activation_and_gradient(x.view(), 0).unwrap())
            });
        }
        g.finish();
    }
}

fn peak(c: &mut Criterion) {
    let mut g = c.benchmark_group("square_gemm_1024");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * 1024 * 1024 * 1024));
    for threads in [1, 2] {
        // Timed inside: B (the weights) is packed once, as the substructure does at load.
        g.bench_function(format!("{threads} threads"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| std::time::Duration::from_secs_f64(square_gemm_seconds(1024, threads)))
                    .sum()
            })
        });
    }
    // The GEMM routes the kernel was chosen against, same size, same threads.
    let n = 1024;
    let a = ndarray::Array2::from_shape_fn((n, n), |(i, j)| ((i * n + j) * 7 % 13) as f32 * 0.1);
    let bm = ndarray::Array2::from_shape_fn((n, n), |(r, c)| ((r * 5 + c) % 11) as f32 * 0.1);
    g.bench_function("ndarray dot (matrixmultiply) 1 thread", |b| {
        b.iter(|| a.dot(&bm))
    });
    for threads in [1, 2] {
        let par = if threads == 1 {
            gemm::Parallelism::None
        } else {
            gemm::Parallelism::Rayon(threads)
        };
        let mut dst = vec![0.0f32; n * n];
        g.bench_function(format!("gemm crate 0.19, {threads} threads"), |b| {
            b.iter(|| {
                let (a, bm) = (a.as_slice().unwrap(), bm.as_slice().unwrap());
                // SAFETY: all three buffers are n x n row-major and live through the call.
                unsafe {
                    gemm::gemm(
                        n,
                        n,
                        n,
                        dst.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr(),
                        1,
                        n as isize,
                        bm.as_ptr(),
                        1,
                        n as isize,
                        0.0f32,
                        1.0f32,
                        false,
                        false,
                        false,
                        par,
                    )
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, substructures, peak);
criterion_main!(benches);

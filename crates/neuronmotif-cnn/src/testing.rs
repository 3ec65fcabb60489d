//! Random models of given shapes, for benchmarks and other crates' tests (feature `testing`).

use ndarray::{Array1, Array3};
use neuronmotif_core::Alphabet;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::{BatchNormLayer, ConvLayer, Layer, Model, Padding};

/// One conv block: kernel, filters, max-pool size after it (1 = none).
pub type BlockShape = (usize, usize, usize);

/// BD-10 with filters 64..512 (the TensorFlow anchor's "brief" variant).
pub const BD10_BRIEF: [BlockShape; 10] = [
    (7, 64, 1),
    (3, 64, 2),
    (3, 128, 1),
    (3, 128, 2),
    (3, 256, 1),
    (3, 256, 2),
    (3, 384, 1),
    (3, 384, 2),
    (3, 512, 1),
    (3, 512, 1),
];

/// BD-10 with the filters of the original repository's model definition.
pub const BD10_REPO: [BlockShape; 10] = [
    (7, 128, 1),
    (3, 128, 2),
    (3, 160, 1),
    (3, 160, 2),
    (3, 256, 1),
    (3, 256, 2),
    (3, 384, 1),
    (3, 384, 2),
    (3, 512, 1),
    (3, 512, 1),
];

/// Basset up to conv 3.
pub const BASSET3: [BlockShape; 3] = [(19, 300, 3), (11, 200, 4), (7, 200, 1)];

/// demo2's shape (5 conv layers, pools of 2).
pub const DEMO2: [BlockShape; 5] = [(7, 5, 2), (3, 5, 2), (3, 6, 2), (3, 6, 2), (3, 1, 1)];

/// A Conv → BatchNorm → ReLU → optional MaxPool chain with random weights (He-scaled, so activations
/// neither vanish nor explode) and random but sane batchnorm statistics, as the TensorFlow
/// anchor builds it.
pub fn random_model(blocks: &[BlockShape], seed: u64) -> Model {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut layers = Vec::new();
    let mut cin = 4;
    for (i, &(k, f, pool)) in blocks.iter().enumerate() {
        let scale = (2.0 / (k * cin) as f32).sqrt();
        layers.push(Layer::Conv(ConvLayer {
            name: format!("conv{}", i + 1),
            weight: Array3::from_shape_fn((f, cin, k), |_| {
                rng.gen_range(-1.0f32..1.0) * scale * 1.7
            }),
            bias: Array1::from_shape_fn(f, |_| rng.gen_range(-0.1f32..0.1)),
            has_bias: true,
            stride: 1,
            dilation: 1,
            padding: Padding::Valid,
        }));
        layers.push(Layer::BatchNorm(BatchNormLayer {
            name: format!("bn{}", i + 1),
            gamma: Array1::from_shape_fn(f, |_| rng.gen_range(0.5f32..1.5)),
            beta: Array1::from_shape_fn(f, |_| rng.gen_range(-0.1f32..0.1)),
            mean: Array1::from_shape_fn(f, |_| rng.gen_range(-0.1f32..0.1)),
            var: Array1::from_shape_fn(f, |_| rng.gen_range(0.5f32..2.0)),
            eps: 1e-3,
        }));
        if i + 1 < blocks.len() {
            layers.push(Layer::Relu { threshold: 0.0 });
            if pool > 1 {
                layers.push(Layer::MaxPool {
                    kernel: pool,
                    stride: pool,
                });
            }
        }
        cin = f;
    }
    // Shapes are valid by construction.
    Model::new(Alphabet::ACGT, None, layers).unwrap_or_else(|e| panic!("random model: {e}"))
}

/// Multiply-add FLOPs (2 per MAC) of one sequence through conv layers 1..=L of `model` at
/// input length RF(L), with the last layer computing `last_channels` channels.
pub fn flops_per_seq(model: &Model, layer: usize, last_channels: usize) -> f64 {
    let Ok(sub) = model.substructure(layer) else {
        return 0.0;
    };
    let len = sub.input_len();
    (1..=layer)
        .filter_map(|l| {
            let c = model.conv(l).ok()?;
            let out = sub.output_len(l, len)?;
            let cout = if l == layer {
                last_channels
            } else {
                c.out_channels()
            };
            Some(2.0 * (out * c.kernel() * c.in_channels() * cout) as f64)
        })
        .sum()
}

/// Seconds for one `n × n × n` f32 product through this crate's packed GEMM kernel, split
/// over `threads` row blocks: the practical compute peak the benchmarks compare against.
pub fn square_gemm_seconds(n: usize, threads: usize) -> f64 {
    use rayon::prelude::*;
    let a: Vec<f32> = (0..n * n).map(|i| ((i * 7) % 13) as f32 * 0.1).collect();
    let b = crate::kernel::PackedB::from_fn(n, n, |r, c| ((r * 5 + c) % 11) as f32 * 0.1);
    let mut c = vec![0.0f32; n * n];
    let rows: Vec<usize> = (0..n).map(|i| i * n).collect();
    let per = n.div_ceil(threads.max(1));
    let t = std::time::Instant::now();
    c.par_chunks_mut(per * n)
        .zip(rows.par_chunks(per))
        .for_each(|(cc, rr)| {
            let lhs = crate::kernel::Lhs {
                data: &a,
                rows: rr,
                seg_len: n,
                seg_stride: n,
                segments: 1,
            };
            crate::kernel::gemm(&lhs, &b, None, cc, n);
        });
    t.elapsed().as_secs_f64()
}

/// Per conv layer of `sub`, on one thread: seconds in the convolution itself and seconds in
/// the ReLU, pooling and affine steps that follow it, summed over `reps` forward passes of
/// `batch` (the last conv computing neuron 0 only, as [`crate::Substructure::activations`]
/// does). For per-layer GFLOP/s in benchmark reports.
pub fn conv_layer_seconds(
    sub: &crate::Substructure,
    batch: ndarray::ArrayView3<'_, f32>,
    reps: usize,
) -> Vec<(f64, f64)> {
    use crate::exec::{Bufs, Plan};
    use crate::substructure::Stage;
    let Ok(plan) = Plan::new(sub, batch.shape()[1]) else {
        return Vec::new();
    };
    let mut bufs = Bufs::new(sub, &plan);
    bufs.time_stages(sub.stages.len());
    let b: crate::Batch<'_> = batch.into();
    let n = batch.shape()[0];
    for _ in 0..reps {
        for start in (0..n).step_by(sub.chunk) {
            let len = sub.chunk.min(n - start);
            bufs.load(&b, start..start + len);
            bufs.forward(sub, &plan, len, sub.stages.len(), Some(0));
        }
    }
    let times = bufs.stage_times().unwrap_or(&[]);
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (stage, t) in sub.stages.iter().zip(times) {
        match stage {
            Stage::Conv(_) => out.push((*t, 0.0)),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.1 += t;
                }
            }
        }
    }
    out
}

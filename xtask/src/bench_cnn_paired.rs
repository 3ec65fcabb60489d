//! `cargo xtask bench-cnn --paired`: our throughput and TensorFlow's timed in alternating
//! pairs, so that a slow phase of this (shared, noisy) host hits both sides of a pair.
//!
//! The sequential table of `bench-cnn` times all of ours, then all of TensorFlow's minutes
//! later; on this host wall times drift by 10–40 % over minutes, which moved its ratios by as
//! much. Here a TensorFlow process stays up and answers one timed call per request, each
//! paired with one of ours on the same substructure and task, the two taking turns to go
//! first; the table gives each side's median and the median (min–max) of the per-pair ratios.
//!
//! TensorFlow's side builds the anchor's models (`../shared/anchors/tf_throughput.py`: Conv1D
//! valid, BatchNormalization with random statistics, ReLU, MaxPooling1D; one channel of the
//! last conv's pre-activation; `tf.function`, `GradientTape` for the gradient) in a small
//! script of ours, since the anchor script runs all its timings in one go.

use std::time::Instant;

use crate::resident::Resident;

use neuronmotif_cnn::testing::{random_model, BlockShape};
use neuronmotif_cnn::ConvAlgorithm;

const TF_SCRIPT: &str = r#"
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

# (kernel, filters, pool after) per block, as in the anchor script
SHAPES = {
    "BD10_brief_filters": list(zip([7] + [3] * 9, [64, 64, 128, 128, 256, 256, 384, 384, 512, 512],
                                   [1, 2, 1, 2, 1, 2, 1, 2, 1, 1])),
    "BD10_repo_filters": list(zip([7] + [3] * 9, [128, 128, 160, 160, 256, 256, 384, 384, 512, 512],
                                  [1, 2, 1, 2, 1, 2, 1, 2, 1, 1])),
    "Basset_conv3": [(19, 300, 3), (11, 200, 4), (7, 200, 1)],
}

def input_length(blocks):
    length, step = 1, 1
    for k, _, pool in blocks:
        length += (k - 1) * step + (pool - 1) * step
        step *= pool
    return length

def substructure(blocks, length):
    rng = np.random.default_rng(0)
    inp = tf.keras.Input(shape=(length, 4))
    x = inp
    for i, (k, filters, pool) in enumerate(blocks):
        x = tf.keras.layers.Conv1D(filters, k, padding="valid")(x)
        bn = tf.keras.layers.BatchNormalization(epsilon=1e-3)
        x = bn(x, training=False)
        bn.set_weights([rng.uniform(0.5, 1.5, filters).astype("f4"),
                        rng.normal(0.0, 0.1, filters).astype("f4"),
                        rng.normal(0.0, 0.1, filters).astype("f4"),
                        rng.uniform(0.5, 2.0, filters).astype("f4")])
        if i + 1 < len(blocks):
            x = tf.keras.layers.ReLU()(x)
            if pool > 1:
                x = tf.keras.layers.MaxPooling1D(pool)(x)
    return tf.keras.Model(inp, x)

built = {}
print("ready", flush=True)
for line in sys.stdin:  # request "name fwd|grad batch"; reply "T seconds"
    name, task, batch = line.split()
    if name not in built:
        length = input_length(SHAPES[name])
        model = substructure(SHAPES[name], length)
        bases = np.random.default_rng(1).integers(0, 4, size=(int(batch), length))
        x = tf.constant(np.eye(4, dtype=np.float32)[bases])

        @tf.function
        def forward(x, model=model):
            return model(x, training=False)[:, 0, 0]

        @tf.function
        def forward_gradient(x, model=model):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = model(x, training=False)[:, 0, 0]
            return y, tape.gradient(y, x)

        calls = {"fwd": lambda: forward(x).numpy(),
                 "grad": lambda: [t.numpy() for t in forward_gradient(x)]}
        for _ in range(2):  # trace and warm up, not timed
            calls["fwd"]()
            calls["grad"]()
        built[name] = calls
    t0 = time.perf_counter()
    built[name][task]()
    print("T", time.perf_counter() - t0, flush=True)
"#;

/// A running TensorFlow timing script.
struct Tf(Resident);

impl Tf {
    fn start(python: &std::path::Path) -> Result<Tf, String> {
        // the script stays until the end: AutoGraph reads its source when it traces
        let script = std::env::temp_dir().join(format!("nm_bench_tf_{}.py", std::process::id()));
        std::fs::write(&script, TF_SCRIPT)
            .map_err(|e| format!("writing {}: {e}", script.display()))?;
        Resident::start("the TensorFlow script", python, &script, &[], true).map(Tf)
    }

    /// One timed call, in seconds.
    fn time(&mut self, name: &str, task: &str, batch: usize) -> Result<f64, String> {
        match self.0.ask(&format!("{name} {task} {batch}"))?[..] {
            [seconds] => Ok(seconds),
            _ => Err("bad TensorFlow line: expected seconds".into()),
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Time every substructure × algorithm against TensorFlow in `pairs` alternating pairs per
/// task (forward, forward+gradient) after one warm-up call of each side, and print the table.
pub fn run(
    python: &std::path::Path,
    configs: &[(&str, &[BlockShape])],
    algorithms: &[ConvAlgorithm],
    batch: usize,
    pairs: usize,
) -> Result<(), String> {
    println!("starting TensorFlow with {} ...", python.display());
    let mut tf = Tf::start(python)?;
    println!(
        "\npaired: batch {batch}, one-hot input, {pairs} pairs per cell (TensorFlow first in pairs 1, 3, ...), \
         sequences per second as medians; ratio = ours / TensorFlow per pair, median (min-max)"
    );
    println!("| substructure | conv | task | ours seq/s | TF seq/s | ours / TF |");
    println!("|---|---|---|---|---|---|");
    for &(name, blocks) in configs {
        let model = random_model(blocks, 0);
        for &algorithm in algorithms {
            let sub = model
                .substructure(blocks.len())
                .map_err(|e| e.to_string())?
                .with_conv_algorithm(algorithm);
            let len = sub.input_len();
            let mut rng = crate::bench_cnn::rand_pcg::Pcg(1);
            let codes = ndarray::Array2::from_shape_fn((batch, len), |_| rng.next());
            let x = crate::bench_cnn::codes_to_onehot(&codes);
            for task in ["fwd", "grad"] {
                let ours = || -> f64 {
                    let t = Instant::now();
                    if task == "fwd" {
                        drop(sub.activations(x.view(), 0));
                    } else {
                        drop(sub.activation_and_gradient(x.view(), 0));
                    }
                    t.elapsed().as_secs_f64()
                };
                ours();
                tf.time(name, task, batch)?;
                let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
                for p in 0..pairs {
                    let (o, t) = if p % 2 == 0 {
                        let t = tf.time(name, task, batch)?;
                        (ours(), t)
                    } else {
                        let o = ours();
                        (o, tf.time(name, task, batch)?)
                    };
                    a.push(batch as f64 / o);
                    b.push(batch as f64 / t);
                    r.push(t / o);
                }
                let (lo, hi) = r
                    .iter()
                    .fold((f64::INFINITY, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
                println!(
                    "| {name} | {algorithm:?} | {} | {:.0} | {:.0} | {:.2}× ({lo:.2}–{hi:.2}) |",
                    if task == "fwd" { "forward" } else { "fwd+grad" },
                    median(&mut a),
                    median(&mut b),
                    median(&mut r)
                );
            }
        }
    }
    Ok(())
}

//! `cargo xtask bench-cnn`: our inference throughput and TensorFlow's, side by side, on this
//! machine, in one sitting.
//!
//! Our numbers come from `neuronmotif_cnn` in-process (median of timed runs after a warm-up,
//! batch 5,000, random weights built like the anchor's). TensorFlow's come from the anchor
//! script `../shared/anchors/tf_throughput.py` run with a Python that has tensorflow-cpu 2.15
//! (`NM_TF_PYTHON`, else `target/xtask-venv-tf/bin/python`, else `python3`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use neuronmotif_cnn::testing::{
    flops_per_seq, random_model, square_gemm_seconds, BlockShape, BASSET3, BD10_BRIEF, BD10_REPO,
    DEMO2,
};
use neuronmotif_cnn::ConvAlgorithm;
use rand_pcg::Pcg;

const HELP: &str =
    "cargo xtask bench-cnn [--batch N] [--runs N] [--no-tf] [--conv direct|winograd|bf16|all] [--per-layer] [--paired]
  Times forward and forward+gradient of BD-10 (two filter settings), Basset and demo2
  substructures with neuronmotif-cnn (direct convolution, Winograd, and bf16 where the CPU has
  AVX-512 BF16, unless --conv picks one), then the same with TensorFlow via the anchor script
  ../shared/anchors/tf_throughput.py (needs python3 with tensorflow-cpu 2.15; set NM_TF_PYTHON
  or create target/xtask-venv-tf with `python3 -m venv target/xtask-venv-tf &&
  target/xtask-venv-tf/bin/pip install tensorflow-cpu==2.15.1`), and prints one table.
  --per-layer: instead, time each conv layer of BD-10 and Basset on one thread (timers
  inside the engine) and print its GFLOP/s.
  --paired: instead, time ours and TensorFlow in alternating pairs (one TensorFlow process
  answering one timed call at a time; --runs pairs per cell) and print per-pair ratios: the
  fairer comparison on a noisy host.";

pub(crate) mod rand_pcg {
    /// A tiny deterministic generator for the input batch (the weights use the crate's own).
    pub struct Pcg(pub u64);
    impl Pcg {
        pub fn next(&mut self) -> u8 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 62) & 3) as u8
        }
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    let (mut batch, mut runs, mut no_tf, mut per_layer) = (5000usize, 5usize, false, false);
    let mut paired = false;
    let mut algorithms: Vec<ConvAlgorithm> = [
        ConvAlgorithm::Direct,
        ConvAlgorithm::Winograd,
        ConvAlgorithm::Bf16,
    ]
    .into_iter()
    .filter(|a| a.is_supported())
    .collect();
    while let Some(flag) = a.flag() {
        match flag {
            "--conv" => {
                algorithms = match a.value(flag, "direct, winograd, bf16 or all")? {
                    "direct" => vec![ConvAlgorithm::Direct],
                    "winograd" => vec![ConvAlgorithm::Winograd],
                    "bf16" if ConvAlgorithm::Bf16.is_supported() => vec![ConvAlgorithm::Bf16],
                    "bf16" => return Err("--conv bf16: this CPU has no AVX-512 BF16".into()),
                    "all" => algorithms,
                    other => {
                        return Err(format!(
                            "--conv {other}: expected direct, winograd, bf16 or all"
                        ))
                    }
                }
            }
            "--batch" => batch = a.parsed(flag, "a positive number", |&n: &usize| n > 0)?,
            "--runs" => runs = a.parsed(flag, "a positive number", |&n: &usize| n > 0)?,
            "--no-tf" => no_tf = true,
            "--per-layer" => per_layer = true,
            "--paired" => paired = true,
            other => return Err(a.unknown(other)),
        }
    }
    let configs: [(&str, &[BlockShape]); 4] = [
        ("BD10_brief_filters", &BD10_BRIEF),
        ("BD10_repo_filters", &BD10_REPO),
        ("Basset_conv3", &BASSET3),
        ("demo2_conv5", &DEMO2),
    ];
    if per_layer {
        return layer_table(&configs[..3], &algorithms, batch, runs);
    }
    if paired {
        print_machine(runs);
        return crate::bench_cnn_paired::run(&tf_python(), &configs[..3], &algorithms, batch, runs);
    }
    print_machine(runs);
    let mut ours = Vec::new();
    for ((name, blocks), algorithm) in configs
        .iter()
        .flat_map(|c| algorithms.iter().map(move |a| (c, *a)))
    {
        let (name, blocks) = (*name, *blocks);
        let model = random_model(blocks, 0);
        let l = blocks.len();
        let sub = model
            .substructure(l)
            .map_err(|e| e.to_string())?
            .with_conv_algorithm(algorithm);
        let len = sub.input_len();
        let mut rng = Pcg(1);
        let codes = ndarray::Array2::from_shape_fn((batch, len), |_| rng.next());
        let x = codes_to_onehot(&codes);
        let fwd = median(runs, || time(|| drop(sub.activations(x.view(), 0))));
        let grad = median(runs, || {
            time(|| drop(sub.activation_and_gradient(x.view(), 0)))
        });
        let fwd_c = median(runs, || time(|| drop(sub.activations(codes.view(), 0))));
        let grad_c = median(runs, || {
            time(|| drop(sub.activation_and_gradient(codes.view(), 0)))
        });
        let full = flops_per_seq(
            &model,
            l,
            model.conv(l).map_err(|e| e.to_string())?.out_channels(),
        );
        let n = batch as f64;
        ours.push((
            name,
            algorithm,
            n / fwd,
            n / grad,
            n / fwd_c,
            n / grad_c,
            full * n / fwd / 1e9,
        ));
    }
    let tf = if no_tf {
        Vec::new()
    } else {
        tensorflow(batch, runs)?
    };
    println!("\nsequences per second, batch {batch}, median of {runs} runs after a warm-up (ratios from the one-hot columns, like TensorFlow's input):");
    println!("| substructure | ours forward (one-hot / codes) | TF forward | ratio | ours fwd+grad (one-hot / codes) | TF fwd+grad | ratio | ours forward GFLOP/s-equivalent |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, algorithm, f, g, fc, gc, gflops) in &ours {
        let t = tf.iter().find(|(n, _, _)| n == name);
        let (tf_f, tf_g) = t.map_or((f64::NAN, f64::NAN), |(_, a, b)| (*a, *b));
        println!(
            "| {name} ({algorithm:?}) | {f:.0} / {fc:.0} | {tf_f:.0} | {:.2}× | {g:.0} / {gc:.0} | {tf_g:.0} | {:.2}× | {gflops:.0} |",
            f / tf_f,
            g / tf_g
        );
    }
    Ok(())
}

/// The machine, our kernel's square-GEMM speed and the FMA ceiling, printed before a table.
fn print_machine(runs: usize) {
    println!(
        "machine: {} ({} threads), kernel {}",
        cpu_model(),
        rayon::current_num_threads(),
        neuronmotif_cnn::kernel_name()
    );
    let gemm1 = median(runs, || square_gemm_seconds(1024, 1));
    let gemm2 = median(runs, || square_gemm_seconds(1024, 2));
    let peak = 2.0 * 1024f64.powi(3) / 1e9;
    println!(
        "practical peak (1024^3 f32 GEMM, our kernel): {:.0} GFLOP/s on 1 thread, {:.0} on 2",
        peak / gemm1,
        peak / gemm2
    );
    if let (Some(f1), Some(f2)) = (
        crate::fma_peak::fma_peak_gflops(1),
        crate::fma_peak::fma_peak_gflops(2),
    ) {
        println!(
            "arithmetic ceiling (register-only AVX2 FMAs): {f1:.0} GFLOP/s on 1 thread, {f2:.0} on 2"
        );
    }
}

/// The Python with tensorflow-cpu: `NM_TF_PYTHON`, else `target/xtask-venv-tf`, else
/// `python3`.
fn tf_python() -> PathBuf {
    std::env::var("NM_TF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/xtask-venv-tf/bin/python");
            if venv.exists() {
                venv
            } else {
                PathBuf::from("python3")
            }
        })
}

fn tensorflow(batch: usize, runs: usize) -> Result<Vec<(&'static str, f64, f64)>, String> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/anchors/tf_throughput.py");
    if !script.exists() {
        println!(
            "note: {} is absent; TensorFlow columns are empty",
            script.display()
        );
        return Ok(Vec::new());
    }
    let python = tf_python();
    println!("running TensorFlow with {} ...", python.display());
    let out = Command::new(&python)
        .arg(&script)
        .args([
            "--batch",
            &batch.to_string(),
            "--runs",
            &runs.to_string(),
            "--warmup",
            "2",
        ])
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e} (set NM_TF_PYTHON to a python with tensorflow-cpu 2.15)",
                python.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "the TensorFlow anchor failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for name in ["BD10_brief_filters", "BD10_repo_filters", "Basset_conv3"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or(format!("no {name} line in the anchor output"))?;
        let json: serde_json::Value =
            serde_json::from_str(line[name.len()..].trim()).map_err(|e| e.to_string())?;
        let f = json["forward_seq_per_s_median"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let g = json["forward_grad_seq_per_s_median"]
            .as_f64()
            .unwrap_or(f64::NAN);
        rows.push((name, f, g));
    }
    Ok(rows)
}

/// Per conv layer of each substructure, on one thread (stage timers inside the engine,
/// `neuronmotif_cnn::testing::conv_layer_seconds`): the convolution's time and GFLOP/s, and
/// the time of the ReLU / pooling after it. The last conv computes one neuron, as in the
/// main table.
fn layer_table(
    configs: &[(&str, &[BlockShape])],
    algorithms: &[ConvAlgorithm],
    batch: usize,
    runs: usize,
) -> Result<(), String> {
    println!(
        "machine: {}; ONE thread, batch {batch}, {runs} forward passes, one-hot input of RF(L) bp",
        cpu_model()
    );
    for (name, blocks) in configs {
        let model = random_model(blocks, 0);
        let l_max = blocks.len();
        println!("\n{name} (ms per pass of {batch} sequences):");
        let mut header = String::from("| conv | k | cin → cout | out len | MFLOP/seq |");
        for a in algorithms {
            header.push_str(&format!(" {a:?} conv ms | GFLOP/s | ReLU+pool ms |"));
        }
        println!("{header}");
        println!("|{}", "---|".repeat(5 + 3 * algorithms.len()));
        let base = model.substructure(l_max).map_err(|e| e.to_string())?;
        let len = base.input_len();
        let mut rng = Pcg(1);
        let codes = ndarray::Array2::from_shape_fn((batch, len), |_| rng.next());
        let x = codes_to_onehot(&codes);
        let cols: Vec<Vec<(f64, f64)>> = algorithms
            .iter()
            .map(|&a| {
                let sub = base.clone().with_conv_algorithm(a);
                neuronmotif_cnn::testing::conv_layer_seconds(&sub, x.view(), runs)
            })
            .collect();
        let mut totals = vec![0.0; algorithms.len()];
        for l in 1..=l_max {
            let c = model.conv(l).map_err(|e| e.to_string())?;
            let out = base.output_len(l, len).unwrap_or(0);
            let cout = if l == l_max { 1 } else { c.out_channels() };
            let flops = 2.0 * (out * c.kernel() * c.in_channels() * cout) as f64;
            let mut row = format!(
                "| {l} | {} | {} → {cout} | {out} | {:.2} |",
                c.kernel(),
                c.in_channels(),
                flops / 1e6
            );
            for (ai, col) in cols.iter().enumerate() {
                let (conv, rest) = col.get(l - 1).copied().unwrap_or((f64::NAN, f64::NAN));
                let (conv, rest) = (conv / runs as f64, rest / runs as f64);
                totals[ai] += conv + rest;
                row.push_str(&format!(
                    " {:.1} | {:.0} | {:.1} |",
                    conv * 1e3,
                    flops * batch as f64 / conv / 1e9,
                    rest * 1e3
                ));
            }
            println!("{row}");
        }
        let seqs: Vec<String> = algorithms
            .iter()
            .zip(&totals)
            .map(|(a, t)| format!("{a:?} {:.0} seq/s", batch as f64 / t))
            .collect();
        println!("one-thread forward, all layers: {}", seqs.join(", "));
    }
    Ok(())
}

pub(crate) fn codes_to_onehot(codes: &ndarray::Array2<u8>) -> ndarray::Array3<f32> {
    let mut x = ndarray::Array3::zeros((codes.nrows(), codes.ncols(), 4));
    for ((i, j), &c) in codes.indexed_iter() {
        x[[i, j, usize::from(c)]] = 1.0;
    }
    x
}

fn time(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn median(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    f(); // warm-up
    let mut v: Vec<f64> = (0..runs.max(1)).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

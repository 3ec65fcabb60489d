//! The compiled substructure (folded batchnorm, packed GEMM, one-hot gather) computes what a
//! direct f64 evaluation of the unfolded layers computes, on random architectures.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use neuronmotif_cnn::{ConvAlgorithm, Model};
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 2e-4 * (1.0 + b.abs())
}

/// Winograd's rounding error scales with the transformed terms, i.e. with the size of the
/// layer's activations rather than with each output, so a small output amid large ones may
/// carry an error of about 1e-7 of the layer's largest value (measured on the wide model
/// below: 1–4 times the direct path's). Allow 1e-5 of it on top of [`close`].
fn close_in_layer(a: f64, b: f64, scale: f64, algorithm: ConvAlgorithm) -> bool {
    match algorithm {
        ConvAlgorithm::Direct => close(a, b),
        ConvAlgorithm::Winograd => (a - b).abs() <= 2e-4 * (1.0 + b.abs()) + 1e-5 * scale,
        ConvAlgorithm::Bf16 => (a - b).abs() <= 2e-4 * (1.0 + b.abs()) + BF16_TOL * scale,
    }
}

/// The size errors are measured against. Winograd errs within a layer, by the size of that
/// layer's own terms. bf16 errors are made in one layer and carried into the next, where an
/// output that cancels (a one-channel layer of small values after a large one) keeps the
/// absolute error of its large inputs, so its scale is the largest activation so far.
fn layer_scale(own: f64, so_far: f64, algorithm: ConvAlgorithm) -> f64 {
    match algorithm {
        ConvAlgorithm::Bf16 => so_far,
        _ => own,
    }
}

/// bf16 keeps 8 significant bits (relative rounding 2^-9 per operand); errors grow layer by
/// layer. Measured on the wide model below: see `bf16_on_a_wide_model`.
const BF16_TOL: f64 = 0.05;

fn largest(rows: &[Vec<f64>]) -> f64 {
    rows.iter().flatten().fold(0.0, |m, v| m.max(v.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn feature_maps_and_activations(spec in spec_strategy(4), extra in 0usize..5, n in 1usize..7) {
        check_against_naive(&build(&spec), spec.seed, extra, n, ConvAlgorithm::Direct)?;
    }

    #[test]
    fn bf16_feature_maps_and_activations(spec in spec_strategy(4), extra in 0usize..5, n in 1usize..7) {
        // A thresholded ReLU (Keras `threshold`) jumps by the threshold where a value crosses
        // it, so bf16 rounding may move an output by that much; compare with plain ReLUs.
        let mut spec = spec;
        for t in spec.blocks.iter_mut().filter_map(|b| b.relu.as_mut()) {
            *t = 0.0;
        }
        if ConvAlgorithm::Bf16.is_supported() {
            check_against_naive(&build(&spec), spec.seed, extra, n, ConvAlgorithm::Bf16)?;
        }
    }

    #[test]
    fn winograd_feature_maps_and_activations(spec in spec_strategy(4), extra in 0usize..9, n in 1usize..7) {
        // Winograd skips layers with fewer than 16 input channels: widen every layer 8×. A
        // thresholded ReLU jumps by its threshold where rounding moves a value across it (see
        // the bf16 test), so the ReLUs are plain here.
        let mut spec = spec;
        for b in &mut spec.blocks {
            b.out *= 8;
            if let Some(t) = b.relu.as_mut() {
                *t = 0.0;
            }
        }
        check_against_naive(&build(&spec), spec.seed, extra, n, ConvAlgorithm::Winograd)?;
    }

    #[test]
    fn results_do_not_depend_on_chunks_or_threads(spec in spec_strategy(4), n in 1usize..20, alg in 0usize..3) {
        let model = build(&spec);
        let layer = model.conv_count();
        // Bf16 falls back to direct on a CPU without it (and is then tested as direct)
        let algorithm = [ConvAlgorithm::Direct, ConvAlgorithm::Winograd, ConvAlgorithm::Bf16][alg];
        let base = model.substructure(layer).unwrap().with_conv_algorithm(algorithm);
        let codes = random_codes(n, base.input_len(), spec.seed);
        // one-hot with an N in every second sequence: chunks mix lookups and products
        let mixed = with_ns(&codes_to_onehot(&codes), spec.seed);
        let run = |chunk: usize, threads: usize| {
            let sub = base.clone().with_chunk(chunk);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                (
                    sub.activation_and_gradient(codes.view(), 0).unwrap(),
                    sub.activation_and_gradient(mixed.view(), 0).unwrap(),
                )
            })
        };
        let ((a1, g1), (m1, h1)) = run(1, 1);
        for (chunk, threads) in [(3, 2), (7, 2), (64, 1)] {
            let ((a, g), (m, h)) = run(chunk, threads);
            prop_assert_eq!(&a, &a1);
            prop_assert_eq!(&g, &g1);
            prop_assert_eq!(&m, &m1);
            prop_assert_eq!(&h, &h1);
        }
        // the exactly one-hot sequences of the mixed batch are computed as codes are
        for i in (0..n).step_by(2) {
            prop_assert_eq!(m1[i], a1[i]);
        }
    }
}

/// Every feature map, every channel's activation and the full forward of `model` at its last
/// conv layer against the f64 reference, on codes and on one-hot input.
fn check_against_naive(
    model: &Model,
    seed: u64,
    extra: usize,
    n: usize,
    algorithm: ConvAlgorithm,
) -> Result<(), TestCaseError> {
    let layer = model.conv_count();
    let sub = model
        .substructure(layer)
        .unwrap()
        .with_chunk(3)
        .with_conv_algorithm(algorithm);
    let len = sub.input_len() + extra;
    let codes = random_codes(n, len, seed ^ 7);
    let exact = codes_to_onehot(&codes);
    // Real-valued input: exactly one-hot sequences go through the first-layer lookup, the
    // others (here every second one, with an N) through the product, in the same chunks.
    let onehot = with_ns(&exact, seed);
    let maps = sub.feature_maps(codes.view()).unwrap();
    let maps_dense = sub.feature_maps(onehot.view()).unwrap();
    let all = sub.forward(onehot.view()).unwrap();
    for i in 0..n {
        let want = naive_conv_maps(model, layer, &onehot_to_map(&exact, i));
        let want_dense = naive_conv_maps(model, layer, &onehot_to_map(&onehot, i));
        prop_assert_eq!(want.len(), layer);
        let mut running = 0.0f64;
        for (l, wm) in want.iter().enumerate() {
            let got = maps[l].index_axis(ndarray::Axis(0), i);
            let dense = maps_dense[l].index_axis(ndarray::Axis(0), i);
            prop_assert_eq!(got.shape(), &[wm.len(), wm[0].len()]);
            running = running.max(largest(wm));
            let scale = layer_scale(largest(wm), running, algorithm);
            for (p, row) in wm.iter().enumerate() {
                for (c, &w) in row.iter().enumerate() {
                    prop_assert!(
                        close_in_layer(f64::from(got[[p, c]]), w, scale, algorithm),
                        "codes: layer {} pos {} ch {}: {} vs {}",
                        l + 1,
                        p,
                        c,
                        got[[p, c]],
                        w
                    );
                    let wd = want_dense[l][p][c];
                    prop_assert!(
                        close_in_layer(f64::from(dense[[p, c]]), wd, scale, algorithm),
                        "one-hot: layer {} pos {} ch {}: {} vs {}",
                        l + 1,
                        p,
                        c,
                        dense[[p, c]],
                        wd
                    );
                }
            }
        }
        let last = want.last().unwrap();
        let last_dense = want_dense.last().unwrap();
        let scale = layer_scale(largest(last), running, algorithm);
        for c in 0..sub.channels() {
            let act = sub.activations(codes.view(), c).unwrap();
            let act_dense = sub.activations(onehot.view(), c).unwrap();
            for p in 0..last.len() {
                let (w, wd) = (last[p][c], last_dense[p][c]);
                prop_assert!(close_in_layer(f64::from(act[[i, p]]), w, scale, algorithm));
                prop_assert!(close_in_layer(
                    f64::from(act_dense[[i, p]]),
                    wd,
                    scale,
                    algorithm
                ));
                prop_assert!(close_in_layer(
                    f64::from(all[[i, p, c]]),
                    wd,
                    scale,
                    algorithm
                ));
            }
        }
    }
    Ok(())
}

/// Six blocks with channel counts like a real model's (two of them odd, which the bf16 path
/// pads), kernels of 3, 7 and 11 taps and two max-pools.
fn wide_spec() -> Spec {
    let block = |kernel, out, pool| Block {
        kernel,
        dilation: 1,
        stride: 1,
        out,
        bn: true,
        relu: Some(0.0),
        pool,
        dropout: false,
    };
    Spec {
        blocks: vec![
            block(7, 24, None),
            block(3, 33, Some((2, 2))),
            block(11, 40, None),
            block(3, 48, Some((3, 3))),
            block(7, 31, None),
            block(3, 20, None),
        ],
        agct: false,
        seed: 11,
    }
}

/// Channel counts like a real model's, kernels of 3 (one Winograd chunk) and 7 and 11 (three
/// and four chunks, zero-padded), pooling in between: Winograd tiles most layers and still
/// agrees with the f64 reference, on RF-long and longer inputs.
#[test]
fn winograd_on_a_wide_model() {
    let spec = wide_spec();
    let model = build(&spec);
    let sub = model
        .substructure(model.conv_count())
        .unwrap()
        .with_conv_algorithm(ConvAlgorithm::Winograd);
    let tiles = sub.winograd_tiles();
    eprintln!("Winograd tiles per conv layer: {tiles:?}");
    // conv 1 has 4 input channels and stays direct; convs 2-4 are tiled
    assert_eq!(tiles[0], None);
    assert!(
        tiles.iter().filter(|t| t.is_some()).count() >= 3,
        "{tiles:?}"
    );
    assert!(tiles.contains(&Some(4)), "{tiles:?}");
    for extra in [0, 1, 5, 30] {
        check_against_naive(&model, spec.seed, extra, 3, ConvAlgorithm::Winograd).unwrap();
    }
}

/// The bf16 path on the wide model, layer by layer against the f64 reference: its error
/// relative to the layer's largest activation, printed, and bounded by [`BF16_TOL`].
#[test]
fn bf16_on_a_wide_model() {
    if !ConvAlgorithm::Bf16.is_supported() {
        eprintln!("note: this CPU has no AVX-512 BF16; the bf16 path is not exercised here");
        return;
    }
    let spec = wide_spec();
    let model = build(&spec);
    let sub = model
        .substructure(model.conv_count())
        .unwrap()
        .with_conv_algorithm(ConvAlgorithm::Bf16);
    assert_eq!(sub.conv_algorithm(), ConvAlgorithm::Bf16);
    let codes = random_codes(4, sub.input_len() + 3, 5);
    let onehot = codes_to_onehot(&codes);
    let maps = sub.feature_maps(codes.view()).unwrap();
    let mut worst = vec![0.0f64; maps.len()];
    for i in 0..4 {
        let want = naive_conv_maps(&model, model.conv_count(), &onehot_to_map(&onehot, i));
        for (l, wm) in want.iter().enumerate() {
            let scale = largest(wm);
            let got = maps[l].index_axis(ndarray::Axis(0), i);
            for (p, row) in wm.iter().enumerate() {
                for (c, &w) in row.iter().enumerate() {
                    worst[l] = worst[l].max((f64::from(got[[p, c]]) - w).abs() / scale);
                }
            }
        }
    }
    let shown: Vec<String> = worst.iter().map(|w| format!("{w:.2e}")).collect();
    eprintln!("bf16 error / layer scale, per conv layer: {shown:?}");
    // the first conv stays f32
    assert!(worst[0] < 1e-6, "{worst:?}");
    // later layers carry bf16 rounding, but far less than a wrong layout would give
    for w in &worst[1..] {
        assert!(*w > 1e-7 && *w < BF16_TOL, "{worst:?}");
    }
}

/// `x` with an N (all four channels 0.25) at one position of every second sequence
/// (sequences 1, 3, ...); the others stay exactly one-hot.
fn with_ns(x: &ndarray::Array3<f32>, seed: u64) -> ndarray::Array3<f32> {
    let mut x = x.clone();
    let len = x.shape()[1];
    for i in (1..x.shape()[0]).step_by(2) {
        let pos = (seed as usize + i * 7) % len;
        for ch in 0..4 {
            x[[i, pos, ch]] = 0.25;
        }
    }
    x
}

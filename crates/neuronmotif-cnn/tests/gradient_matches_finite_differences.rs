//! The input gradient of a neuron equals central finite differences of the f64 reference
//! network, wherever the network is locally linear around the input.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gradient_vs_central_differences(spec in spec_strategy(4), extra in 0usize..4, n in 1usize..4, ch in 0usize..8) {
        let model = build(&spec);
        let layer = model.conv_count();
        let sub = model.substructure(layer).unwrap().with_chunk(2);
        let ch = ch % sub.channels();
        let len = sub.input_len() + extra;
        let out_len = sub.output_len(layer, len).unwrap();
        let pos = (spec.seed as usize) % out_len;
        // random real-valued inputs, not just one-hot: the gradient is the gradient everywhere
        let mut rng = Lcg(spec.seed ^ 99);
        let x = ndarray::Array3::from_shape_fn((n, len, 4), |_| rng.next());
        let (act, grad) = sub.gradient_at(x.view(), ch, pos).unwrap();
        let (checked, kinks) = compare_with_differences(&model, (ch, pos), &x, &act, &grad)
            .map_err(TestCaseError::fail)?;
        // The kink filter may only ever drop a sliver of entries. One unit whose input sits
        // within h of a ReLU or pool boundary puts every input entry under its window at a
        // kink (12 for a 3-tap first layer), which in a small case (36 entries) is more than
        // 1 %: allow that much, as long as three quarters of the entries are checked.
        let total = checked + kinks;
        prop_assert!(
            kinks * 100 <= total || (kinks <= 12 && kinks * 4 <= total),
            "{} of {} entries at kinks", kinks, total
        );
    }
}

#[test]
fn gradient_of_identity_like_filter_is_its_weights() {
    // a single conv: the gradient is exactly the (canonical-order) weight matrix
    let spec = Spec {
        blocks: vec![Block {
            kernel: 3,
            dilation: 2,
            stride: 1,
            out: 2,
            bn: false,
            relu: None,
            pool: None,
            dropout: false,
        }],
        agct: true,
        seed: 5,
    };
    let model = build(&spec);
    let sub = model.substructure(1).unwrap();
    let codes = random_codes(2, sub.input_len(), 1);
    let (_, g) = sub.activation_and_gradient(codes.view(), 1).unwrap();
    let neuronmotif_cnn::Layer::Conv(c) = &model.layers()[0] else {
        panic!()
    };
    for t in 0..3 {
        for base in neuronmotif_core::Base::ALL {
            let model_ch = model.alphabet().channel_of(base);
            assert_eq!(g[[0, 2 * t, base.index()]], c.weight[[1, model_ch, t]]);
        }
    }
}

/// Compare a gradient with central differences of the f64 reference, entry by entry, where
/// the network is locally linear; returns the entries checked and those skipped at kinks.
fn compare_with_differences(
    model: &neuronmotif_cnn::Model,
    (ch, pos): (usize, usize),
    x: &ndarray::Array3<f32>,
    act: &ndarray::Array1<f32>,
    grad: &ndarray::Array3<f32>,
) -> Result<(usize, usize), String> {
    let layer = model.conv_count();
    let (n, len) = (x.shape()[0], x.shape()[1]);
    let (mut checked, mut kinks) = (0usize, 0usize);
    for i in 0..n {
        let base = onehot_to_map(x, i);
        let f0 = naive_activation(model, layer, ch, pos, &base);
        if (f64::from(act[i]) - f0).abs() > 2e-4 * (1.0 + f0.abs()) {
            return Err(format!("seq {i}: activation {} vs {f0}", act[i]));
        }
        for q in 0..len {
            for b in 0..4 {
                let fd = |h: f64| {
                    let mut up = base.clone();
                    up[q][b] += h;
                    let mut dn = base.clone();
                    dn[q][b] -= h;
                    (naive_activation(model, layer, ch, pos, &up)
                        - naive_activation(model, layer, ch, pos, &dn))
                        / (2.0 * h)
                };
                let (d1, d2) = (fd(1e-5), fd(5e-6));
                if (d1 - d2).abs() > 1e-6 * (1.0 + d1.abs()) {
                    kinks += 1; // a ReLU or pool boundary lies within h: not linear here
                    continue;
                }
                checked += 1;
                let g = f64::from(grad[[i, q, b]]);
                if (g - d1).abs() > 1e-3 * (1.0 + d1.abs()) {
                    return Err(format!("seq {i} pos {q} base {b}: grad {g} vs fd {d1}"));
                }
            }
        }
    }
    Ok((checked, kinks))
}

/// A top kernel of 262 taps makes every lower layer's gradient dense over 262+ positions of
/// one sequence, more rows than one block of the dense backward product: the sequence's rows
/// are then split into blocks, undilated and dilated. The gradient must still match the
/// differences, and not depend on chunks or threads.
#[test]
fn dense_gradient_rows_beyond_one_block() {
    for dilation in [1, 2] {
        let block = |kernel, dilation, out| Block {
            kernel,
            dilation,
            stride: 1,
            out,
            bn: false,
            relu: Some(0.0),
            pool: None,
            dropout: false,
        };
        let spec = Spec {
            blocks: vec![block(3, dilation, 8), block(3, 1, 12), block(262, 1, 2)],
            agct: false,
            seed: 11,
        };
        let model = build(&spec);
        let sub = model.substructure(3).unwrap();
        let mut rng = Lcg(3);
        let x = ndarray::Array3::from_shape_fn((2, sub.input_len(), 4), |_| rng.next());
        let (act, grad) = sub.gradient_at(x.view(), 1, 0).unwrap();
        let (checked, kinks) = compare_with_differences(&model, (1, 0), &x, &act, &grad).unwrap();
        assert!(
            kinks * 100 <= checked + kinks,
            "{kinks} kinks of {}",
            checked + kinks
        );
        for (chunk, threads) in [(1, 1), (2, 2)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let sub = sub.clone().with_chunk(chunk);
            let (a, g) = pool.install(|| sub.gradient_at(x.view(), 1, 0).unwrap());
            assert_eq!(
                (&a, &g),
                (&act, &grad),
                "dilation {dilation}, chunk {chunk}"
            );
        }
    }
}

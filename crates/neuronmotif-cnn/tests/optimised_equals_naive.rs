//! The compiled substructure (folded batchnorm, packed GEMM, one-hot gather) computes what a
//! direct f64 evaluation of the unfolded layers computes, on random architectures.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 2e-4 * (1.0 + b.abs())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn feature_maps_and_activations(spec in spec_strategy(4), extra in 0usize..5, n in 1usize..7) {
        let model = build(&spec);
        let layer = model.conv_count();
        let sub = model.substructure(layer).unwrap().with_chunk(3);
        let len = sub.input_len() + extra;
        let codes = random_codes(n, len, spec.seed ^ 7);
        let onehot = codes_to_onehot(&codes);
        let maps = sub.feature_maps(codes.view()).unwrap();
        let maps_dense = sub.feature_maps(onehot.view()).unwrap();
        let all = sub.forward(onehot.view()).unwrap();
        for i in 0..n {
            let want = naive_conv_maps(&model, layer, &onehot_to_map(&onehot, i));
            prop_assert_eq!(want.len(), layer);
            for (l, wm) in want.iter().enumerate() {
                let got = maps[l].index_axis(ndarray::Axis(0), i);
                let dense = maps_dense[l].index_axis(ndarray::Axis(0), i);
                prop_assert_eq!(got.shape(), &[wm.len(), wm[0].len()]);
                for (p, row) in wm.iter().enumerate() {
                    for (c, &w) in row.iter().enumerate() {
                        prop_assert!(close(f64::from(got[[p, c]]), w), "codes: layer {} pos {} ch {}: {} vs {}", l + 1, p, c, got[[p, c]], w);
                        prop_assert!(close(f64::from(dense[[p, c]]), w), "one-hot: layer {} pos {} ch {}", l + 1, p, c);
                    }
                }
            }
            let last = want.last().unwrap();
            for c in 0..sub.channels() {
                let act = sub.activations(codes.view(), c).unwrap();
                for p in 0..last.len() {
                    prop_assert!(close(f64::from(act[[i, p]]), last[p][c]));
                    prop_assert!(close(f64::from(all[[i, p, c]]), last[p][c]));
                }
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_chunks_or_threads(spec in spec_strategy(4), n in 1usize..20) {
        let model = build(&spec);
        let layer = model.conv_count();
        let base = model.substructure(layer).unwrap();
        let codes = random_codes(n, base.input_len(), spec.seed);
        let run = |chunk: usize, threads: usize| {
            let sub = base.clone().with_chunk(chunk);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| sub.activation_and_gradient(codes.view(), 0).unwrap())
        };
        let (a1, g1) = run(1, 1);
        for (chunk, threads) in [(3, 2), (7, 2), (64, 1)] {
            let (a, g) = run(chunk, threads);
            prop_assert_eq!(&a, &a1);
            prop_assert_eq!(&g, &g1);
        }
    }
}

//! Reference outputs written by another framework (TensorFlow, PyTorch): feature maps
//! `fmap_conv<l>` and input gradients `grad_conv<l>_pos<p>_ch<c>` on `inputs`, compared with
//! ours at 1e-4 relative.
#![allow(dead_code, clippy::unwrap_used)]

use ndarray::{Array3, ArrayD, Ix3};
use neuronmotif_cnn::Model;
use safetensors::SafeTensors;

pub fn load_reference(bytes: &[u8]) -> Vec<(String, Array3<f32>)> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut out = Vec::new();
    for (name, t) in st.tensors() {
        assert_eq!(t.dtype(), safetensors::Dtype::F32);
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let a = ArrayD::from_shape_vec(t.shape().to_vec(), v)
            .unwrap()
            .into_dimensionality::<Ix3>()
            .unwrap();
        out.push((name, a));
    }
    out
}

pub fn assert_close(what: &str, got: &Array3<f32>, want: &Array3<f32>) -> f32 {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let mut worst = 0f32;
    for (g, w) in got.iter().zip(want) {
        // relative to the tensor's own magnitude: an absolute 1e-4 of a value near 0 is not an error
        let err = (g - w).abs() / (w.abs().max(scale * 1e-2));
        worst = worst.max(err);
        assert!(err <= 1e-4, "{what}: {g} vs {w} (relative error {err})");
    }
    worst
}

/// Check every feature map and gradient of `reference` against `model`; returns how many
/// tensors were checked and the worst relative error.
pub fn check_model(
    model: &Model,
    reference: &[(String, Array3<f32>)],
    algorithm: neuronmotif_cnn::ConvAlgorithm,
) -> (usize, f32) {
    let inputs = &reference.iter().find(|(n, _)| n == "inputs").unwrap().1;
    let mut checked = 0;
    let mut worst = 0f32;
    for (tname, want) in reference {
        if let Some(l) = tname.strip_prefix("fmap_conv") {
            let l: usize = l.parse().unwrap();
            let sub = model
                .substructure(l)
                .unwrap()
                .with_conv_algorithm(algorithm);
            let got = sub.feature_map(inputs.view(), l).unwrap();
            worst = worst.max(assert_close(tname, &got, want));
            checked += 1;
        } else if let Some(rest) = tname.strip_prefix("grad_conv") {
            // grad_conv<l>_pos<p>_ch<c>
            let parts: Vec<&str> = rest.split('_').collect();
            let l: usize = parts[0].parse().unwrap();
            let p: usize = parts[1].trim_start_matches("pos").parse().unwrap();
            let c: usize = parts[2].trim_start_matches("ch").parse().unwrap();
            let sub = model
                .substructure(l)
                .unwrap()
                .with_conv_algorithm(algorithm);
            let (_, got) = sub.gradient_at(inputs.view(), c, p).unwrap();
            worst = worst.max(assert_close(tname, &got, want));
            checked += 1;
        }
    }
    (checked, worst)
}

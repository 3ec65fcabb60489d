//! Malformed model files give one clear error naming the file, layer or tensor, never a panic.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use neuronmotif_cnn::{CnnError, Model};
use safetensors::tensor::TensorView;
use safetensors::Dtype;

fn file(arch: Option<&str>, tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let meta =
        arch.map(|a| HashMap::from([("neuronmotif.architecture".to_string(), a.to_string())]));
    safetensors::serialize(views, meta).unwrap()
}

const ONE_CONV: &str = r#"{"version":1,"layers":[{"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3}]}"#;

fn good_tensors() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    vec![
        ("c.weight", vec![2, 4, 3], vec![0.1; 24]),
        ("c.bias", vec![2], vec![0.0; 2]),
    ]
}

fn load(bytes: &[u8]) -> Result<Model, CnnError> {
    Model::from_safetensors(bytes, Path::new("model.safetensors"))
}

#[test]
fn a_valid_file_loads() {
    let m = load(&file(Some(ONE_CONV), &good_tensors())).unwrap();
    assert_eq!(m.conv_count(), 1);
    assert_eq!(m.parameter_count(), 26);
    // readable summaries, not weight dumps
    assert_eq!(m.layers()[0].to_string(), "conv1d \"c\" 4 -> 2, kernel 3");
    assert_eq!(
        format!("{m:?}"),
        "Model { alphabet: ACGT, input_length: None, layers: [\"conv1d \\\"c\\\" 4 -> 2, kernel 3\"], .. }"
    );
    let sub = m.substructure(1).unwrap();
    assert!(format!("{sub:?}").starts_with("Substructure { layer: 1, input_len: 3,"));
}

#[test]
fn missing_metadata_points_at_convert() {
    let e = load(&file(None, &good_tensors())).unwrap_err().to_string();
    assert!(
        e.starts_with("model.safetensors: architecture metadata")
            && e.contains("neuronmotif convert"),
        "{e}"
    );
}

#[test]
fn truncated_or_garbage_files() {
    let full = file(Some(ONE_CONV), &good_tensors());
    for bytes in [
        &full[..full.len() - 5],
        &full[..3],
        b"not a model at all".as_slice(),
        &[],
    ] {
        let e = load(bytes).unwrap_err();
        assert!(matches!(e, CnnError::Safetensors { .. }), "{e}");
    }
}

#[test]
fn wrong_shape_names_the_tensor() {
    let mut t = good_tensors();
    t[0] = ("c.weight", vec![2, 3, 4], vec![0.1; 24]);
    let e = load(&file(Some(ONE_CONV), &t)).unwrap_err().to_string();
    assert_eq!(
        e,
        "model.safetensors: tensor \"c.weight\": has shape [2, 3, 4], expected [2, 4, 3]"
    );
}

#[test]
fn missing_tensor_names_it() {
    let e = load(&file(Some(ONE_CONV), &good_tensors()[..1]))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("model.safetensors: tensor \"c.bias\": missing"),
        "{e}"
    );
}

#[test]
fn nan_weights_are_rejected() {
    let mut t = good_tensors();
    t[0].2[7] = f32::NAN;
    let e = load(&file(Some(ONE_CONV), &t)).unwrap_err().to_string();
    assert!(
        e.contains("c.weight") && e.contains("element 7 is not finite"),
        "{e}"
    );
}

#[test]
fn unsupported_layer_is_named() {
    let arch = r#"{"version":1,"layers":[{"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3},{"op":"lstm","name":"x"}]}"#;
    let e = load(&file(Some(arch), &good_tensors()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 1: unsupported op \"lstm\""), "{e}");
}

#[test]
fn channel_chaining_is_checked() {
    let arch = r#"{"version":1,"layers":[
        {"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3},
        {"op":"conv1d","name":"d","in_channels":3,"out_channels":1,"kernel_size":1}]}"#;
    let mut t = good_tensors();
    t.push(("d.weight", vec![1, 3, 1], vec![1.0; 3]));
    t.push(("d.bias", vec![1], vec![0.0]));
    let e = load(&file(Some(arch), &t)).unwrap_err().to_string();
    assert_eq!(
        e,
        "model.safetensors: layer 1 (conv1d \"d\"): has 3 input channels but its input has 2"
    );
}

#[test]
fn bad_batchnorm_variance_and_length() {
    let arch = r#"{"version":1,"layers":[
        {"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3},
        {"op":"batchnorm","name":"b","eps":0.0}]}"#;
    let mut t = good_tensors();
    for n in ["b.weight", "b.bias", "b.running_mean"] {
        t.push((n, vec![2], vec![1.0, 1.0]));
    }
    t.push(("b.running_var", vec![2], vec![1.0, -1.0]));
    let e = load(&file(Some(arch), &t)).unwrap_err().to_string();
    assert!(
        e.contains("b.running_var") && e.contains("channel 1"),
        "{e}"
    );
    let mut t = good_tensors();
    for n in ["b.weight", "b.bias", "b.running_mean", "b.running_var"] {
        t.push((n, vec![3], vec![1.0; 3]));
    }
    let e = load(&file(Some(arch), &t)).unwrap_err().to_string();
    assert!(e.contains("expected 2"), "{e}");
}

#[test]
fn conv_after_dense_head_is_rejected() {
    let arch = r#"{"version":1,"layers":[
        {"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3},
        {"op":"flatten"},
        {"op":"conv1d","name":"d","in_channels":2,"out_channels":1,"kernel_size":1}]}"#;
    let mut t = good_tensors();
    t.push(("d.weight", vec![1, 2, 1], vec![1.0; 2]));
    t.push(("d.bias", vec![1], vec![0.0]));
    let e = load(&file(Some(arch), &t)).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "model.safetensors: layer 2 (conv1d \"d\"): a convolution after layer 1 (flatten)"
        ),
        "{e}"
    );
}

#[test]
fn half_precision_and_f64_tensors_load() {
    // the same weights as F16, BF16 and F64 give the same model
    let vals: Vec<f32> = (0..24).map(|i| i as f32 / 8.0).collect();
    let mk = |dtype: Dtype, enc: &dyn Fn(f32) -> Vec<u8>| {
        let w: Vec<u8> = vals.iter().flat_map(|&v| enc(v)).collect();
        let b: Vec<u8> = [0.5f32, -0.25].iter().flat_map(|&v| enc(v)).collect();
        let views = vec![
            (
                "c.weight".to_string(),
                TensorView::new(dtype, vec![2, 4, 3], &w).unwrap(),
            ),
            (
                "c.bias".to_string(),
                TensorView::new(dtype, vec![2], &b).unwrap(),
            ),
        ];
        let meta = HashMap::from([("neuronmotif.architecture".to_string(), ONE_CONV.to_string())]);
        load(&safetensors::serialize(views, Some(meta)).unwrap()).unwrap()
    };
    let f32m = mk(Dtype::F32, &|v| v.to_le_bytes().to_vec());
    let f64m = mk(Dtype::F64, &|v| f64::from(v).to_le_bytes().to_vec());
    // these values are exact in bf16 (top 16 bits) and f16 (eighths up to 3)
    let bf16m = mk(Dtype::BF16, &|v| {
        ((v.to_bits() >> 16) as u16).to_le_bytes().to_vec()
    });
    let f16m = mk(Dtype::F16, &|v| {
        let h: u16 = if v == 0.0 {
            0
        } else {
            let e = v.abs().log2().floor() as i32;
            let m = (v.abs() / 2f32.powi(e) - 1.0) * 1024.0;
            (u16::from(v < 0.0) << 15) | (((e + 15) as u16) << 10) | (m.round() as u16)
        };
        h.to_le_bytes().to_vec()
    });
    assert_eq!(f32m, f64m);
    assert_eq!(f32m, bf16m);
    assert_eq!(f32m, f16m);
}

#[test]
fn out_of_range_queries() {
    let m = load(&file(Some(ONE_CONV), &good_tensors())).unwrap();
    assert!(matches!(
        m.substructure(2),
        Err(CnnError::OutOfRange { .. })
    ));
    let sub = m.substructure(1).unwrap();
    let short = ndarray::Array2::<u8>::zeros((2, 2));
    let e = sub.activations(short.view(), 0).unwrap_err().to_string();
    assert!(e.contains("at least 3 bp"), "{e}");
    let ok = ndarray::Array2::<u8>::zeros((2, 3));
    assert!(sub.activations(ok.view(), 2).is_err());
    let bad = ndarray::Array2::<u8>::from_elem((1, 3), 9);
    assert!(sub.activations(bad.view(), 0).is_err());
    let wrong = ndarray::Array3::<f32>::zeros((1, 3, 5));
    assert!(sub.activations(wrong.view(), 0).is_err());
}

#[cfg(feature = "keras")]
#[test]
fn keras_import_errors() {
    use neuronmotif_core::Alphabet;
    let dir = std::env::temp_dir().join(format!("nm-keras-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.h5");
    std::fs::write(&p, b"definitely not hdf5").unwrap();
    let e = neuronmotif_cnn::keras::import(&p, Alphabet::ACGT)
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.h5") && e.contains("not an HDF5 file"), "{e}");
    let e = neuronmotif_cnn::keras::import(dir.join("missing.h5"), Alphabet::ACGT)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.h5"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// conv(3) -> pool(`pool`) -> conv(1) at a declared input length.
fn pooled(input_length: usize, pool: usize) -> Result<Model, CnnError> {
    let arch = format!(
        r#"{{"version":1,"input_length":{input_length},"layers":[
        {{"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3}},
        {{"op":"maxpool1d","kernel_size":{pool}}},
        {{"op":"conv1d","name":"d","in_channels":2,"out_channels":1,"kernel_size":2}}]}}"#
    );
    let mut t = good_tensors();
    t.push(("d.weight", vec![1, 2, 2], vec![1.0; 4]));
    t.push(("d.bias", vec![1], vec![0.0]));
    load(&file(Some(&arch), &t))
}

#[test]
fn an_input_length_shorter_than_a_window_is_rejected() {
    // 12 bp: conv -> 10, pool 4 -> 2, conv(2) -> 1: fits exactly (RF = 3 + 3 + 4 = 10 <= 12)
    assert!(pooled(12, 4).is_ok());
    // 8 bp: conv -> 6, pool 4 -> 1, and the last conv's window of 2 does not fit
    let e = pooled(8, 4).unwrap_err().to_string();
    assert!(
        e.starts_with("model.safetensors: layer 2 (conv1d \"d\"): its input is 1 positions long at the declared input_length of 8 bp, shorter than its window of 2"),
        "{e}"
    );
    // a pool wider than anything the model sees
    let e = pooled(100, 4_000_000_000).unwrap_err().to_string();
    assert!(
        e.contains("layer 1 (maxpool1d)") && e.contains("window of 4000000000"),
        "{e}"
    );
    let e = pooled(0, 2).unwrap_err().to_string();
    assert!(e.contains("input_length must be at least 1"), "{e}");
}

/// An alphabet given for a model file must be the one it declares; a Keras file takes it.
#[test]
fn an_alphabet_for_a_model_file_must_match_its_declared_order() {
    use neuronmotif_core::Alphabet;
    let dir = std::env::temp_dir().join(format!("nm-alphabet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    std::fs::write(&path, file(Some(ONE_CONV), &good_tensors())).unwrap();
    assert!(Model::open_with_alphabet(&path, None).is_ok());
    assert!(Model::open_with_alphabet(&path, Some(Alphabet::ACGT)).is_ok());
    let e = Model::open_with_alphabet(&path, Some(Alphabet::parse("AGCT").unwrap()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the alphabet AGCT was asked for, but this model file declares its input channel order as ACGT"),
        "{e}"
    );
    let keras = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/demo/model.h5");
    let agct = Alphabet::parse("AGCT").unwrap();
    assert_eq!(
        Model::open_with_alphabet(&keras, Some(agct))
            .unwrap()
            .alphabet(),
        agct
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Damaged model files are errors, never panics: random byte flips and truncations of a real
//! model file (written by PyTorch) and of a real Keras HDF5 file (the trained demo), fed to the
//! loaders. A file that still loads must also build and run a substructure. The cargo-fuzz
//! targets `model_file` and `keras_h5` (fuzz/) explore the same entry points open-endedly.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ndarray::Array3;
use neuronmotif_cnn::{keras, Model};
use neuronmotif_core::Alphabet;
use proptest::prelude::*;

fn testdata(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Apply `flips` (position as a fraction of the length, new byte) and keep `keep` of the bytes.
fn damage(mut bytes: Vec<u8>, flips: &[(f64, u8)], keep: f64) -> Vec<u8> {
    let n = bytes.len();
    for &(at, v) in flips {
        let i = ((at * n as f64) as usize).min(n - 1);
        bytes[i] = v;
    }
    bytes.truncate(((keep * n as f64) as usize).max(1));
    bytes
}

/// Whatever loaded must also evaluate without panicking.
fn exercise(model: &Model) {
    for l in 1..=model.conv_count() {
        if let Ok(sub) = model.substructure(l) {
            let x = Array3::<f32>::from_elem((2, sub.input_len(), 4), 0.25);
            let _ = sub.activations(x.view(), 0);
        }
    }
}

fn damage_strategy() -> impl Strategy<Value = (Vec<(f64, u8)>, f64)> {
    (
        proptest::collection::vec((0.0..1.0f64, any::<u8>()), 1..8),
        prop_oneof![Just(1.0), 0.0..1.0f64],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn damaged_model_files_are_errors((flips, keep) in damage_strategy()) {
        let bytes = damage(testdata("torch/tiny_sequential.safetensors"), &flips, keep);
        if let Ok(model) = Model::from_safetensors(&bytes, Path::new("damaged.safetensors")) {
            exercise(&model);
        }
    }

    #[test]
    fn damaged_keras_files_are_errors((flips, keep) in damage_strategy()) {
        let bytes = damage(testdata("demo/model.h5"), &flips, keep);
        if let Ok(model) = keras::import_bytes(bytes, Path::new("damaged.h5"), Alphabet::ACGT) {
            exercise(&model);
        }
    }
}

#[test]
fn the_undamaged_files_load() {
    let m = Model::from_safetensors(
        &testdata("torch/tiny_sequential.safetensors"),
        Path::new("t"),
    )
    .unwrap();
    exercise(&m);
    let k = keras::import_bytes(testdata("demo/model.h5"), Path::new("d"), Alphabet::ACGT).unwrap();
    exercise(&k);
}

/// A Keras file cut anywhere short of its end says it is truncated, with both sizes, even
/// when the cut spares the weights (which h5py also refuses).
#[test]
fn truncated_keras_files_say_so() {
    let full = testdata("demo/model.h5");
    for keep in [0.5, 0.8, 0.95, 0.99] {
        let cut = (full.len() as f64 * keep) as usize;
        let e = keras::import_bytes(full[..cut].to_vec(), Path::new("cut.h5"), Alphabet::ACGT)
            .err()
            .unwrap()
            .to_string();
        let want = format!(
            "cut.h5: Keras import: the file is truncated: it has {cut} bytes, but its HDF5 superblock says its data run to byte {}",
            full.len()
        );
        assert!(e.starts_with(&want), "{e}");
    }
}

//! The original demo models, imported from their Keras HDF5 files, reproduce TensorFlow's own
//! feature maps and input gradients (`../shared/fixtures/neuronmotif-demos/*.tf-reference`)
//! to 1e-4 relative.
#![allow(clippy::unwrap_used)]

mod common;

use neuronmotif_cnn::{keras, ConvAlgorithm, Model};
use neuronmotif_core::Alphabet;

fn check_demo(name: &str) {
    let Some(dir) = common::fixtures::fixtures("neuronmotif-demos") else {
        return;
    };
    let model = keras::import(dir.join(format!("{name}.weight.hdf5")), Alphabet::ACGT).unwrap();
    // the converted file round-trips
    let bytes = model.to_safetensors().unwrap();
    let model = Model::from_safetensors(&bytes, std::path::Path::new("mem")).unwrap();
    let reference = common::reference::load_reference(
        &std::fs::read(dir.join(format!("{name}.tf-reference.safetensors"))).unwrap(),
    );
    for algorithm in [ConvAlgorithm::Direct, ConvAlgorithm::Winograd] {
        let (checked, worst) = common::reference::check_model(&model, &reference, algorithm);
        eprintln!(
            "{name} ({algorithm:?}): {checked} tensors match TensorFlow, worst relative error {worst:e}"
        );
        assert!(checked >= 5);
    }
}

#[test]
fn demo1_matches_tensorflow() {
    check_demo("demo1");
}

#[test]
fn demo2_matches_tensorflow() {
    check_demo("demo2");
}

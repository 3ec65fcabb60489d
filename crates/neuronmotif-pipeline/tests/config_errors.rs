//! Requests the model cannot satisfy are refused before anything runs, with the layer named.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use neuronmotif_cnn::testing::random_model;
use neuronmotif_pipeline::{Pipeline, PipelineConfig};

fn config(model: &Path, out: &Path) -> PipelineConfig {
    PipelineConfig::new(model, out)
}

#[test]
fn a_neuron_range_beyond_a_layer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    // conv layers of 6, 5 and 4 neurons
    random_model(&[(5, 6, 2), (3, 5, 1), (3, 4, 1)], 1)
        .save(&model)
        .unwrap();
    let mut c = config(&model, &dir.path().join("run"));
    c.neurons = Some(4..9);
    let e = Pipeline::new(c.clone()).err().unwrap().to_string();
    assert_eq!(
        e,
        "neurons 4..9 select no neuron of conv layer 3, which has 4 (0..4)"
    );
    // the same range is fine where every requested layer has a neuron in it
    c.layers = Some(1..=2);
    assert!(Pipeline::new(c).is_ok());
}

#[test]
fn a_receptive_field_too_long_to_sample_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    // no declared input length; a pool of 2^20 makes layer 2's receptive field
    // 3 + (2^20 - 1) + 2^20 = 2^21 + 2 bp
    random_model(&[(3, 2, 1 << 20), (2, 2, 1)], 1)
        .save(&model)
        .unwrap();
    let mut c = config(&model, &dir.path().join("run"));
    let e = Pipeline::new(c.clone()).err().unwrap().to_string();
    assert!(
        e.starts_with("conv layer 2 has a receptive field of 2097154 bp"),
        "{e}"
    );
    c.layers = Some(1..=1);
    assert!(Pipeline::new(c).is_ok());
}

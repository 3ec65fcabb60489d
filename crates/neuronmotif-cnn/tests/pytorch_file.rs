//! A model file written from a PyTorch `nn.Sequential` (`cargo xtask torch-export`, committed in
//! `testdata/torch/`) loads as it is, state_dict names and `num_batches_tracked` included, and
//! reproduces PyTorch's own feature maps and input gradients (dilated conv, conv without bias,
//! batchnorm with its eps, pools of 3 and 2, dropout and a dense head after the last conv).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use neuronmotif_cnn::{ConvAlgorithm, Model};
use neuronmotif_core::Alphabet;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/torch")
        .join(name)
}

#[test]
fn pytorch_sequential_matches_pytorch() {
    let model = Model::open(testdata("tiny_sequential.safetensors"), Alphabet::ACGT).unwrap();
    assert_eq!(model.conv_count(), 3);
    assert_eq!(model.input_length(), Some(60));
    let reference = common::reference::load_reference(
        &std::fs::read(testdata("tiny_sequential.reference.safetensors")).unwrap(),
    );
    for algorithm in [ConvAlgorithm::Direct, ConvAlgorithm::Winograd] {
        let (checked, worst) = common::reference::check_model(&model, &reference, algorithm);
        eprintln!(
            "PyTorch file ({algorithm:?}): {checked} tensors match PyTorch, worst relative error {worst:e}"
        );
        // three feature maps and three gradients
        assert_eq!(checked, 6);
    }
}

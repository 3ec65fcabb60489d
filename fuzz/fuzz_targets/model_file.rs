#![no_main]
//! A model file (safetensors + architecture JSON) is an error or a model that evaluates.

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = neuronmotif_cnn::Model::from_safetensors(data, Path::new("fuzz")) {
        neuronmotif_fuzz::exercise_model(&model);
    }
});

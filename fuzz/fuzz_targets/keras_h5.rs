#![no_main]
//! A Keras HDF5 file is an error or a model that evaluates.

use libfuzzer_sys::fuzz_target;
use neuronmotif_core::Alphabet;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let imported =
        neuronmotif_cnn::keras::import_bytes(data.to_vec(), Path::new("fuzz.h5"), Alphabet::ACGT);
    if let Ok(model) = imported {
        neuronmotif_fuzz::exercise_model(&model);
    }
});

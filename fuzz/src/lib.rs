//! The fuzz targets' shared oracle, kept with the crate's tests so the regression test that
//! replays every crash applies exactly the same checks.

include!("../../crates/neuronmotif-io/tests/common/oracle.rs");

/// Evaluate every conv layer of a model that loaded: loading must not accept what cannot run.
pub fn exercise_model(model: &neuronmotif_cnn::Model) {
    for l in 1..=model.conv_count() {
        if let Ok(sub) = model.substructure(l) {
            let x = ndarray::Array3::<f32>::from_elem((2, sub.input_len(), 4), 0.25);
            let _ = sub.activations(x.view(), 0);
        }
    }
}

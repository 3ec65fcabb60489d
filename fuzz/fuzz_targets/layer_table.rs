#![no_main]
//! A layer table is an error or a table whose CRMs are as wide as its receptive field.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = neuronmotif_sample::LayerTable::from_bytes(data, "fuzz") {
        assert!(t.crms.iter().all(|c| c.ppm.width() == t.rf));
    }
});

#![no_main]

use libfuzzer_sys::fuzz_target;

// Detection and whichever parser it picks.
fuzz_target!(|data: &[u8]| neuronmotif_fuzz::check_round_trip(data, None));

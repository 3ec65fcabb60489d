#![no_main]

use libfuzzer_sys::fuzz_target;
use neuronmotif_io::Format;

fuzz_target!(|data: &[u8]| neuronmotif_fuzz::check_round_trip(data, Some(Format::Pfm)));

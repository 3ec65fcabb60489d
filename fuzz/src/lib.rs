//! The fuzz targets' shared oracle, kept with the crate's tests so the regression test that
//! replays every crash applies exactly the same checks.

include!("../../crates/neuronmotif-io/tests/common/oracle.rs");

//! The whole neuronmotif method as one call, [`Pipeline`]: model → substructure → samples →
//! CRMs → segments → JASPAR matches, layer by layer, into a run directory that a later run
//! resumes (`run.json`, one folder per layer, the HTML report).
//!
//! It is the only crate that knows the order of the steps: the method's crates below it
//! (`neuronmotif-cnn`, `-sample`, `-tomtom`, ...) each do one step and know nothing of files
//! on disk, and the `neuronmotif` facade and command above it only re-export and parse
//! arguments. [`validation`] scores a finished run directory against the ground truth of a
//! model whose motifs were planted by hand.
//!
//! ```no_run
//! use neuronmotif_pipeline::{Pipeline, PipelineConfig};
//!
//! let mut config = PipelineConfig::new("model.safetensors", "run");
//! config.db = Some("JASPAR2024.meme".into());
//! let summary = Pipeline::new(config)?.run(&neuronmotif_sample::Silent)?;
//! println!("{} layers written to {}", summary.layers.len(), summary.out.display());
//! # Ok::<(), neuronmotif_pipeline::Error>(())
//! ```
#![deny(missing_docs)]

mod error;
pub mod matching;
mod pipeline;
pub mod run_dir;
mod shard;
mod store;
pub mod validation;

pub use error::Error;
pub use pipeline::{
    BestMatch, Pipeline, PipelineConfig, PipelineProgress, RunSummary, MAX_RECEPTIVE_FIELD,
};
pub use run_dir::{LayerSummary, RunJson};
pub use shard::{Shard, ShardError};
pub use store::DiskStore;

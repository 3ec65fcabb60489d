//! **neuronmotif**: what does each neuron of a trained genomic CNN recognise?
//!
//! For every convolutional neuron, neuronmotif generates DNA sequences that activate it,
//! separates them by where the lower layers' motifs sat inside their max-pool windows, and
//! summarises each group as a position probability matrix (a CRM); the informative segments of
//! the CRMs are then matched against a motif database such as JASPAR. It re-implements and
//! extends NeuronMotif (Wei et al., PNAS 2023) in Rust.
//!
//! This crate is the facade, with no code of its own: one dependency that re-exports each
//! workspace crate under a short name, and the whole method as one call, [`Pipeline`] (from
//! `neuronmotif-pipeline`), which the `neuronmotif` command uses. Depend on a single crate
//! instead (`neuronmotif-tomtom` for motif comparison alone, say) to build less.
//!
//! ```no_run
//! use neuronmotif::{Pipeline, PipelineConfig};
//!
//! let mut config = PipelineConfig::new("model.safetensors", "run");
//! config.db = Some("JASPAR2024.meme".into());
//! let summary = Pipeline::new(config)?.run(&neuronmotif::sample::Silent)?;
//! println!("{} layers written to {}", summary.layers.len(), summary.out.display());
//! # Ok::<(), neuronmotif::Error>(())
//! ```
#![deny(missing_docs)]

pub use neuronmotif_cnn as cnn;
pub use neuronmotif_core as core;
pub use neuronmotif_field as field;
pub use neuronmotif_io as io;
pub use neuronmotif_pipeline as pipeline;
pub use neuronmotif_report as report;
pub use neuronmotif_sample as sample;
pub use neuronmotif_tomtom as tomtom;

pub use neuronmotif_core::{ndarray, rand};
pub use neuronmotif_pipeline::{
    matching, run_dir, validation, BestMatch, DiskStore, Error, LayerSummary, Pipeline,
    PipelineConfig, PipelineProgress, RunJson, RunSummary, Shard, MAX_RECEPTIVE_FIELD,
};
pub use neuronmotif_sample::Silent;

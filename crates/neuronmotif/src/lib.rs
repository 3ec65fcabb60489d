//! **neuronmotif**: what does each neuron of a trained genomic CNN recognise?
//!
//! For every convolutional neuron, neuronmotif generates DNA sequences that activate it,
//! separates them by where the lower layers' motifs sat inside their max-pool windows, and
//! summarises each group as a position probability matrix (a CRM); the informative segments of
//! the CRMs are then matched against a motif database such as JASPAR. It re-implements and
//! extends NeuronMotif (Wei et al., PNAS 2023) in Rust.
//!
//! This crate is the facade: it re-exports the workspace crates and offers the whole method as
//! one call, [`Pipeline`], which the `neuronmotif` command uses.
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
pub use neuronmotif_report as report;
pub use neuronmotif_sample as sample;
pub use neuronmotif_tomtom as tomtom;

mod error;
pub mod matching;
mod pipeline;
pub mod run_dir;
mod store;
pub mod validation;

pub use error::Error;
pub use pipeline::{Pipeline, PipelineConfig, PipelineProgress, RunSummary};
pub use run_dir::{LayerSummary, RunJson};
pub use store::DiskStore;

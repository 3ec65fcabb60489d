//! The NeuronMotif method: for a convolutional neuron, generate sequences that activate it,
//! demix them by the shift state of the max-pools below it, and summarise each state as a CRM
//! (a receptive-field-long position probability matrix).
//!
//! 1. **Sampling** ([`sample_neuron`]): every sequence when the receptive field is short
//!    (RF < 11); otherwise a genetic search whose first generation is seeded with the previous
//!    layer's CRMs ([`SeedSource`]), mutated by resampling each position from the one-hot input
//!    plus the neuron's input gradient, with elites, shifted elite copies and single-point
//!    crossover, archiving every activating sequence.
//! 2. **Demixing** ([`decouple_neuron`]): top-down hierarchical, activation-weighted k-means
//!    on the feature maps of the layers below, `pool^motif_nb` clusters per pool; each leaf is a
//!    [`ShiftId`](neuronmotif_field::ShiftId).
//! 3. **CRMs** ([`Crm`]): activation-binned PPM, sample count, max activation, and the
//!    activation of the consensus sequence; motif_nb chosen by the consensus-activation
//!    criterion ([`explain_neuron`]).
//! 4. **Layer table** ([`LayerTable`]): every CRM of a layer, the seed source of the next.
//!
//! Every random decision comes from a seeded stream per neuron and task: a seed fixes every
//! output whatever the thread count. Deviations from the original code are listed in
//! `docs/algorithm.md`.
#![deny(missing_docs)]

mod archive;
mod crm;
mod decouple;
mod error;
pub mod kmeans;
mod layer;
mod neuron;
mod params;
mod progress;
mod rng;
mod samples;
mod sampling;
mod seeding;
pub mod stats;
mod table;

pub use crm::{binned_ppm, route_purity, Crm, RouteSummary};
pub use error::SampleError;
pub use layer::{
    decide_layer, decide_layer_with, demix_round, explain_layer, layer_accepts, motif_nb_bounds,
    sample_and_demix, LayerResult, MemoryStore, SampleStore,
};
pub use neuron::{
    consensus_ratio, decouple_neuron, explain_neuron, sample_neuron, LayerContext, NeuronResult,
};
pub use params::{DecoupleParams, MotifNb, SamplerParams, ValidDecoupleParams, ValidSamplerParams};
pub use progress::{Progress, Silent};
pub use samples::SampleSet;
pub use sampling::SamplingMode;
pub use seeding::SeedSource;
pub use table::LayerTable;

//! Receptive-field and shift-latent algebra of a chain of convolutions and max-pools.
//!
//! Which input bases does a neuron see, and in how many ways can max-pooling hide where a lower
//! motif sat? Both are pure arithmetic over the layer list, independent of weights; this crate
//! is that arithmetic, exact for any chain of valid-padded convolutions (kernel, stride,
//! dilation) and max-pools (kernel, stride, overlapping or not).
//!
//! * [`Geometry`] holds the chain and answers receptive fields, jumps and windows of every
//!   layer output, and which units of conv layer L−1 feed each tap of conv layer L
//!   ([`Geometry::unit_start`], NeuronMotif's `start(t, r) = t·J_post + r·J_pre`).
//! * [`ShiftSpace`] is the latent "which position won each max-pool" of a layer-L neuron: one
//!   mixed-radix digit per pool below L, radix = pool size raised to `motif_nb`. Its size is
//!   NeuronMotif's number of CRMs per neuron, T(L).
//! * [`LayerPlan`] is the per-conv-layer summary the command line prints.
//!
//! ```
//! use neuronmotif_field::{Geometry, Op};
//!
//! // DeepSEA: conv 8, pool 4, conv 8, pool 4, conv 8.
//! let g = Geometry::new(vec![
//!     Op::conv("conv1", 320, 8), Op::pool(4),
//!     Op::conv("conv2", 480, 8), Op::pool(4),
//!     Op::conv("conv3", 960, 8),
//! ]).unwrap();
//! assert_eq!(g.receptive_field(3).unwrap().len, 163);
//! assert_eq!(g.shift_space(3, 1).unwrap().count(), 16);
//! ```
#![deny(missing_docs)]

mod error;
mod geometry;
mod plan;
mod shift;

pub use error::FieldError;
pub use geometry::{ConvGeom, Geometry, Op, PoolGeom, ReceptiveField};
pub use plan::{LayerPlan, PlanRow};
pub use shift::{ShiftDigit, ShiftId, ShiftSpace};

/// Result type of this crate.
pub type Result<T, E = FieldError> = std::result::Result<T, E>;

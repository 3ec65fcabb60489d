//! Genomic CNN models for neuronmotif: the model file, Keras import, and fast batched
//! inference with input gradients.
//!
//! * [`Model`]: a validated layer list with weights, loaded from the project's model file
//!   (safetensors + `neuronmotif.architecture` metadata, see [`Architecture`]) or imported from
//!   a Keras 2 whole-model HDF5 file ([`keras::import`], feature `keras`, pure Rust).
//! * [`Substructure`]: the model up to conv layer L, batchnorm folded, the input alphabet folded
//!   into the first layer, compiled for batched evaluation on [`Batch`]es: one neuron's
//!   activation, all channels, every layer's feature map, and the exact input gradient of one
//!   neuron in one pass sharing the forward.
//!
//! This crate knows nothing of motifs; it turns sequences into numbers, fast.
//!
//! ```
//! use ndarray::{Array1, Array3};
//! use neuronmotif_cnn::{ConvLayer, Layer, Model, Padding};
//! use neuronmotif_core::Alphabet;
//!
//! // One conv filter that scores "CAG": +1 for each matching base.
//! let mut w = Array3::<f32>::zeros((1, 4, 3));
//! for (t, base) in [1usize, 0, 2].into_iter().enumerate() {
//!     w[[0, base, t]] = 1.0;
//! }
//! let conv = ConvLayer { name: "0".into(), weight: w, bias: Array1::zeros(1), has_bias: true,
//!                        stride: 1, dilation: 1, padding: Padding::Valid };
//! let model = Model::new(Alphabet::ACGT, None, vec![Layer::Conv(conv)]).unwrap();
//! let sub = model.substructure(1).unwrap();
//! let codes = ndarray::array![[1u8, 0, 2], [3, 3, 3]]; // CAG, TTT
//! let act = sub.activations(codes.view(), 0).unwrap();
//! assert_eq!(act.column(0).to_vec(), vec![3.0, 0.0]);
//! ```
#![deny(missing_docs)]

mod arch;
mod dtype;
mod elementwise;
mod error;
mod exec;
mod gather;
#[cfg(feature = "keras")]
pub mod keras;
mod kernel;
mod model;
mod substructure;
#[cfg(feature = "testing")]
pub mod testing;
mod winograd;

pub use arch::{Architecture, LayerSpec, ARCHITECTURE_KEY};
pub use error::CnnError;
pub use model::{BatchNormLayer, ConvLayer, Layer, LinearLayer, Model, Padding};
pub use substructure::{Batch, Substructure};
pub use winograd::ConvAlgorithm;

/// Name of the GEMM micro-kernel selected for this CPU (for benchmark reports).
pub fn kernel_name() -> &'static str {
    kernel::kernel_name()
}

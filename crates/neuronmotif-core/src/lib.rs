//! DNA and motif-matrix vocabulary shared by every neuronmotif crate.
//!
//! NeuronMotif turns a convolutional neuron into position probability matrices. Everything it
//! handles on the way is either a DNA sequence (a sampled input, a consensus) or a matrix over
//! the four bases (a count matrix, a PPM, a PWM). This crate holds those types and nothing else:
//! no network, no file formats, no clustering.
//!
//! Conventions that hold in every crate of the workspace:
//!
//! * **Canonical base order is A, C, G, T.** Every matrix column and every one-hot channel in
//!   this crate is in that order. A model trained with another channel order (AGCT for the
//!   DeepSEA data) declares it as an [`Alphabet`], and the conversion happens once, at the model
//!   boundary, through [`Alphabet::to_canonical`] / [`Alphabet::from_canonical`].
//! * **One-hot batches are channels-last**, `[n, len, 4]` ([`OneHotBatch`]). A convolution
//!   window of `k` positions is then `k * 4` contiguous floats, which the CNN core reads without
//!   an im2col copy.
//! * **Information content is in bits** (log2) everywhere; see [`Ppm::ic_bits`].
//!
//! ```
//! use neuronmotif_core::{DnaSeq, CountMatrix};
//!
//! let seqs: Vec<DnaSeq> = ["CAGGTG", "CAGGTA", "CAGGTG"]
//!     .iter()
//!     .map(|s| s.parse().unwrap())
//!     .collect();
//! let ppm = CountMatrix::from_seqs(&seqs).unwrap().to_ppm().unwrap();
//! assert_eq!(ppm.consensus().to_string(), "CAGGTG");
//! assert_eq!(ppm.reverse_complement().consensus().to_string(), "CACCTG");
//! assert!((ppm.ic_bits()[0] - 2.0).abs() < 1e-12);
//! ```
#![deny(missing_docs)]

mod alphabet;
mod error;
mod matrix;
pub mod onehot;
mod segment;
mod seq;
#[cfg(feature = "testing")]
pub mod testing;

pub use alphabet::{Alphabet, Base};
pub use error::CoreError;
pub use matrix::{Background, CountMatrix, Ppm, Pwm};
pub use onehot::{OneHotBatch, SequenceSpace};
pub use segment::{Segment, SegmentParams};
pub use seq::DnaSeq;

/// The `ndarray` and `rand` this crate's API is written in (`Ppm::new` takes an
/// `ndarray::Array2`, `onehot::random` a `rand::Rng`), re-exported so that callers use the
/// same versions without pinning them.
pub use ndarray;
pub use rand;

/// Result type of this crate.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// A suffix for a temporary file that no other writer uses at the same time (for the crates
/// that write files atomically, by a temporary file and a rename): the process id
/// alone is not enough when threads of one process, or processes on two machines sharing a
/// run directory, write the same file (`--shard`).
pub fn temp_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

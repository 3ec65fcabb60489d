//! Tomtom-compatible motif comparison: p-, E- and q-values, offsets and strands, as a library
//! call.
//!
//! Tomtom (Gupta et al., *Genome Biology* 2007; MEME Suite) asks, for a query motif and a
//! database of target motifs: how surprising is the best alignment of the query with each
//! target, given how the query's columns score against the database as a whole? This crate
//! reimplements the method as MEME 5.4.1 runs it by default (complete scores), and reproduces
//! its output: with [`TomtomParams::float_p_values`] every p-value, offset and orientation of the
//! reference tables (47,466 query-target pairs per distance) comes out exactly as real Tomtom
//! 5.4.1 prints it; `docs/tomtom.md` has the measured agreement.
//!
//! # The algorithm, step by step
//!
//! 1. **Pseudocounts.** Every query and target column becomes
//!    `(p * nsites + 0.1 * bg) / (nsites + 0.1)`, with `nsites` from the motif (20 when absent
//!    or 0, truncated to an integer like MEME's C `int`) and a strand-symmetric background
//!    ([`TomtomMotif::pseudocounted_columns`]). The `nsites` written into motif files
//!    therefore changes the results, as it does in MEME. Like MEME's reader, a probability row
//!    that sums to 1 within 1e-5 is used as written, not renormalised
//!    ([`TomtomMotif::from_written_rows`], used for MEME files read with `neuronmotif-io`).
//! 2. **Both strands.** Each target is also scored as its reverse complement (unless
//!    [`TomtomParams::reverse_complements`] is off). All target columns of both strands form
//!    one *pool* ([`TargetDb`]).
//! 3. **Column scores.** Each query column is scored against every pool column with the chosen
//!    [`Distance`] (`ed`, `pearson`, `sandelin`). For `ed` the squared distance is kept and the
//!    root (a monotone map) is taken only where a score's value is needed. On CPUs with
//!    AVX-512, steps 3 to 5 for `ed` run in single precision, with every median rank, scaling
//!    and bin either certified by an error bound or recomputed in double precision, so the
//!    results are the same bits (module `ed_single`, private; `docs/tomtom.md`).
//! 4. **Median shift (complete scores).** Each query column's scores are shifted so that its
//!    median over the pool becomes 0 ([`scaling::tomtom_median`], MEME's slightly-off median).
//!    An unaligned query column then counts as 0, so overhanging alignments are neither
//!    rewarded nor penalised for the columns they leave out.
//! 5. **Integer bins.** All shifted scores of the query are mapped to integers `0..=100` with
//!    one offset and scale per query ([`ScoreScale`]); 0 maps to the integer `z`.
//! 6. **Null distributions.** Under the null, each aligned query column scores a pool column
//!    drawn uniformly at random. The distribution of a summed span of query columns is the
//!    convolution of the columns' bin histograms ([`null`]).
//! 7. **Best alignment.** For each target strand, every offset with at least `min_overlap`
//!    aligned columns is scored as the sum of its bins plus `z` per unaligned query column;
//!    the best is kept, ties going to the larger overlap. Each sum is read off running sums
//!    along the diagonals of the query-by-pool matrix of bins (two loads per offset), not
//!    added up cell by cell.
//! 8. **p-value of the best.** For each target width `W`, the null distribution of the
//!    maximum over all `w + W - 1` offsets and both strands (taken as independent) gives
//!    `p = P(max >= observed)`. The p-value is thus already corrected for offsets and strands.
//! 9. **E-value** = `p * number of targets`.
//! 10. **q-values** by Storey's method over the p-values of all target strands ([`qvalue`]).
//! 11. **Output**: one row per target (its better strand) in ascending p-value, while
//!     `q <= 0.5` (or the [`Threshold`] set); [`tsv`] writes Tomtom's `-text` layout.
//!
//! # Deviations from MEME 5.4.1
//!
//! * **No width limit.** MEME skips queries wider than 100 columns, because its tables of span
//!   distributions are cubic in the query width. Here span distributions are built and
//!   consumed one start column at a time, only as long as the widest target, and only
//!   evaluated at the scores some target reached: memory is linear in the query width
//!   (1,000-column queries work; see `docs/tomtom.md`).
//! * **p-values in f64.** MEME stores p-values in a C `float`; its `p = 0` rows are float
//!   underflow (below about 1.4e-45). Here they are the tiny positive numbers they are.
//!   Sorting uses the f64 values, so rows whose p-values MEME prints as equal may come in
//!   another order.
//! * **pi0 for q-values** is MEME's bootstrap estimator with the bootstrap MSE computed exactly
//!   instead of by sampling 100 bootstraps from a Mersenne Twister (see [`qvalue`]): q-values
//!   agree with MEME's to within the bootstrap's own noise (measured in `docs/tomtom.md`).
//! * **p-value of the max** is computed as `-expm1(sum ln(1 - S))` from per-alignment
//!   survival functions rather than by MEME's pmf recursion; the two are equal in exact
//!   arithmetic and this form keeps relative precision in the far tail.
//! * Only `ed`, `pearson` and `sandelin` distances and complete scores are implemented
//!   (no `allr`, `kullback`, `blic`, `llr`, no `-incomplete-scores`); DNA only.
//!
//! # Example
//!
//! ```
//! use ndarray::array;
//! use neuronmotif_core::Ppm;
//! use neuronmotif_tomtom::{Distance, TargetDb, TomtomMotif, TomtomParams};
//!
//! let params = TomtomParams::new().distance(Distance::Pearson).check().unwrap();
//! let targets: Vec<TomtomMotif> = (0..60)
//!     .map(|i| {
//!         let rows = ndarray::Array2::from_shape_fn((8, 4), |(p, b)| {
//!             if (p * 7 + i * 3) % 4 == b { 0.85 } else { 0.05 }
//!         });
//!         TomtomMotif::new(format!("T{i}"), Ppm::new(rows).unwrap(), Some(50.0))
//!     })
//!     .collect();
//! let query = targets[17].clone();
//! let db = TargetDb::new(targets, &params).unwrap();
//! let hits = db.compare(&query).unwrap();
//! // The query's own copy is among the best hits, at offset 0 on the + strand.
//! let own = hits.iter().find(|m| &*m.target_id == "T17").unwrap();
//! assert_eq!(own.offset, 0);
//! assert!(own.p_value < 1e-3);
//! ```
#![deny(missing_docs)]

mod align;
mod compare;
mod db;
mod distance;
mod ed_single;
mod error;
mod motif;
pub mod null;
mod params;
pub mod qvalue;
pub mod scaling;
mod simd;
pub mod tsv;

pub use compare::{MatchRow, Orientation, QueryMatches, TomtomMatch};
pub use db::TargetDb;
pub use error::TomtomError;
pub use motif::{file_background, motifs_from_file, TomtomMotif, MEME_NORMALIZE_TOLERANCE};
pub use params::{
    Distance, Threshold, TomtomParams, ValidTomtomParams, DEFAULT_MOTIF_PSEUDOCOUNT,
    DEFAULT_NSITES, DEFAULT_THRESHOLD,
};
pub use scaling::ScoreScale;

/// Result type of this crate.
pub type Result<T, E = TomtomError> = std::result::Result<T, E>;

//! Proptest strategies for DNA and motif values, shared with other crates' tests
//! (enable the `testing` feature).

use ndarray::Array2;
use proptest::prelude::*;

use crate::{DnaSeq, Ppm};

/// A sequence of length in `len`.
pub fn dna_seq(len: std::ops::Range<usize>) -> impl Strategy<Value = DnaSeq> {
    proptest::collection::vec(0u8..4, len)
        .prop_map(|codes| DnaSeq::from_codes(codes).unwrap_or_default())
}

/// A PPM of width in `width`, rows drawn from positive weights (some near-deterministic rows
/// included, because that is where log terms misbehave).
pub fn ppm(width: std::ops::Range<usize>) -> impl Strategy<Value = Ppm> {
    let row = prop_oneof![
        3 => proptest::array::uniform4(0.0f64..1.0),
        1 => (0usize..4).prop_map(|b| {
            let mut r = [0.0; 4];
            r[b] = 1.0;
            r
        }),
    ]
    .prop_filter("row needs mass", |r| r.iter().sum::<f64>() > 1e-9);
    proptest::collection::vec(row, width).prop_map(|rows| {
        let w = rows.len();
        let a = Array2::from_shape_fn((w, 4), |(i, b)| rows[i][b]);
        Ppm::from_weights(a).unwrap_or_else(|_| Ppm::uniform(w))
    })
}

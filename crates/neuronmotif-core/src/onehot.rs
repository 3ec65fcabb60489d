//! One-hot batches: the form in which sequences enter the CNN.
//!
//! A batch is an `ndarray` `Array3<f32>` of shape `[n, len, 4]`, channels last, in canonical
//! ACGT order. Channels-last is chosen for the convolution core: the `k` positions of a window
//! are `4 * k` consecutive floats (and deeper layers' `k * C` features are consecutive too), so
//! a convolution is a matrix product over overlapping rows with no im2col copy.

use ndarray::{Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};
use rand::Rng;

use crate::{Base, CoreError, DnaSeq, Result};

/// A batch of one-hot sequences, `[n, len, 4]`, ACGT channels.
pub type OneHotBatch = Array3<f32>;

/// Encode sequences that all have the same length.
pub fn encode(seqs: &[DnaSeq]) -> Result<OneHotBatch> {
    let len = seqs.first().map_or(0, DnaSeq::len);
    let mut out = Array3::zeros((seqs.len(), len, 4));
    for (i, (s, row)) in seqs.iter().zip(out.outer_iter_mut()).enumerate() {
        if s.len() != len {
            return Err(CoreError::LengthMismatch {
                index: i,
                expected: len,
                found: s.len(),
            });
        }
        write_codes(s.codes(), row);
    }
    Ok(out)
}

/// Write one sequence (canonical codes) into a zeroed `[len, 4]` view.
pub fn write_codes(codes: &[u8], mut out: ArrayViewMut2<'_, f32>) {
    for (pos, &c) in codes.iter().enumerate() {
        out[[pos, usize::from(c & 3)]] = 1.0;
    }
}

/// Decode a batch that must be exactly one-hot (one 1.0 and three 0.0 per position).
pub fn decode(batch: ArrayView3<'_, f32>) -> Result<Vec<DnaSeq>> {
    batch
        .outer_iter()
        .enumerate()
        .map(|(i, s)| decode_one(i, s))
        .collect()
}

fn decode_one(seq: usize, s: ArrayView2<'_, f32>) -> Result<DnaSeq> {
    if s.ncols() != 4 {
        return Err(CoreError::Shape {
            expected: "[n, len, 4]".into(),
            found: vec![seq, s.nrows(), s.ncols()],
        });
    }
    let mut codes = Vec::with_capacity(s.nrows());
    for (pos, row) in s.outer_iter().enumerate() {
        let r = [row[0], row[1], row[2], row[3]];
        let ones = r.iter().filter(|&&v| v == 1.0).count();
        let zeros = r.iter().filter(|&&v| v == 0.0).count();
        if ones != 1 || zeros != 3 {
            return Err(CoreError::NotOneHot { seq, pos, row: r });
        }
        codes.push(r.iter().position(|&v| v == 1.0).unwrap_or(0) as u8);
    }
    Ok(DnaSeq::from_codes(codes).unwrap_or_default())
}

/// Decode by taking the largest channel at each position (ties go to the earlier base), for
/// arrays that are not exactly one-hot, such as smoothed samples.
pub fn argmax_decode(s: ArrayView2<'_, f32>) -> DnaSeq {
    DnaSeq::from_bases(s.outer_iter().map(|row| {
        let mut best = 0;
        for c in 1..row.len().min(4) {
            if row[c] > row[best] {
                best = c;
            }
        }
        Base::ALL[best]
    }))
}

/// Canonical codes of each sequence of a one-hot batch (argmax per position).
pub fn batch_codes(batch: ArrayView3<'_, f32>) -> Vec<Vec<u8>> {
    batch
        .outer_iter()
        .map(|s| argmax_decode(s).codes().to_vec())
        .collect()
}

/// `n` sequences of length `len`, each base drawn uniformly and independently.
///
/// One 64-bit draw supplies 32 bases, so a batch of 5,000 × 144 bp costs 22,500 draws.
pub fn random(n: usize, len: usize, rng: &mut impl Rng) -> OneHotBatch {
    let mut out = Array3::zeros((n, len, 4));
    fill_random(out.view_mut(), rng);
    out
}

/// Overwrite a batch view with uniform random one-hot sequences.
pub fn fill_random(mut out: ArrayViewMut3<'_, f32>, rng: &mut impl Rng) {
    out.fill(0.0);
    for mut s in out.outer_iter_mut() {
        let len = s.nrows();
        let mut pos = 0;
        while pos < len {
            let mut bits: u64 = rng.gen();
            for _ in 0..32.min(len - pos) {
                s[[pos, (bits & 3) as usize]] = 1.0;
                bits >>= 2;
                pos += 1;
            }
        }
    }
}

/// All `4^len` sequences of one length, in lexicographic order (AAA…A first, TTT…T last), for
/// the exhaustive sampler.
///
/// The space is never materialised: [`SequenceSpace::fill`] writes any index range into a
/// caller's buffer, and [`SequenceSpace::chunks`] walks it in fixed-size batches, so the
/// 1,048,576 sequences of length 10 cost one chunk of memory, not 168 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceSpace {
    len: usize,
}

impl SequenceSpace {
    /// The longest length accepted (4^13 ≈ 67 million sequences).
    pub const MAX_LEN: usize = 13;

    /// The space of all sequences of `len` bp.
    pub fn new(len: usize) -> Result<SequenceSpace> {
        if len > Self::MAX_LEN {
            return Err(CoreError::TooLongToEnumerate {
                len,
                max: Self::MAX_LEN,
            });
        }
        Ok(SequenceSpace { len })
    }

    /// Sequence length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the sequences have length 0 (the space then holds one, empty, sequence).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of sequences, `4^len`.
    pub fn count(&self) -> usize {
        1usize << (2 * self.len)
    }

    /// The sequence with lexicographic index `index` (position 0 is the most significant digit).
    pub fn sequence(&self, index: usize) -> Option<DnaSeq> {
        (index < self.count()).then(|| {
            let codes = (0..self.len)
                .map(|p| ((index >> (2 * (self.len - 1 - p))) & 3) as u8)
                .collect();
            DnaSeq::from_codes(codes).unwrap_or_default()
        })
    }

    /// Write sequences `start .. start + out.len_of(0)` into `out` (`[n, len, 4]`).
    pub fn fill(&self, start: usize, mut out: ArrayViewMut3<'_, f32>) -> Result<()> {
        let n = out.len_of(Axis(0));
        if out.shape()[1..] != [self.len, 4] || start + n > self.count() {
            return Err(CoreError::Shape {
                expected: format!(
                    "[n, {}, 4] with start + n <= {} (start = {start})",
                    self.len,
                    self.count()
                ),
                found: out.shape().to_vec(),
            });
        }
        out.fill(0.0);
        let len = self.len;
        for (j, mut s) in out.outer_iter_mut().enumerate() {
            let idx = start + j;
            for p in 0..len {
                s[[p, (idx >> (2 * (len - 1 - p))) & 3]] = 1.0;
            }
        }
        Ok(())
    }

    /// Iterate over the space in batches of at most `chunk` sequences: `(first index, batch)`.
    pub fn chunks(&self, chunk: usize) -> impl Iterator<Item = (usize, OneHotBatch)> + '_ {
        let chunk = chunk.max(1);
        (0..self.count()).step_by(chunk).map(move |start| {
            let n = chunk.min(self.count() - start);
            let mut b = Array3::zeros((n, self.len, 4));
            // Shape and range are correct by construction.
            let _ = self.fill(start, b.view_mut());
            (start, b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn encode_decode_round_trip() {
        let seqs: Vec<DnaSeq> = ["ACGT", "TTGA"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let b = encode(&seqs).unwrap();
        assert_eq!(b.shape(), &[2, 4, 4]);
        assert_eq!(b[[1, 2, 2]], 1.0); // G
        assert_eq!(decode(b.view()).unwrap(), seqs);
    }

    #[test]
    fn encode_rejects_ragged() {
        let seqs: Vec<DnaSeq> = ["ACGT", "TTG"].iter().map(|s| s.parse().unwrap()).collect();
        assert!(matches!(
            encode(&seqs),
            Err(CoreError::LengthMismatch {
                index: 1,
                expected: 4,
                found: 3
            })
        ));
    }

    #[test]
    fn decode_rejects_soft_rows() {
        let mut b = Array3::<f32>::zeros((1, 2, 4));
        b[[0, 0, 1]] = 1.0;
        b[[0, 1, 1]] = 0.5;
        b[[0, 1, 2]] = 0.5;
        let e = decode(b.view()).unwrap_err();
        assert!(matches!(e, CoreError::NotOneHot { seq: 0, pos: 1, .. }));
    }

    #[test]
    fn random_is_one_hot_and_roughly_uniform() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let b = random(2000, 50, &mut rng);
        assert!(decode(b.view()).is_ok());
        let freq = b.sum_axis(Axis(0)).sum_axis(Axis(0)) / (2000.0 * 50.0);
        for f in freq {
            assert!((f - 0.25).abs() < 0.01, "{f}");
        }
    }

    #[test]
    fn space_is_lexicographic_and_complete() {
        let sp = SequenceSpace::new(3).unwrap();
        assert_eq!(sp.count(), 64);
        assert_eq!(sp.sequence(0).unwrap().to_string(), "AAA");
        assert_eq!(sp.sequence(1).unwrap().to_string(), "AAC");
        assert_eq!(sp.sequence(63).unwrap().to_string(), "TTT");
        assert!(sp.sequence(64).is_none());
        let mut all = Vec::new();
        for (start, b) in sp.chunks(10) {
            let d = decode(b.view()).unwrap();
            for (j, s) in d.into_iter().enumerate() {
                assert_eq!(Some(&s), sp.sequence(start + j).as_ref());
                all.push(s);
            }
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!((n, all.len()), (64, 64));
        assert!(SequenceSpace::new(14).is_err());
        assert!(sp.fill(60, Array3::zeros((5, 3, 4)).view_mut()).is_err());
    }
}

//! Activating sequences of a neuron, stored compactly as base codes.

use ndarray::Array2;

/// Sequences (canonical base codes, one row each, `RF(L)` long) and the neuron's activation on
/// each. One byte per base: 100,000 samples of 144 bp take 14 MB, where the original's float64
/// one-hot took 460 MB.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSet {
    /// `[n, len]` codes (A=0, C=1, G=2, T=3).
    pub codes: Array2<u8>,
    /// Activation of each sequence.
    pub act: Vec<f32>,
}

impl SampleSet {
    /// An empty set of sequences of length `len`.
    pub fn empty(len: usize) -> SampleSet {
        SampleSet {
            codes: Array2::zeros((0, len)),
            act: Vec::new(),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.act.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.act.is_empty()
    }

    /// Sequence length.
    pub fn seq_len(&self) -> usize {
        self.codes.ncols()
    }

    /// The samples at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> SampleSet {
        let len = self.seq_len();
        let mut codes = Array2::zeros((idx.len(), len));
        for (row, &i) in codes.outer_iter_mut().zip(idx) {
            let mut row = row;
            row.assign(&self.codes.row(i));
        }
        SampleSet {
            codes,
            act: idx.iter().map(|&i| self.act[i]).collect(),
        }
    }
}

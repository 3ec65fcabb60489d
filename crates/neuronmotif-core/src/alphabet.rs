use std::fmt;

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut3, Axis};

use crate::{CoreError, Result};

/// One DNA base. The discriminant is the canonical channel index (A=0, C=1, G=2, T=3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Base {
    /// Adenine.
    A = 0,
    /// Cytosine.
    C = 1,
    /// Guanine.
    G = 2,
    /// Thymine.
    T = 3,
}

impl Base {
    /// All four bases in canonical order.
    pub const ALL: [Base; 4] = [Base::A, Base::C, Base::G, Base::T];

    /// The base with canonical index `i` (A=0 … T=3); `None` above 3.
    pub fn from_index(i: usize) -> Option<Base> {
        Self::ALL.get(i).copied()
    }

    /// Canonical channel index.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Watson-Crick partner. In ACGT order the complement of index `i` is `3 - i`.
    pub fn complement(self) -> Base {
        Self::ALL[3 - self.index()]
    }

    /// Upper-case letter.
    pub fn letter(self) -> char {
        b"ACGT"[self.index()] as char
    }

    /// Parse one letter; lower case is accepted (soft-masked genome sequence is still sequence).
    pub fn from_letter(c: char) -> Option<Base> {
        match c {
            'A' | 'a' => Some(Base::A),
            'C' | 'c' => Some(Base::C),
            'G' | 'g' => Some(Base::G),
            'T' | 't' => Some(Base::T),
            _ => None,
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// The order of the four input channels of a model.
///
/// Most genomic CNNs read one-hot DNA as A, C, G, T. Models trained on the DeepSEA data read
/// A, G, C, T. Everything neuronmotif computes and writes is in canonical ACGT order; a model's
/// alphabet is applied only where one-hot data enters or leaves the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alphabet {
    /// `order[c]` is the base read by model channel `c`.
    order: [Base; 4],
}

impl Default for Alphabet {
    fn default() -> Self {
        Self::ACGT
    }
}

impl Alphabet {
    /// Canonical order.
    pub const ACGT: Alphabet = Alphabet {
        order: [Base::A, Base::C, Base::G, Base::T],
    };
    /// The DeepSEA-data order.
    pub const AGCT: Alphabet = Alphabet {
        order: [Base::A, Base::G, Base::C, Base::T],
    };

    /// Parse a channel order such as `"ACGT"` or `"AGCT"` (case-insensitive).
    pub fn parse(s: &str) -> Result<Alphabet> {
        let bad = || CoreError::InvalidAlphabet(s.to_string());
        let chars: Vec<char> = s.trim().chars().collect();
        if chars.len() != 4 {
            return Err(bad());
        }
        let mut order = [Base::A; 4];
        let mut seen = [false; 4];
        for (slot, c) in order.iter_mut().zip(chars) {
            let b = Base::from_letter(c).ok_or_else(bad)?;
            if std::mem::replace(&mut seen[b.index()], true) {
                return Err(bad());
            }
            *slot = b;
        }
        Ok(Alphabet { order })
    }

    /// Whether this is the canonical ACGT order.
    pub fn is_canonical(&self) -> bool {
        *self == Self::ACGT
    }

    /// The base read by model channel `channel` (0..4).
    pub fn base_at(&self, channel: usize) -> Option<Base> {
        self.order.get(channel).copied()
    }

    /// The model channel that reads `base`.
    pub fn channel_of(&self, base: Base) -> usize {
        // The order is a permutation, so the position always exists.
        self.order.iter().position(|&b| b == base).unwrap_or(0)
    }

    /// `perm[c]` = canonical index of model channel `c`.
    pub fn canonical_index_of_channel(&self) -> [usize; 4] {
        self.order.map(Base::index)
    }

    /// Reorder the last axis of a `[n, len, 4]` batch from canonical ACGT to this model order.
    pub fn from_canonical(&self, acgt: ArrayView3<'_, f32>) -> Array3<f32> {
        let mut out = Array3::zeros(acgt.raw_dim());
        for (c, base) in self.order.iter().enumerate() {
            out.index_axis_mut(Axis(2), c)
                .assign(&acgt.index_axis(Axis(2), base.index()));
        }
        out
    }

    /// Reorder the last axis of a `[n, len, 4]` array (a batch or an input gradient) from this
    /// model order to canonical ACGT, writing into `out`.
    pub fn to_canonical_into(&self, model: ArrayView3<'_, f32>, mut out: ArrayViewMut3<'_, f32>) {
        for (c, base) in self.order.iter().enumerate() {
            out.index_axis_mut(Axis(2), base.index())
                .assign(&model.index_axis(Axis(2), c));
        }
    }

    /// Reorder the last axis of a `[n, len, 4]` array from this model order to canonical ACGT.
    pub fn to_canonical(&self, model: ArrayView3<'_, f32>) -> Array3<f32> {
        let mut out = Array3::zeros(model.raw_dim());
        self.to_canonical_into(model, out.view_mut());
        out
    }

    /// Reorder the columns of a `[w, 4]` matrix (a PPM written in this model's order) to ACGT.
    pub fn matrix_to_canonical(&self, model: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = Array2::zeros(model.raw_dim());
        for (c, base) in self.order.iter().enumerate() {
            out.column_mut(base.index()).assign(&model.column(c));
        }
        out
    }
}

impl fmt::Display for Alphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.order {
            write!(f, "{b}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Alphabet {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        Alphabet::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn parse_and_display() {
        assert_eq!(Alphabet::parse("agct").unwrap(), Alphabet::AGCT);
        assert_eq!(Alphabet::AGCT.to_string(), "AGCT");
        assert!(Alphabet::parse("ACGG").is_err());
        assert!(Alphabet::parse("ACG").is_err());
        assert!(Alphabet::parse("ACGU").is_err());
    }

    #[test]
    fn agct_swaps_c_and_g_channels() {
        // One sequence "CG": canonical rows C=[0,1,0,0], G=[0,0,1,0].
        let acgt = array![[[0.0f32, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]];
        let model = Alphabet::AGCT.from_canonical(acgt.view());
        // In AGCT order C is channel 2 and G is channel 1.
        assert_eq!(
            model,
            array![[[0.0f32, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]]
        );
        assert_eq!(Alphabet::AGCT.to_canonical(model.view()), acgt);
        assert_eq!(Alphabet::AGCT.channel_of(Base::C), 2);
        assert_eq!(Alphabet::AGCT.canonical_index_of_channel(), [0, 2, 1, 3]);
    }

    #[test]
    fn matrix_columns_reordered() {
        let m = array![[0.1, 0.2, 0.3, 0.4]]; // AGCT: A=.1 G=.2 C=.3 T=.4
        assert_eq!(
            Alphabet::AGCT.matrix_to_canonical(m.view()),
            array![[0.1, 0.3, 0.2, 0.4]]
        );
    }

    #[test]
    fn complement_pairs() {
        for b in Base::ALL {
            assert_eq!(b.complement().complement(), b);
            assert_ne!(b.complement(), b);
        }
        assert_eq!(Base::A.complement(), Base::T);
        assert_eq!(Base::C.complement(), Base::G);
    }
}

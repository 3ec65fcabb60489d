use std::fmt;
use std::str::FromStr;

use crate::{Base, CoreError, Result};

/// A validated DNA sequence over A, C, G, T.
///
/// Stored as canonical base indices (A=0, C=1, G=2, T=3), one byte per base, which is what the
/// one-hot encoder and the samplers want.
///
/// **Case and ambiguity codes.** Lower-case letters are accepted and upper-cased: genome
/// assemblies soft-mask repeats in lower case, and that is still sequence. `N` and the other
/// IUPAC ambiguity codes are rejected with the position of the first one, because a CNN input
/// built by neuronmotif is always exactly one-hot; silently replacing `N` would change the
/// activation being explained.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DnaSeq {
    codes: Vec<u8>,
}

impl DnaSeq {
    /// Parse text; the error names the first invalid character's position.
    pub fn parse(text: &str) -> Result<DnaSeq> {
        let mut codes = Vec::with_capacity(text.len());
        for (pos, c) in text.chars().enumerate() {
            let b = Base::from_letter(c).ok_or(CoreError::InvalidBase { pos, found: c })?;
            codes.push(b as u8);
        }
        Ok(DnaSeq { codes })
    }

    /// Build from canonical indices; every code must be below 4.
    pub fn from_codes(codes: Vec<u8>) -> Result<DnaSeq> {
        if let Some(pos) = codes.iter().position(|&c| c > 3) {
            return Err(CoreError::InvalidBase {
                pos,
                found: char::from_digit(u32::from(codes[pos]) % 36, 36).unwrap_or('?'),
            });
        }
        Ok(DnaSeq { codes })
    }

    /// Build from bases.
    pub fn from_bases(bases: impl IntoIterator<Item = Base>) -> DnaSeq {
        DnaSeq {
            codes: bases.into_iter().map(|b| b as u8).collect(),
        }
    }

    /// Canonical indices (A=0 … T=3).
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// Number of bases.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the sequence has no bases.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The base at `pos`.
    pub fn get(&self, pos: usize) -> Option<Base> {
        self.codes
            .get(pos)
            .and_then(|&c| Base::from_index(c as usize))
    }

    /// Iterate over the bases.
    pub fn bases(&self) -> impl Iterator<Item = Base> + '_ {
        self.codes.iter().map(|&c| Base::ALL[c as usize & 3])
    }

    /// The reverse complement: the same double strand read from the other end.
    pub fn reverse_complement(&self) -> DnaSeq {
        DnaSeq {
            codes: self.codes.iter().rev().map(|&c| 3 - c).collect(),
        }
    }

    /// A sub-sequence; `None` when the range is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<DnaSeq> {
        self.codes.get(range).map(|c| DnaSeq { codes: c.to_vec() })
    }
}

impl FromStr for DnaSeq {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        DnaSeq::parse(s)
    }
}

impl fmt::Display for DnaSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = self.bases().map(Base::letter).collect();
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mixed_case() {
        let s = DnaSeq::parse("acGT").unwrap();
        assert_eq!(s.to_string(), "ACGT");
        assert_eq!(s.codes(), &[0, 1, 2, 3]);
    }

    #[test]
    fn rejects_n_with_position() {
        let e = DnaSeq::parse("ACGNT").unwrap_err();
        assert_eq!(e, CoreError::InvalidBase { pos: 3, found: 'N' });
        assert!(e.to_string().contains("position 3"));
    }

    #[test]
    fn reverse_complement_known() {
        let s: DnaSeq = "CAGGTG".parse().unwrap();
        assert_eq!(s.reverse_complement().to_string(), "CACCTG");
        assert_eq!(DnaSeq::default().reverse_complement(), DnaSeq::default());
    }

    #[test]
    fn from_codes_validates() {
        assert!(DnaSeq::from_codes(vec![0, 1, 4]).is_err());
        assert_eq!(DnaSeq::from_codes(vec![3, 2]).unwrap().to_string(), "TG");
    }
}

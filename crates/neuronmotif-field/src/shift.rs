use std::fmt;

use crate::{FieldError, Geometry, Op, Result};

/// The index of one shift state of a neuron: a leaf of NeuronMotif's demixing.
///
/// It is a mixed-radix number over [`ShiftSpace::digits`], most significant digit first (the
/// pool nearest the neuron), matching the depth-first order of the hierarchical clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ShiftId(pub u64);

impl fmt::Display for ShiftId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One pool below the neuron: one digit of the shift state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShiftDigit {
    /// Op index of the pool in the chain.
    pub pool_op: usize,
    /// The conv layer (1-based) whose output this pool reduces; demixing clusters that layer's
    /// feature map to resolve the digit.
    pub conv_layer: usize,
    /// Pool window size p.
    pub pool_size: usize,
    /// Input bp between neighbouring units at the pool's input: moving the winning position by
    /// one moves the lower motif by this many bp.
    pub jump_bp: usize,
    /// Number of values of the digit: `pool_size ^ motif_nb`.
    pub radix: u64,
}

/// The shift-latent states of a layer-L neuron.
///
/// A max-pool of size p returns the same value whichever of its p inputs holds the maximum, so
/// a layer-L neuron cannot tell p placements of a lower pattern apart, per pool below it.
/// Decoupling `motif_nb` = m times gives every such pool p^m states (one p-way choice for each
/// of m independently placed motifs), and the neuron T(L) = Π p^m states in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftSpace {
    layer: usize,
    motif_nb: u32,
    digits: Vec<ShiftDigit>,
    count: u64,
}

impl ShiftSpace {
    pub(crate) fn new(g: &Geometry, layer: usize, motif_nb: u32) -> Result<ShiftSpace> {
        let top = g.conv_op_index(layer)?;
        let too_many = FieldError::TooManyShifts { layer, motif_nb };
        let mut digits = Vec::new();
        let mut conv_layer = 0;
        for (i, op) in g.ops()[..top].iter().enumerate() {
            match op {
                Op::Conv { .. } => conv_layer += 1,
                Op::Pool(p) => digits.push(ShiftDigit {
                    pool_op: i,
                    conv_layer,
                    pool_size: p.kernel,
                    jump_bp: g.jump_before(i),
                    radix: (p.kernel as u64)
                        .checked_pow(motif_nb)
                        .ok_or_else(|| too_many.clone())?,
                }),
                Op::Transparent => {}
            }
        }
        digits.reverse();
        let count = digits
            .iter()
            .try_fold(1u64, |acc, d| acc.checked_mul(d.radix))
            .ok_or(too_many)?;
        Ok(ShiftSpace {
            layer,
            motif_nb,
            digits,
            count,
        })
    }

    /// The conv layer (1-based) of the neuron.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// The decoupling exponent m.
    pub fn motif_nb(&self) -> u32 {
        self.motif_nb
    }

    /// The digits, most significant (the pool nearest the neuron) first.
    pub fn digits(&self) -> &[ShiftDigit] {
        &self.digits
    }

    /// Number of shift states, T(L) = Π pool_size^motif_nb over the pools below the neuron.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mixed-radix digits of a shift id, most significant first.
    pub fn digits_of(&self, id: ShiftId) -> Result<Vec<u64>> {
        if id.0 >= self.count {
            return Err(FieldError::OutOfRange {
                what: "shift id",
                value: id.0,
                limit: self.count,
            });
        }
        let mut rest = id.0;
        let mut out = vec![0; self.digits.len()];
        for (slot, d) in out.iter_mut().zip(&self.digits).rev() {
            *slot = rest % d.radix;
            rest /= d.radix;
        }
        Ok(out)
    }

    /// The shift id with these digits (most significant first).
    pub fn id_of(&self, digits: &[u64]) -> Result<ShiftId> {
        if digits.len() != self.digits.len() {
            return Err(FieldError::OutOfRange {
                what: "number of digits",
                value: digits.len() as u64,
                limit: self.digits.len() as u64 + 1,
            });
        }
        let mut id = 0u64;
        for (&v, d) in digits.iter().zip(&self.digits) {
            if v >= d.radix {
                return Err(FieldError::OutOfRange {
                    what: "shift digit",
                    value: v,
                    limit: d.radix,
                });
            }
            id = id * d.radix + v;
        }
        Ok(ShiftId(id))
    }

    /// The bp offset of each of the `motif_nb` lower motifs in this state, relative to the
    /// state where every pool is won at its first position.
    ///
    /// Digit value v of a pool of size p is read as m base-p sub-digits, `v = Σ_j r_j p^j`;
    /// motif j moves by `Σ_pools r_j · jump_bp`. With motif_nb 1 this is the familiar
    /// `Σ r_l · J_l` (e.g. `4·r2 + r1` for DeepSEA layer 3).
    pub fn offsets_bp(&self, id: ShiftId) -> Result<Vec<u64>> {
        let digits = self.digits_of(id)?;
        let mut offsets = vec![0u64; self.motif_nb as usize];
        for (&v, d) in digits.iter().zip(&self.digits) {
            let p = d.pool_size as u64;
            let mut rest = v;
            for off in offsets.iter_mut() {
                *off += (rest % p) * d.jump_bp as u64;
                rest /= p;
            }
        }
        Ok(offsets)
    }
}

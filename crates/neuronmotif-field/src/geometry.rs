use std::ops::Range;

use crate::{FieldError, Result, ShiftSpace};

/// Geometry of a 1-D convolution with valid padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    /// Number of taps.
    pub kernel: usize,
    /// Output step in input positions.
    pub stride: usize,
    /// Distance between taps.
    pub dilation: usize,
}

/// Geometry of a 1-D max-pool with valid padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolGeom {
    /// Window size.
    pub kernel: usize,
    /// Output step; equal to `kernel` for the usual non-overlapping pools.
    pub stride: usize,
}

/// One layer of the chain, as far as geometry is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// A convolution: the layers whose channels are the neurons NeuronMotif explains.
    Conv {
        /// The layer's name in the model.
        name: String,
        /// Number of output channels (neurons).
        out_channels: usize,
        /// Kernel, stride, dilation.
        geom: ConvGeom,
    },
    /// A max-pool: the source of the shift latent.
    Pool(PoolGeom),
    /// A position-wise layer (batchnorm, activation, dropout): no effect on geometry.
    Transparent,
}

impl Op {
    /// A stride-1, undilated convolution.
    pub fn conv(name: impl Into<String>, out_channels: usize, kernel: usize) -> Op {
        Op::Conv {
            name: name.into(),
            out_channels,
            geom: ConvGeom {
                kernel,
                stride: 1,
                dilation: 1,
            },
        }
    }

    /// A non-overlapping max-pool (stride = kernel).
    pub fn pool(kernel: usize) -> Op {
        Op::Pool(PoolGeom {
            kernel,
            stride: kernel,
        })
    }

    /// `(span, stride)`: how many consecutive input positions one output reads, and its step.
    fn span_stride(&self) -> (usize, usize) {
        match self {
            Op::Conv { geom, .. } => (geom.dilation * (geom.kernel - 1) + 1, geom.stride),
            Op::Pool(p) => (p.kernel, p.stride),
            Op::Transparent => (1, 1),
        }
    }

    fn label(&self) -> String {
        match self {
            Op::Conv { name, .. } => format!("conv {name:?}"),
            Op::Pool(_) => "maxpool".into(),
            Op::Transparent => "position-wise".into(),
        }
    }
}

/// The receptive field of one layer output: `len` input positions, and `jump` input positions
/// between neighbouring outputs. Output position `p` sees inputs `p·jump .. p·jump + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceptiveField {
    /// Number of input positions spanned (NeuronMotif's RF).
    pub len: usize,
    /// Input positions between neighbouring outputs (product of all strides so far).
    pub jump: usize,
}

impl ReceptiveField {
    /// The input window of output position `pos` (valid padding, so no offset).
    pub fn window(&self, pos: usize) -> Range<usize> {
        pos * self.jump..pos * self.jump + self.len
    }
}

/// A validated chain of layers with the receptive field of every layer output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    ops: Vec<Op>,
    /// Field of the output of each op.
    fields: Vec<ReceptiveField>,
    /// Op index of each conv layer, in order.
    convs: Vec<usize>,
}

impl Geometry {
    /// Validate a chain: every kernel, stride and dilation at least 1.
    pub fn new(ops: Vec<Op>) -> Result<Geometry> {
        let mut fields = Vec::with_capacity(ops.len());
        let mut convs = Vec::new();
        let mut rf = ReceptiveField { len: 1, jump: 1 };
        for (index, op) in ops.iter().enumerate() {
            let bad = |problem: &str| FieldError::BadLayer {
                index,
                name: op.label(),
                problem: problem.to_string(),
            };
            match op {
                Op::Conv { geom, .. } => {
                    if geom.kernel == 0 || geom.stride == 0 || geom.dilation == 0 {
                        return Err(bad("kernel, stride and dilation must all be at least 1"));
                    }
                    convs.push(index);
                }
                Op::Pool(p) => {
                    if p.kernel == 0 || p.stride == 0 {
                        return Err(bad("pool size and stride must be at least 1"));
                    }
                }
                Op::Transparent => {}
            }
            let (span, stride) = op.span_stride();
            rf = ReceptiveField {
                len: (span - 1)
                    .checked_mul(rf.jump)
                    .and_then(|v| v.checked_add(rf.len))
                    .ok_or_else(|| bad("receptive field overflows"))?,
                jump: rf
                    .jump
                    .checked_mul(stride)
                    .ok_or_else(|| bad("jump overflows"))?,
            };
            fields.push(rf);
        }
        Ok(Geometry { ops, fields, convs })
    }

    /// The layers.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Number of conv layers.
    pub fn conv_count(&self) -> usize {
        self.convs.len()
    }

    /// Op index of conv layer `layer` (1-based among conv layers).
    pub fn conv_op_index(&self, layer: usize) -> Result<usize> {
        layer
            .checked_sub(1)
            .and_then(|i| self.convs.get(i).copied())
            .ok_or(FieldError::NoSuchLayer {
                layer,
                count: self.convs.len(),
            })
    }

    /// Name, channel count and geometry of conv layer `layer` (1-based).
    pub fn conv(&self, layer: usize) -> Result<(&str, usize, ConvGeom)> {
        match &self.ops[self.conv_op_index(layer)?] {
            Op::Conv {
                name,
                out_channels,
                geom,
            } => Ok((name, *out_channels, *geom)),
            _ => Err(FieldError::NoSuchLayer {
                layer,
                count: self.convs.len(),
            }),
        }
    }

    /// Receptive field of the output of op `op_index`; `None` past the end.
    pub fn op_field(&self, op_index: usize) -> Option<ReceptiveField> {
        self.fields.get(op_index).copied()
    }

    /// Receptive field of conv layer `layer` (1-based): NeuronMotif's RF(L) and the jump of its
    /// output.
    pub fn receptive_field(&self, layer: usize) -> Result<ReceptiveField> {
        Ok(self.fields[self.conv_op_index(layer)?])
    }

    /// Spatial length of the output of op `op_index` for an input of `input_len` positions;
    /// `None` when the input is too short to give any output.
    pub fn output_len(&self, op_index: usize, input_len: usize) -> Option<usize> {
        let mut n = input_len;
        for op in self.ops.get(..=op_index)? {
            let (span, stride) = op.span_stride();
            n = n.checked_sub(span)? / stride + 1;
        }
        Some(n)
    }

    /// Jump (input bp per step) at the input of op `op_index`.
    pub fn jump_before(&self, op_index: usize) -> usize {
        op_index
            .checked_sub(1)
            .and_then(|i| self.fields.get(i))
            .map_or(1, |f| f.jump)
    }

    /// The pools between conv layer `layer − 1` and conv layer `layer`, in chain order, with
    /// their op indices. Empty for layer 1 and when no pool sits between.
    pub fn pools_feeding(&self, layer: usize) -> Result<Vec<(usize, PoolGeom)>> {
        let hi = self.conv_op_index(layer)?;
        let lo = if layer >= 2 {
            self.conv_op_index(layer - 1)?
        } else {
            return Ok(Vec::new());
        };
        Ok(self.ops[lo + 1..hi]
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match op {
                Op::Pool(p) => Some((lo + 1 + i, *p)),
                _ => None,
            })
            .collect())
    }

    /// NeuronMotif's `p_{L−1}`: how many layer-(L−1) units one tap of conv `layer` chooses
    /// among (the product of the feeding pools' sizes; 1 without a pool).
    pub fn pool_size_below(&self, layer: usize) -> Result<usize> {
        Ok(self
            .pools_feeding(layer)?
            .iter()
            .map(|(_, p)| p.kernel)
            .product())
    }

    /// NeuronMotif's `J_pre`: the jump of conv layer `layer − 1`'s output (before its pool).
    pub fn jump_pre(&self, layer: usize) -> Result<usize> {
        if layer < 2 {
            self.conv_op_index(layer)?;
            return Ok(1);
        }
        Ok(self.receptive_field(layer - 1)?.jump)
    }

    /// NeuronMotif's `J_post`: the jump at the input of conv layer `layer` (after the pools).
    pub fn jump_post(&self, layer: usize) -> Result<usize> {
        Ok(self.jump_before(self.conv_op_index(layer)?))
    }

    /// Input start of the conv-(L−1) unit that feeds tap `tap` of output position `out_pos` of
    /// conv layer `layer` = L, when the feeding pools' windows are won at in-pool offsets
    /// `r` (one per feeding pool, chain order).
    ///
    /// With one pool of size p this is NeuronMotif's `start(t, r) = t·J_post + r·J_pre` (for
    /// `out_pos` 0, no dilation); the unit spans RF(L−1) bases from there.
    pub fn unit_start(
        &self,
        layer: usize,
        out_pos: usize,
        tap: usize,
        r: &[usize],
    ) -> Result<usize> {
        let (_, _, geom) = self.conv(layer)?;
        if layer < 2 {
            return Err(FieldError::NoSuchLayer {
                layer: layer.saturating_sub(1),
                count: self.convs.len(),
            });
        }
        if tap >= geom.kernel {
            return Err(FieldError::OutOfRange {
                what: "tap",
                value: tap as u64,
                limit: geom.kernel as u64,
            });
        }
        let pools = self.pools_feeding(layer)?;
        if r.len() != pools.len() {
            return Err(FieldError::OutOfRange {
                what: "number of in-pool offsets",
                value: r.len() as u64,
                limit: pools.len() as u64 + 1,
            });
        }
        // Position in the input of conv L, then back through the pools (last pool first).
        let mut u = out_pos * geom.stride + tap * geom.dilation;
        for ((_, pool), &ri) in pools.iter().zip(r).rev() {
            if ri >= pool.kernel {
                return Err(FieldError::OutOfRange {
                    what: "in-pool offset",
                    value: ri as u64,
                    limit: pool.kernel as u64,
                });
            }
            u = u * pool.stride + ri;
        }
        Ok(u * self.receptive_field(layer - 1)?.jump)
    }

    /// The shift-latent state space of a conv-`layer` neuron decoupled `motif_nb` times.
    pub fn shift_space(&self, layer: usize, motif_nb: u32) -> Result<ShiftSpace> {
        ShiftSpace::new(self, layer, motif_nb)
    }
}

//! The model truncated at one conv layer, compiled for fast batched inference.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};
use neuronmotif_core::{Alphabet, Base};
use rayon::prelude::*;

use crate::exec::{Bufs, Plan};
use crate::gather::OneHotTable;
use crate::kernel::bf16::PackedBf16;
use crate::kernel::PackedB;
use crate::model::{ConvLayer, Layer, Model};
use crate::winograd::{ConvAlgorithm, Winograd};
use crate::CnnError;

/// A batch of sequences entering a [`Substructure`], canonical ACGT.
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// Canonical base codes `[n, len]` (A=0, C=1, G=2, T=3): the compact form the samplers use.
    /// The first convolution becomes a gather of weight rows.
    Codes(ArrayView2<'a, u8>),
    /// One-hot (or any real-valued) `[n, len, 4]`, channels A, C, G, T.
    OneHot(ArrayView3<'a, f32>),
}

impl<'a> From<ArrayView2<'a, u8>> for Batch<'a> {
    fn from(v: ArrayView2<'a, u8>) -> Self {
        Batch::Codes(v)
    }
}

impl<'a> From<ArrayView3<'a, f32>> for Batch<'a> {
    fn from(v: ArrayView3<'a, f32>) -> Self {
        Batch::OneHot(v)
    }
}

impl Batch<'_> {
    /// Number of sequences.
    pub fn len(&self) -> usize {
        match self {
            Batch::Codes(c) => c.nrows(),
            Batch::OneHot(o) => o.len_of(Axis(0)),
        }
    }

    /// Whether the batch has no sequences.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence length.
    pub fn seq_len(&self) -> usize {
        match self {
            Batch::Codes(c) => c.ncols(),
            Batch::OneHot(o) => o.len_of(Axis(1)),
        }
    }
}

/// A fresh identity for a substructure's buffer layout.
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One compiled convolution: batchnorm folded in, weights packed for the GEMM kernel.
#[derive(Debug, Clone)]
pub(crate) struct ConvStage {
    pub k: usize,
    pub d: usize,
    pub s: usize,
    pub cin: usize,
    pub cout: usize,
    /// Folded weights `[t][cin][cout]`; for the first conv the input axis is canonical ACGT.
    pub w: Vec<f32>,
    /// Folded bias.
    pub bias: Vec<f32>,
    /// `[(t, c), cout]` for the forward product.
    pub packed: PackedB,
    /// `[cout, (t, c)]` for the dense backward product (conv layers 1..L−1).
    pub packed_t: Option<PackedB>,
    /// `[cout][(t, c)]`: the rows the sparse backward adds (conv layers 1..L−1).
    pub w_t: Vec<f32>,
    /// The first conv on base codes as table lookups (first conv only).
    pub onehot: Option<Box<OneHotTable>>,
    /// Winograd-transformed taps, when [`ConvAlgorithm::Winograd`] chose this layer.
    pub wino: Option<Box<Winograd>>,
    /// bf16 weights, when [`ConvAlgorithm::Bf16`] applies to this layer.
    pub bf16: Option<Box<Bf16Conv>>,
}

/// A convolution's weights for the bf16 kernel: input channels padded to an even count
/// `cin2`, rows `(t, c)` of `[k · cin2, cout]`; and, where the layer has a dense backward
/// product, the transposed weights `[cout2, (t, c)]` (output channels padded to an even
/// count `cout2`) for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bf16Conv {
    pub cin2: usize,
    pub packed: PackedBf16,
    /// The dense backward product's weights (conv layers 1..L−1).
    pub packed_t: Option<PackedBf16>,
    /// `k · cin` zeros: the backward product has no bias.
    pub zero_bias: Vec<f32>,
}

impl Bf16Conv {
    fn new(c: &ConvStage) -> Bf16Conv {
        let cin2 = c.cin + c.cin % 2;
        let packed = PackedBf16::from_fn(c.k * cin2, c.cout, |row, o| {
            let (t, ci) = (row / cin2, row % cin2);
            if ci < c.cin {
                c.w[(t * c.cin + ci) * c.cout + o]
            } else {
                0.0
            }
        });
        let kw = c.k * c.cin;
        let cout2 = c.cout + c.cout % 2;
        let packed_t = c.packed_t.is_some().then(|| {
            PackedBf16::from_fn(cout2, kw, |o, col| {
                if o < c.cout {
                    c.w[col * c.cout + o]
                } else {
                    0.0
                }
            })
        });
        Bf16Conv {
            cin2,
            packed,
            packed_t,
            zero_bias: vec![0.0; kw],
        }
    }
}

/// One step of a compiled substructure.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Conv(ConvStage),
    /// A batchnorm that could not be folded into a preceding convolution.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Relu {
        threshold: f32,
    },
    Pool {
        kernel: usize,
        stride: usize,
    },
}

/// The model up to conv layer L, compiled for batched inference.
///
/// * Batchnorm directly after a convolution (dropouts in between are fine) is folded into it:
///   `W' = W·γ/√(σ² + ε)`, `b' = (b − μ)·γ/√(σ² + ε) + β`, computed in f64. A batchnorm elsewhere
///   becomes a per-channel affine step. Dropout is dropped.
/// * The model's input channel order is folded into the first convolution's weights, so inputs
///   and gradients are always canonical ACGT.
/// * A neuron's activation is conv L's output after its folded batchnorm, before its ReLU, as in
///   NeuronMotif. On an input exactly [`Substructure::input_len`] = RF(L) bp long there is one
///   output position; longer inputs give one activation per position.
/// * `same`-padded convolutions are evaluated as `valid` (identical on interior positions, which
///   is all an RF-long input has).
///
/// All batch methods split the batch into fixed chunks processed in parallel (rayon); every
/// sequence's result is computed by the same operations in the same order whatever the chunk
/// or thread, so results do not depend on the thread count.
#[derive(Clone)]
pub struct Substructure {
    layer: usize,
    input_len: usize,
    alphabet: Alphabet,
    pub(crate) stages: Vec<Stage>,
    /// Stage index of conv layer l (index l − 1).
    pub(crate) conv_stages: Vec<usize>,
    pub(crate) chunk: usize,
    algorithm: ConvAlgorithm,
    /// Identifies the buffer layout (shapes and chunk) for the per-thread buffer cache.
    id: u64,
}

/// Shapes, not the packed weights (which run to hundreds of thousands of numbers).
impl std::fmt::Debug for Substructure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Substructure")
            .field("layer", &self.layer)
            .field("input_len", &self.input_len)
            .field("alphabet", &format_args!("{}", self.alphabet))
            .field("stages", &self.stages.len())
            .field("chunk", &self.chunk)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Substructure {
    pub(crate) fn new(model: &Model, layer: usize) -> Result<Substructure, CnnError> {
        let last = model.conv_layer_index(layer)?;
        let input_len = model.geometry().receptive_field(layer)?.len;
        let layers = model.layers();
        let mut stages = Vec::new();
        let mut conv_stages = Vec::new();
        let mut i = 0;
        let mut conv_no = 0;
        while i <= last {
            match &layers[i] {
                Layer::Conv(c) => {
                    conv_no += 1;
                    // Fold a batchnorm that follows directly (dropouts may sit in between).
                    let mut j = i + 1;
                    while j < layers.len() && matches!(layers[j], Layer::Dropout) {
                        j += 1;
                    }
                    let bn = match layers.get(j) {
                        Some(Layer::BatchNorm(b)) => Some(b.scale_shift()),
                        _ => None,
                    };
                    let first = conv_no == 1;
                    let is_last = i == last;
                    conv_stages.push(stages.len());
                    stages.push(Stage::Conv(compile_conv(
                        c,
                        bn.as_ref(),
                        first,
                        is_last,
                        model.alphabet(),
                    )));
                    i = if bn.is_some() { j + 1 } else { i + 1 };
                    if is_last {
                        break;
                    }
                }
                Layer::BatchNorm(b) => {
                    let (scale, shift) = b.scale_shift();
                    stages.push(Stage::Affine {
                        scale: scale.iter().map(|&v| v as f32).collect(),
                        shift: shift.iter().map(|&v| v as f32).collect(),
                    });
                    i += 1;
                }
                Layer::Relu { threshold } => {
                    if conv_stages.is_empty() {
                        return Err(CnnError::layer(
                            i,
                            "relu",
                            None,
                            "an activation before the first convolution is not supported",
                        ));
                    }
                    stages.push(Stage::Relu {
                        threshold: *threshold,
                    });
                    i += 1;
                }
                Layer::MaxPool { kernel, stride } => {
                    if conv_stages.is_empty() {
                        return Err(CnnError::layer(
                            i,
                            "maxpool1d",
                            None,
                            "a pool before the first convolution is not supported",
                        ));
                    }
                    stages.push(Stage::Pool {
                        kernel: *kernel,
                        stride: *stride,
                    });
                    i += 1;
                }
                Layer::Dropout => i += 1,
                Layer::Flatten | Layer::Linear(_) | Layer::Sigmoid => {
                    // Model::new guarantees no conv follows these.
                    i += 1;
                }
            }
        }
        let mut sub = Substructure {
            layer,
            input_len,
            alphabet: model.alphabet(),
            stages,
            conv_stages,
            chunk: 1,
            algorithm: ConvAlgorithm::Direct,
            id: next_id(),
        };
        sub.chunk = sub.default_chunk();
        Ok(sub)
    }

    /// Sequences per chunk: enough to amortise per-chunk work, few enough that a chunk's
    /// activations stay near the L2 cache.
    fn default_chunk(&self) -> usize {
        // Deep layers have few output positions per sequence; a chunk must give their GEMMs
        // enough rows (~128) to reuse each packed weight panel, while all of a chunk's
        // activations stay within a few MB.
        let Ok(plan) = Plan::new(self, self.input_len) else {
            return 1;
        };
        let min_rows = self
            .stages
            .iter()
            .enumerate()
            .filter(|(i, s)| matches!(s, Stage::Conv(_)) && *i + 1 < self.stages.len())
            .map(|(i, _)| plan.lens[i])
            .min()
            .unwrap_or(1)
            .max(1);
        let by_rows = 128usize.div_ceil(min_rows);
        let by_memory = (24 << 20) / 4 / plan.floats_per_seq().max(1);
        by_rows.min(by_memory).clamp(1, 64)
    }

    /// The conv layer (1-based) this substructure ends at.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// RF(L): the input length that gives exactly one output position.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// The model's input channel order (already folded into the weights).
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// Number of channels (neurons) of conv layer L.
    pub fn channels(&self) -> usize {
        self.conv(self.layer).map_or(0, |c| c.cout)
    }

    /// The weights neuron (L, `channel`) applies to its input, `[tap, input channel]`, with its
    /// batchnorm folded in (so their signs are the signs of their effect on the activation).
    pub fn neuron_weights(&self, channel: usize) -> Result<Array2<f32>, CnnError> {
        self.check_channel(channel)?;
        let c = self.conv(self.layer).ok_or(CnnError::OutOfRange {
            what: "conv layer",
            value: self.layer,
            limit: "this substructure".into(),
        })?;
        Ok(Array2::from_shape_fn((c.k, c.cin), |(t, ci)| {
            c.w[(t * c.cin + ci) * c.cout + channel]
        }))
    }

    /// Number of channels of conv layer `l` (1-based, `l <= L`).
    pub fn channels_of(&self, l: usize) -> Option<usize> {
        self.conv(l).map(|c| c.cout)
    }

    pub(crate) fn conv(&self, l: usize) -> Option<&ConvStage> {
        match self.stages.get(*self.conv_stages.get(l.checked_sub(1)?)?)? {
            Stage::Conv(c) => Some(c),
            _ => None,
        }
    }

    /// Output length of conv layer `l <= L` for an input of `input_len` bp.
    pub fn output_len(&self, l: usize, input_len: usize) -> Option<usize> {
        let p = Plan::new(self, input_len).ok()?;
        p.lens
            .get(*self.conv_stages.get(l.checked_sub(1)?)?)
            .copied()
    }

    /// Choose how the forward pass evaluates convolutions (default [`ConvAlgorithm::Direct`]).
    /// With [`ConvAlgorithm::Winograd`] each undilated, unstrided conv whose output on an
    /// RF-long input is long enough to gain is tiled; the others, the first conv on base codes
    /// and a single-neuron last conv stay direct; gradients use the direct weights. With
    /// [`ConvAlgorithm::Bf16`] the gradient's dense products use the bf16 weights of the
    /// layers whose forward is bf16.
    ///
    /// [`ConvAlgorithm::Bf16`] on a CPU without AVX-512 BF16 leaves the substructure direct
    /// ([`Substructure::conv_algorithm`] then says `Direct`); check
    /// [`ConvAlgorithm::is_supported`] first to report it.
    pub fn with_conv_algorithm(mut self, algorithm: ConvAlgorithm) -> Self {
        let algorithm = if algorithm.is_supported() {
            algorithm
        } else {
            ConvAlgorithm::Direct
        };
        self.algorithm = algorithm;
        let lens = Plan::new(&self, self.input_len).map(|p| p.lens).ok();
        let first = self.conv_stages.first().copied();
        for (i, st) in self.stages.iter_mut().enumerate() {
            if let Stage::Conv(c) = st {
                c.wino = match (algorithm, &lens) {
                    (ConvAlgorithm::Winograd, Some(lens)) => {
                        Winograd::new(c, lens[i]).map(Box::new)
                    }
                    _ => None,
                };
                c.bf16 = (algorithm == ConvAlgorithm::Bf16 && c.d == 1 && Some(i) != first)
                    .then(|| Box::new(Bf16Conv::new(c)));
            }
        }
        self
    }

    /// How the forward pass evaluates convolutions.
    pub fn conv_algorithm(&self) -> ConvAlgorithm {
        self.algorithm
    }

    /// Per conv layer (1-based order), the Winograd tile F(m, 3) in use, `None` where direct.
    pub fn winograd_tiles(&self) -> Vec<Option<usize>> {
        self.conv_stages
            .iter()
            .map(|&i| match &self.stages[i] {
                Stage::Conv(c) => c.wino.as_ref().map(|w| w.tile()),
                _ => None,
            })
            .collect()
    }

    /// The same substructure with the bf16 backward product switched off (the forward stays
    /// bf16): the reference the bf16 backward is tested against.
    #[cfg(test)]
    pub(crate) fn without_bf16_backward(mut self) -> Self {
        for st in &mut self.stages {
            if let Stage::Conv(ConvStage { bf16: Some(b), .. }) = st {
                b.packed_t = None;
            }
        }
        self.id = next_id();
        self
    }

    /// Set the chunk size (sequences per parallel task); results do not depend on it.
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self.id = next_id();
        self
    }

    fn check_batch(&self, batch: &Batch<'_>) -> Result<Plan, CnnError> {
        if let Batch::OneHot(o) = batch {
            if o.len_of(Axis(2)) != 4 {
                return Err(CnnError::InputShape {
                    expected: "[n, len, 4] (one-hot, channels A, C, G, T)".into(),
                    found: o.shape().to_vec(),
                });
            }
        }
        if let Batch::Codes(c) = batch {
            if let Some(bad) = c.iter().find(|&&v| v > 3) {
                return Err(CnnError::InputShape {
                    expected: format!("base codes 0..=3 (found {bad})"),
                    found: c.shape().to_vec(),
                });
            }
        }
        Plan::new(self, batch.seq_len()).map_err(|_| CnnError::InputShape {
            expected: format!(
                "sequences of at least {} bp (the receptive field of conv layer {})",
                self.input_len, self.layer
            ),
            found: match batch {
                Batch::Codes(c) => c.shape().to_vec(),
                Batch::OneHot(o) => o.shape().to_vec(),
            },
        })
    }

    fn check_channel(&self, channel: usize) -> Result<(), CnnError> {
        if channel >= self.channels() {
            return Err(CnnError::OutOfRange {
                what: "channel",
                value: channel,
                limit: format!(
                    "channels 0..{} in conv layer {}",
                    self.channels(),
                    self.layer
                ),
            });
        }
        Ok(())
    }

    /// Activation of neuron (L, `channel`) at every output position: `[n, out_len]`
    /// (`out_len` = 1 for RF-long inputs).
    pub fn activations<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        channel: usize,
    ) -> Result<Array2<f32>, CnnError> {
        let batch = batch.into();
        self.check_channel(channel)?;
        let plan = self.check_batch(&batch)?;
        let out_len = plan.out_len();
        let mut out = Array2::zeros((batch.len(), out_len));
        self.par_chunks(
            &batch,
            &plan,
            out.as_slice_mut(),
            out_len,
            |bufs, chunk, dst| {
                bufs.forward(self, &plan, chunk, self.stages.len(), Some(channel));
                for (i, v) in dst.iter_mut().enumerate() {
                    *v = bufs.neuron(&plan, channel, i / out_len, i % out_len);
                }
            },
        );
        Ok(out)
    }

    /// All channels of conv layer L: `[n, out_len, C_L]`.
    pub fn forward<'a>(&self, batch: impl Into<Batch<'a>>) -> Result<Array3<f32>, CnnError> {
        let batch = batch.into();
        let plan = self.check_batch(&batch)?;
        let per = plan.out_len() * self.channels();
        let mut out = Array3::zeros((batch.len(), plan.out_len(), self.channels()));
        self.par_chunks(
            &batch,
            &plan,
            out.as_slice_mut(),
            per,
            |bufs, chunk, dst| {
                bufs.forward(self, &plan, chunk, self.stages.len(), None);
                dst.copy_from_slice(bufs.last_output(&plan, chunk.len()));
            },
        );
        Ok(out)
    }

    /// Feature map of conv layer `l <= L` (after its folded batchnorm, before activation):
    /// `[n, len_l, C_l]`. Only the layers up to `l` are evaluated.
    pub fn feature_map<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        l: usize,
    ) -> Result<Array3<f32>, CnnError> {
        let batch = batch.into();
        let plan = self.check_batch(&batch)?;
        let stage = *l
            .checked_sub(1)
            .and_then(|i| self.conv_stages.get(i))
            .ok_or(CnnError::OutOfRange {
                what: "conv layer",
                value: l,
                limit: format!("conv layers 1..={} in this substructure", self.layer),
            })?;
        let (len, ch) = (plan.lens[stage], plan.chans[stage]);
        let mut out = Array3::zeros((batch.len(), len, ch));
        self.par_chunks(
            &batch,
            &plan,
            out.as_slice_mut(),
            len * ch,
            |bufs, chunk, dst| {
                bufs.forward(self, &plan, chunk, stage + 1, None);
                dst.copy_from_slice(&bufs.acts[stage][..chunk.len() * len * ch]);
            },
        );
        Ok(out)
    }

    /// Feature maps of every conv layer 1..=L (see [`Substructure::feature_map`]).
    pub fn feature_maps<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
    ) -> Result<Vec<Array3<f32>>, CnnError> {
        let all: Vec<usize> = (1..=self.layer).collect();
        self.feature_maps_of(batch, &all)
    }

    /// Feature maps of the conv layers `layers` (each in 1..=L, any order), from one forward
    /// pass: demixing needs the maps of every layer below a neuron, and evaluating them one
    /// layer at a time would repeat the lower layers for each.
    pub fn feature_maps_of<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        layers: &[usize],
    ) -> Result<Vec<Array3<f32>>, CnnError> {
        let batch = batch.into();
        let plan = self.check_batch(&batch)?;
        let stages = layers
            .iter()
            .map(|&l| {
                l.checked_sub(1)
                    .and_then(|i| self.conv_stages.get(i))
                    .copied()
                    .ok_or(CnnError::OutOfRange {
                        what: "conv layer",
                        value: l,
                        limit: format!("conv layers 1..={} in this substructure", self.layer),
                    })
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let Some(&deepest) = stages.iter().max() else {
            return Ok(Vec::new());
        };
        let widths: Vec<usize> = stages
            .iter()
            .map(|&st| plan.lens[st] * plan.chans[st])
            .collect();
        let per: usize = widths.iter().sum();
        // every requested map of a sequence side by side, split into arrays afterwards
        let mut joined = Array2::<f32>::zeros((batch.len(), per));
        self.par_chunks(
            &batch,
            &plan,
            joined.as_slice_mut(),
            per,
            |bufs, chunk, dst| {
                let n = chunk.len();
                bufs.forward(self, &plan, chunk, deepest + 1, None);
                for (b, row) in dst.chunks_exact_mut(per).enumerate().take(n) {
                    let mut at = 0;
                    for (&st, &w) in stages.iter().zip(&widths) {
                        row[at..at + w].copy_from_slice(&bufs.acts[st][b * w..(b + 1) * w]);
                        at += w;
                    }
                }
            },
        );
        let mut at = 0;
        let mut maps = Vec::with_capacity(stages.len());
        for (&st, &w) in stages.iter().zip(&widths) {
            let part = joined.slice(ndarray::s![.., at..at + w]).to_owned();
            at += w;
            maps.push(
                part.into_shape_with_order((batch.len(), plan.lens[st], plan.chans[st]))
                    .map_err(|_| CnnError::OutOfRange {
                        what: "feature map width",
                        value: w,
                        limit: "len × channels".into(),
                    })?,
            );
        }
        Ok(maps)
    }

    /// Activation of neuron (L, `channel`) at output position 0 and its exact gradient with
    /// respect to the canonical one-hot input, `[n, len, 4]`, in one pass sharing the forward.
    pub fn activation_and_gradient<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        channel: usize,
    ) -> Result<(Array1<f32>, Array3<f32>), CnnError> {
        self.gradient_at(batch, channel, 0)
    }

    /// As [`Substructure::activation_and_gradient`], for output position `position`.
    ///
    /// The backward pass routes through ReLU (gradient where input > threshold), max-pool (to
    /// the first maximum of each window) and the folded convolutions; rows of a layer that
    /// receive no gradient (non-winning pool positions) are skipped.
    pub fn gradient_at<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        channel: usize,
        position: usize,
    ) -> Result<(Array1<f32>, Array3<f32>), CnnError> {
        let batch = batch.into();
        let (n, len) = (batch.len(), batch.seq_len());
        let mut act = Array1::zeros(n);
        let mut grad = Array3::zeros((n, len, 4));
        let (Some(a), Some(g)) = (act.as_slice_mut(), grad.as_slice_mut()) else {
            return Ok((act, grad));
        };
        self.gradient_into(batch, channel, position, a, g)?;
        Ok((act, grad))
    }

    /// Allocation-free form of [`Substructure::gradient_at`]: writes `n` activations and the
    /// `[n, len, 4]` gradient (row-major) into caller buffers.
    pub fn gradient_into<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        channel: usize,
        position: usize,
        act: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), CnnError> {
        let batch = batch.into();
        self.check_channel(channel)?;
        let plan = self.check_batch(&batch)?;
        if position >= plan.out_len() {
            return Err(CnnError::OutOfRange {
                what: "output position",
                value: position,
                limit: format!(
                    "positions 0..{} for {} bp inputs",
                    plan.out_len(),
                    batch.seq_len()
                ),
            });
        }
        let (n, len) = (batch.len(), batch.seq_len());
        if act.len() != n || grad.len() != n * len * 4 {
            return Err(CnnError::InputShape {
                expected: format!("output buffers of {n} and {} floats", n * len * 4),
                found: vec![act.len(), grad.len()],
            });
        }
        let chunk = self.chunk;
        act.par_chunks_mut(chunk)
            .zip(grad.par_chunks_mut(chunk * len * 4))
            .enumerate()
            .for_each(|(ci, (a, g))| {
                self.with_bufs(&plan, |bufs| {
                    let range = ci * chunk..ci * chunk + a.len();
                    bufs.load(&batch, range.clone());
                    bufs.forward(self, &plan, range.len(), self.stages.len(), Some(channel));
                    for (b, v) in a.iter_mut().enumerate() {
                        *v = bufs.neuron(&plan, channel, b, position);
                    }
                    bufs.backward(self, &plan, range.len(), channel, position, g);
                })
            });
        Ok(())
    }

    /// For each sequence, where the strongest route from neuron (L, `channel`) (output 0) down
    /// the network reaches the input: at each convolution follow the input unit with the largest
    /// contribution (weight × activation), at each max-pool the winning position; the result is
    /// the input position (bp) where that route's first-layer unit starts.
    ///
    /// This is the exact counterpart of NeuronMotif's shift state: two sequences whose routes
    /// start at different positions are the same lower motif seen through different pool
    /// winners.
    pub fn strongest_route<'a>(
        &self,
        batch: impl Into<Batch<'a>>,
        channel: usize,
    ) -> Result<Vec<u32>, CnnError> {
        let batch = batch.into();
        self.check_channel(channel)?;
        let plan = self.check_batch(&batch)?;
        let mut out = vec![0u32; batch.len()];
        let chunk = self.chunk;
        out.par_chunks_mut(chunk).enumerate().for_each(|(ci, dst)| {
            self.with_bufs(&plan, |bufs| {
                let n = dst.len();
                bufs.load(&batch, ci * chunk..ci * chunk + n);
                bufs.forward(self, &plan, n, self.stages.len(), None);
                bufs.route(self, &plan, n, channel, 0, dst);
            })
        });
        Ok(out)
    }

    /// Run `f(bufs, chunk_len, dst)` over the batch in parallel chunks, `per` output floats per
    /// sequence.
    fn par_chunks(
        &self,
        batch: &Batch<'_>,
        plan: &Plan,
        out: Option<&mut [f32]>,
        per: usize,
        f: impl Fn(&mut Bufs, ChunkLen, &mut [f32]) + Sync + Send,
    ) {
        let Some(out) = out else { return };
        if per == 0 {
            return;
        }
        let chunk = self.chunk;
        out.par_chunks_mut(chunk * per)
            .enumerate()
            .for_each(|(ci, dst)| {
                self.with_bufs(plan, |bufs| {
                    let n = dst.len() / per;
                    bufs.load(batch, ci * chunk..ci * chunk + n);
                    f(bufs, ChunkLen(n), dst);
                })
            });
    }

    /// Run `f` with this thread's work buffers for this substructure and input length, kept
    /// between calls: a fresh set per call cost page faults on every first touch (5 % of a
    /// BD-10 forward in a profile). Buffers are overwritten before they are read, so reuse does
    /// not change results.
    fn with_bufs<R>(&self, plan: &Plan, f: impl FnOnce(&mut Bufs) -> R) -> R {
        thread_local! {
            static CACHE: std::cell::RefCell<Option<(u64, usize, Bufs)>> =
                const { std::cell::RefCell::new(None) };
        }
        let key = (self.id, plan.input_len);
        let cached = CACHE.with(|c| c.borrow_mut().take());
        let mut bufs = match cached {
            Some((id, len, b)) if (id, len) == key => b,
            _ => Bufs::new(self, plan),
        };
        let r = f(&mut bufs);
        CACHE.with(|c| *c.borrow_mut() = Some((key.0, key.1, bufs)));
        r
    }
}

/// Number of sequences in a chunk (a newtype so closures read clearly).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkLen(pub usize);

impl ChunkLen {
    pub(crate) fn len(self) -> usize {
        self.0
    }
}

impl From<ChunkLen> for usize {
    fn from(c: ChunkLen) -> usize {
        c.0
    }
}

fn compile_conv(
    c: &ConvLayer,
    bn: Option<&(Vec<f64>, Vec<f64>)>,
    first: bool,
    last: bool,
    alphabet: Alphabet,
) -> ConvStage {
    let (k, cin, cout) = (c.kernel(), c.in_channels(), c.out_channels());
    let mut w = vec![0.0f32; k * cin * cout];
    let mut bias = vec![0.0f32; cout];
    for o in 0..cout {
        let (scale, shift) = bn.map_or((1.0, 0.0), |(s, h)| (s[o], h[o]));
        bias[o] = (f64::from(c.bias[o]) * scale + shift) as f32;
        for ci in 0..cin {
            // For the first conv, row `ci` of w is canonical base `ci`, read by model channel
            // `channel_of(base)`.
            let src = if first {
                Base::from_index(ci).map_or(ci, |b| alphabet.channel_of(b))
            } else {
                ci
            };
            for t in 0..k {
                w[(t * cin + ci) * cout + o] = (f64::from(c.weight[[o, src, t]]) * scale) as f32;
            }
        }
    }
    let packed = PackedB::from_fn(k * cin, cout, |row, col| w[row * cout + col]);
    let packed_t = (!last).then(|| PackedB::from_fn(cout, k * cin, |row, col| w[col * cout + row]));
    let w_t = if last {
        Vec::new()
    } else {
        (0..cout * k * cin)
            .map(|i| w[(i % (k * cin)) * cout + i / (k * cin)])
            .collect()
    };
    let onehot =
        (first && cin == 4).then(|| Box::new(OneHotTable::new(&w, &bias, k, c.dilation, c.stride)));
    ConvStage {
        k,
        d: c.dilation,
        s: c.stride,
        cin,
        cout,
        w,
        bias,
        packed,
        packed_t,
        w_t,
        onehot,
        wino: None,
        bf16: None,
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::random_model;
    use rand::{Rng, SeedableRng};

    /// The bf16 backward product against the f32 backward on the same bf16 forward (so the
    /// ReLU masks and pool routes are the same): it must differ (it ran) by no more than bf16
    /// rounding of the output gradient and the weights, carried through the layers. Odd
    /// channel counts exercise the padding to bf16 pairs.
    #[test]
    fn bf16_backward_is_close_to_f32_backward() {
        if !ConvAlgorithm::Bf16.is_supported() {
            eprintln!("note: this CPU has no AVX-512 BF16; the bf16 backward is not exercised");
            return;
        }
        let mut worst = 0.0f64;
        for seed in 0..4 {
            let blocks = [(5, 24, 1), (3, 33, 2), (3, 41, 1), (3, 18, 1), (3, 7, 1)];
            let sub = random_model(&blocks, seed)
                .substructure(blocks.len())
                .unwrap()
                .with_chunk(7)
                .with_conv_algorithm(ConvAlgorithm::Bf16);
            let reference = sub.clone().without_bf16_backward();
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
            let codes = Array2::from_shape_fn((40, sub.input_len()), |_| rng.gen_range(0u8..4));
            for channel in [0, 6] {
                let (a, g) = sub.activation_and_gradient(codes.view(), channel).unwrap();
                let (ra, rg) = reference
                    .activation_and_gradient(codes.view(), channel)
                    .unwrap();
                assert_eq!(a, ra, "the forward is shared");
                assert_ne!(g, rg, "the bf16 backward did not run");
                let scale = rg.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
                let err = g
                    .iter()
                    .zip(&rg)
                    .fold(0.0f64, |m, (&x, &y)| m.max(f64::from(x - y).abs()));
                assert!(scale > 0.0);
                worst = worst.max(err / scale);
            }
        }
        eprintln!("bf16 backward: largest error / largest gradient = {worst:.2e}");
        assert!(worst < 0.02, "{worst}");
    }
}

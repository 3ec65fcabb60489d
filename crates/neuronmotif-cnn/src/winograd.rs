//! Winograd minimal filtering for the forward convolution (opt-in, [`ConvAlgorithm`]).
//!
//! Why: on a CPU without reduced-precision arithmetic, the direct convolution already runs at
//! 60–70 % of the fused-multiply-add ceiling, so a faster forward pass must do fewer
//! multiplications. Winograd's F(m, 3) computes `m` outputs of a 3-tap correlation from
//! `m + 2` products per channel pair instead of `3m`: the input tile and the taps are
//! transformed (cheap additions, O(channels)), the `m + 2` transformed points are independent
//! GEMMs over the channels (the expensive part, now `(m + 2) / 3m` of the direct work), and an
//! inverse transform gives the outputs. Longer kernels are split into chunks of three taps (the
//! last chunk zero-padded); each chunk reads the input shifted by three positions, which the
//! GEMM's multi-run rows express without copying.
//!
//! The arithmetic is f32 like the direct path but rounds differently: errors are a few times
//! the direct path's (about 1e-6 of the output scale for F(4, 3), measured in the tests), so
//! sampling outcomes can differ in the last bits. That is why it is never on by default.
//! Results are still independent of chunking and thread count: every tile's sums are taken in
//! a fixed order.

use crate::kernel::{gemm, Lhs, PackedB};
use crate::substructure::ConvStage;

/// How a [`crate::Substructure`] evaluates its convolutions in the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvAlgorithm {
    /// Direct convolution: every output is one dot product, summed in a fixed order. The
    /// default; bit-for-bit reproducible across versions of this crate on one CPU family.
    #[default]
    Direct,
    /// Winograd F(2, 3) / F(4, 3) on undilated, unstrided convolutions with at least 16 input
    /// channels where it saves work (chosen per layer from its output length); the rest stay
    /// direct. Fewer multiplications,
    /// slightly different rounding (see the module docs). Input gradients are unchanged: the
    /// backward pass is always direct.
    Winograd,
    /// Direct convolution with the operands rounded to bf16 (8 significant bits) and f32 sums,
    /// on CPUs with AVX-512 BF16 (`vdpbf16ps`, twice the multiply-adds of f32 per instruction).
    /// Applies to undilated convs after the first; the first conv and a single-neuron last conv
    /// stay f32. The input gradient's dense backward products through those same layers are
    /// bf16 too (the output gradient rounded to bf16, f32 sums); its sparse weight-row adds,
    /// ReLU and pool routing stay f32. On a CPU without the instructions it is not
    /// available ([`ConvAlgorithm::is_supported`]) and the substructure stays direct.
    Bf16,
}

impl ConvAlgorithm {
    /// Whether this CPU can run the algorithm (always, except [`ConvAlgorithm::Bf16`]).
    pub fn is_supported(self) -> bool {
        match self {
            ConvAlgorithm::Direct | ConvAlgorithm::Winograd => true,
            ConvAlgorithm::Bf16 => crate::kernel::bf16::supported(),
        }
    }
}

/// A convolution's taps transformed for F(m, 3), packed for the GEMM kernel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Winograd {
    /// Outputs per tile: 2 or 4.
    m: usize,
    /// Three-tap chunks the kernel is split into.
    chunks: usize,
    /// One packed `[chunks · cin, cout]` matrix per transformed point (`m + 2` of them).
    packed: Vec<PackedB>,
}

/// Reused work space of the Winograd forward.
#[derive(Debug, Default)]
pub(crate) struct WinoBufs {
    /// Transformed input tiles `[seq][start][point][cin]`.
    v: Vec<f32>,
    /// Transformed products `[seq][tile][point][cout]`.
    prod: Vec<f32>,
    rows: Vec<usize>,
    zero: Vec<f32>,
}

/// `G` of F(2, 3): the taps at the points 0, 1, −1, ∞.
const G2: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// `G` of F(4, 3): the taps at the points 0, 1, −1, 2, −2, ∞.
const G4: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Fewest input channels a Winograd layer may have.
const MIN_CIN: usize = 16;

/// Multiplications per output channel pair for `lout` outputs with tiles of `m`.
fn cost(lout: usize, m: usize, chunks: usize) -> usize {
    lout.div_ceil(m) * (m + 2) * chunks
}

impl Winograd {
    /// The transform for `c` when its output is `lout` positions long, or `None` when the
    /// layer is strided or dilated, has fewer than 16 input channels, or when tiling would not save at least a fifth of the
    /// direct multiplications (the transforms cost something too).
    pub(crate) fn new(c: &ConvStage, lout: usize) -> Option<Winograd> {
        // Narrow inputs (a first conv on one-hot input) leave the GEMMs too short for the
        // transforms to pay: measured slower per layer (BD-10 conv 1: 56 against 32 ms per
        // 5,000 sequences; Basset conv 1: 346 against 278).
        if c.s != 1 || c.d != 1 || c.k < 2 || lout == 0 || c.cin < MIN_CIN {
            return None;
        }
        let chunks = c.k.div_ceil(3);
        let direct = lout * c.k;
        let (c2, c4) = (cost(lout, 2, chunks), cost(lout, 4, chunks));
        let m = if c4 < c2 { 4 } else { 2 };
        if cost(lout, m, chunks) * 5 > direct * 4 {
            return None;
        }
        let (cin, cout) = (c.cin, c.cout);
        let packed = (0..m + 2)
            .map(|tau| {
                PackedB::from_fn(chunks * cin, cout, |row, o| {
                    let (chunk, ci) = (row / cin, row % cin);
                    let mut s = 0.0f64;
                    for j in 0..3 {
                        let t = chunk * 3 + j;
                        if t < c.k {
                            let g = if m == 2 { G2[tau][j] } else { G4[tau][j] };
                            s += g * f64::from(c.w[(t * cin + ci) * cout + o]);
                        }
                    }
                    s as f32
                })
            })
            .collect();
        Some(Winograd { m, chunks, packed })
    }

    /// Outputs per tile (2 or 4).
    pub(crate) fn tile(&self) -> usize {
        self.m
    }

    /// `out[b, p, :] = bias + Σ_t x[b, p + t, :] · W[t]` for `p < lout`, like the direct path.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward(
        &self,
        c: &ConvStage,
        input: &[f32],
        n: usize,
        lin: usize,
        lout: usize,
        out: &mut [f32],
        bufs: &mut WinoBufs,
    ) {
        let (m, pts, cin, cout) = (self.m, self.m + 2, c.cin, c.cout);
        let ntiles = lout.div_ceil(m);
        // With one chunk only the tile starts are transformed; with several, chunk j of tile t
        // starts at t·m + 3j, so every position is.
        let step = if self.chunks == 1 { m } else { 1 };
        let nstarts = ((ntiles - 1) * m + 3 * (self.chunks - 1)) / step + 1;
        let per_seq = nstarts * pts * cin;
        bufs.v.resize(n * per_seq, 0.0);
        bufs.zero.resize(cin, 0.0);
        for b in 0..n {
            let seq = &input[b * lin * cin..(b + 1) * lin * cin];
            for si in 0..nstarts {
                let p0 = si * step;
                let d = |p: usize| -> &[f32] {
                    let q = p0 + p;
                    if q < lin {
                        &seq[q * cin..(q + 1) * cin]
                    } else {
                        &bufs.zero[..cin]
                    }
                };
                let v = &mut bufs.v[b * per_seq + si * pts * cin..][..pts * cin];
                if m == 2 {
                    input_f2([d(0), d(1), d(2), d(3)], v, cin);
                } else {
                    input_f4([d(0), d(1), d(2), d(3), d(4), d(5)], v, cin);
                }
            }
        }
        bufs.rows.clear();
        for b in 0..n {
            for t in 0..ntiles {
                bufs.rows.push(b * per_seq + (t * m / step) * pts * cin);
            }
        }
        bufs.prod.resize(n * ntiles * pts * cout, 0.0);
        for tau in 0..pts {
            let lhs = Lhs {
                data: &bufs.v[tau * cin..],
                rows: &bufs.rows,
                seg_len: cin,
                seg_stride: 3 * pts * cin,
                segments: self.chunks,
            };
            gemm(
                &lhs,
                &self.packed[tau],
                None,
                &mut bufs.prod[tau * cout..],
                pts * cout,
            );
        }
        for b in 0..n {
            for t in 0..ntiles {
                let mp = &bufs.prod[(b * ntiles + t) * pts * cout..][..pts * cout];
                let valid = (lout - t * m).min(m);
                let dst = &mut out[(b * lout + t * m) * cout..][..valid * cout];
                if m == 2 {
                    output_f2(mp, &c.bias, dst, cout);
                } else {
                    output_f4(mp, &c.bias, dst, cout);
                }
            }
        }
    }
}

/// `Bᵀ d` of F(2, 3), channel by channel.
fn input_f2(d: [&[f32]; 4], v: &mut [f32], cin: usize) {
    let (d0, d1, d2, d3) = (&d[0][..cin], &d[1][..cin], &d[2][..cin], &d[3][..cin]);
    let (v0, rest) = v.split_at_mut(cin);
    let (v1, rest) = rest.split_at_mut(cin);
    let (v2, v3) = rest.split_at_mut(cin);
    for i in 0..cin {
        v0[i] = d0[i] - d2[i];
        v1[i] = d1[i] + d2[i];
        v2[i] = d2[i] - d1[i];
        v3[i] = d1[i] - d3[i];
    }
}

/// `Bᵀ d` of F(4, 3), channel by channel.
fn input_f4(d: [&[f32]; 6], v: &mut [f32], cin: usize) {
    let (d0, d1, d2) = (&d[0][..cin], &d[1][..cin], &d[2][..cin]);
    let (d3, d4, d5) = (&d[3][..cin], &d[4][..cin], &d[5][..cin]);
    let (v0, rest) = v.split_at_mut(cin);
    let (v1, rest) = rest.split_at_mut(cin);
    let (v2, rest) = rest.split_at_mut(cin);
    let (v3, rest) = rest.split_at_mut(cin);
    let (v4, v5) = rest.split_at_mut(cin);
    let v5 = &mut v5[..cin];
    for i in 0..cin {
        let (a, b) = (d4[i] - 4.0 * d2[i], d3[i] - 4.0 * d1[i]);
        let (c, e) = (d4[i] - d2[i], 2.0 * (d3[i] - d1[i]));
        v0[i] = 4.0 * d0[i] - 5.0 * d2[i] + d4[i];
        v1[i] = a + b;
        v2[i] = a - b;
        v3[i] = c + e;
        v4[i] = c - e;
        v5[i] = 4.0 * d1[i] - 5.0 * d3[i] + d5[i];
    }
}

/// `Aᵀ M + bias` of F(2, 3) into the first `dst.len() / cout` output positions.
fn output_f2(mp: &[f32], bias: &[f32], dst: &mut [f32], cout: usize) {
    let (m0, m1) = (&mp[..cout], &mp[cout..2 * cout]);
    let (m2, m3) = (&mp[2 * cout..3 * cout], &mp[3 * cout..4 * cout]);
    let bias = &bias[..cout];
    let (y0, y1) = dst.split_at_mut(cout);
    for i in 0..cout {
        y0[i] = bias[i] + (m0[i] + m1[i] + m2[i]);
    }
    if !y1.is_empty() {
        let y1 = &mut y1[..cout];
        for i in 0..cout {
            y1[i] = bias[i] + (m1[i] - m2[i] - m3[i]);
        }
    }
}

/// `Aᵀ M + bias` of F(4, 3) into the first `dst.len() / cout` output positions.
fn output_f4(mp: &[f32], bias: &[f32], dst: &mut [f32], cout: usize) {
    let m: [&[f32]; 6] = std::array::from_fn(|t| &mp[t * cout..(t + 1) * cout]);
    let (m0, m1, m2, m3, m4, m5) = (m[0], m[1], m[2], m[3], m[4], m[5]);
    let bias = &bias[..cout];
    for (j, y) in dst.chunks_exact_mut(cout).enumerate() {
        match j {
            0 => {
                for i in 0..cout {
                    y[i] = bias[i] + (m0[i] + (m1[i] + m2[i]) + (m3[i] + m4[i]));
                }
            }
            1 => {
                for i in 0..cout {
                    y[i] = bias[i] + ((m1[i] - m2[i]) + 2.0 * (m3[i] - m4[i]));
                }
            }
            2 => {
                for i in 0..cout {
                    y[i] = bias[i] + ((m1[i] + m2[i]) + 4.0 * (m3[i] + m4[i]));
                }
            }
            _ => {
                for i in 0..cout {
                    y[i] = bias[i] + ((m1[i] - m2[i]) + 8.0 * (m3[i] - m4[i]) + m5[i]);
                }
            }
        }
    }
}

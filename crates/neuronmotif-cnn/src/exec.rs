//! The chunk engine: forward and backward passes over a few sequences at a time, in buffers
//! reused across chunks (no allocation per sequence).

use std::ops::Range;

use crate::elementwise::{self, add_assign};
use crate::kernel::{bf16, gemm, gemm_cols, sparse, Lhs};
use crate::substructure::{Batch, ChunkLen, ConvStage, Stage, Substructure};
use crate::winograd::WinoBufs;

/// Lengths and channel counts of every stage output for one input length.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub input_len: usize,
    pub lens: Vec<usize>,
    pub chans: Vec<usize>,
}

impl Plan {
    pub(crate) fn new(sub: &Substructure, input_len: usize) -> Result<Plan, ()> {
        let (mut len, mut ch) = (input_len, 4usize);
        let mut lens = Vec::with_capacity(sub.stages.len());
        let mut chans = Vec::with_capacity(sub.stages.len());
        for st in &sub.stages {
            match st {
                Stage::Conv(c) => {
                    let span = c.d * (c.k - 1) + 1;
                    len = len.checked_sub(span).ok_or(())? / c.s + 1;
                    ch = c.cout;
                }
                Stage::Pool { kernel, stride } => {
                    len = len.checked_sub(*kernel).ok_or(())? / stride + 1;
                }
                Stage::Relu { .. } | Stage::Affine { .. } => {}
            }
            lens.push(len);
            chans.push(ch);
        }
        Ok(Plan {
            input_len,
            lens,
            chans,
        })
    }

    /// Output positions of the last conv.
    pub(crate) fn out_len(&self) -> usize {
        self.lens.last().copied().unwrap_or(0)
    }

    pub(crate) fn floats_per_seq(&self) -> usize {
        self.input_len * 4
            + self
                .lens
                .iter()
                .zip(&self.chans)
                .map(|(l, c)| l * c)
                .sum::<usize>()
    }

    fn in_len(&self, stage: usize) -> usize {
        if stage == 0 {
            self.input_len
        } else {
            self.lens[stage - 1]
        }
    }

    fn in_ch(&self, stage: usize) -> usize {
        if stage == 0 {
            4
        } else {
            self.chans[stage - 1]
        }
    }
}

/// Per-task buffers, sized for one chunk and reused across chunks.
pub(crate) struct Bufs {
    codes: Vec<u8>,
    input: Vec<f32>,
    /// Whether every sequence of the chunk is in `codes` (a codes batch, or one-hot rows that
    /// are all exactly one-hot).
    is_codes: bool,
    /// For a one-hot batch, which sequences of the chunk are exactly one-hot (and so in
    /// `codes`).
    coded: Vec<bool>,
    /// One sequence's first-layer lookup, all channels (see `forward`).
    gather_tmp: Vec<f32>,
    /// The first-layer lookup's table offsets for one sequence.
    offsets: Vec<usize>,
    /// Output of each stage, `[chunk, len, ch]`.
    pub acts: Vec<Vec<f32>>,
    last_single: bool,
    rows: Vec<usize>,
    wcol: Vec<f32>,
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    scratch: Scratch,
    wino: WinoBufs,
    bf16_in: Vec<u16>,
    /// Seconds spent in each stage, when a benchmark asks ([`Bufs::time_stages`]).
    stage_times: Option<Vec<f64>>,
}

/// Work space of the backward through a convolution.
#[derive(Default)]
struct Scratch {
    rows: Vec<usize>,
    cols: Vec<f32>,
    nz: Vec<(u32, f32)>,
    /// `(din offset, nz range)` of every position that carries gradient (sparse route).
    spans: Vec<(usize, usize, usize)>,
    tmp: Vec<f32>,
    /// The dense rows of the output gradient rounded to bf16, channels padded to an even
    /// count, and their offsets there (bf16 backward).
    half: Vec<u16>,
    half_rows: Vec<usize>,
    /// Per channel, the running maximum and its tap in a pool window (wide pool backward).
    pool_max: Vec<f32>,
    pool_tap: Vec<u32>,
}

impl Bufs {
    pub(crate) fn new(sub: &Substructure, plan: &Plan) -> Bufs {
        let n = sub.chunk;
        let acts: Vec<Vec<f32>> = plan
            .lens
            .iter()
            .zip(&plan.chans)
            .map(|(l, c)| vec![0.0; n * l * c])
            .collect();
        let max_act = (0..=plan.lens.len())
            .map(|i| plan.in_len(i.min(plan.lens.len())) * plan.in_ch(i.min(plan.lens.len())))
            .chain(plan.lens.iter().zip(&plan.chans).map(|(l, c)| l * c))
            .max()
            .unwrap_or(0);
        Bufs {
            codes: Vec::with_capacity(n * plan.input_len),
            input: Vec::with_capacity(n * plan.input_len * 4),
            is_codes: false,
            coded: Vec::new(),
            gather_tmp: Vec::new(),
            offsets: Vec::new(),
            acts,
            last_single: false,
            rows: Vec::new(),
            wcol: Vec::new(),
            grad_a: vec![0.0; n * max_act],
            grad_b: vec![0.0; n * max_act],
            scratch: Scratch {
                rows: Vec::new(),
                cols: vec![0.0; ROW_BLOCK * COL_BLOCK],
                nz: Vec::new(),
                spans: Vec::new(),
                tmp: Vec::new(),
                half: Vec::new(),
                half_rows: Vec::new(),
                pool_max: Vec::new(),
                pool_tap: Vec::new(),
            },
            wino: WinoBufs::default(),
            bf16_in: Vec::new(),
            stage_times: None,
        }
    }

    /// Start accumulating the seconds of each stage of later forward passes.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn time_stages(&mut self, stages: usize) {
        self.stage_times = Some(vec![0.0; stages]);
    }

    /// The seconds accumulated per stage since `Bufs::time_stages`.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn stage_times(&self) -> Option<&[f64]> {
        self.stage_times.as_deref()
    }

    /// Copy sequences `range` of the batch into the chunk's contiguous input buffer.
    pub(crate) fn load(&mut self, batch: &Batch<'_>, range: Range<usize>) {
        match batch {
            Batch::Codes(c) => {
                self.is_codes = true;
                self.coded.clear();
                self.codes.clear();
                for row in c.outer_iter().skip(range.start).take(range.len()) {
                    self.codes.extend(row.iter());
                }
            }
            Batch::OneHot(o) => {
                // A sequence that is exactly one-hot is also kept as base codes, so the first
                // convolution can be a table lookup for it (see `forward`).
                self.codes.clear();
                self.coded.clear();
                for s in o.outer_iter().skip(range.start).take(range.len()) {
                    let from = self.codes.len();
                    let exact = s.outer_iter().all(|col| {
                        let code = exact_code(col.iter().copied());
                        self.codes.push(code.unwrap_or(0));
                        code.is_some()
                    });
                    // an inexact sequence stops early: pad its codes (unused) to full length
                    self.codes.resize(from + s.nrows(), 0);
                    self.coded.push(exact);
                }
                self.is_codes = self.coded.iter().all(|&c| c);
                self.input.clear();
                if !self.is_codes {
                    for s in o.outer_iter().skip(range.start).take(range.len()) {
                        self.input.extend(s.iter());
                    }
                }
            }
        }
    }

    /// All channels of the last conv for `n` sequences (after a forward without `single`).
    pub(crate) fn last_output(&self, plan: &Plan, n: impl Into<usize>) -> &[f32] {
        let i = plan.lens.len() - 1;
        &self.acts[i][..n.into() * plan.lens[i] * plan.chans[i]]
    }

    /// Neuron `channel` of the last conv at output `pos` of sequence `b`, whichever way the
    /// forward computed the last layer.
    pub(crate) fn neuron(&self, plan: &Plan, channel: usize, b: usize, pos: usize) -> f32 {
        let i = plan.lens.len() - 1;
        let len = plan.lens[i];
        if self.last_single {
            self.acts[i][b * len + pos]
        } else {
            self.acts[i][(b * len + pos) * plan.chans[i] + channel]
        }
    }

    /// Evaluate stages `0..upto` on the loaded chunk of `n` sequences. With `single`, the last
    /// stage (if it is evaluated and is the final conv) computes only that channel.
    pub(crate) fn forward(
        &mut self,
        sub: &Substructure,
        plan: &Plan,
        n: impl Into<usize>,
        upto: usize,
        single: Option<usize>,
    ) {
        let n = n.into();
        let last = sub.stages.len() - 1;
        self.last_single = false;
        let timing = self.stage_times.is_some();
        for i in 0..upto.min(sub.stages.len()) {
            let t0 = timing.then(std::time::Instant::now);
            let (lin, cin) = (plan.in_len(i), plan.in_ch(i));
            let (lout, cout) = (plan.lens[i], plan.chans[i]);
            let (before, rest) = self.acts.split_at_mut(i);
            let out = &mut rest[0];
            let input: &[f32] = if i == 0 { &self.input } else { &before[i - 1] };
            match &sub.stages[i] {
                Stage::Conv(c) => {
                    let table = c.onehot.as_ref().filter(|_| i == 0);
                    if let (true, Some(table)) = (self.is_codes, table) {
                        table.apply(&self.codes, (n, lin, lout), out, &mut self.offsets);
                    } else if i == last && single.is_some() {
                        let ch = single.unwrap_or(0);
                        self.wcol.clear();
                        self.wcol
                            .extend((0..c.k * c.cin).map(|r| c.w[r * c.cout + ch]));
                        single_channel(c, ch, &self.wcol, input, n, lin, lout, out);
                        self.last_single = true;
                    } else if let Some(wg) = &c.wino {
                        wg.forward(c, input, n, lin, lout, out, &mut self.wino);
                    } else if let Some(bc) = &c.bf16 {
                        // activations rounded to bf16 once, channels padded to cin2
                        let cin2 = bc.cin2;
                        self.bf16_in.clear();
                        for pos in input[..n * lin * cin].chunks_exact(cin) {
                            bf16::extend_padded(&mut self.bf16_in, pos);
                        }
                        self.rows.clear();
                        for b in 0..n {
                            for p in 0..lout {
                                self.rows.push((b * lin + p * c.s) * cin2);
                            }
                        }
                        bf16::gemm_bf16(
                            &self.bf16_in,
                            &self.rows,
                            &bc.packed,
                            &c.bias,
                            &mut out[..n * lout * cout],
                            cout,
                        );
                    } else {
                        self.rows.clear();
                        for b in 0..n {
                            for p in 0..lout {
                                self.rows.push((b * lin + p * c.s) * cin);
                            }
                        }
                        let lhs = conv_lhs(c, input, &self.rows);
                        gemm(
                            &lhs,
                            &c.packed,
                            Some(&c.bias),
                            &mut out[..n * lout * cout],
                            cout,
                        );
                    }
                    if let (false, Some(table)) = (self.is_codes, table) {
                        // a one-hot chunk with some inexact rows: the exact ones by lookup,
                        // as they would be in any other chunk
                        for b in (0..n).filter(|&b| self.coded.get(b) == Some(&true)) {
                            let seq = &self.codes[b * lin..(b + 1) * lin];
                            if self.last_single {
                                let ch = single.unwrap_or(0);
                                self.gather_tmp.resize(lout * cout, 0.0);
                                table.apply(
                                    seq,
                                    (1, lin, lout),
                                    &mut self.gather_tmp,
                                    &mut self.offsets,
                                );
                                for p in 0..lout {
                                    out[b * lout + p] = self.gather_tmp[p * cout + ch];
                                }
                            } else {
                                let dst = &mut out[b * lout * cout..(b + 1) * lout * cout];
                                table.apply(seq, (1, lin, lout), dst, &mut self.offsets);
                            }
                        }
                    }
                }
                Stage::Affine { scale, shift } => {
                    for (dst, src) in out[..n * lout * cout]
                        .chunks_exact_mut(cout)
                        .zip(input.chunks_exact(cin))
                    {
                        for c in 0..cout {
                            dst[c] = src[c] * scale[c] + shift[c];
                        }
                    }
                }
                Stage::Relu { threshold } => {
                    let len = n * lout * cout;
                    elementwise::relu_forward(&mut out[..len], &input[..len], *threshold);
                }
                Stage::Pool { kernel, stride } => {
                    let p = PoolShape::new((n, lin, lout, cin), (*kernel, *stride));
                    let out = &mut out[..n * lout * cout];
                    if cin >= WIDE_POOL {
                        pool_forward_wide(input, out, p);
                    } else {
                        pool_forward_narrow(input, out, p);
                    }
                }
            }
            if let (Some(t0), Some(ts)) = (t0, self.stage_times.as_mut()) {
                ts[i] += t0.elapsed().as_secs_f64();
            }
        }
    }

    /// The strongest route from neuron `channel` (output `position`) of the last conv down to
    /// the first conv, after a full forward: at each convolution the input unit with the
    /// largest contribution `w · a` is followed, at each max-pool the winning position. Writes,
    /// per sequence, the input position where the route's first-layer unit starts.
    pub(crate) fn route(
        &self,
        sub: &Substructure,
        plan: &Plan,
        n: usize,
        channel: usize,
        position: usize,
        out: &mut [u32],
    ) {
        let last = sub.stages.len() - 1;
        for (b, slot) in out.iter_mut().enumerate().take(n) {
            let (mut pos, mut ch) = (position, channel);
            for i in (0..=last).rev() {
                let (lin, cin) = (plan.in_len(i), plan.in_ch(i));
                match &sub.stages[i] {
                    Stage::Conv(c) => {
                        if i == 0 {
                            pos *= c.s;
                            break;
                        }
                        // the input unit contributing most to unit (pos, ch)
                        let input = &self.acts[i - 1];
                        let (mut best, mut bv) = ((0, 0), f32::NEG_INFINITY);
                        for t in 0..c.k {
                            let q = pos * c.s + t * c.d;
                            let row = &input[(b * lin + q) * cin..(b * lin + q + 1) * cin];
                            for (ci, &a) in row.iter().enumerate() {
                                let v = a * c.w[(t * cin + ci) * c.cout + ch];
                                if v > bv {
                                    bv = v;
                                    best = (q, ci);
                                }
                            }
                        }
                        (pos, ch) = best;
                    }
                    Stage::Pool { kernel, stride } => {
                        let input = if i == 0 {
                            &self.input
                        } else {
                            &self.acts[i - 1]
                        };
                        let start = pos * stride;
                        let mut bj = 0;
                        let mut bv = input[(b * lin + start) * cin + ch];
                        for j in 1..*kernel {
                            let v = input[(b * lin + start + j) * cin + ch];
                            if v > bv {
                                bv = v;
                                bj = j;
                            }
                        }
                        pos = start + bj;
                    }
                    Stage::Relu { .. } | Stage::Affine { .. } => {}
                }
            }
            *slot = pos as u32;
        }
    }

    /// Gradient of neuron `channel` at output `position` of the last conv with respect to the
    /// chunk's one-hot input, written to `grad_out` (`[n, len, 4]`). Needs a full forward first.
    pub(crate) fn backward(
        &mut self,
        sub: &Substructure,
        plan: &Plan,
        n: impl Into<usize>,
        channel: usize,
        position: usize,
        grad_out: &mut [f32],
    ) {
        let n = n.into();
        let last = sub.stages.len() - 1;
        let Stage::Conv(top) = &sub.stages[last] else {
            return;
        };
        // Gradient at the input of conv L: its weight column, at the taps of `position`.
        let (lin, cin) = (plan.in_len(last), plan.in_ch(last));
        {
            let g = if last == 0 {
                &mut grad_out[..n * lin * cin]
            } else {
                &mut self.grad_a[..n * lin * cin]
            };
            g.fill(0.0);
            for b in 0..n {
                for t in 0..top.k {
                    let q = position * top.s + t * top.d;
                    for ci in 0..cin {
                        g[(b * lin + q) * cin + ci] += top.w[(t * cin + ci) * top.cout + channel];
                    }
                }
            }
        }
        if last == 0 {
            return;
        }
        for i in (0..last).rev() {
            let (lin, cin) = (plan.in_len(i), plan.in_ch(i));
            let (lout, cout) = (plan.lens[i], plan.chans[i]);
            let input: &[f32] = if i == 0 {
                &self.input
            } else {
                &self.acts[i - 1]
            };
            let dout = &self.grad_a[..n * lout * cout];
            let din = &mut self.grad_b[..n * lin * cin];
            match &sub.stages[i] {
                Stage::Conv(c) => {
                    let target = if i == 0 {
                        &mut grad_out[..n * lin * cin]
                    } else {
                        din
                    };
                    conv_backward(c, dout, n, lin, lout, target, &mut self.scratch);
                    if i == 0 {
                        return;
                    }
                }
                Stage::Affine { scale, .. } => {
                    for (d, s) in din.chunks_exact_mut(cin).zip(dout.chunks_exact(cout)) {
                        for c in 0..cout {
                            d[c] = s[c] * scale[c];
                        }
                    }
                }
                Stage::Relu { threshold } => {
                    let len = n * lin * cin;
                    elementwise::relu_backward(&mut din[..len], dout, &input[..len], *threshold);
                }
                Stage::Pool { kernel, stride } => {
                    let p = PoolShape::new((n, lin, lout, cin), (*kernel, *stride));
                    if cin >= WIDE_POOL {
                        pool_backward_wide(input, dout, din, p, &mut self.scratch);
                    } else {
                        pool_backward_narrow(input, dout, din, p);
                    }
                }
            }
            std::mem::swap(&mut self.grad_a, &mut self.grad_b);
        }
    }
}

/// The base code of a one-hot column (A, C, G, T as 0..=3) when it is exactly one-hot: one
/// entry 1, the others 0. Anything else (an N as zeros or quarters, a soft input) is `None`.
fn exact_code(col: impl Iterator<Item = f32>) -> Option<u8> {
    let mut code = None;
    for (i, v) in col.enumerate() {
        if v == 1.0 && code.is_none() {
            code = Some(i as u8);
        } else if v != 0.0 {
            return None;
        }
    }
    code
}

/// Channels from which the pool loops run window row by window row, vectorised across
/// channels; narrower layers (demo 2 has 5–6) go element by element.
const WIDE_POOL: usize = 8;

/// A max-pool over `n` sequences: input `[n, lin, cin]`, output `[n, lout, cin]`, windows of
/// `k` positions every `stride`.
#[derive(Debug, Clone, Copy)]
struct PoolShape {
    n: usize,
    lin: usize,
    lout: usize,
    cin: usize,
    k: usize,
    stride: usize,
}

impl PoolShape {
    fn new((n, lin, lout, cin): (usize, usize, usize, usize), (k, stride): (usize, usize)) -> Self {
        PoolShape {
            n,
            lin,
            lout,
            cin,
            k,
            stride,
        }
    }

    /// `(n, lin, lout, cin, k, stride)`.
    fn parts(self) -> (usize, usize, usize, usize, usize, usize) {
        (self.n, self.lin, self.lout, self.cin, self.k, self.stride)
    }
}

/// Every pool window of a layer input `[n, lin, cin]` with its output row of `out`
/// (`[n, lout, cin]`).
#[inline(always)]
fn pool_windows(
    input: &[f32],
    out: &mut [f32],
    p: PoolShape,
    mut f: impl FnMut(&[f32], &mut [f32]),
) {
    let (n, lin, lout, cin, k, st) = p.parts();
    for b in 0..n {
        let src = &input[b * lin * cin..(b + 1) * lin * cin];
        let dst = &mut out[b * lout * cin..(b + 1) * lout * cin];
        for (q, d) in dst.chunks_exact_mut(cin).enumerate() {
            f(&src[q * st * cin..(q * st + k) * cin], d);
        }
    }
}

/// Max-pool forward, element by element (narrow layers: per-window slice copies would cost
/// more than the comparisons). The first maximum of each window wins; the gradient routes
/// there too.
fn pool_forward_narrow(input: &[f32], out: &mut [f32], p: PoolShape) {
    let cin = p.cin;
    pool_windows(input, out, p, |w, d| {
        for (c, dc) in d.iter_mut().enumerate() {
            let mut m = w[c];
            for v in w[c..].iter().step_by(cin).skip(1) {
                if *v > m {
                    m = *v;
                }
            }
            *dc = m;
        }
    });
}

/// [`pool_forward_narrow`] window row by window row, vectorised across channels: the same
/// comparisons in the same order, so the same bits. (The crate's baseline target has no
/// blend instruction, so the loops are compiled a second time for AVX2 and picked at run
/// time; without it they became branches per element and ran slower than the narrow loops.)
fn pool_forward_wide(input: &[f32], out: &mut [f32], p: PoolShape) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { pool_forward_wide_avx2(input, out, p) };
            return;
        }
    }
    pool_forward_wide_body(input, out, p);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pool_forward_wide_avx2(input: &[f32], out: &mut [f32], p: PoolShape) {
    pool_forward_wide_body(input, out, p);
}

#[inline(always)]
fn pool_forward_wide_body(input: &[f32], out: &mut [f32], p: PoolShape) {
    let cin = p.cin;
    pool_windows(input, out, p, |w, d| {
        d.copy_from_slice(&w[..cin]);
        for row in w[cin..].chunks_exact(cin) {
            for (m, &v) in d.iter_mut().zip(row) {
                let mv = *m;
                *m = if v > mv { v } else { mv };
            }
        }
    });
}

/// Max-pool backward, element by element: each nonzero output gradient goes to the first
/// maximum of its window.
fn pool_backward_narrow(input: &[f32], dout: &[f32], din: &mut [f32], p: PoolShape) {
    let (n, lin, lout, cin, k, stride) = p.parts();
    din[..n * lin * cin].fill(0.0);
    for b in 0..n {
        for q in 0..lout {
            let g = &dout[(b * lout + q) * cin..(b * lout + q + 1) * cin];
            let start = (b * lin + q * stride) * cin;
            for c in 0..cin {
                if g[c] == 0.0 {
                    continue;
                }
                let mut best = 0;
                let mut bv = input[start + c];
                for j in 1..k {
                    let v = input[start + j * cin + c];
                    if v > bv {
                        bv = v;
                        best = j;
                    }
                }
                din[start + best * cin + c] += g[c];
            }
        }
    }
}

/// The max-pool backward of [`Bufs::backward`] for layers of at least [`WIDE_POOL`]
/// channels, vectorised across channels: per window, the first maximum's tap for every
/// channel, then each tap adds the gradient of the channels it won. The same values as the
/// element-by-element loop, bit for bit: a tap that did not win adds `+0.0`, which leaves any
/// sum unchanged (`din` starts at `+0.0` and sums of nonzero terms are never `-0.0`), and a
/// won tap adds `g` as there (including a NaN `g`).
fn pool_backward_wide(
    input: &[f32],
    dout: &[f32],
    din: &mut [f32],
    p: PoolShape,
    sc: &mut Scratch,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { pool_backward_wide_avx2(input, dout, din, p, sc) };
            return;
        }
    }
    pool_backward_wide_body(input, dout, din, p, sc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pool_backward_wide_avx2(
    input: &[f32],
    dout: &[f32],
    din: &mut [f32],
    p: PoolShape,
    sc: &mut Scratch,
) {
    pool_backward_wide_body(input, dout, din, p, sc);
}

#[inline(always)]
fn pool_backward_wide_body(
    input: &[f32],
    dout: &[f32],
    din: &mut [f32],
    p: PoolShape,
    sc: &mut Scratch,
) {
    let (n, lin, lout, cin, k, stride) = p.parts();
    din[..n * lin * cin].fill(0.0);
    sc.pool_max.resize(cin, 0.0);
    sc.pool_tap.resize(cin, 0);
    for b in 0..n {
        for q in 0..lout {
            let g = &dout[(b * lout + q) * cin..(b * lout + q + 1) * cin];
            let start = (b * lin + q * stride) * cin;
            let w = &input[start..start + k * cin];
            sc.pool_max.copy_from_slice(&w[..cin]);
            sc.pool_tap.fill(0);
            for (j, row) in w.chunks_exact(cin).enumerate().skip(1) {
                for ((m, t), &v) in sc.pool_max.iter_mut().zip(sc.pool_tap.iter_mut()).zip(row) {
                    let (mv, tv) = (*m, *t);
                    let gt = v > mv;
                    *m = if gt { v } else { mv };
                    *t = if gt { j as u32 } else { tv };
                }
            }
            for j in 0..k {
                let d = &mut din[start + j * cin..start + (j + 1) * cin];
                for ((d, &gc), &t) in d.iter_mut().zip(g).zip(&sc.pool_tap) {
                    *d += if t == j as u32 { gc } else { 0.0 };
                }
            }
        }
    }
}

/// The left-hand rows of a convolution: one run of `k·cin` floats when undilated (a
/// channels-last window is contiguous), else one run of `cin` per tap.
fn conv_lhs<'a>(c: &ConvStage, input: &'a [f32], rows: &'a [usize]) -> Lhs<'a> {
    if c.d == 1 {
        Lhs {
            data: input,
            rows,
            seg_len: c.k * c.cin,
            seg_stride: c.k * c.cin,
            segments: 1,
        }
    } else {
        Lhs {
            data: input,
            rows,
            seg_len: c.cin,
            seg_stride: c.d * c.cin,
            segments: c.k,
        }
    }
}

/// One output channel of a convolution (the neuron being explained): a dot product per row.
#[allow(clippy::too_many_arguments)]
fn single_channel(
    c: &ConvStage,
    ch: usize,
    wcol: &[f32],
    input: &[f32],
    n: usize,
    lin: usize,
    lout: usize,
    out: &mut [f32],
) {
    for b in 0..n {
        for p in 0..lout {
            let start = (b * lin + p * c.s) * c.cin;
            let mut s = c.bias[ch];
            if c.d == 1 {
                s += dot(&input[start..start + c.k * c.cin], wcol);
            } else {
                for t in 0..c.k {
                    let a = start + t * c.d * c.cin;
                    s += dot(&input[a..a + c.cin], &wcol[t * c.cin..(t + 1) * c.cin]);
                }
            }
            out[b * lout + p] = s;
        }
    }
}

/// Above this share (percent) of nonzero entries in a sequence's output gradient, the
/// sequence takes the dense f32 route of [`conv_backward`]. 20–25 % measured about 5 % faster
/// on BD-10 and Basset (one thread, docs/benchmarks.md), within this host's noise; it is kept
/// at 40 % because the route sets the order of the sums, and the direct path's gradients stay
/// bit-for-bit what earlier versions gave.
const DENSE_PERCENT_F32: usize = 40;

/// The same threshold for layers whose dense route is the bf16 product (twice the f32
/// multiply-adds per instruction): it wins down to about 5–10 % nonzeros on BD-10.
const DENSE_PERCENT_BF16: usize = 10;

/// Gradient through a convolution: `din[b, p·s + t·d, c] += Σ_o W[t][c][o] · dout[b, p, o]`.
///
/// Each sequence takes one of two routes, chosen from its own gradient alone (so results do
/// not depend on how sequences are batched): when few entries of its output gradient are
/// nonzero ([`DENSE_PERCENT_F32`], [`DENSE_PERCENT_BF16`]; a max-pool of 4 or more leaves
/// that few), its nonzero entries are added as weight rows ([`sparse::add_tile`]); otherwise
/// its rows go through the dense packed product, in bf16 where the layer's forward is bf16.
fn conv_backward(
    c: &ConvStage,
    dout: &[f32],
    n: usize,
    lin: usize,
    lout: usize,
    din: &mut [f32],
    sc: &mut Scratch,
) {
    let (cin, cout, kw) = (c.cin, c.cout, c.k * c.cin);
    let dense_percent = if c.bf16.as_ref().is_some_and(|b| b.packed_t.is_some()) {
        DENSE_PERCENT_BF16
    } else {
        DENSE_PERCENT_F32
    };
    din.fill(0.0);
    sc.rows.clear();
    sc.spans.clear();
    let mut used = 0;
    for b in 0..n {
        let seq = &dout[b * lout * cout..(b + 1) * lout * cout];
        let nnz = elementwise::count_nonzero(seq);
        if nnz == 0 {
            continue;
        }
        let dense = nnz * 100 > seq.len() * dense_percent;
        for p in 0..lout {
            let row = &seq[p * cout..(p + 1) * cout];
            if dense {
                if row.iter().any(|&v| v != 0.0) {
                    sc.rows.push((b * lout + p) * cout);
                }
                continue;
            }
            // Branch-free compaction: every entry is written, only nonzeros advance (a
            // branch per entry mispredicts on a pool's scattered winners).
            let from = used;
            if sc.nz.len() < from + cout {
                sc.nz.resize(from + cout, (0, 0.0));
            }
            for (o, &g) in row.iter().enumerate() {
                sc.nz[used] = (o as u32, g);
                used += usize::from(g != 0.0);
            }
            if used > from {
                sc.spans.push(((b * lin + p * c.s) * cin, from, used));
            }
        }
    }
    if c.d == 1 {
        // Column tiles outside, positions inside: the tile's weight slab stays in cache.
        for (col0, len) in sparse::tiles(kw) {
            for &(base, from, to) in &sc.spans {
                sparse::add_tile(
                    &c.w_t,
                    kw,
                    col0,
                    &sc.nz[from..to],
                    &mut din[base + col0..base + col0 + len],
                );
            }
        }
    } else {
        for &(base, from, to) in &sc.spans {
            sc.tmp.clear();
            sc.tmp.resize(kw, 0.0);
            for (col0, len) in sparse::tiles(kw) {
                sparse::add_tile(
                    &c.w_t,
                    kw,
                    col0,
                    &sc.nz[from..to],
                    &mut sc.tmp[col0..col0 + len],
                );
            }
            for t in 0..c.k {
                let q = base + t * c.d * cin;
                for (d, &v) in din[q..q + cin]
                    .iter_mut()
                    .zip(&sc.tmp[t * cin..(t + 1) * cin])
                {
                    *d += v;
                }
            }
        }
    }
    if sc.rows.is_empty() {
        return;
    }
    let bf16 = c
        .bf16
        .as_ref()
        .and_then(|bc| Some((bc, bc.packed_t.as_ref()?)));
    if bf16.is_some() {
        // The rows rounded to bf16 once, each padded to an even count of channels.
        let cout2 = cout + cout % 2;
        sc.half.clear();
        sc.half_rows.clear();
        for (ri, &off) in sc.rows.iter().enumerate() {
            bf16::extend_padded(&mut sc.half, &dout[off..off + cout]);
            sc.half_rows.push(ri * cout2);
        }
    }
    // The product `rows × Wᵀ` (one `k·cin` window of input gradient per row) is made and
    // added into `din` a block at a time, so each block is added while it is still in cache
    // rather than after the whole `rows × k·cin` matrix has gone out to memory.
    let mut start = 0;
    while start < sc.rows.len() {
        let end = dense_block_end(&sc.rows, start, lout * cout);
        for c0 in (0..kw).step_by(COL_BLOCK) {
            let w = COL_BLOCK.min(kw - c0);
            let block = &mut sc.cols[..(end - start) * w];
            if let Some((bc, pt)) = bf16 {
                bf16::gemm_bf16_cols(
                    &sc.half,
                    &sc.half_rows[start..end],
                    pt,
                    &bc.zero_bias,
                    c0..c0 + w,
                    block,
                    w,
                );
            } else if let Some(pt) = &c.packed_t {
                let lhs = Lhs {
                    data: dout,
                    rows: &sc.rows[start..end],
                    seg_len: cout,
                    seg_stride: cout,
                    segments: 1,
                };
                gemm_cols(&lhs, pt, None, c0..c0 + w, block, w);
            }
            for (&off, src) in sc.rows[start..end].iter().zip(block.chunks_exact(w)) {
                let r = off / cout;
                let (b, p) = (r / lout, r % lout);
                let base = (b * lin + p * c.s) * cin;
                if c.d == 1 {
                    // the taps of an undilated window are consecutive input positions
                    add_assign(&mut din[base + c0..base + c0 + w], src);
                    continue;
                }
                let mut j = c0;
                while j < c0 + w {
                    let t = j / cin;
                    let stop = ((t + 1) * cin).min(c0 + w);
                    let q = base + t * c.d * cin + (j - t * cin);
                    add_assign(&mut din[q..q + stop - j], &src[j - c0..stop - c0]);
                    j = stop;
                }
            }
        }
        start = end;
    }
}

/// Rows of one block of the dense backward product.
const ROW_BLOCK: usize = 256;
/// Columns of one block (a multiple of both kernels' panel widths): with [`ROW_BLOCK`], a
/// 192 KB block of products that stays in L2 until it is added.
const COL_BLOCK: usize = 192;

/// The end of the block of dense rows that starts at `rows[start]`: whole sequences
/// (`seq_floats` apart in the output gradient) while they fit in [`ROW_BLOCK`] rows, or, for
/// a sequence longer than that, the next [`ROW_BLOCK`] of its own rows. Each sequence's rows
/// are then split the same way whatever the other sequences of the chunk, so the order in
/// which its gradient is summed does not depend on batching.
fn dense_block_end(rows: &[usize], start: usize, seq_floats: usize) -> usize {
    let seq = |i: usize| rows[i] / seq_floats;
    let mut end = start;
    while end < rows.len() {
        let s = seq(end);
        let mut e = end;
        while e < rows.len() && seq(e) == s {
            e += 1;
        }
        if e - start <= ROW_BLOCK {
            end = e;
        } else {
            if end == start {
                end = start + ROW_BLOCK;
            }
            break;
        }
    }
    end
}

/// Dot product with eight independent partial sums (vectorisable, fixed order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

impl From<ChunkLen> for Range<usize> {
    fn from(c: ChunkLen) -> Self {
        0..c.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Values with many ties (and both zeros), as ReLU outputs have.
    fn value() -> impl Strategy<Value = f32> {
        prop_oneof![
            Just(0.0f32),
            Just(-0.0),
            Just(1.5),
            Just(-2.0),
            -3.0f32..3.0
        ]
    }

    /// `(n, lin, lout, cin)`, `(k, stride)`, a layer input and an output gradient.
    #[allow(clippy::type_complexity)]
    fn pool_case() -> impl Strategy<
        Value = (
            (usize, usize, usize, usize),
            (usize, usize),
            Vec<f32>,
            Vec<f32>,
        ),
    > {
        (1usize..3, 1usize..6, 1usize..20, 1usize..5, 1usize..5).prop_flat_map(
            |(n, lout, cin, k, stride)| {
                let lin = (lout - 1) * stride + k;
                (
                    Just((n, lin, lout, cin)),
                    Just((k, stride)),
                    vec(value(), n * lin * cin),
                    vec(value(), n * lout * cin),
                )
            },
        )
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    proptest! {
        /// The vectorised pool loops give the element-by-element loops' bits, forward and
        /// backward, whatever the window, stride, overlap and ties.
        #[test]
        fn wide_pool_equals_narrow_pool((dims, ks, input, dout) in pool_case()) {
            let (n, lin, lout, cin) = dims;
            let p = PoolShape::new(dims, ks);
            let (mut a, mut b) = (vec![f32::NAN; n * lout * cin], vec![f32::NAN; n * lout * cin]);
            pool_forward_narrow(&input, &mut a, p);
            pool_forward_wide(&input, &mut b, p);
            prop_assert_eq!(bits(&a), bits(&b));
            let (mut da, mut db) = (vec![f32::NAN; n * lin * cin], vec![f32::NAN; n * lin * cin]);
            pool_backward_narrow(&input, &dout, &mut da, p);
            pool_backward_wide(&input, &dout, &mut db, p, &mut Scratch::default());
            prop_assert_eq!(bits(&da), bits(&db));
        }

        /// Blocks of dense rows cover the rows in order, hold at most [`ROW_BLOCK`] rows, and
        /// split each sequence at the same rows whatever sequences come before it.
        #[test]
        fn dense_blocks_split_each_sequence_alike(
            counts in vec(0usize..700, 1..8),
            lead in 0usize..300,
        ) {
            let per = 1000; // row offsets of sequence b are b * per + p
            let rows_of = |counts: &[usize]| -> Vec<usize> {
                counts.iter().enumerate().flat_map(|(b, &c)| (0..c).map(move |p| b * per + p)).collect()
            };
            let cuts = |rows: &[usize]| -> Result<Vec<(usize, usize)>, TestCaseError> {
                let (mut out, mut start) = (Vec::new(), 0);
                while start < rows.len() {
                    let end = dense_block_end(rows, start, per);
                    prop_assert!(end > start && end - start <= ROW_BLOCK);
                    out.push((start, end));
                    start = end;
                }
                Ok(out)
            };
            // the rows (after its first) where a block starts inside each sequence
            let starts = |counts: &[usize], skip: usize| -> Result<Vec<Vec<usize>>, TestCaseError> {
                let rows = rows_of(counts);
                let mut per_seq = vec![Vec::new(); counts.len()];
                for (start, _) in cuts(&rows)? {
                    let (b, p) = (rows[start] / per, rows[start] % per);
                    if p > 0 {
                        per_seq[b].push(p);
                    }
                }
                Ok(per_seq.split_off(skip))
            };
            let alone = starts(&counts, 0)?;
            let mut with_lead = vec![lead];
            with_lead.extend(&counts);
            prop_assert_eq!(starts(&with_lead, 1)?, alone.clone());
            for (b, s) in alone.iter().enumerate() {
                // a sequence is cut only at its rows 256, 512, ..., and only when longer
                let want: Vec<usize> = (1..counts[b].div_ceil(ROW_BLOCK)).map(|i| i * ROW_BLOCK).collect();
                prop_assert_eq!(s, &want, "sequence {}", b);
            }
        }
    }
}

//! A small GEMM specialised for convolution: `C[i, :] (+)= Σ_k A_i[k] · B[k, :]`.
//!
//! Why not a general BLAS: a CNN substructure multiplies the same weights by thousands of
//! small activation blocks. Here the weights (`B`) are packed once, when the model is loaded,
//! and each left-hand row `A_i` is *addressed* rather than copied: a row is one or more runs of
//! consecutive floats at an arbitrary offset of an activation buffer. A channels-last
//! convolution window is such a row (one run for undilated convs, one run per tap otherwise),
//! so there is no im2col copy, no per-call packing of the weights, and a backward pass can
//! hand over just the rows that carry gradient.
//!
//! Each row's sum is accumulated in the same order whatever the number of rows, their
//! position in a block, or the thread that computes them, so results are bitwise independent
//! of batching and thread count.

pub(crate) mod bf16;
mod generic;
pub(crate) mod sparse;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::ops::Range;
use std::sync::OnceLock;

/// Rows per micro-tile.
pub(crate) const MR: usize = 6;
/// Columns per micro-tile (and per packed panel).
pub(crate) const NR: usize = 16;
/// Depth of one cache block of the K dimension.
const KC: usize = 256;
/// Panels per cache block of B (KC × NR × PANELS floats ≈ 192 KB, an L2-sized slab).
const PANELS: usize = 12;

/// The right-hand matrix `[k, n]`, packed as `ceil(n / NR)` panels of `k × NR` floats
/// (row-major within a panel, zero-padded past column `n`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// Pack `f(row, col)` for `row < k`, `col < n`.
    pub(crate) fn from_fn(k: usize, n: usize, f: impl Fn(usize, usize) -> f32) -> PackedB {
        let panels = n.div_ceil(NR);
        let mut data = vec![0.0; panels * k * NR];
        for p in 0..panels {
            for row in 0..k {
                for j in 0..NR {
                    let col = p * NR + j;
                    if col < n {
                        data[(p * k + row) * NR + j] = f(row, col);
                    }
                }
            }
        }
        PackedB { k, n, data }
    }
}

/// The left-hand matrix, by address: row `i` is `segments` runs of `seg_len` floats, run `s`
/// starting at `data[rows[i] + s · seg_stride]`. Its K = `segments · seg_len`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lhs<'a> {
    pub data: &'a [f32],
    pub rows: &'a [usize],
    pub seg_len: usize,
    pub seg_stride: usize,
    pub segments: usize,
}

/// How a micro-tile starts its sums.
#[derive(Clone, Copy)]
enum Init {
    /// From the bias row (first K block).
    Bias,
    /// From the output (later K blocks).
    Accumulate,
}

/// One contiguous piece of K inside a K block: `len` floats at row offset `a_off`, matching
/// packed rows `b_row ..`.
#[derive(Clone, Copy, Debug)]
struct Run {
    a_off: usize,
    b_row: usize,
    len: usize,
}

/// One micro-tile's work: `rows` are MR row base pointers (duplicates beyond `mr`), `panel`
/// the packed panel, `out` the tile's first element with row stride `ldc`, `mr × nr` valid.
struct Tile<'a> {
    rows: &'a [*const f32; MR],
    runs: &'a [Run],
    panel: *const f32,
    bias: &'a [f32; NR],
    init: Init,
    out: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
}

/// Micro-kernel signature.
///
/// # Safety
/// Row pointers plus run offsets stay inside the lhs buffer, `panel` holds every packed row the
/// runs name, and the `mr × nr` tile at `out` (row stride `ldc`) is writable.
type Kernel = unsafe fn(&Tile<'_>);

fn kernel() -> Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    *K.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return x86::kernel_avx2 as Kernel;
            }
        }
        generic::kernel as Kernel
    })
}

/// Name of the micro-kernel in use (for benchmark reports).
pub(crate) fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2+fma 6x16";
        }
    }
    "portable 6x16"
}

/// `out[i, j] = bias[j] + Σ_k lhs_i[k] · b[k, j]` for `i < lhs.rows.len()`, `j < b.n`, with
/// `out` row-major with row stride `ldc >= b.n`.
///
/// # Panics
/// When the shapes disagree or a row reaches past `lhs.data` (a bug in the caller, never input).
pub(crate) fn gemm(lhs: &Lhs<'_>, b: &PackedB, bias: Option<&[f32]>, out: &mut [f32], ldc: usize) {
    gemm_cols(lhs, b, bias, 0..b.n, out, ldc);
}

/// [`gemm`] for the output columns `cols` only (`cols.start` a multiple of [`NR`]), written
/// from column 0 of `out` (row stride `ldc >= cols.len()`). Each entry is summed exactly as
/// the full product sums it, so a caller may walk the columns in blocks that stay in cache.
pub(crate) fn gemm_cols(
    lhs: &Lhs<'_>,
    b: &PackedB,
    bias: Option<&[f32]>,
    cols: Range<usize>,
    out: &mut [f32],
    ldc: usize,
) {
    let m = lhs.rows.len();
    let k = lhs.segments * lhs.seg_len;
    assert_eq!(k, b.k, "lhs K differs from packed K");
    assert!(cols.start.is_multiple_of(NR) && cols.start <= cols.end && cols.end <= b.n);
    let width = cols.len();
    assert!(ldc >= width);
    if m == 0 || width == 0 {
        return;
    }
    assert!(out.len() >= (m - 1) * ldc + width, "output too small");
    let reach = lhs.rows.iter().max().copied().unwrap_or(0)
        + (lhs.segments.saturating_sub(1)) * lhs.seg_stride
        + lhs.seg_len;
    assert!(
        reach <= lhs.data.len() || k == 0,
        "lhs row reaches past its buffer"
    );
    if let Some(bias) = bias {
        assert!(bias.len() >= b.n);
    }
    // Split K into cache blocks of runs.
    let mut blocks: Vec<Vec<Run>> = Vec::new();
    let mut cur: Vec<Run> = Vec::new();
    let mut filled = 0;
    for s in 0..lhs.segments {
        let mut done = 0;
        while done < lhs.seg_len {
            let take = (lhs.seg_len - done).min(KC - filled);
            cur.push(Run {
                a_off: s * lhs.seg_stride + done,
                b_row: s * lhs.seg_len + done,
                len: take,
            });
            done += take;
            filled += take;
            if filled == KC {
                blocks.push(std::mem::take(&mut cur));
                filled = 0;
            }
        }
    }
    if !cur.is_empty() || blocks.is_empty() {
        blocks.push(cur);
    }
    let kern = kernel();
    let (first, panels) = (cols.start / NR, cols.end.div_ceil(NR));
    let base = lhs.data.as_ptr();
    let out_ptr = out.as_mut_ptr();
    for (bi, runs) in blocks.iter().enumerate() {
        let init = if bi == 0 {
            Init::Bias
        } else {
            Init::Accumulate
        };
        for p0 in (first..panels).step_by(PANELS) {
            for m0 in (0..m).step_by(MR) {
                let mr = (m - m0).min(MR);
                let mut rows = [base; MR];
                for (r, slot) in rows.iter_mut().enumerate() {
                    // SAFETY: offsets were checked against lhs.data above.
                    *slot = unsafe { base.add(lhs.rows[m0 + r.min(mr - 1)]) };
                }
                for p in p0..(p0 + PANELS).min(panels) {
                    let nr = (cols.end - p * NR).min(NR);
                    let mut bias_tile = [0.0f32; NR];
                    if let Some(bias) = bias {
                        bias_tile[..nr].copy_from_slice(&bias[p * NR..p * NR + nr]);
                    }
                    // SAFETY: the panel holds b.k rows of NR floats; the tile lies inside `out`
                    // (m0 + mr <= m rows, p·NR - cols.start + nr <= width columns, checked
                    // above).
                    unsafe {
                        kern(&Tile {
                            rows: &rows,
                            runs,
                            panel: b.data.as_ptr().add(p * b.k * NR),
                            bias: &bias_tile,
                            init,
                            out: out_ptr.add(m0 * ldc + p * NR - cols.start),
                            ldc,
                            mr,
                            nr,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f64 reference of the same product.
    fn reference(lhs: &Lhs<'_>, b: &[f64], n: usize, bias: &[f32]) -> Vec<f64> {
        let mut out = Vec::new();
        for &r in lhs.rows {
            for j in 0..n {
                let mut s = f64::from(bias[j]);
                for seg in 0..lhs.segments {
                    for t in 0..lhs.seg_len {
                        let a = f64::from(lhs.data[r + seg * lhs.seg_stride + t]);
                        s += a * b[(seg * lhs.seg_len + t) * n + j];
                    }
                }
                out.push(s);
            }
        }
        out
    }

    #[test]
    fn matches_reference_on_awkward_shapes() {
        // sizes straddling MR, NR, KC and PANELS boundaries, with multi-segment rows
        for &(m, seg_len, segments, seg_stride, n) in &[
            (1, 1, 1, 1, 1),
            (7, 5, 3, 9, 17),
            (13, 300, 1, 300, 33),
            (6, 100, 4, 130, 16),
            (25, 64, 3, 64, 200),
            (3, 7, 2, 3, 250),
        ] {
            let span = (segments - 1) * seg_stride + seg_len;
            let data: Vec<f32> = (0..span + 3 * m)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let rows: Vec<usize> = (0..m).map(|i| (i * 5) % (3 * m + 1).min(3 * m)).collect();
            let k = segments * seg_len;
            let bf = |r: usize, c: usize| ((r * 13 + c * 7) % 29) as f32 / 10.0 - 1.4;
            let b64: Vec<f64> = (0..k * n).map(|i| f64::from(bf(i / n, i % n))).collect();
            let packed = PackedB::from_fn(k, n, bf);
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.01).collect();
            let lhs = Lhs {
                data: &data,
                rows: &rows,
                seg_len,
                seg_stride,
                segments,
            };
            let ldc = n + 3;
            let mut out = vec![f32::NAN; m * ldc];
            gemm(&lhs, &packed, Some(&bias), &mut out, ldc);
            let want = reference(&lhs, &b64, n, &bias);
            for i in 0..m {
                for j in 0..n {
                    let (g, w) = (f64::from(out[i * ldc + j]), want[i * n + j]);
                    assert!(
                        (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                        "m{m} n{n} ({i},{j}): {g} vs {w}"
                    );
                }
                // padding columns untouched
                for j in n..ldc {
                    assert!(out[i * ldc + j].is_nan());
                }
            }
        }
    }

    #[test]
    fn rows_do_not_depend_on_their_block() {
        let data: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.37).sin()).collect();
        let packed = PackedB::from_fn(40, 20, |r, c| ((r * c) as f32).cos());
        let all: Vec<usize> = (0..17).map(|i| i * 11).collect();
        let lhs = Lhs {
            data: &data,
            rows: &all,
            seg_len: 40,
            seg_stride: 40,
            segments: 1,
        };
        let mut full = vec![0.0; 17 * 20];
        gemm(&lhs, &packed, None, &mut full, 20);
        for i in 0..17 {
            let one = [all[i]];
            let lhs1 = Lhs { rows: &one, ..lhs };
            let mut single = vec![0.0; 20];
            gemm(&lhs1, &packed, None, &mut single, 20);
            assert_eq!(single[..], full[i * 20..(i + 1) * 20]);
        }
    }
}

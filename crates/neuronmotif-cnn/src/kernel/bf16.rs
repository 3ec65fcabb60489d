//! The reduced-precision product `C[i, :] = bias + Σ_k A_i[k] · B[k, :]` with bf16 operands and
//! f32 sums, on CPUs with AVX-512 BF16 (`vdpbf16ps`: two bf16 products per f32 lane per
//! instruction, twice the multiply-adds of an f32 FMA of the same width).
//!
//! Why a separate kernel rather than a flag on the f32 one: the operands change type. The
//! activations are rounded to bf16 once per layer into their own buffer (channels padded to an
//! even count, so every window is a whole number of bf16 pairs at an even offset) and the
//! weights are packed as pairs of consecutive K rows, the layout `vdpbf16ps` consumes.
//! Products of two bf16 numbers are exact in f32, so the only differences from the f32 path
//! are the rounding of the operands to 8 significant bits and the order of the f32 sums.

use std::ops::Range;

/// Columns per packed panel (two 16-lane vectors).
pub(crate) const NB: usize = 32;
/// Rows per micro-tile.
const MB: usize = 8;

/// `f32 → bf16`, rounded to nearest even (the rounding `vcvtneps2bf16` does; inputs here are
/// finite).
pub(crate) fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// Append `row` rounded to bf16, then a zero when its length is odd: the layout in which
/// every row (a position's channels) is a whole number of bf16 pairs at an even offset.
pub(crate) fn extend_padded(dst: &mut Vec<u16>, row: &[f32]) {
    dst.extend(row.iter().map(|&v| to_bf16(v)));
    if row.len() % 2 == 1 {
        dst.push(0);
    }
}

/// `bf16 → f32` (exact).
#[cfg(test)]
pub(crate) fn from_bf16(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Whether this CPU can run the kernel.
pub(crate) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The right-hand matrix `[k2, n]` (`k2` even) as `ceil(n / NB)` panels; within a panel, pair
/// `q` of rows `2q, 2q + 1` is 64 bf16: column `j`'s two values at `2j, 2j + 1`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PackedBf16 {
    k2: usize,
    n: usize,
    data: Vec<u16>,
}

impl PackedBf16 {
    /// Pack `f(row, col)` for `row < k2`, `col < n`, rounded to bf16 (zero past `n`).
    pub(crate) fn from_fn(k2: usize, n: usize, f: impl Fn(usize, usize) -> f32) -> PackedBf16 {
        assert!(k2.is_multiple_of(2), "bf16 packing needs an even K");
        let panels = n.div_ceil(NB);
        let mut data = vec![0u16; panels * k2 * NB];
        for p in 0..panels {
            for q in 0..k2 / 2 {
                for j in 0..NB {
                    let col = p * NB + j;
                    if col < n {
                        let at = (p * (k2 / 2) + q) * 2 * NB + 2 * j;
                        data[at] = to_bf16(f(2 * q, col));
                        data[at + 1] = to_bf16(f(2 * q + 1, col));
                    }
                }
            }
        }
        PackedBf16 { k2, n, data }
    }
}

/// `out[i, j] = bias[j] + Σ_k a[rows[i] + k] · b[k, j]` for `k < b.k()`, `j < b.n`; `a` holds
/// bf16 values and every `rows[i]` is even; `out` has row stride `ldc >= b.n`.
///
/// # Panics
/// When the CPU lacks AVX-512 BF16 (callers check [`supported`]), or a row reaches past `a`,
/// or a row offset is odd (bugs in the caller, never input).
pub(crate) fn gemm_bf16(
    a: &[u16],
    rows: &[usize],
    b: &PackedBf16,
    bias: &[f32],
    out: &mut [f32],
    ldc: usize,
) {
    gemm_bf16_cols(a, rows, b, bias, 0..b.n, out, ldc);
}

/// [`gemm_bf16`] for the output columns `cols` only (`cols.start` a multiple of [`NB`]),
/// written from column 0 of `out` (row stride `ldc >= cols.len()`); each entry is summed as
/// the full product sums it.
///
/// # Panics
/// As [`gemm_bf16`], and when `cols` is not a range of `b`'s columns starting on a panel.
pub(crate) fn gemm_bf16_cols(
    a: &[u16],
    rows: &[usize],
    b: &PackedBf16,
    bias: &[f32],
    cols: Range<usize>,
    out: &mut [f32],
    ldc: usize,
) {
    assert!(
        supported(),
        "AVX-512 BF16 kernel called on a CPU without it"
    );
    let m = rows.len();
    assert!(cols.start.is_multiple_of(NB) && cols.start <= cols.end && cols.end <= b.n);
    let width = cols.len();
    if m == 0 || width == 0 {
        return;
    }
    assert!(ldc >= width && bias.len() >= b.n);
    assert!(out.len() >= (m - 1) * ldc + width, "output too small");
    for &r in rows {
        assert!(
            r % 2 == 0 && r + b.k2 <= a.len(),
            "bf16 row {r} out of place"
        );
    }
    #[cfg(target_arch = "x86_64")]
    {
        for p in cols.start / NB..cols.end.div_ceil(NB) {
            let nr = (cols.end - p * NB).min(NB);
            let mut bias_tile = [0.0f32; NB];
            bias_tile[..nr].copy_from_slice(&bias[p * NB..p * NB + nr]);
            let panel = &b.data[p * b.k2 * NB..(p + 1) * b.k2 * NB];
            for m0 in (0..m).step_by(MB) {
                let mr = (m - m0).min(MB);
                let mut ptrs = [a.as_ptr(); MB];
                for (r, slot) in ptrs.iter_mut().enumerate() {
                    *slot = a[rows[m0 + r.min(mr - 1)]..].as_ptr();
                }
                // SAFETY: the CPU has AVX-512 F and BF16 (asserted); every row pointer has
                // b.k2 readable bf16 (checked above), the panel b.k2 · NB, and the mr × nr tile
                // at out[m0 · ldc + p · NB - cols.start] lies inside `out` (checked above).
                unsafe {
                    x86::tile(
                        &ptrs,
                        panel.as_ptr(),
                        b.k2 / 2,
                        &bias_tile,
                        out.as_mut_ptr().add(m0 * ldc + p * NB - cols.start),
                        ldc,
                        mr,
                        nr,
                    );
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{MB, NB};

    /// One `MB × NB` tile (only `mr × nr` stored) over `pairs` K pairs.
    ///
    /// # Safety
    /// AVX-512 F + BF16 available; each of `rows` has `2 · pairs` readable bf16 and is 4-byte
    /// aligned relative to the buffer start; `panel` has `pairs · 2 · NB` bf16; the tile at
    /// `out` (row stride `ldc`) is writable for `mr` rows and `nr` columns.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn tile(
        rows: &[*const u16; MB],
        panel: *const u16,
        pairs: usize,
        bias: &[f32; NB],
        out: *mut f32,
        ldc: usize,
        mr: usize,
        nr: usize,
    ) {
        // SAFETY: the function's contract (features, readable rows and panel, writable tile).
        unsafe {
            let b_lo = _mm512_loadu_ps(bias.as_ptr());
            let b_hi = _mm512_loadu_ps(bias.as_ptr().add(16));
            let mut lo = [b_lo; MB];
            let mut hi = [b_hi; MB];
            for q in 0..pairs {
                let bp = panel.add(q * 2 * NB);
                let w_lo: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.cast()));
                let w_hi: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.add(NB).cast()));
                for r in 0..MB {
                    let pair = rows[r].add(2 * q).cast::<i32>().read_unaligned();
                    let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                    lo[r] = _mm512_dpbf16_ps(lo[r], x, w_lo);
                    hi[r] = _mm512_dpbf16_ps(hi[r], x, w_hi);
                }
            }
            let mask_lo: __mmask16 = if nr >= 16 { 0xffff } else { (1u16 << nr) - 1 };
            let mask_hi: __mmask16 = if nr <= 16 {
                0
            } else if nr >= 32 {
                0xffff
            } else {
                (1u16 << (nr - 16)) - 1
            };
            for r in 0..mr {
                let o = out.add(r * ldc);
                _mm512_mask_storeu_ps(o, mask_lo, lo[r]);
                _mm512_mask_storeu_ps(o.add(16), mask_hi, hi[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(from_bf16(to_bf16(1.0)), 1.0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1)
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(
            from_bf16(to_bf16(1.0 + 3.0 / 256.0)),
            1.0 + 4.0 / 256.0,
            "tie rounds up to even"
        );
        assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
        for x in [0.1f32, -3.3, 1e-3, 12345.0] {
            let r = from_bf16(to_bf16(x));
            assert!((r - x).abs() <= x.abs() / 256.0, "{x} -> {r}");
        }
    }

    /// Against an f64 sum of the same bf16-rounded operands: products of bf16 numbers are exact
    /// in f32, so only the f32 sums differ (at most K · 2^-24 of the sum of |products|; 768
    /// terms give 4.6e-5); a wrong pairing or layout errs by the size of the products.
    #[test]
    fn matches_reference_on_awkward_shapes() {
        if !supported() {
            eprintln!("note: this CPU has no AVX-512 BF16; the bf16 kernel is not exercised");
            return;
        }
        for &(m, k2, n, stride) in &[
            (1, 2, 1, 2),
            (7, 10, 17, 12),
            (9, 300, 33, 300),
            (17, 64, 32, 66),
            (25, 96, 200, 96),
            (3, 768, 70, 770),
        ] {
            let len = (m - 1) * stride + k2 + 8;
            let a: Vec<u16> = (0..len)
                .map(|i| to_bf16(((i * 37 % 101) as f32 - 50.0) / 25.0))
                .collect();
            let rows: Vec<usize> = (0..m)
                .map(|i| ((i * stride) % (len - k2 - 1)) & !1)
                .collect();
            let bf = |r: usize, c: usize| ((r * 13 + c * 7) % 29) as f32 / 10.0 - 1.4;
            let packed = PackedBf16::from_fn(k2, n, bf);
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.01).collect();
            let ldc = n + 3;
            let mut out = vec![f32::NAN; m * ldc];
            gemm_bf16(&a, &rows, &packed, &bias, &mut out, ldc);
            for (i, &r) in rows.iter().enumerate() {
                for j in 0..n {
                    let (mut s, mut mag) = (f64::from(bias[j]), 0.0f64);
                    for k in 0..k2 {
                        let t = f64::from(from_bf16(a[r + k]))
                            * f64::from(from_bf16(to_bf16(bf(k, j))));
                        s += t;
                        mag += t.abs();
                    }
                    let g = f64::from(out[i * ldc + j]);
                    assert!(
                        (g - s).abs() <= 3e-5 * (1.0 + mag),
                        "m{m} k{k2} n{n} ({i},{j}): {g} vs {s}"
                    );
                }
                for j in n..ldc {
                    assert!(out[i * ldc + j].is_nan(), "padding column written");
                }
            }
        }
    }
}

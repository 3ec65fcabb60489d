//! Backward through a convolution when the incoming gradient is sparse.
//!
//! After max-pool routing and ReLU masking, most entries of a layer's output gradient are zero
//! (three in four, or more, behind a pool of 4). A dense product would multiply all of them;
//! here each position's nonzero entries `(o, g)` are applied as `dst += Σ g · Wt[o]`, where
//! `Wt[o]` is the contiguous `k·cin` row of weights of output channel `o`.
//!
//! The caller walks the columns in [`tiles`] and, inside a tile, every position: the tile's
//! slab of all weight rows (`cout × 64` floats or so) then stays in L1/L2 while the positions
//! stream past, and the partial sums stay in registers.

/// Largest tile: twelve 8-lane registers of sums.
pub(crate) const TILE: usize = 96;

/// Usual tile width: eight registers, enough independent sums that the multiply-adds of one
/// entry do not wait for those of the previous one (four registers did: a multiply-add's
/// latency is four cycles).
const WIDE: usize = 64;

/// The column tiles `(col0, len)` of a `kw`-wide row: tiles of [`WIDE`], the remainder merged
/// into the last one when it is narrower than half a tile (so a 76-wide row, Basset's first
/// layer, is one tile rather than a tile and a latency-bound sliver).
pub(crate) fn tiles(kw: usize) -> impl Iterator<Item = (usize, usize)> {
    let (full, rest) = (kw / WIDE, kw % WIDE);
    let merge = rest > 0 && rest < WIDE / 2 && full > 0;
    let count = full + usize::from(rest > 0 && !merge);
    (0..count).map(move |t| {
        let col0 = t * WIDE;
        let len = if t + 1 == count { kw - col0 } else { WIDE };
        (col0, len)
    })
}

/// `dst[j] += Σ_(o, g) g · wt[o·kw + col0 + j]` for `j < dst.len() <= TILE`, summing the
/// entries in the given order (one fused multiply-add per entry, so a column's sum does not
/// depend on the tile it falls in).
///
/// # Panics
/// When `dst` is longer than a tile or reaches past column `kw`. Every `o` must be below
/// `wt.len() / kw` (the caller builds the entries from a row of that many channels; checked
/// in debug builds).
#[inline]
pub(crate) fn add_tile(wt: &[f32], kw: usize, col0: usize, nz: &[(u32, f32)], dst: &mut [f32]) {
    assert!(dst.len() <= TILE && col0 + dst.len() <= kw && wt.len().is_multiple_of(kw.max(1)));
    debug_assert!(nz.iter().all(|&(o, _)| (o as usize + 1) * kw <= wt.len()));
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: features detected; bounds asserted above.
            unsafe {
                match dst.len().div_ceil(8) {
                    0 => {}
                    1 => add_tile_fma::<1>(wt, kw, col0, nz, dst),
                    2 => add_tile_fma::<2>(wt, kw, col0, nz, dst),
                    3 => add_tile_fma::<3>(wt, kw, col0, nz, dst),
                    4 => add_tile_fma::<4>(wt, kw, col0, nz, dst),
                    5 => add_tile_fma::<5>(wt, kw, col0, nz, dst),
                    6 => add_tile_fma::<6>(wt, kw, col0, nz, dst),
                    7 => add_tile_fma::<7>(wt, kw, col0, nz, dst),
                    8 => add_tile_fma::<8>(wt, kw, col0, nz, dst),
                    9 => add_tile_fma::<9>(wt, kw, col0, nz, dst),
                    10 => add_tile_fma::<10>(wt, kw, col0, nz, dst),
                    11 => add_tile_fma::<11>(wt, kw, col0, nz, dst),
                    _ => add_tile_fma::<12>(wt, kw, col0, nz, dst),
                }
            }
            return;
        }
    }
    add_tile_plain(wt, kw, col0, nz, dst);
}

/// `V` registers of sums over `dst` (`8·(V-1) < dst.len() <= 8·V`); the last register's lanes
/// past `dst.len()` are masked off, in loads (weight rows may end at the buffer's end) and
/// in the store.
///
/// # Safety
/// AVX2 and FMA available; `dst.len() <= 8·V`; for every entry, `col0 + dst.len()` columns of
/// row `o` are inside `wt`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_tile_fma<const V: usize>(
    wt: &[f32],
    kw: usize,
    col0: usize,
    nz: &[(u32, f32)],
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    let len = dst.len();
    let tail = len - 8 * (V - 1);
    let lanes: [i32; 8] = std::array::from_fn(|i| if i < tail { -1 } else { 0 });
    let d = dst.as_mut_ptr();
    let w = wt.as_ptr().wrapping_add(col0);
    // SAFETY: full registers cover columns below 8·(V-1) < len, the masked last one only
    // columns below len; all inside dst and inside each named row of wt (the contract).
    unsafe {
        let mask = _mm256_loadu_si256(lanes.as_ptr().cast());
        let mut acc = [_mm256_setzero_ps(); V];
        for (i, a) in acc.iter_mut().enumerate() {
            *a = if i + 1 < V {
                _mm256_loadu_ps(d.add(8 * i))
            } else {
                _mm256_maskload_ps(d.add(8 * i), mask)
            };
        }
        for &(o, g) in nz {
            let gv = _mm256_set1_ps(g);
            let row = w.add(o as usize * kw);
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = if i + 1 < V {
                    _mm256_loadu_ps(row.add(8 * i))
                } else {
                    _mm256_maskload_ps(row.add(8 * i), mask)
                };
                *a = _mm256_fmadd_ps(gv, wv, *a);
            }
        }
        for (i, a) in acc.iter().enumerate() {
            if i + 1 < V {
                _mm256_storeu_ps(d.add(8 * i), *a);
            } else {
                _mm256_maskstore_ps(d.add(8 * i), mask, *a);
            }
        }
    }
}

fn add_tile_plain(wt: &[f32], kw: usize, col0: usize, nz: &[(u32, f32)], dst: &mut [f32]) {
    let len = dst.len();
    let mut acc = [0.0f32; TILE];
    acc[..len].copy_from_slice(dst);
    for &(o, g) in nz {
        let row = &wt[o as usize * kw + col0..o as usize * kw + col0 + len];
        for (a, &w) in acc[..len].iter_mut().zip(row) {
            *a += g * w;
        }
    }
    dst.copy_from_slice(&acc[..len]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_each_column_once() {
        for kw in 0..400 {
            let mut next = 0;
            for (col0, len) in tiles(kw) {
                assert_eq!(col0, next);
                assert!(len > 0 && len <= TILE, "kw {kw}: tile {col0}+{len}");
                next += len;
            }
            assert_eq!(next, kw);
        }
    }

    /// Each column is its initial value plus one fused multiply-add per entry, in order,
    /// whatever the tile: the same bits as a column-by-column loop.
    #[test]
    fn fused_tiles_equal_column_by_column_sums() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            eprintln!("note: no AVX2+FMA here; the vector kernel is not exercised");
            return;
        }
        for kw in [1usize, 5, 8, 12, 76, 95, 96, 100, 150, 3300] {
            let rows = 9;
            let wt: Vec<f32> = (0..rows * kw)
                .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0)
                .collect();
            let nz: Vec<(u32, f32)> = (0..rows as u32)
                .rev()
                .map(|o| (o, (o as f32 - 3.7) * 0.61))
                .collect();
            for (col0, len) in tiles(kw) {
                let init: Vec<f32> = (0..len).map(|i| i as f32 * 0.013 - 0.4).collect();
                let mut want = init.clone();
                for (j, a) in want.iter_mut().enumerate() {
                    for &(o, g) in &nz {
                        *a = g.mul_add(wt[o as usize * kw + col0 + j], *a);
                    }
                }
                let mut got = init.clone();
                add_tile(&wt, kw, col0, &nz, &mut got);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "kw {kw} tile {col0}+{len}");
            }
        }
    }

    #[test]
    fn matches_direct_sum() {
        for kw in [1usize, 7, 8, 33, 64, 150] {
            let wt: Vec<f32> = (0..7 * kw)
                .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let nz = [(0u32, 0.5f32), (3, -1.25), (6, 2.0)];
            for (col0, len) in tiles(kw) {
                let init: Vec<f32> = (0..len).map(|i| i as f32 * 0.01).collect();
                let mut want = init.clone();
                for &(o, g) in &nz {
                    for j in 0..len {
                        want[j] += g * wt[o as usize * kw + col0 + j];
                    }
                }
                let mut fast = init.clone();
                let mut plain = init.clone();
                add_tile(&wt, kw, col0, &nz, &mut fast);
                add_tile_plain(&wt, kw, col0, &nz, &mut plain);
                for ((a, b), c) in fast.iter().zip(&want).zip(&plain) {
                    assert!((a - b).abs() < 1e-5 && (c - b).abs() < 1e-5);
                }
            }
        }
    }
}

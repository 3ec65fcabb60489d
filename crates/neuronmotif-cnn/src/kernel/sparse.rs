//! Backward through a convolution when the incoming gradient is sparse.
//!
//! After max-pool routing and ReLU masking, most entries of a layer's output gradient are zero
//! (three in four, or more, behind a pool of 4). A dense product would multiply all of them;
//! here each position's nonzero entries `(o, g)` are applied as `dst += Σ g · Wt[o]`, where
//! `Wt[o]` is the contiguous `k·cin` row of weights of output channel `o`.
//!
//! The caller walks the columns in tiles of [`TILE`] and, inside a tile, every position: the
//! tile's slab of all weight rows (`cout × TILE` floats) then stays in L1/L2 while the
//! positions stream past, and the partial sums stay in registers.

/// Columns per tile (four 8-lane registers).
pub(crate) const TILE: usize = 32;

/// `dst[j] += Σ_(o, g) g · wt[o·kw + col0 + j]` for `j < dst.len() <= TILE`, summing the
/// entries in the given order.
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
            unsafe { add_tile_fma(wt, kw, col0, nz, dst) };
            return;
        }
    }
    add_tile_plain(wt, kw, col0, nz, dst);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_tile_fma(wt: &[f32], kw: usize, col0: usize, nz: &[(u32, f32)], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let len = dst.len();
    let d = dst.as_mut_ptr();
    let w = wt.as_ptr().wrapping_add(col0);
    // SAFETY: every access is below `len` within dst and within row `o` of wt (asserted by the
    // caller).
    unsafe {
        if len == TILE {
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_loadu_ps(d),
                _mm256_loadu_ps(d.add(8)),
                _mm256_loadu_ps(d.add(16)),
                _mm256_loadu_ps(d.add(24)),
            );
            for &(o, g) in nz {
                let gv = _mm256_set1_ps(g);
                let row = w.add(o as usize * kw);
                a0 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(row), a0);
                a1 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(row.add(8)), a1);
                a2 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(row.add(16)), a2);
                a3 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(row.add(24)), a3);
            }
            _mm256_storeu_ps(d, a0);
            _mm256_storeu_ps(d.add(8), a1);
            _mm256_storeu_ps(d.add(16), a2);
            _mm256_storeu_ps(d.add(24), a3);
            return;
        }
        let mut start = 0;
        while start + 8 <= len {
            let mut a = _mm256_loadu_ps(d.add(start));
            for &(o, g) in nz {
                a = _mm256_fmadd_ps(
                    _mm256_set1_ps(g),
                    _mm256_loadu_ps(w.add(o as usize * kw + start)),
                    a,
                );
            }
            _mm256_storeu_ps(d.add(start), a);
            start += 8;
        }
        for j in start..len {
            let mut a = *d.add(j);
            for &(o, g) in nz {
                a = g.mul_add(*w.add(o as usize * kw + j), a);
            }
            *d.add(j) = a;
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
    fn matches_direct_sum() {
        for kw in [1usize, 7, 8, 33, 64, 150] {
            let wt: Vec<f32> = (0..7 * kw)
                .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let nz = [(0u32, 0.5f32), (3, -1.25), (6, 2.0)];
            for col0 in (0..kw).step_by(TILE) {
                let len = TILE.min(kw - col0);
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

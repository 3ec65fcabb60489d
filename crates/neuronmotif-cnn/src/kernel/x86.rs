//! AVX2 + FMA micro-kernel: a 6 × 16 tile in twelve 8-lane accumulators.

use std::arch::x86_64::*;

use super::{Init, Tile, MR, NR};

/// # Safety
/// The CPU supports AVX2 and FMA (checked by the dispatcher), and the contract of
/// [`super::Kernel`] holds.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn kernel_avx2(tile: &Tile<'_>) {
    let Tile {
        rows,
        runs,
        panel,
        bias,
        init,
        out,
        ldc,
        mr,
        nr,
    } = *tile;
    let full = mr == MR && nr == NR;
    let mut tile = [0.0f32; MR * NR];
    // SAFETY (whole function): pointer arithmetic stays inside the buffers per the contract;
    // unaligned loads and stores are used throughout.
    unsafe {
        // c[2r] and c[2r + 1]: the two 8-lane halves of tile row r
        let mut c = [_mm256_setzero_ps(); 2 * MR];
        match init {
            Init::Bias => {
                let b0 = _mm256_loadu_ps(bias.as_ptr());
                let b1 = _mm256_loadu_ps(bias.as_ptr().add(8));
                for r in 0..MR {
                    c[2 * r] = b0;
                    c[2 * r + 1] = b1;
                }
            }
            Init::Accumulate => {
                let src: *const f32 = if full {
                    out
                } else {
                    for r in 0..mr {
                        for j in 0..nr {
                            tile[r * NR + j] = *out.add(r * ldc + j);
                        }
                    }
                    tile.as_ptr()
                };
                let ld = if full { ldc } else { NR };
                for r in 0..MR {
                    c[2 * r] = _mm256_loadu_ps(src.add(r * ld));
                    c[2 * r + 1] = _mm256_loadu_ps(src.add(r * ld + 8));
                }
            }
        }
        for run in runs {
            let mut b = panel.add(run.b_row * NR);
            let a = rows.map(|row| row.add(run.a_off));
            let step = |t: usize, b: *const f32, c: &mut [__m256; 2 * MR]| {
                let b0 = _mm256_loadu_ps(b);
                let b1 = _mm256_loadu_ps(b.add(8));
                for r in 0..MR {
                    let x = _mm256_broadcast_ss(&*a[r].add(t));
                    c[2 * r] = _mm256_fmadd_ps(x, b0, c[2 * r]);
                    c[2 * r + 1] = _mm256_fmadd_ps(x, b1, c[2 * r + 1]);
                }
            };
            // four steps per trip: the loop overhead was a visible share of the micro-kernel
            let mut t = 0;
            while t + 4 <= run.len {
                step(t, b, &mut c);
                step(t + 1, b.add(NR), &mut c);
                step(t + 2, b.add(2 * NR), &mut c);
                step(t + 3, b.add(3 * NR), &mut c);
                b = b.add(4 * NR);
                t += 4;
            }
            while t < run.len {
                step(t, b, &mut c);
                b = b.add(NR);
                t += 1;
            }
        }
        let (dst, ld) = if full {
            (out, ldc)
        } else {
            (tile.as_mut_ptr(), NR)
        };
        for r in 0..MR {
            _mm256_storeu_ps(dst.add(r * ld), c[2 * r]);
            _mm256_storeu_ps(dst.add(r * ld + 8), c[2 * r + 1]);
        }
        if !full {
            for r in 0..mr {
                for j in 0..nr {
                    *out.add(r * ldc + j) = tile[r * NR + j];
                }
            }
        }
    }
}

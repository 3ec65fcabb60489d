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
        let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21);
        let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51);
        match init {
            Init::Bias => {
                let b0 = _mm256_loadu_ps(bias.as_ptr());
                let b1 = _mm256_loadu_ps(bias.as_ptr().add(8));
                (c00, c01, c10, c11, c20, c21) = (b0, b1, b0, b1, b0, b1);
                (c30, c31, c40, c41, c50, c51) = (b0, b1, b0, b1, b0, b1);
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
                c00 = _mm256_loadu_ps(src);
                c01 = _mm256_loadu_ps(src.add(8));
                c10 = _mm256_loadu_ps(src.add(ld));
                c11 = _mm256_loadu_ps(src.add(ld + 8));
                c20 = _mm256_loadu_ps(src.add(2 * ld));
                c21 = _mm256_loadu_ps(src.add(2 * ld + 8));
                c30 = _mm256_loadu_ps(src.add(3 * ld));
                c31 = _mm256_loadu_ps(src.add(3 * ld + 8));
                c40 = _mm256_loadu_ps(src.add(4 * ld));
                c41 = _mm256_loadu_ps(src.add(4 * ld + 8));
                c50 = _mm256_loadu_ps(src.add(5 * ld));
                c51 = _mm256_loadu_ps(src.add(5 * ld + 8));
            }
        }
        for run in runs {
            let mut b = panel.add(run.b_row * NR);
            let a0 = rows[0].add(run.a_off);
            let a1 = rows[1].add(run.a_off);
            let a2 = rows[2].add(run.a_off);
            let a3 = rows[3].add(run.a_off);
            let a4 = rows[4].add(run.a_off);
            let a5 = rows[5].add(run.a_off);
            let step = |t: usize, b: *const f32, c: &mut [__m256; 12]| {
                let b0 = _mm256_loadu_ps(b);
                let b1 = _mm256_loadu_ps(b.add(8));
                let a = _mm256_broadcast_ss(&*a0.add(t));
                c[0] = _mm256_fmadd_ps(a, b0, c[0]);
                c[1] = _mm256_fmadd_ps(a, b1, c[1]);
                let a = _mm256_broadcast_ss(&*a1.add(t));
                c[2] = _mm256_fmadd_ps(a, b0, c[2]);
                c[3] = _mm256_fmadd_ps(a, b1, c[3]);
                let a = _mm256_broadcast_ss(&*a2.add(t));
                c[4] = _mm256_fmadd_ps(a, b0, c[4]);
                c[5] = _mm256_fmadd_ps(a, b1, c[5]);
                let a = _mm256_broadcast_ss(&*a3.add(t));
                c[6] = _mm256_fmadd_ps(a, b0, c[6]);
                c[7] = _mm256_fmadd_ps(a, b1, c[7]);
                let a = _mm256_broadcast_ss(&*a4.add(t));
                c[8] = _mm256_fmadd_ps(a, b0, c[8]);
                c[9] = _mm256_fmadd_ps(a, b1, c[9]);
                let a = _mm256_broadcast_ss(&*a5.add(t));
                c[10] = _mm256_fmadd_ps(a, b0, c[10]);
                c[11] = _mm256_fmadd_ps(a, b1, c[11]);
            };
            let mut c = [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51];
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
            [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51] = c;
        }
        let (dst, ld) = if full {
            (out, ldc)
        } else {
            (tile.as_mut_ptr(), NR)
        };
        _mm256_storeu_ps(dst, c00);
        _mm256_storeu_ps(dst.add(8), c01);
        _mm256_storeu_ps(dst.add(ld), c10);
        _mm256_storeu_ps(dst.add(ld + 8), c11);
        _mm256_storeu_ps(dst.add(2 * ld), c20);
        _mm256_storeu_ps(dst.add(2 * ld + 8), c21);
        _mm256_storeu_ps(dst.add(3 * ld), c30);
        _mm256_storeu_ps(dst.add(3 * ld + 8), c31);
        _mm256_storeu_ps(dst.add(4 * ld), c40);
        _mm256_storeu_ps(dst.add(4 * ld + 8), c41);
        _mm256_storeu_ps(dst.add(5 * ld), c50);
        _mm256_storeu_ps(dst.add(5 * ld + 8), c51);
        if !full {
            for r in 0..mr {
                for j in 0..nr {
                    *out.add(r * ldc + j) = tile[r * NR + j];
                }
            }
        }
    }
}

//! The machine's f32 arithmetic ceiling: fused multiply-adds on registers only, one stream per
//! thread. No kernel that reads memory can pass it, so it is the yardstick for "how far from
//! peak" (a large square GEMM is the practical ceiling below it).

use std::time::Instant;

/// Best of three runs, in GFLOP/s, of register-only AVX2 FMAs on `threads` threads at once;
/// `None` where AVX2 + FMA are missing.
pub fn fma_peak_gflops(threads: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return None;
        }
        const ITERS: u64 = 40_000_000;
        // 12 independent accumulators x 8 lanes x 2 flops per iteration
        let flops = (ITERS * 12 * 8 * 2) as f64 * threads as f64;
        let best = (0..3)
            .map(|_| {
                let t0 = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        // SAFETY: AVX2 and FMA were detected above.
                        s.spawn(|| std::hint::black_box(unsafe { x86::spin(ITERS) }));
                    }
                });
                t0.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        Some(flops / best / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = threads;
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `iters` rounds of 12 independent 8-lane FMA chains (more chains than FMA latency x
    /// ports, so the chains never wait on each other).
    ///
    /// # Safety
    /// The CPU supports AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn spin(iters: u64) -> f32 {
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        let mut c = [_mm256_setzero_ps(); 12];
        for (i, v) in c.iter_mut().enumerate() {
            *v = _mm256_set1_ps(i as f32 * 1e-3);
        }
        for _ in 0..iters {
            for v in &mut c {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut sum = _mm256_setzero_ps();
        for v in c {
            sum = _mm256_add_ps(sum, v);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds 8 floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
        out.iter().sum()
    }
}

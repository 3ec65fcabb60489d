//! Runtime dispatch of the hot loops to AVX2 builds of the same code.
//!
//! Each hot loop is written once, as plain Rust that the compiler vectorises, in an
//! `#[inline(always)]` kernel. [`avx2_twin!`] declares a copy of the kernel compiled with
//! `#[target_feature(enable = "avx2")]` (twice the vector width of the x86-64 SSE2 baseline),
//! and [`dispatch!`] calls that copy when the CPU has AVX2. AVX2 adds no fused multiply-add
//! (FMA is a separate feature, not enabled here) and the compiler never reassociates
//! floating-point operations, so both copies compute bit-identical results.

/// Declare `fn $name(args) -> ret` as the AVX2 build of kernel `$kernel` (x86-64 only).
macro_rules! avx2_twin {
    (fn $name:ident = $kernel:path; ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)?) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $name($($arg: $ty),*) $(-> $ret)? {
            $kernel($($arg),*)
        }
    };
}

/// Call `$avx2(args)` when the CPU has AVX2, else `$portable(args)`.
macro_rules! dispatch {
    ($avx2:ident, $portable:path, $($arg:expr),* $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above), the only requirement
                // of calling a function compiled with `target_feature(enable = "avx2")`.
                unsafe { $avx2($($arg),*) }
            } else {
                $portable($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $portable($($arg),*)
        }
    }};
}

pub(crate) use {avx2_twin, dispatch};

#[cfg(test)]
mod tests {
    #[inline(always)]
    fn half_sum(v: &[f64]) -> f64 {
        v.iter().map(|x| x * 0.5).sum()
    }

    avx2_twin!(fn half_sum_avx2 = half_sum; (v: &[f64]) -> f64);

    #[test]
    fn both_builds_agree_bitwise() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i).sqrt()).collect();
        let s = dispatch!(half_sum_avx2, half_sum, &v);
        assert_eq!(s.to_bits(), half_sum(&v).to_bits());
    }
}

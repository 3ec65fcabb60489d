//! Runtime dispatch of the hot loops to AVX2 builds of the same code.
//!
//! Each hot loop is written once, as plain Rust that the compiler vectorises, in an
//! `#[inline(always)]` kernel. [`avx2_twin!`] declares a copy of the kernel compiled with
//! `#[target_feature(enable = "avx2")]` (twice the vector width of the x86-64 SSE2 baseline),
//! and [`dispatch!`] calls that copy when the CPU has AVX2. AVX2 adds no fused multiply-add
//! (FMA is a separate feature, not enabled here) and the compiler never reassociates
//! floating-point operations, so both copies compute bit-identical results.
//!
//! [`AlignedF32`] is the cache-line-aligned float buffer of the AVX-512 single-precision rows.

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

/// Sixteen floats on one 64-byte cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct Line([f32; 16]);

/// A float buffer that starts on a cache line, so that the 16-lane loads and stores of the
/// single-precision rows at multiples of 16 never straddle two lines.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlignedF32 {
    lines: Vec<Line>,
    len: usize,
}

impl PartialEq for AlignedF32 {
    /// Equal floats; what lies past `len` does not count.
    fn eq(&self, other: &AlignedF32) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl AlignedF32 {
    /// `len` floats. Memory is never given back: growing again within it shows the values
    /// it held; beyond it, new floats are 0.
    pub(crate) fn resize(&mut self, len: usize) {
        let lines = len.div_ceil(16);
        if self.lines.len() < lines {
            self.lines.resize(lines, Line::default());
        }
        self.len = len;
    }

    /// Append one float.
    pub(crate) fn push(&mut self, v: f32) {
        let i = self.len;
        self.resize(i + 1);
        self.as_mut_slice()[i] = v;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` over `[f32; 16]` (64 bytes, no padding), so the lines
        // are `16 * lines.len()` contiguous initialised floats, and `len` is at most that.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`, borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    #[inline(always)]
    fn half_sum(v: &[f64]) -> f64 {
        v.iter().map(|x| x * 0.5).sum()
    }

    avx2_twin!(fn half_sum_avx2 = half_sum; (v: &[f64]) -> f64);

    #[test]
    fn aligned_buffers_start_on_a_line_and_keep_their_values() {
        let v: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let mut a = super::AlignedF32::default();
        for &x in &v {
            a.push(x);
        }
        assert_eq!(a.as_slice(), &v[..]);
        assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
        a.resize(5);
        assert_eq!(a.as_slice(), &v[..5]);
        // Growing again inside the old lines shows what they held; past them, zeros.
        a.resize(40);
        assert_eq!(&a.as_slice()[..37], &v[..]);
        assert_eq!(&a.as_slice()[37..], &[0.0; 3]);
        a.as_mut_slice()[39] = 7.0;
        assert_eq!(a.as_slice()[39], 7.0);
        assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
        // Equality looks at the floats up to the length only.
        let mut b = super::AlignedF32::default();
        b.resize(5);
        b.as_mut_slice().copy_from_slice(&v[..5]);
        a.resize(5);
        assert_eq!(a, b);
        b.as_mut_slice()[4] = -1.0;
        assert_ne!(a, b);
    }

    #[test]
    fn both_builds_agree_bitwise() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i).sqrt()).collect();
        let s = dispatch!(half_sum_avx2, half_sum, &v);
        assert_eq!(s.to_bits(), half_sum(&v).to_bits());
    }
}

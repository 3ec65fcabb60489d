//! The element-wise loops between the convolutions (ReLU both ways, counting a gradient's
//! nonzeros, adding a block of products into a gradient), compiled twice: for the crate's
//! baseline target and for AVX2, chosen at run time. On the baseline target they run 4 lanes
//! wide, and the ReLU backward (three streams) not at all; they are a few percent of a
//! forward+gradient, which is memory-bound work worth doing 8 lanes at a time.
//!
//! Each loop does the same operation per element whichever version runs, so results are the
//! same bits on every CPU.

/// Expands to a function that runs `$body` (an `#[inline(always)]` function of the same
/// arguments) compiled for AVX2 when the CPU has it.
macro_rules! avx2_or_baseline {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $body:ident) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

pub(crate) use avx2_or_baseline;

avx2_or_baseline! {
    /// `out[i] = x[i]` where `x[i] > t`, else 0.
    fn relu_forward(out: &mut [f32], x: &[f32], t: f32) = relu_forward_body
}

avx2_or_baseline! {
    /// `din[i] = dout[i]` where `x[i] > t`, else 0: the gradient through the ReLU whose input
    /// was `x`.
    fn relu_backward(din: &mut [f32], dout: &[f32], x: &[f32], t: f32) = relu_backward_body
}

avx2_or_baseline! {
    /// Number of entries that are not ±0.
    fn count_nonzero(v: &[f32]) -> usize = count_nonzero_body
}

avx2_or_baseline! {
    /// `dst[i] += src[i]`.
    fn add_assign(dst: &mut [f32], src: &[f32]) = add_assign_body
}

#[inline(always)]
fn relu_forward_body(out: &mut [f32], x: &[f32], t: f32) {
    for (d, &s) in out.iter_mut().zip(x) {
        *d = if s > t { s } else { 0.0 };
    }
}

#[inline(always)]
fn relu_backward_body(din: &mut [f32], dout: &[f32], x: &[f32], t: f32) {
    for ((d, &g), &s) in din.iter_mut().zip(dout).zip(x) {
        *d = if s > t { g } else { 0.0 };
    }
}

#[inline(always)]
fn count_nonzero_body(v: &[f32]) -> usize {
    // per-lane u32 counts: exact for slices shorter than 8 · 2^32 entries (a layer's
    // gradient for one sequence is far shorter)
    let mut lanes = [0u32; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            lanes[i] += u32::from(c[i] != 0.0);
        }
    }
    lanes.iter().map(|&c| c as usize).sum::<usize>() + rest.iter().filter(|&&x| x != 0.0).count()
}

#[inline(always)]
fn add_assign_body(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f32> {
        prop_oneof![Just(0.0f32), Just(-0.0), Just(0.5), -2.0f32..2.0]
    }

    proptest! {
        /// Whichever version runs, each loop does what its one-line definition says.
        #[test]
        fn loops_do_what_they_say(
            x in vec(value(), 0..70),
            g in vec(value(), 70),
            t in prop_oneof![Just(0.0f32), -1.0f32..1.0],
        ) {
            let n = x.len();
            let mut out = vec![f32::NAN; n];
            relu_forward(&mut out, &x, t);
            for i in 0..n {
                prop_assert_eq!(out[i].to_bits(), if x[i] > t { x[i] } else { 0.0 }.to_bits());
            }
            relu_backward(&mut out, &g[..n], &x, t);
            for i in 0..n {
                prop_assert_eq!(out[i].to_bits(), if x[i] > t { g[i] } else { 0.0 }.to_bits());
            }
            prop_assert_eq!(count_nonzero(&x), x.iter().filter(|&&v| v != 0.0).count());
            let mut sum = x.clone();
            add_assign(&mut sum, &g[..n]);
            for i in 0..n {
                prop_assert_eq!(sum[i].to_bits(), (x[i] + g[i]).to_bits());
            }
        }
    }
}

//! Distance kernels with explicit SIMD, chosen once at run time by CPU features.
//!
//! Every kernel computes the same sum; they differ only in rounding (lane
//! order, fused multiply-add). The choice is made once per process, so a
//! distance is always computed by the same kernel and stays reproducible.

use std::sync::LazyLock;

/// A kernel over two slices of equal length.
pub(crate) type Kernel = fn(&[f32], &[f32]) -> f32;

/// The kernels used by this process.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    pub(crate) dot: Kernel,
    pub(crate) l2_squared: Kernel,
}

/// The fastest kernels this CPU supports.
pub(crate) static KERNELS: LazyLock<Kernels> = LazyLock::new(detect);

fn detect() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Kernels { dot: x86::dot_avx512, l2_squared: x86::l2_squared_avx512 };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Kernels { dot: x86::dot_avx2, l2_squared: x86::l2_squared_avx2 };
        }
    }
    Kernels { dot: crate::distance::scalar::dot, l2_squared: crate::distance::scalar::l2_squared }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    /// Dot product, AVX-512: two accumulators of 16 lanes, masked load for the tail.
    pub(crate) fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only installed by `detect` after `avx512f` was detected.
        unsafe { dot_avx512_impl(a, b) }
    }

    /// Squared L2, AVX-512.
    pub(crate) fn l2_squared_avx512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only installed by `detect` after `avx512f` was detected.
        unsafe { l2_squared_avx512_impl(a, b) }
    }

    /// Dot product, AVX2 + FMA.
    pub(crate) fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only installed by `detect` after `avx2` and `fma` were detected.
        unsafe { dot_avx2_impl(a, b) }
    }

    /// Squared L2, AVX2 + FMA.
    pub(crate) fn l2_squared_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only installed by `detect` after `avx2` and `fma` were detected.
        unsafe { l2_squared_avx2_impl(a, b) }
    }

    /// Sums `step(x, y, acc)` over 16-lane chunks of `a` and `b` (the tail read with
    /// a mask, as zeros), in two accumulators. Inlined into the `avx512f` callers,
    /// so the intrinsics compile with that feature.
    #[inline(always)]
    unsafe fn fold_avx512(a: &[f32], b: &[f32], step: impl Fn(__m512, __m512, __m512) -> __m512) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // SAFETY (all loads): every offset read is below `n`, the length of both slices;
        // the caller runs on a CPU with avx512f.
        unsafe {
            let mut acc0 = _mm512_setzero_ps();
            let mut acc1 = _mm512_setzero_ps();
            let mut i = 0;
            while i + 32 <= n {
                acc0 = step(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
                acc1 = step(_mm512_loadu_ps(pa.add(i + 16)), _mm512_loadu_ps(pb.add(i + 16)), acc1);
                i += 32;
            }
            if i + 16 <= n {
                acc0 = step(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
                i += 16;
            }
            if i < n {
                let mask: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                acc1 = step(_mm512_maskz_loadu_ps(mask, pa.add(i)), _mm512_maskz_loadu_ps(mask, pb.add(i)), acc1);
            }
            _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_avx512_impl(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: this function runs only where avx512f is available.
        unsafe { fold_avx512(a, b, |x, y, acc| _mm512_fmadd_ps(x, y, acc)) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn l2_squared_avx512_impl(a: &[f32], b: &[f32]) -> f32 {
        let step = |x, y, acc| {
            let d = _mm512_sub_ps(x, y);
            _mm512_fmadd_ps(d, d, acc)
        };
        // SAFETY: this function runs only where avx512f is available.
        unsafe { fold_avx512(a, b, step) }
    }

    /// Sums `step(x, y, acc)` over 8-lane chunks of `a` and `b` in two accumulators,
    /// and `scalar(x, y)` over the tail. Inlined into the `avx2,fma` callers.
    #[inline(always)]
    unsafe fn fold_avx2(
        a: &[f32],
        b: &[f32],
        step: impl Fn(__m256, __m256, __m256) -> __m256,
        scalar: impl Fn(f32, f32) -> f32,
    ) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // SAFETY (all loads): every offset read is below `n`, the length of both slices;
        // the caller runs on a CPU with avx2 and fma.
        let (acc, mut i) = unsafe {
            let mut acc0 = _mm256_setzero_ps();
            let mut acc1 = _mm256_setzero_ps();
            let mut i = 0;
            while i + 16 <= n {
                acc0 = step(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                acc1 = step(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)), acc1);
                i += 16;
            }
            if i + 8 <= n {
                acc0 = step(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                i += 8;
            }
            (_mm256_add_ps(acc0, acc1), i)
        };
        // SAFETY: as above.
        let mut sum = unsafe { horizontal_sum(acc) };
        while i < n {
            sum += scalar(a[i], b[i]);
            i += 1;
        }
        sum
    }

    /// The sum of the eight lanes.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn horizontal_sum(v: __m256) -> f32 {
        let pair = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let quad = _mm_add_ps(pair, _mm_movehl_ps(pair, pair));
        _mm_cvtss_f32(_mm_add_ss(quad, _mm_shuffle_ps::<0b01>(quad, quad)))
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2_impl(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: this function runs only where avx2 and fma are available.
        unsafe { fold_avx2(a, b, |x, y, acc| _mm256_fmadd_ps(x, y, acc), |x, y| x * y) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2_squared_avx2_impl(a: &[f32], b: &[f32]) -> f32 {
        let step = |x, y, acc| {
            let d = _mm256_sub_ps(x, y);
            _mm256_fmadd_ps(d, d, acc)
        };
        // SAFETY: this function runs only where avx2 and fma are available.
        unsafe { fold_avx2(a, b, step, |x, y| (x - y) * (x - y)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::scalar;
    use proptest::prelude::*;

    /// Every kernel this CPU can run, with its name.
    fn available() -> Vec<(&'static str, Kernels)> {
        let mut out = vec![("scalar", Kernels { dot: scalar::dot, l2_squared: scalar::l2_squared })];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                out.push(("avx512", Kernels { dot: x86::dot_avx512, l2_squared: x86::l2_squared_avx512 }));
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                out.push(("avx2", Kernels { dot: x86::dot_avx2, l2_squared: x86::l2_squared_avx2 }));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn every_kernel_agrees_with_the_scalar_one(
            pair in (0usize..200).prop_flat_map(|d| (
                prop::collection::vec(-100.0f32..100.0, d),
                prop::collection::vec(-100.0f32..100.0, d),
            )),
        ) {
            let (a, b) = pair;
            let magnitude: f32 = a.iter().zip(&b).map(|(x, y)| x.abs() * y.abs() + (x - y) * (x - y)).sum();
            for (name, kernels) in available() {
                let dot = (kernels.dot)(&a, &b);
                let l2 = (kernels.l2_squared)(&a, &b);
                let tolerance = 1e-4 * (1.0 + magnitude);
                prop_assert!((dot - scalar::dot(&a, &b)).abs() <= tolerance, "{} dot {}", name, dot);
                prop_assert!((l2 - scalar::l2_squared(&a, &b)).abs() <= tolerance, "{} l2 {}", name, l2);
            }
        }
    }

    #[test]
    fn exact_on_small_integers_for_every_length() {
        for n in 0..100 {
            let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 5) as f32 - 2.0).collect();
            for (name, kernels) in available() {
                assert_eq!((kernels.dot)(&a, &b), scalar::dot(&a, &b), "{name} dot, n={n}");
                assert_eq!((kernels.l2_squared)(&a, &b), scalar::l2_squared(&a, &b), "{name} l2, n={n}");
            }
        }
    }
}

//! Inner products over compact codes: float16 bits and 8-bit codes, against
//! a float32 query or against each other. Chosen once per process by CPU
//! features (AVX-512, else AVX2 + FMA + F16C, else scalar), like the float32
//! kernels in `simd.rs`.

use std::sync::LazyLock;

/// Unsigned 8-bit codes · a signed 8-bit query.
pub(crate) type CodesTimesQuery = fn(&[u8], &[i8]) -> i32;

/// The kernels this process uses.
#[derive(Clone, Copy)]
pub(crate) struct CodeKernels {
    /// float32 · float16.
    pub(crate) dot_f16: fn(&[f32], &[u16]) -> f32,
    /// float16 · float16.
    pub(crate) dot_f16_f16: fn(&[u16], &[u16]) -> f32,
    /// float32 · unsigned 8-bit codes.
    pub(crate) dot_u8: fn(&[f32], &[u8]) -> f32,
    /// Unsigned 8-bit codes · unsigned 8-bit codes, exactly.
    pub(crate) dot_u8_u8: fn(&[u8], &[u8]) -> u32,
    /// float32 · the 12-bit values `16 * code + residual` of 8-bit codes and
    /// their packed 4-bit residuals (two per byte, low nibble first).
    pub(crate) dot_refined: fn(&[f32], &[u8], &[u8]) -> f32,
    /// Unsigned 8-bit codes · a signed 8-bit query, exactly; `None` where the
    /// CPU has no instruction that makes it faster than `dot_u8`.
    pub(crate) dot_u8_i8: Option<CodesTimesQuery>,
}

/// The fastest kernels this CPU supports.
pub(crate) static CODE_KERNELS: LazyLock<CodeKernels> = LazyLock::new(detect);

pub(crate) const SCALAR: CodeKernels = CodeKernels {
    dot_f16: scalar::dot_f16,
    dot_f16_f16: scalar::dot_f16_f16,
    dot_u8: scalar::dot_u8,
    dot_u8_u8: scalar::dot_u8_u8,
    dot_refined: scalar::dot_refined,
    dot_u8_i8: None,
};

fn detect() -> CodeKernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") {
            if std::arch::is_x86_feature_detected!("avx512vnni") {
                return CodeKernels { dot_u8_i8: Some(x86::dot_u8_i8_vnni), ..x86::AVX512 };
            }
            return x86::AVX512;
        }
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            return x86::AVX2;
        }
    }
    SCALAR
}

/// The portable kernels: the fallback, and the reference for the SIMD ones.
pub(crate) mod scalar {
    use half::f16;

    use crate::distance::scalar::fold;

    pub(crate) fn dot_f16(q: &[f32], x: &[u16]) -> f32 {
        fold(q, x, |a, b| a * f16::from_bits(b).to_f32())
    }

    pub(crate) fn dot_f16_f16(a: &[u16], b: &[u16]) -> f32 {
        fold(a, b, |x, y| f16::from_bits(x).to_f32() * f16::from_bits(y).to_f32())
    }

    pub(crate) fn dot_u8(q: &[f32], c: &[u8]) -> f32 {
        fold(q, c, |a, b| a * f32::from(b))
    }

    pub(crate) fn dot_u8_u8(a: &[u8], b: &[u8]) -> u32 {
        a.iter().zip(b).map(|(&x, &y)| u32::from(x) * u32::from(y)).sum()
    }

    pub(crate) fn dot_u8_i8(a: &[u8], b: &[i8]) -> i32 {
        a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
    }

    pub(crate) fn dot_refined(q: &[f32], codes: &[u8], residuals: &[u8]) -> f32 {
        let n = q.len().min(codes.len()).min(2 * residuals.len());
        (0..n)
            .map(|i| q[i] * f32::from(16 * u16::from(codes[i]) + u16::from(crate::codes::residual_at(residuals, i))))
            .sum()
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use super::CodeKernels;
    use crate::simd::x86::horizontal_sum;

    /// AVX-512 F + BW.
    pub(crate) const AVX512: CodeKernels =
        CodeKernels { dot_f16, dot_f16_f16, dot_u8, dot_u8_u8, dot_refined, dot_u8_i8: None };

    /// AVX2 + FMA + F16C, for CPUs without AVX-512.
    pub(crate) const AVX2: CodeKernels = CodeKernels {
        dot_f16: dot_f16_avx2,
        dot_f16_f16: dot_f16_f16_avx2,
        dot_u8: dot_u8_avx2,
        dot_u8_u8: dot_u8_u8_avx2,
        dot_refined: dot_refined_avx2,
        dot_u8_i8: None,
    };

    fn dot_f16_avx2(q: &[f32], x: &[u16]) -> f32 {
        // SAFETY: installed by `detect` only after avx2, fma and f16c were detected.
        unsafe { dot_f16_avx2_impl(q, x) }
    }

    fn dot_f16_f16_avx2(a: &[u16], b: &[u16]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_f16_f16_avx2_impl(a, b) }
    }

    fn dot_u8_avx2(q: &[f32], c: &[u8]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_u8_avx2_impl(q, c) }
    }

    fn dot_u8_u8_avx2(a: &[u8], b: &[u8]) -> u32 {
        // SAFETY: as above.
        unsafe { dot_u8_u8_avx2_impl(a, b) }
    }

    fn dot_refined_avx2(q: &[f32], codes: &[u8], residuals: &[u8]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_refined_avx2_impl(q, codes, residuals) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_refined_avx2_impl(q: &[f32], codes: &[u8], residuals: &[u8]) -> f32 {
        let n = q.len().min(codes.len()).min(2 * residuals.len());
        let (pq, pc, pr) = (q.as_ptr(), codes.as_ptr(), residuals.as_ptr());
        let nibble = _mm_set1_epi8(0x0f);
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n` (codes, query) or `n / 2`
        // (residuals); `_mm_loadl_epi64` reads 8 bytes, the residual read 4.
        unsafe {
            while i + 8 <= n {
                let packed = _mm_cvtsi32_si128(pr.add(i / 2).cast::<i32>().read_unaligned());
                let low = _mm_and_si128(packed, nibble);
                let high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
                let fine = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(low, high));
                let coarse = _mm256_cvtepu8_epi32(_mm_loadl_epi64(pc.add(i).cast()));
                let value = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_slli_epi32(coarse, 4), fine));
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), value, acc);
                i += 8;
            }
        }
        horizontal_sum(acc) + super::scalar::dot_refined(&q[i..n], &codes[i..n], &residuals[i / 2..])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_f16_avx2_impl(q: &[f32], x: &[u16]) -> f32 {
        let n = q.len().min(x.len());
        let (pq, px) = (q.as_ptr(), x.as_ptr());
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 8 <= n {
                let wide = _mm256_cvtph_ps(_mm_loadu_si128(px.add(i).cast()));
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), wide, acc);
                i += 8;
            }
        }
        horizontal_sum(acc) + super::scalar::dot_f16(&q[i..n], &x[i..n])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_f16_f16_avx2_impl(a: &[u16], b: &[u16]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 8 <= n {
                let x = _mm256_cvtph_ps(_mm_loadu_si128(pa.add(i).cast()));
                let y = _mm256_cvtph_ps(_mm_loadu_si128(pb.add(i).cast()));
                acc = _mm256_fmadd_ps(x, y, acc);
                i += 8;
            }
        }
        horizontal_sum(acc) + super::scalar::dot_f16_f16(&a[i..n], &b[i..n])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_u8_avx2_impl(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len().min(c.len());
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices;
        // `_mm_loadl_epi64` reads 8 bytes.
        unsafe {
            while i + 8 <= n {
                let codes = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(pc.add(i).cast())));
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), codes, acc);
                i += 8;
            }
        }
        horizontal_sum(acc) + super::scalar::dot_u8(&q[i..n], &c[i..n])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_u8_u8_avx2_impl(a: &[u8], b: &[u8]) -> u32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 16 <= n {
                let x = _mm256_cvtepu8_epi16(_mm_loadu_si128(pa.add(i).cast()));
                let y = _mm256_cvtepu8_epi16(_mm_loadu_si128(pb.add(i).cast()));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
                i += 16;
            }
        }
        let mut lanes = [0u32; 8];
        // SAFETY: `lanes` holds exactly 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
        lanes.iter().sum::<u32>() + super::scalar::dot_u8_u8(&a[i..n], &b[i..n])
    }

    /// Codes · signed query, AVX-512 VNNI: 64 products per instruction.
    pub(crate) fn dot_u8_i8_vnni(a: &[u8], b: &[i8]) -> i32 {
        // SAFETY: installed by `detect` only after avx512f, avx512bw and avx512vnni were detected.
        unsafe { dot_u8_i8_impl(a, b) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn dot_u8_i8_impl(a: &[u8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm512_setzero_si512();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 64 <= n {
                let x = _mm512_loadu_si512(pa.add(i).cast());
                let y = _mm512_loadu_si512(pb.add(i).cast());
                acc = _mm512_dpbusd_epi32(acc, x, y);
                i += 64;
            }
        }
        _mm512_reduce_add_epi32(acc) + super::scalar::dot_u8_i8(&a[i..n], &b[i..n])
    }

    fn dot_f16(q: &[f32], x: &[u16]) -> f32 {
        // SAFETY: installed by `detect` only after avx512f and avx512bw were detected.
        unsafe { dot_f16_impl(q, x) }
    }

    fn dot_f16_f16(a: &[u16], b: &[u16]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_f16_f16_impl(a, b) }
    }

    fn dot_u8(q: &[f32], c: &[u8]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_u8_impl(q, c) }
    }

    fn dot_u8_u8(a: &[u8], b: &[u8]) -> u32 {
        // SAFETY: as above.
        unsafe { dot_u8_u8_impl(a, b) }
    }

    fn dot_refined(q: &[f32], codes: &[u8], residuals: &[u8]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_refined_impl(q, codes, residuals) }
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn dot_refined_impl(q: &[f32], codes: &[u8], residuals: &[u8]) -> f32 {
        let n = q.len().min(codes.len()).min(2 * residuals.len());
        let (pq, pc, pr) = (q.as_ptr(), codes.as_ptr(), residuals.as_ptr());
        let nibble = _mm_set1_epi8(0x0f);
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n` (codes, query) or `n / 2`
        // (residuals); `_mm_loadl_epi64` reads 8 bytes.
        unsafe {
            while i + 16 <= n {
                let packed = _mm_loadl_epi64(pr.add(i / 2).cast());
                let low = _mm_and_si128(packed, nibble);
                let high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
                let fine = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(low, high));
                let coarse = _mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i).cast()));
                let value = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(coarse, 4), fine));
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), value, acc);
                i += 16;
            }
        }
        _mm512_reduce_add_ps(acc) + super::scalar::dot_refined(&q[i..n], &codes[i..n], &residuals[i / 2..])
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn dot_f16_impl(q: &[f32], x: &[u16]) -> f32 {
        let n = q.len().min(x.len());
        let (pq, px) = (q.as_ptr(), x.as_ptr());
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 16 <= n {
                let wide = _mm512_cvtph_ps(_mm256_loadu_si256(px.add(i).cast()));
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), wide, acc);
                i += 16;
            }
        }
        let tail = super::scalar::dot_f16(&q[i..n], &x[i..n]);
        _mm512_reduce_add_ps(acc) + tail
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn dot_f16_f16_impl(a: &[u16], b: &[u16]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 16 <= n {
                let x = _mm512_cvtph_ps(_mm256_loadu_si256(pa.add(i).cast()));
                let y = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i).cast()));
                acc = _mm512_fmadd_ps(x, y, acc);
                i += 16;
            }
        }
        let tail = super::scalar::dot_f16_f16(&a[i..n], &b[i..n]);
        _mm512_reduce_add_ps(acc) + tail
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn dot_u8_impl(q: &[f32], c: &[u8]) -> f32 {
        let n = q.len().min(c.len());
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 32 <= n {
                let c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i).cast())));
                let c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i + 16).cast())));
                acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), c0, acc0);
                acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i + 16)), c1, acc1);
                i += 32;
            }
            if i + 16 <= n {
                let c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(pc.add(i).cast())));
                acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), c0, acc0);
                i += 16;
            }
        }
        let tail = super::scalar::dot_u8(&q[i..n], &c[i..n]);
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + tail
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn dot_u8_u8_impl(a: &[u8], b: &[u8]) -> u32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm512_setzero_si512();
        let mut i = 0;
        // SAFETY (all loads): every offset read is below `n`, the length of both slices.
        unsafe {
            while i + 32 <= n {
                let x = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pa.add(i).cast()));
                let y = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pb.add(i).cast()));
                acc = _mm512_add_epi32(acc, _mm512_madd_epi16(x, y));
                i += 32;
            }
        }
        // Each lane holds at most n/32 sums of two products below 2^16: no overflow below d = 2^20.
        _mm512_reduce_add_epi32(acc) as u32 + super::scalar::dot_u8_u8(&a[i..n], &b[i..n])
    }
}

#[cfg(test)]
mod tests {
    use half::f16;
    use proptest::prelude::*;

    use super::*;

    fn available() -> Vec<(&'static str, CodeKernels)> {
        let mut out = vec![("scalar", SCALAR)];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") {
            out.push(("avx512", x86::AVX512));
            if std::arch::is_x86_feature_detected!("avx512vnni") {
                out.push(("avx512vnni", CodeKernels { dot_u8_i8: Some(x86::dot_u8_i8_vnni), ..x86::AVX512 }));
            }
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            out.push(("avx2", x86::AVX2));
        }
        out
    }

    proptest! {
        #[test]
        fn every_kernel_agrees_with_plain_arithmetic(
            data in (0usize..130).prop_flat_map(|d| (
                prop::collection::vec(-10.0f32..10.0, d),
                prop::collection::vec(-10.0f32..10.0, d),
                prop::collection::vec(any::<u8>(), d),
                prop::collection::vec(any::<u8>(), d),
            )),
        ) {
            let (q, x, c, e) = data;
            let halves: Vec<u16> = x.iter().map(|v| f16::from_f32(*v).to_bits()).collect();
            let widened: Vec<f64> = halves.iter().map(|h| f64::from(f16::from_bits(*h).to_f32())).collect();
            let want_f16: f64 = q.iter().zip(&widened).map(|(a, b)| f64::from(*a) * b).sum();
            let want_f16_f16: f64 = widened.iter().map(|b| b * b).sum();
            let want_u8: f64 = q.iter().zip(&c).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            let want_u8_u8: u32 = c.iter().zip(&e).map(|(a, b)| u32::from(*a) * u32::from(*b)).sum();
            for (name, kernels) in available() {
                let close = |got: f32, want: f64, scale: f64| (f64::from(got) - want).abs() <= 1e-4 * (1.0 + scale);
                prop_assert!(close((kernels.dot_f16)(&q, &halves), want_f16, 100.0 * q.len() as f64), "{}", name);
                prop_assert!(close((kernels.dot_f16_f16)(&halves, &halves), want_f16_f16, want_f16_f16), "{}", name);
                prop_assert!(close((kernels.dot_u8)(&q, &c), want_u8, 2550.0 * q.len() as f64), "{}", name);
                prop_assert_eq!((kernels.dot_u8_u8)(&c, &e), want_u8_u8, "{}", name);
                let packed: Vec<u8> = e.chunks(2).map(|p| (p[0] & 0x0f) | (p.get(1).map_or(0, |h| h & 0x0f) << 4)).collect();
                let want_refined: f64 = q
                    .iter()
                    .zip(&c)
                    .zip(&e)
                    .map(|((a, b), r)| f64::from(*a) * (16.0 * f64::from(*b) + f64::from(r & 0x0f)))
                    .sum();
                let got_refined = (kernels.dot_refined)(&q, &c, &packed);
                prop_assert!(close(got_refined, want_refined, 40950.0 * q.len() as f64), "{}", name);
                let signed: Vec<i8> = e.iter().map(|&v| (v as i8).max(-127)).collect();
                let want_u8_i8: i32 = c.iter().zip(&signed).map(|(a, b)| i32::from(*a) * i32::from(*b)).sum();
                let dot_u8_i8 = kernels.dot_u8_i8.unwrap_or(scalar::dot_u8_i8);
                prop_assert_eq!(dot_u8_i8(&c, &signed), want_u8_i8, "{}", name);
            }
        }
    }
}

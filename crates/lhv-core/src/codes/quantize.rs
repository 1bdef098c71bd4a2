//! Quantizing many float32 rows to 8-bit codes at once (a snapshot of
//! float32 rows loaded, whose graph walks codes): the same codes as
//! [`quantize_int8`](super::quantize_int8) makes one row at a time, with
//! the widest vector unit the CPU has. Every step (minimum, maximum, a
//! subtraction, a division, rounding) is exact or correctly rounded per
//! component, so the codes do not depend on the vector width.

use std::sync::LazyLock;

/// One row's codes into `out`, and its range (`lo`, `step`).
type Quantizer = fn(&[f32], &mut [u8]) -> [f32; 2];

/// The quantizer for this CPU, chosen once.
static QUANTIZER: LazyLock<Quantizer> = LazyLock::new(detect);

fn detect() -> Quantizer {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") {
            return x86::quantize_avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return x86::quantize_avx2;
        }
    }
    quantize_portable
}

/// The 8-bit codes of a finite row into `out` (one per component), and its
/// range (`lo`, `step`): exactly what [`quantize_int8`](super::quantize_int8)
/// makes, without the residuals and without allocating.
pub(crate) fn quantize_codes_into(v: &[f32], out: &mut [u8]) -> [f32; 2] {
    (*QUANTIZER)(v, out)
}

fn quantize_portable(v: &[f32], out: &mut [u8]) -> [f32; 2] {
    quantize_body(v, out)
}

/// The quantizer's body, inlined into each variant so that the compiler
/// vectorizes it for that variant's instruction set.
#[inline(always)]
fn quantize_body(v: &[f32], out: &mut [u8]) -> [f32; 2] {
    let [lo, hi] = row_range(v);
    if hi <= lo {
        out.fill(0);
        return [lo, 0.0];
    }
    let step = (hi - lo) / 255.0;
    for (code, &x) in out.iter_mut().zip(v) {
        // `round_code`, written so that it vectorizes (the saturating `as`
        // does not: it is done one lane at a time). `max` returns 0 for a
        // NaN, so the value is a finite one in 0..=255.
        #[expect(clippy::manual_clamp, reason = "clamp keeps a NaN, which the unchecked cast below must never see")]
        let scaled = ((x - lo) / step + 0.5).max(0.0).min(255.0);
        // SAFETY: `scaled` is finite and in 0..=255, so it truncates to an i32 in range.
        *code = unsafe { scaled.to_int_unchecked::<i32>() } as u8;
    }
    [lo, step]
}

/// Lanes of the running minimum and maximum in [`row_range`].
const RANGE_LANES: usize = 16;

/// The smallest and largest component of a row, `[0, 0]` for an empty one.
/// Kept in independent lanes, so that the compiler vectorizes it (a single
/// running `f32::min` is a chain of dependent scalar steps); the minimum
/// and maximum of finite values do not depend on the order they are taken.
#[inline(always)]
pub(crate) fn row_range(v: &[f32]) -> [f32; 2] {
    let mut lows = [f32::INFINITY; RANGE_LANES];
    let mut highs = [f32::NEG_INFINITY; RANGE_LANES];
    let mut chunks = v.chunks_exact(RANGE_LANES);
    for chunk in &mut chunks {
        for lane in 0..RANGE_LANES {
            // Comparisons rather than `f32::min`, whose NaN rule the vector
            // units do not have (the rows are finite).
            let x = chunk[lane];
            lows[lane] = if x < lows[lane] { x } else { lows[lane] };
            highs[lane] = if x > highs[lane] { x } else { highs[lane] };
        }
    }
    let lo = chunks.remainder().iter().copied().chain(lows).fold(f32::INFINITY, f32::min);
    let hi = chunks.remainder().iter().copied().chain(highs).fold(f32::NEG_INFINITY, f32::max);
    if lo.is_finite() { [lo, hi] } else { [0.0, 0.0] }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    pub(super) fn quantize_avx512(v: &[f32], out: &mut [u8]) -> [f32; 2] {
        // SAFETY: installed by `detect` only after avx512f and avx512bw were detected.
        unsafe { quantize_avx512_impl(v, out) }
    }

    pub(super) fn quantize_avx2(v: &[f32], out: &mut [u8]) -> [f32; 2] {
        // SAFETY: installed by `detect` only after avx2 was detected.
        unsafe { quantize_avx2_impl(v, out) }
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    fn quantize_avx512_impl(v: &[f32], out: &mut [u8]) -> [f32; 2] {
        super::quantize_body(v, out)
    }

    #[target_feature(enable = "avx2")]
    fn quantize_avx2_impl(v: &[f32], out: &mut [u8]) -> [f32; 2] {
        super::quantize_body(v, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant this CPU runs gives the codes and range of the one-row quantizer.
    #[test]
    fn variants_agree_with_the_one_row_quantizer() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32) * 2.0 - 1.0
        };
        let mut variants: Vec<Quantizer> = vec![quantize_portable, *QUANTIZER];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            variants.push(x86::quantize_avx2);
        }
        for dim in [1, 3, 15, 16, 17, 100, 384, 1000] {
            for row in 0..20 {
                let scale = [1e-3, 1.0, 1e3][row % 3];
                let mut v: Vec<f32> = (0..dim).map(|_| next() * scale).collect();
                if row == 7 {
                    v.fill(0.25);
                }
                let expected = super::super::quantize_int8(&v);
                for variant in &variants {
                    let mut codes = vec![0u8; dim];
                    let [lo, step] = variant(&v, &mut codes);
                    assert_eq!(codes, expected.codes, "dim {dim} row {row}");
                    assert_eq!((lo.to_bits(), step.to_bits()), (expected.lo.to_bits(), expected.step.to_bits()));
                }
            }
        }
    }
}

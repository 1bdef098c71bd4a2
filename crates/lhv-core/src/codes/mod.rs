//! Compact codes for stored vectors ([`Storage`](crate::Storage)): float16,
//! and 8-bit scalar quantization with a 4-bit residual.
//!
//! An 8-bit row keeps its own range: component `i` is
//! `lo + step * (code[i] + (residual[i] + 0.5) / 16 - 0.5)`, with `step =
//! (max - min) / 255`. The graph walk reads only the 8-bit codes (a quarter
//! of the float32 bytes); the residual refines the distances of the
//! candidates a search returns ("rescoring"), to 12 bits per component.

pub(crate) mod kernels;
mod quantize;

pub(crate) use quantize::quantize_codes_into;
use quantize::row_range;

use std::borrow::Cow;

use half::f16;

use crate::params::Storage;

/// One row quantized to 8 bits plus a 4-bit residual.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Int8Row {
    pub(crate) codes: Vec<u8>,
    /// Two residuals per byte: component `2j` in the low nibble, `2j + 1` in the high one.
    pub(crate) residuals: Vec<u8>,
    pub(crate) lo: f32,
    pub(crate) step: f32,
}

/// Bytes of packed residuals for `dim` components.
pub(crate) fn residual_bytes(dim: usize) -> usize {
    dim.div_ceil(2)
}

/// Quantizes a finite row.
/// The codes are those [`quantize_codes_into`] makes, which must stay so.
pub(crate) fn quantize_int8(v: &[f32]) -> Int8Row {
    let [lo, hi] = row_range(v);
    let mut residuals = vec![0u8; residual_bytes(v.len())];
    if hi <= lo {
        // A constant row: a zero step reproduces it exactly.
        return Int8Row { codes: vec![0; v.len()], residuals, lo, step: 0.0 };
    }
    let step = (hi - lo) / 255.0;
    let mut codes = Vec::with_capacity(v.len());
    for (i, &x) in v.iter().enumerate() {
        let scaled = (x - lo) / step;
        let code = f32::from(round_code(scaled));
        let fraction = (scaled - code + 0.5).clamp(0.0, 1.0 - f32::EPSILON);
        let residual = ((fraction * 16.0) as u8).min(15);
        codes.push(code as u8);
        residuals[i / 2] |= residual << (4 * (i % 2));
    }
    Int8Row { codes, residuals, lo, step }
}

/// The sum of a row's codes, as the quantized kernels use it. Added up as
/// integers: exactly the sum in any order, the same for a row pushed and
/// for one loaded, and a quarter of the work of a chain of float additions.
pub(crate) fn code_sum(codes: &[u8]) -> f32 {
    codes.iter().map(|&c| u32::from(c)).sum::<u32>() as f32
}

/// The nearest code to `scaled` (in `0..=255` for a component of the row,
/// halves up). A truncating cast rather than `f32::round`, which is a
/// library call per component on x86-64: quantizing a million rows of 384
/// took 40 % longer with it.
#[inline]
fn round_code(scaled: f32) -> u8 {
    // `as` saturates: below 0 gives 0, above 255 gives 255.
    (scaled + 0.5) as u8
}

/// The 4-bit residual of component `i`.
#[inline]
pub(crate) fn residual_at(residuals: &[u8], i: usize) -> u8 {
    (residuals[i / 2] >> (4 * (i % 2))) & 0x0f
}

/// The row as the graph walk sees it (codes only).
pub(crate) fn coarse_int8(codes: &[u8], lo: f32, step: f32) -> impl Iterator<Item = f32> + '_ {
    codes.iter().map(move |&c| lo + step * f32::from(c))
}

/// The row as rescoring sees it (codes and residuals).
pub(crate) fn refined_int8(codes: &[u8], residuals: &[u8], lo: f32, step: f32) -> Vec<f32> {
    codes
        .iter()
        .enumerate()
        .map(|(i, &c)| lo + step * (f32::from(c) + (f32::from(residual_at(residuals, i)) + 0.5) / 16.0 - 0.5))
        .collect()
}

/// `v` as `storage` keeps it, read back as float32: what distances to it and
/// `get` see. Components beyond the storage's range come back infinite.
pub(crate) fn as_stored(storage: Storage, v: &[f32]) -> Cow<'_, [f32]> {
    match storage {
        Storage::F32 => Cow::Borrowed(v),
        Storage::F16 => Cow::Owned(from_f16(&to_f16(v))),
        Storage::Int8 => {
            let row = quantize_int8(v);
            Cow::Owned(refined_int8(&row.codes, &row.residuals, row.lo, row.step))
        }
    }
}

/// The largest magnitude a component can have in `storage`.
pub(crate) fn largest_component(storage: Storage) -> f32 {
    match storage {
        Storage::F32 | Storage::Int8 => f32::MAX,
        Storage::F16 => f16::MAX.to_f32(),
    }
}

/// The float16 bits of each component (rounded to nearest).
pub(crate) fn to_f16(v: &[f32]) -> Vec<u16> {
    v.iter().map(|&x| f16::from_f32(x).to_bits()).collect()
}

/// The float32 values of float16 bits.
pub(crate) fn from_f16(bits: &[u16]) -> Vec<f32> {
    bits.iter().map(|&b| f16::from_bits(b).to_f32()).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn int8_rows_reconstruct_within_their_step(v in prop::collection::vec(-50.0f32..50.0, 1..70)) {
            let row = quantize_int8(&v);
            let coarse: Vec<f32> = coarse_int8(&row.codes, row.lo, row.step).collect();
            let refined = refined_int8(&row.codes, &row.residuals, row.lo, row.step);
            for ((x, c), r) in v.iter().zip(&coarse).zip(&refined) {
                prop_assert!((x - c).abs() <= row.step * 0.5 + 1e-4, "{} vs coarse {}", x, c);
                prop_assert!((x - r).abs() <= row.step / 32.0 + 1e-4, "{} vs refined {}", x, r);
            }
        }
    }

    #[test]
    fn constant_and_f16_rows_round_trip() {
        let row = quantize_int8(&[2.5; 5]);
        assert_eq!(refined_int8(&row.codes, &row.residuals, row.lo, row.step), vec![2.5; 5]);
        let v = [1.0, -0.5, 0.333_333, 1e-3];
        let back = from_f16(&to_f16(&v));
        assert!(v.iter().zip(&back).all(|(a, b)| (a - b).abs() <= a.abs() / 1024.0));
    }
}

//! Plain arrays as little-endian bytes, and tables of optional strings.
//!
//! A string table is `count` little-endian u32 lengths (`u32::MAX` for an
//! absent entry) followed by the UTF-8 bytes of the present entries, end to
//! end. Decoders check every length against the bytes they were given before
//! allocating anything.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// Marks an absent entry of a string table.
const ABSENT: u32 = u32::MAX;

/// Appends `values` as little-endian f32.
pub(crate) fn put_f32s(out: &mut Vec<u8>, values: &[f32]) {
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytemuck::cast_slice(values));
    } else {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
}

/// `values` as little-endian bytes: on a little-endian machine, the memory
/// they already occupy (no copy).
pub(crate) fn le_bytes<T: LittleEndian>(values: &[T]) -> Cow<'_, [u8]> {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    if cfg!(target_endian = "little") || T::WORD == 1 {
        Cow::Borrowed(bytes)
    } else {
        Cow::Owned(bytes.chunks_exact(T::WORD).flat_map(|word| word.iter().rev().copied()).collect())
    }
}

/// Plain values made of numbers of `WORD` bytes each, stored little-endian.
pub(crate) trait LittleEndian: bytemuck::Pod {
    const WORD: usize;
}

impl LittleEndian for u8 {
    const WORD: usize = 1;
}

impl LittleEndian for u16 {
    const WORD: usize = 2;
}

impl LittleEndian for u32 {
    const WORD: usize = 4;
}

impl LittleEndian for f32 {
    const WORD: usize = 4;
}

impl LittleEndian for [f32; 2] {
    const WORD: usize = 4;
}

/// Little-endian f32 values; `bytes.len()` must be a multiple of 4.
pub(crate) fn get_f32s(bytes: &[u8], what: &str) -> Result<Vec<f32>> {
    let (chunks, rest) = bytes.as_chunks::<4>();
    if !rest.is_empty() {
        return Err(Error::invalid(format!("{what}: {} bytes is not a whole number of f32", bytes.len())));
    }
    if cfg!(target_endian = "little") {
        // One copy from the (possibly unaligned) input into an aligned buffer.
        let mut values = vec![0f32; chunks.len()];
        bytemuck::cast_slice_mut::<f32, u8>(&mut values).copy_from_slice(bytes);
        Ok(values)
    } else {
        Ok(chunks.iter().map(|c| f32::from_le_bytes(*c)).collect())
    }
}

/// Little-endian u32 values; `bytes.len()` must be a multiple of 4.
pub(crate) fn get_u32s(bytes: &[u8], what: &str) -> Result<Vec<u32>> {
    let (chunks, rest) = bytes.as_chunks::<4>();
    if !rest.is_empty() {
        return Err(Error::invalid(format!("{what}: {} bytes is not a whole number of u32", bytes.len())));
    }
    if cfg!(target_endian = "little") {
        let mut values = vec![0u32; chunks.len()];
        bytemuck::cast_slice_mut::<u32, u8>(&mut values).copy_from_slice(bytes);
        Ok(values)
    } else {
        Ok(chunks.iter().map(|c| u32::from_le_bytes(*c)).collect())
    }
}

/// Appends a string table of `entries`. Fails if an entry is 4 GiB or longer.
pub(crate) fn put_strings<'a>(
    out: &mut Vec<u8>,
    entries: impl ExactSizeIterator<Item = Option<&'a str>> + Clone,
) -> Result<()> {
    for entry in entries.clone() {
        let length = match entry {
            None => ABSENT,
            Some(s) => u32::try_from(s.len())
                .ok()
                .filter(|&l| l != ABSENT)
                .ok_or_else(|| Error::invalid(format!("a string of {} bytes is too long to encode", s.len())))?,
        };
        out.extend_from_slice(&length.to_le_bytes());
    }
    for s in entries.flatten() {
        out.extend_from_slice(s.as_bytes());
    }
    Ok(())
}

/// Reads a string table of `count` entries from the start of `bytes`;
/// returns the entries and the bytes after the table.
pub(crate) fn get_strings<'a>(bytes: &'a [u8], count: usize, what: &str) -> Result<(Vec<Option<&'a str>>, &'a [u8])> {
    let header = count
        .checked_mul(4)
        .filter(|&h| h <= bytes.len())
        .ok_or_else(|| Error::invalid(format!("{what}: {count} entries do not fit in {} bytes", bytes.len())))?;
    let (lengths, mut text) = bytes.split_at(header);
    let mut entries = Vec::with_capacity(count);
    for (i, length) in lengths.as_chunks::<4>().0.iter().enumerate() {
        let length = u32::from_le_bytes(*length);
        if length == ABSENT {
            entries.push(None);
            continue;
        }
        let Some((entry, rest)) = text.split_at_checked(length as usize) else {
            return Err(Error::invalid(format!("{what}: entry {i} of {length} bytes runs past the end")));
        };
        let entry =
            std::str::from_utf8(entry).map_err(|e| Error::invalid(format!("{what}: entry {i} is not UTF-8: {e}")))?;
        entries.push(Some(entry));
        text = rest;
    }
    Ok((entries, text))
}

/// Splits `n` bytes off the front of `bytes`.
pub(crate) fn take<'a>(bytes: &'a [u8], n: usize, what: &str) -> Result<(&'a [u8], &'a [u8])> {
    bytes.split_at_checked(n).ok_or_else(|| Error::invalid(format!("{what}: needs {n} bytes, {} left", bytes.len())))
}

/// Reads a little-endian u32 off the front of `bytes`.
pub(crate) fn take_u32<'a>(bytes: &'a [u8], what: &str) -> Result<(u32, &'a [u8])> {
    let (head, rest) = take(bytes, 4, what)?;
    let mut word = [0; 4];
    word.copy_from_slice(head);
    Ok((u32::from_le_bytes(word), rest))
}

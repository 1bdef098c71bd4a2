//! The sections of one named sparse vector (version 5): per slot the length
//! of its vector, then all indices and all values end to end.

use lhv_core::SparseParts;

use super::dense::Sections;
use crate::arrays::{get_f32s, get_u32s, le_bytes};
use crate::error::Result;

const LENGTHS: &str = "sparse_lengths";
const INDICES: &str = "sparse_indices";
const VALUES: &str = "sparse_values";

/// Appends sparse vector `i`'s sections.
pub(crate) fn encode<'a>(i: usize, parts: &'a SparseParts, sections: &mut Sections<'a>) {
    sections.push((format!("{LENGTHS}@{i}"), le_bytes(&parts.lengths)));
    sections.push((format!("{INDICES}@{i}"), le_bytes(&parts.indices)));
    sections.push((format!("{VALUES}@{i}"), le_bytes(&parts.values)));
}

/// Reads sparse vector `i`'s sections back; their consistency (one length
/// per slot, lengths adding up, sorted indices, finite values) is checked
/// by `lhv_core::Index::from_parts`.
pub(crate) fn decode<'s>(i: usize, section: impl Fn(&str) -> Result<&'s [u8]>) -> Result<SparseParts> {
    let lengths = get_u32s(section(&format!("{LENGTHS}@{i}"))?, LENGTHS)?;
    let indices = get_u32s(section(&format!("{INDICES}@{i}"))?, INDICES)?;
    let values = get_f32s(section(&format!("{VALUES}@{i}"))?, VALUES)?;
    Ok(SparseParts { lengths, indices, values })
}

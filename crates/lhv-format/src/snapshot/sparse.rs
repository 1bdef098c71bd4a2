//! The sections of one named sparse vector (version 5): per slot the length
//! of its vector, then all indices and all values end to end.

use lhv_core::SparseParts;

use super::dense::Sections;
use super::source::SectionSource;
use crate::arrays::le_bytes;
use crate::error::Result;

const LENGTHS: &str = "sparse_lengths";
const INDICES: &str = "sparse_indices";
const VALUES: &str = "sparse_values";

/// Appends sparse vector `i`'s sections.
pub(crate) fn encode<'a>(i: usize, parts: &'a SparseParts, sections: &mut Sections<'a>) {
    sections.push((format!("{LENGTHS}@{i}"), vec![le_bytes(&parts.lengths)]));
    sections.push((format!("{INDICES}@{i}"), vec![le_bytes(&parts.indices)]));
    sections.push((format!("{VALUES}@{i}"), vec![le_bytes(&parts.values)]));
}

/// Reads sparse vector `i`'s sections back; their consistency (one length
/// per slot, lengths adding up, sorted indices, finite values) is checked
/// by `lhv_core::Index::from_parts`.
pub(crate) fn decode(i: usize, source: &mut impl SectionSource) -> Result<SparseParts> {
    let lengths = source.u32s(&format!("{LENGTHS}@{i}"))?;
    let indices = source.u32s(&format!("{INDICES}@{i}"))?;
    let values = source.f32s(&format!("{VALUES}@{i}"))?;
    Ok(SparseParts { lengths, indices, values })
}

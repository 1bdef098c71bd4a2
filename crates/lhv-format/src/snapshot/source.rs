//! Where decoding takes a snapshot's sections from: a snapshot held in memory
//! ([`SliceSource`], whose sections are checked and copied out on demand), or
//! sections already read into their final arrays while their CRCs were
//! checked ([`ReadSections`](super::stream::ReadSections)). The decoders of
//! [`dense`](super::dense) and [`sparse`](super::sparse) work on either.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use lhv_core::{Array, Metric, RowNorms};

use crate::arrays::{get_f32s, get_u32s};
use crate::arrival::Arrival;
use crate::envelope::Section;
use crate::error::{Error, Result};

/// The arrays of a snapshot's sections, by name. A section can be taken
/// only once by the owning getters (which may hand over its buffer).
pub(crate) trait SectionSource {
    /// Whether a section of that name is present.
    fn has(&self, name: &str) -> bool;
    /// A section's checked bytes.
    fn bytes(&mut self, name: &str) -> Result<Cow<'_, [u8]>>;
    /// A section as little-endian f32 values.
    fn f32s(&mut self, name: &str) -> Result<Vec<f32>>;
    /// A section as little-endian u32 values.
    fn u32s(&mut self, name: &str) -> Result<Vec<u32>>;
    /// A section as little-endian u16 values.
    fn u16s(&mut self, name: &str) -> Result<Vec<u16>>;
    /// A section as plain bytes, owned.
    fn owned_bytes(&mut self, name: &str) -> Result<Vec<u8>> {
        self.bytes(name).map(Cow::into_owned)
    }
    /// A section's checked bytes to be read in place, when the source can
    /// share them (a mapped snapshot); `None` otherwise. `resident`: whether
    /// the index reads them all the time (codes the walk reads) or seldom
    /// (exact rows kept on disk).
    fn shared(&mut self, _name: &str, _resident: bool) -> Result<Option<Bytes>> {
        Ok(None)
    }
    /// A section of rows as an [`Array`]: read in place when the source
    /// shares it (and it is aligned), else owned from `owned`.
    fn array<T: bytemuck::Pod>(
        &mut self,
        name: &str,
        resident: bool,
        owned: impl FnOnce(&mut Self, &str) -> Result<Vec<T>>,
    ) -> Result<Array<T>>
    where
        Self: Sized,
    {
        match self.shared(name, resident)? {
            Some(bytes) => match Array::shared(bytes) {
                Ok(array) => Ok(array),
                Err(_) => owned(self, name).map(Array::from),
            },
            None => owned(self, name).map(Array::from),
        }
    }
}

/// What the values of a section are, by its name (before any `@i`): the
/// element type its array is read into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Element {
    U8,
    U16,
    U32,
    F32,
}

impl Element {
    /// The element type of section `name`.
    pub(crate) fn of(name: &str) -> Self {
        match name.split_once('@').map_or(name, |(base, _)| base) {
            "vectors" | "ranges" | "sparse_values" => Element::F32,
            "bottom_links" | "upper_links" | "vectorless" | "sparse_lengths" | "sparse_indices" => Element::U32,
            "vectors_f16" => Element::U16,
            _ => Element::U8,
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            Element::U8 => 1,
            Element::U16 => 2,
            Element::U32 | Element::F32 => 4,
        }
    }
}

/// The one section named `name` of an envelope.
pub(crate) fn find<'e>(sections: &'e [Section], name: &str) -> Result<&'e Section> {
    let mut found = sections.iter().filter(|s| s.name == name);
    let entry = found.next().ok_or_else(|| Error::invalid(format!("section {name} is missing")))?;
    if found.next().is_some() {
        return Err(Error::invalid(format!("section {name} appears twice")));
    }
    Ok(entry)
}

/// Sections of a whole snapshot in memory, whose tiling has been checked:
/// each is checked against its CRC when taken, and copied into its array.
pub(crate) struct SliceSource<'a> {
    pub(crate) sections: &'a [Section],
    pub(crate) bytes: &'a [u8],
    /// When the parts of `bytes` are in memory.
    pub(crate) arrival: &'a dyn Arrival,
}

impl<'a> SliceSource<'a> {
    fn checked(&self, name: &str) -> Result<&'a [u8]> {
        let entry = find(self.sections, name)?;
        let end = entry.offset.saturating_add(entry.length);
        let data = self
            .bytes
            .get(entry.offset as usize..end as usize)
            .ok_or_else(|| Error::invalid(format!("section {name} is outside the input")))?;
        if !crate::checksum_matches_arriving(data, entry.offset as usize, self.arrival, entry.crc32c) {
            return Err(Error::Checksum { section: name.to_owned() });
        }
        Ok(data)
    }
}

impl SectionSource for SliceSource<'_> {
    fn has(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s.name == name)
    }

    fn bytes(&mut self, name: &str) -> Result<Cow<'_, [u8]>> {
        self.checked(name).map(Cow::Borrowed)
    }

    fn f32s(&mut self, name: &str) -> Result<Vec<f32>> {
        get_f32s(self.checked(name)?, name)
    }

    fn u32s(&mut self, name: &str) -> Result<Vec<u32>> {
        get_u32s(self.checked(name)?, name)
    }

    fn u16s(&mut self, name: &str) -> Result<Vec<u16>> {
        get_u16s(self.checked(name)?, name)
    }
}

/// A part of a snapshot buffer that an index reads in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPlace {
    /// Its bytes in the buffer.
    pub range: std::ops::Range<usize>,
    /// Whether searches read all of it (the codes the graph walk reads)
    /// rather than a few rows each (the exact rows of a vector kept on disk).
    pub resident: bool,
}

/// A whole snapshot in a buffer the index may keep (a mapped file): rows
/// are read in place, the rest copied, every section checked against its CRC.
pub(crate) struct SharedSource<'a> {
    pub(crate) sections: &'a [Section],
    pub(crate) bytes: Bytes,
    /// When the parts of `bytes` are in memory.
    pub(crate) arrival: &'a dyn Arrival,
    /// The parts of `bytes` handed out to be read in place.
    pub(crate) kept: Vec<InPlace>,
    /// Sections of float32 rows whose norms are checked as their checksum is
    /// taken, chunk by chunk while they arrive ([`check_rows`]).
    pub(crate) row_checks: Vec<RowCheck>,
    /// The row checks handed out unchecked, with their sections' bytes:
    /// [`check_rows`] must pass before the index is used.
    pub(crate) pending: Vec<(usize, Range<usize>)>,
}

/// The float32 rows of one dense vector (its position among the index's
/// dense vectors: 0 for the unnamed one, `1 + i` for named vector `i`).
pub(crate) struct RowCheck {
    pub(crate) section: String,
    pub(crate) space: usize,
    pub(crate) dim: usize,
    pub(crate) metric: Metric,
}

impl SharedSource<'_> {
    fn slice(&self) -> SliceSource<'_> {
        SliceSource { sections: self.sections, bytes: &self.bytes, arrival: self.arrival }
    }
}

impl SectionSource for SharedSource<'_> {
    fn has(&self, name: &str) -> bool {
        self.slice().has(name)
    }

    fn bytes(&mut self, name: &str) -> Result<Cow<'_, [u8]>> {
        let bytes: &[u8] = &self.bytes;
        SliceSource { sections: self.sections, bytes, arrival: self.arrival }.checked(name).map(Cow::Borrowed)
    }

    fn f32s(&mut self, name: &str) -> Result<Vec<f32>> {
        self.slice().f32s(name)
    }

    fn u32s(&mut self, name: &str) -> Result<Vec<u32>> {
        self.slice().u32s(name)
    }

    fn u16s(&mut self, name: &str) -> Result<Vec<u16>> {
        self.slice().u16s(name)
    }

    fn shared(&mut self, name: &str, resident: bool) -> Result<Option<Bytes>> {
        let range = match self.row_checks.iter().position(|check| check.section == name) {
            Some(check) => {
                // Checked later, on a thread of its own (`check_rows`).
                let entry = find(self.sections, name)?;
                let range = entry.offset as usize..entry.offset.saturating_add(entry.length) as usize;
                if range.end > self.bytes.len() {
                    return Err(Error::invalid(format!("section {name} is outside the input")));
                }
                self.pending.push((check, range.clone()));
                range
            }
            None => {
                let data = self.slice().checked(name)?;
                // `checked` returned a sub-slice of `bytes`.
                let start = data.as_ptr() as usize - self.bytes.as_ptr() as usize;
                start..start + data.len()
            }
        };
        self.kept.push(InPlace { range: range.clone(), resident });
        Ok(Some(self.bytes.slice(range)))
    }
}

/// The sections of rows handed out unchecked (`pending`, of `row_checks`)
/// checked against their CRCs, as their bytes arrive, and their rows'
/// norms along; the norms by dense vector (see [`RowCheck`]), `None` where
/// a row failed (it is reported when the index is put together).
pub(crate) fn check_rows(
    bytes: &[u8],
    sections: &[Section],
    row_checks: &[RowCheck],
    pending: &[(usize, Range<usize>)],
    arrival: &dyn Arrival,
) -> Result<Vec<Option<RowNorms>>> {
    let mut checked = Vec::new();
    for (check, range) in pending {
        let RowCheck { section, space, dim, metric } = &row_checks[*check];
        let entry = find(sections, section)?;
        let data = bytes
            .get(range.clone())
            .ok_or_else(|| Error::invalid(format!("section {section} is outside the input")))?;
        let row_bytes = dim * std::mem::size_of::<f32>();
        let norms_of = |start: usize, chunk: &[u8]| -> Option<RowNorms> {
            let rows = bytemuck::try_cast_slice::<u8, f32>(chunk).ok()?;
            RowNorms::check(start / row_bytes.max(1), rows, *dim, *metric).ok()
        };
        let (crc, norms) = crate::arrival::crc32c_then(data, range.start, arrival, row_bytes, &norms_of);
        if !cfg!(fuzzing) && crc != entry.crc32c {
            return Err(Error::Checksum { section: section.clone() });
        }
        if checked.len() <= *space {
            checked.resize(*space + 1, None);
        }
        checked[*space] = norms.into_iter().collect::<Option<Vec<_>>>().and_then(RowNorms::join);
    }
    Ok(checked)
}

/// Little-endian u16 values; `bytes.len()` must be even.
pub(crate) fn get_u16s(bytes: &[u8], what: &str) -> Result<Vec<u16>> {
    let (chunks, rest) = bytes.as_chunks::<2>();
    if !rest.is_empty() {
        return Err(Error::invalid(format!("{what}: {} bytes is not a whole number of u16", bytes.len())));
    }
    Ok(chunks.iter().map(|c| u16::from_le_bytes(*c)).collect())
}

//! The sections of one dense vector: its rows in their storage, its graph
//! and the slots that lack it. The unnamed vector's sections have the plain
//! names of version 1 (`vectors`, `levels`, ...); named vector `i` (in name
//! order) has the same sections with `@i` appended (version 5).

use std::borrow::Cow;

use lhv_core::{Array, DenseParts, GraphParts, Storage, StoredRows, VectorParams};

use super::source::SectionSource;
use crate::arrays::{LittleEndian, le_bytes};
use crate::error::{Error, Result};
use crate::{CODES_SNAPSHOT_VERSION, FORMAT_VERSION, ON_DISK_SNAPSHOT_VERSION, VECTORLESS_SNAPSHOT_VERSION};

pub(crate) const VECTORS: &str = "vectors";
const VECTORS_F16: &str = "vectors_f16";
const CODES: &str = "codes";
const RESIDUALS: &str = "residuals";
const RANGES: &str = "ranges";
const LEVELS: &str = "levels";
const BOTTOM_LINKS: &str = "bottom_links";
const UPPER_LINKS: &str = "upper_links";
const VECTORLESS: &str = "vectorless";

/// Which dense vector: the unnamed one, or named vector `i` in name order.
#[derive(Clone, Copy)]
pub(crate) enum Space {
    Unnamed,
    Named(usize),
}

impl Space {
    /// The name of this vector's section `base`.
    pub(crate) fn section(self, base: &str) -> String {
        match self {
            Space::Unnamed => base.to_owned(),
            Space::Named(i) => format!("{base}@{i}"),
        }
    }
}

/// Sections as (name, pieces of bytes written end to end), in the order
/// they are written: an array read partly in place from a mapped snapshot
/// is written from its two parts without joining them first.
pub(crate) type Sections<'a> = Vec<(String, Vec<Cow<'a, [u8]>>)>;

/// An array's bytes, piece by piece.
fn pieces<T: LittleEndian>(array: &Array<T>) -> Vec<Cow<'_, [u8]>> {
    array.parts().into_iter().map(le_bytes).collect()
}

/// A dense vector's arrays, borrowed (the unnamed vector's lie in [`lhv_core::IndexParts`] itself).
#[derive(Clone, Copy)]
pub(crate) struct DensePartsRef<'a> {
    pub(crate) vectors: &'a StoredRows,
    pub(crate) graph: &'a GraphParts,
    pub(crate) vectorless: &'a [u32],
    pub(crate) full_rows: Option<&'a Array<f32>>,
}

impl<'a> From<&'a DenseParts> for DensePartsRef<'a> {
    fn from(parts: &'a DenseParts) -> Self {
        Self {
            vectors: &parts.vectors,
            graph: &parts.graph,
            vectorless: &parts.vectorless,
            full_rows: parts.full_rows.as_ref(),
        }
    }
}

/// Appends a dense vector's sections; returns the lowest format version that holds them.
pub(crate) fn encode<'a>(space: Space, parts: DensePartsRef<'a>, sections: &mut Sections<'a>) -> u32 {
    let mut push = |base: &str, pieces: Vec<Cow<'a, [u8]>>| sections.push((space.section(base), pieces));
    let mut version = match parts.vectors {
        StoredRows::F32(values) => {
            push(VECTORS, pieces(values));
            FORMAT_VERSION
        }
        StoredRows::F16(bits) => {
            push(VECTORS_F16, pieces(bits));
            CODES_SNAPSHOT_VERSION
        }
        StoredRows::Int8 { codes, residuals, ranges } => {
            push(CODES, pieces(codes));
            push(RESIDUALS, pieces(residuals));
            push(RANGES, pieces(ranges));
            CODES_SNAPSHOT_VERSION
        }
    };
    push(LEVELS, vec![Cow::Borrowed(parts.graph.levels.as_slice())]);
    push(BOTTOM_LINKS, vec![le_bytes(&parts.graph.bottom)]);
    push(UPPER_LINKS, vec![le_bytes(&parts.graph.upper)]);
    // Items without a vector are what version 4 adds: their slots, when there are any.
    if !parts.vectorless.is_empty() {
        push(VECTORLESS, vec![le_bytes(parts.vectorless)]);
        version = VECTORLESS_SNAPSHOT_VERSION;
    }
    // The exact rows of a vector kept on disk are what version 6 adds, in
    // the section plain float32 rows have (the walk's rows are codes then).
    if let Some(full_rows) = parts.full_rows {
        push(VECTORS, pieces(full_rows));
        version = ON_DISK_SNAPSHOT_VERSION;
    }
    version
}

/// What decoding a dense vector needs to know about the whole snapshot.
pub(crate) struct Frame {
    pub(crate) slots: usize,
    pub(crate) format_version: u32,
}

/// Reads a dense vector's sections back, checking their sizes.
pub(crate) fn decode(
    frame: &Frame,
    source: &mut impl SectionSource,
    space: Space,
    params: &VectorParams,
    entry: Option<u32>,
) -> Result<DenseParts> {
    let (slots, dim) = (frame.slots, params.dim);
    let name = |base: &str| space.section(base);
    let components = slots.checked_mul(dim).ok_or_else(|| Error::invalid("slot count too large"))?;
    // `count` elements where `expected` are due.
    let sized = |base: &str, count: usize, expected: Option<usize>| -> Result<()> {
        if Some(count) == expected {
            Ok(())
        } else {
            let name = space.section(base);
            Err(Error::invalid(format!("section {name}: {count} values for {slots} slots of dimension {dim}")))
        }
    };
    // The graph first: the rows, the largest part, may still be arriving
    // (`decode_arriving_snapshot`).
    let levels = source.owned_bytes(&name(LEVELS))?;
    let bottom = source.u32s(&name(BOTTOM_LINKS))?;
    let upper = source.u32s(&name(UPPER_LINKS))?;
    let graph = GraphParts { levels, bottom, upper, entry };
    let vectors = match params.stored_rows_storage() {
        Storage::F32 => {
            let values = source.array(&name(VECTORS), true, |source, name| source.f32s(name))?;
            sized(VECTORS, values.len(), Some(components))?;
            StoredRows::F32(values)
        }
        Storage::F16 => {
            let bits = source.array(&name(VECTORS_F16), true, |source, name| source.u16s(name))?;
            sized(VECTORS_F16, bits.len(), Some(components))?;
            StoredRows::F16(bits)
        }
        Storage::Int8 => {
            let codes = source.array(&name(CODES), true, |source, name| source.owned_bytes(name))?;
            sized(CODES, codes.len(), Some(components))?;
            let residuals = source.array(&name(RESIDUALS), true, |source, name| source.owned_bytes(name))?;
            // Codes of a vector kept on disk have none: rescoring reads the exact rows.
            let expected = if params.on_disk { Some(0) } else { slots.checked_mul(dim.div_ceil(2)) };
            sized(RESIDUALS, residuals.len(), expected)?;
            let ranges = source.array(&name(RANGES), true, |source, name| {
                let values = source.f32s(name)?;
                match values.as_chunks::<2>() {
                    (pairs, []) => Ok(pairs.to_vec()),
                    _ => Err(Error::invalid(format!("section {name}: an odd number of values"))),
                }
            })?;
            sized(RANGES, ranges.len(), Some(slots))?;
            StoredRows::Int8 { codes, residuals, ranges }
        }
    };
    let vectorless_name = name(VECTORLESS);
    let vectorless = match source.has(&vectorless_name) {
        false => Vec::new(),
        true if frame.format_version >= VECTORLESS_SNAPSHOT_VERSION => source.u32s(&vectorless_name)?,
        true => {
            let version = frame.format_version;
            return Err(Error::invalid(format!("a version {version} snapshot holds no section {vectorless_name}")));
        }
    };
    let full_rows = if params.on_disk {
        // Read in place and left on disk, when the source can share them.
        let rows = source.array(&name(VECTORS), false, |source, name| source.f32s(name))?;
        sized(VECTORS, rows.len(), Some(components))?;
        Some(rows)
    } else {
        None
    };
    Ok(DenseParts { vectors, graph, vectorless, full_rows })
}

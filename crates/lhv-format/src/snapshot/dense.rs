//! The sections of one dense vector: its rows in their storage, its graph
//! and the slots that lack it. The unnamed vector's sections have the plain
//! names of version 1 (`vectors`, `levels`, ...); named vector `i` (in name
//! order) has the same sections with `@i` appended (version 5).

use std::borrow::Cow;

use lhv_core::{DenseParts, GraphParts, Storage, StoredRows, VectorParams};

use crate::arrays::{get_f32s, get_u32s, le_bytes};
use crate::error::{Error, Result};
use crate::{CODES_SNAPSHOT_VERSION, FORMAT_VERSION, VECTORLESS_SNAPSHOT_VERSION};

const VECTORS: &str = "vectors";
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

/// Sections as (name, bytes), in the order they are written.
pub(crate) type Sections<'a> = Vec<(String, Cow<'a, [u8]>)>;

/// A dense vector's arrays, borrowed (the unnamed vector's lie in [`lhv_core::IndexParts`] itself).
#[derive(Clone, Copy)]
pub(crate) struct DensePartsRef<'a> {
    pub(crate) vectors: &'a StoredRows,
    pub(crate) graph: &'a GraphParts,
    pub(crate) vectorless: &'a [u32],
}

impl<'a> From<&'a DenseParts> for DensePartsRef<'a> {
    fn from(parts: &'a DenseParts) -> Self {
        Self { vectors: &parts.vectors, graph: &parts.graph, vectorless: &parts.vectorless }
    }
}

/// Appends a dense vector's sections; returns the lowest format version that holds them.
pub(crate) fn encode<'a>(space: Space, parts: DensePartsRef<'a>, sections: &mut Sections<'a>) -> u32 {
    let mut push = |base: &str, bytes: Cow<'a, [u8]>| sections.push((space.section(base), bytes));
    let mut version = match parts.vectors {
        StoredRows::F32(values) => {
            push(VECTORS, le_bytes(values));
            FORMAT_VERSION
        }
        StoredRows::F16(bits) => {
            push(VECTORS_F16, Cow::Owned(bits.iter().flat_map(|b| b.to_le_bytes()).collect()));
            CODES_SNAPSHOT_VERSION
        }
        StoredRows::Int8 { codes, residuals, ranges } => {
            push(CODES, Cow::Borrowed(codes));
            push(RESIDUALS, Cow::Borrowed(residuals));
            push(RANGES, le_bytes(ranges.as_flattened()));
            CODES_SNAPSHOT_VERSION
        }
    };
    push(LEVELS, Cow::Borrowed(parts.graph.levels.as_slice()));
    push(BOTTOM_LINKS, le_bytes(&parts.graph.bottom));
    push(UPPER_LINKS, le_bytes(&parts.graph.upper));
    // Items without a vector are what version 4 adds: their slots, when there are any.
    if !parts.vectorless.is_empty() {
        push(VECTORLESS, le_bytes(parts.vectorless));
        version = VECTORLESS_SNAPSHOT_VERSION;
    }
    version
}

/// What decoding a dense vector needs from the rest of the snapshot.
pub(crate) struct Frame<'s, F: Fn(&str) -> Result<&'s [u8]>> {
    /// A section's checked bytes, by name.
    pub(crate) section: F,
    /// Whether a section of that name is present.
    pub(crate) has: &'s dyn Fn(&str) -> bool,
    pub(crate) slots: usize,
    pub(crate) format_version: u32,
}

/// Reads a dense vector's sections back, checking their sizes.
pub(crate) fn decode<'s, F: Fn(&str) -> Result<&'s [u8]>>(
    frame: &Frame<'s, F>,
    space: Space,
    params: &VectorParams,
    entry: Option<u32>,
) -> Result<DenseParts> {
    let (slots, dim) = (frame.slots, params.dim);
    let section = |base: &str| (frame.section)(&space.section(base));
    let components = slots.checked_mul(dim).ok_or_else(|| Error::invalid("slot count too large"))?;
    let sized = |base: &str, bytes: &[u8], expected: Option<usize>| -> Result<()> {
        if Some(bytes.len()) == expected {
            Ok(())
        } else {
            let name = space.section(base);
            Err(Error::invalid(format!("section {name}: {} bytes for {slots} slots of dimension {dim}", bytes.len())))
        }
    };
    let vectors = match params.storage {
        Storage::F32 => {
            let bytes = section(VECTORS)?;
            sized(VECTORS, bytes, components.checked_mul(4))?;
            StoredRows::F32(get_f32s(bytes, VECTORS)?)
        }
        Storage::F16 => {
            let bytes = section(VECTORS_F16)?;
            sized(VECTORS_F16, bytes, components.checked_mul(2))?;
            StoredRows::F16(bytes.as_chunks::<2>().0.iter().map(|b| u16::from_le_bytes(*b)).collect())
        }
        Storage::Int8 => {
            let (codes, residuals, ranges) = (section(CODES)?, section(RESIDUALS)?, section(RANGES)?);
            sized(CODES, codes, Some(components))?;
            sized(RESIDUALS, residuals, slots.checked_mul(dim.div_ceil(2)))?;
            sized(RANGES, ranges, slots.checked_mul(8))?;
            let ranges = get_f32s(ranges, RANGES)?.as_chunks::<2>().0.to_vec();
            StoredRows::Int8 { codes: codes.to_vec(), residuals: residuals.to_vec(), ranges }
        }
    };
    let levels = section(LEVELS)?.to_vec();
    let bottom = get_u32s(section(BOTTOM_LINKS)?, BOTTOM_LINKS)?;
    let upper = get_u32s(section(UPPER_LINKS)?, UPPER_LINKS)?;
    let graph = GraphParts { levels, bottom, upper, entry };
    let vectorless_name = space.section(VECTORLESS);
    let vectorless = match (frame.has)(&vectorless_name) {
        false => Vec::new(),
        true if frame.format_version >= VECTORLESS_SNAPSHOT_VERSION => get_u32s(section(VECTORLESS)?, VECTORLESS)?,
        true => {
            let version = frame.format_version;
            return Err(Error::invalid(format!("a version {version} snapshot holds no section {vectorless_name}")));
        }
    };
    Ok(DenseParts { vectors, graph, vectorless })
}

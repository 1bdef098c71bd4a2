//! Snapshot frames: a whole index in one blob.
//!
//! `"LHV1"` | envelope length (u32 BE) | envelope (JSON) | CRC32C of the
//! envelope (u32 BE) | sections, each at an 8-byte aligned offset named in
//! the envelope with its length and CRC32C. docs/FORMAT.md has the details.

use std::borrow::Cow;
use std::io::Write;

use lhv_core::{DenseParts, FieldSchema, Index, IndexParts, VectorParams};

use crate::arrays::{get_strings, put_strings};
use crate::envelope::{Envelope, Section, encode_head, head_len, read_head};
use crate::error::{Error, Result};
use crate::{FIELD_SCHEMA_SNAPSHOT_VERSION, NAMED_VECTORS_SNAPSHOT_VERSION};

/// Sections start at multiples of this, so that an aligned buffer holding the
/// snapshot holds aligned arrays.
const ALIGN: usize = 8;

mod dense;
mod sparse;

use dense::{DensePartsRef, Frame, Sections, Space};

/// Section names of what every item has (the dense vectors' are in [`dense`]).
const IDS: &str = "ids";
const METADATA: &str = "metadata";

/// An index decoded from a snapshot, with the log position it reflects.
#[derive(Debug)]
pub struct Snapshot {
    /// The index, exactly as it was encoded.
    pub index: Index,
    /// Sequence number of the last log record applied to it.
    pub last_lsn: u64,
    /// The lease epoch of its writer (0: written without a lease).
    pub epoch: u64,
}

/// Encodes an index (taken apart with [`Index::to_parts`]) and the sequence
/// number of the last log record applied to it.
pub fn encode_snapshot(parts: &IndexParts, last_lsn: u64) -> Result<Vec<u8>> {
    encode_leased_snapshot(parts, last_lsn, 0)
}

/// [`encode_snapshot`] by a writer holding a lease at `epoch`, recorded in
/// the envelope (an `epoch` of 0 writes exactly what [`encode_snapshot`] does).
pub fn encode_leased_snapshot(parts: &IndexParts, last_lsn: u64, epoch: u64) -> Result<Vec<u8>> {
    let mut ids = Vec::new();
    put_strings(&mut ids, parts.ids.iter().map(Option::as_deref))?;
    let metadata_text: Vec<Option<String>> =
        parts.metadata.iter().map(|m| m.as_ref().map(ToString::to_string)).collect();
    let mut metadata = Vec::new();
    put_strings(&mut metadata, metadata_text.iter().map(Option::as_deref))?;
    // The bulk arrays are checksummed and copied straight from the parts.
    let mut sections: Sections<'_> =
        vec![(IDS.to_owned(), Cow::Owned(ids)), (METADATA.to_owned(), Cow::Owned(metadata))];
    let unnamed = DensePartsRef { vectors: &parts.vectors, graph: &parts.graph, vectorless: &parts.vectorless };
    let mut format_version = dense::encode(Space::Unnamed, unnamed, &mut sections);
    // Typed field indexes are what version 3 adds to the envelope.
    if parts.params.indexed_fields.iter().any(|f| f.schema != FieldSchema::Any) {
        format_version = format_version.max(FIELD_SCHEMA_SNAPSHOT_VERSION);
    }
    // Named vectors are what version 5 adds: their sections, and their graphs' entries.
    for (i, named) in parts.named.iter().enumerate() {
        dense::encode(Space::Named(i), named.into(), &mut sections);
        format_version = NAMED_VECTORS_SNAPSHOT_VERSION;
    }
    for (i, sparse) in parts.sparse.iter().enumerate() {
        sparse::encode(i, sparse, &mut sections);
        format_version = NAMED_VECTORS_SNAPSHOT_VERSION;
    }
    let checksums: Vec<u32> = sections.iter().map(|(_, bytes)| crc32c::crc32c(bytes)).collect();

    let mut envelope = Envelope {
        format_version,
        params: parts.params.clone(),
        item_count: parts.ids.iter().flatten().count() as u64,
        slot_count: parts.ids.len() as u64,
        last_lsn,
        epoch,
        entry: parts.graph.entry,
        named_entries: parts.named.iter().map(|named| named.graph.entry).collect(),
        sections: Vec::new(),
    };
    // The offsets depend on the envelope's length, which depends on the offsets'
    // digits: lay out, measure, and repeat until the length stops changing.
    let mut json_len = 0;
    loop {
        let mut offset = head_len(json_len);
        envelope.sections = sections
            .iter()
            .zip(&checksums)
            .map(|((name, bytes), &crc32c)| {
                offset = offset.next_multiple_of(ALIGN);
                let section =
                    Section { name: (*name).to_owned(), offset: offset as u64, length: bytes.len() as u64, crc32c };
                offset += bytes.len();
                section
            })
            .collect();
        let measured = serde_json::to_vec(&envelope).map_err(|e| Error::invalid(format!("envelope: {e}")))?.len();
        if measured == json_len {
            break;
        }
        json_len = measured;
    }
    let total = envelope.sections.last().map_or(head_len(json_len), |s| (s.offset + s.length) as usize);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&encode_head(&envelope)?);
    for ((_, bytes), section) in sections.iter().zip(&envelope.sections) {
        out.resize(section.offset as usize, 0);
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// [`encode_snapshot`] into a writer.
pub fn write_snapshot(mut writer: impl Write, parts: &IndexParts, last_lsn: u64) -> Result<()> {
    let bytes = encode_snapshot(parts, last_lsn)?;
    writer.write_all(&bytes).map_err(|e| Error::invalid(format!("cannot write the snapshot: {e}")))
}

/// Decodes a snapshot into an index.
pub fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot> {
    let epoch = read_head(bytes)?.0.epoch;
    let (parts, last_lsn) = decode_snapshot_parts(bytes)?;
    let index = Index::from_parts(parts).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(Snapshot { index, last_lsn, epoch })
}

/// Decodes a snapshot into the parts of an index, checking every CRC and
/// length, and the sequence number of the last log record applied to it.
pub fn decode_snapshot_parts(bytes: &[u8]) -> Result<(IndexParts, u64)> {
    let (envelope, head_end) = read_head(bytes)?;
    check_tiling(&envelope.sections, head_end, bytes)?;
    let section = |name: &str| -> Result<&[u8]> {
        let mut found = envelope.sections.iter().filter(|s| s.name == name);
        let entry = found.next().ok_or_else(|| Error::invalid(format!("section {name} is missing")))?;
        if found.next().is_some() {
            return Err(Error::invalid(format!("section {name} appears twice")));
        }
        // `check_tiling` has put every section inside the input.
        let end = entry.offset.saturating_add(entry.length);
        let data = bytes
            .get(entry.offset as usize..end as usize)
            .ok_or_else(|| Error::invalid(format!("section {name} is outside the input")))?;
        if !crate::checksum_matches(data, entry.crc32c) {
            return Err(Error::Checksum { section: name.to_owned() });
        }
        Ok(data)
    };
    let slots = usize::try_from(envelope.slot_count).map_err(|_| Error::invalid("slot count too large"))?;

    let (ids, rest) = get_strings(section(IDS)?, slots, IDS)?;
    ensure_consumed(rest, IDS)?;
    let ids: Vec<Option<String>> = ids.into_iter().map(|id| id.map(str::to_owned)).collect();
    let live = ids.iter().flatten().count() as u64;
    if live != envelope.item_count {
        return Err(Error::invalid(format!("{live} ids, the envelope says {}", envelope.item_count)));
    }
    let (metadata_text, rest) = get_strings(section(METADATA)?, slots, METADATA)?;
    ensure_consumed(rest, METADATA)?;
    let metadata = metadata_text
        .into_iter()
        .enumerate()
        .map(|(slot, text)| {
            text.map(serde_json::from_str)
                .transpose()
                .map_err(|e| Error::invalid(format!("metadata of slot {slot} is not JSON: {e}")))
        })
        .collect::<Result<_>>()?;
    let params = &envelope.params;
    let has = |name: &str| envelope.sections.iter().any(|s| s.name == name);
    let frame = Frame { section, has: &has, slots, format_version: envelope.format_version };
    // An index without an unnamed vector has its sections, empty (dimension 0).
    let unnamed = params.unnamed().unwrap_or_else(|| VectorParams::new(0, params.metric).with_storage(params.storage));
    let DenseParts { vectors, graph, vectorless } = dense::decode(&frame, Space::Unnamed, &unnamed, envelope.entry)?;
    if envelope.named_entries.len() != params.vectors.len() {
        let (entries, declared) = (envelope.named_entries.len(), params.vectors.len());
        return Err(Error::invalid(format!("{entries} entry nodes for {declared} named vectors")));
    }
    let named = params
        .vectors
        .values()
        .zip(&envelope.named_entries)
        .enumerate()
        .map(|(i, (vector, &entry))| dense::decode(&frame, Space::Named(i), vector, entry))
        .collect::<Result<Vec<_>>>()?;
    let sparse = (0..params.sparse_vectors.len()).map(|i| sparse::decode(i, section)).collect::<Result<Vec<_>>>()?;
    let parts =
        IndexParts { params: envelope.params.clone(), ids, metadata, vectors, graph, vectorless, named, sparse };
    Ok((parts, envelope.last_lsn))
}

/// The sections must cover the input after the head exactly, separated only
/// by the zero padding that aligns them: then every byte is under a checksum
/// or checked, and any damage is detected.
fn check_tiling(sections: &[Section], head_end: usize, bytes: &[u8]) -> Result<()> {
    let available = bytes.len() as u64;
    let mut spans = Vec::with_capacity(sections.len());
    for section in sections {
        let end = section.offset.checked_add(section.length).ok_or_else(|| Error::invalid("section past 2^64"))?;
        if end > available {
            return Err(Error::Truncated { needed: end, available });
        }
        spans.push((section.offset as usize, end as usize, &section.name));
    }
    spans.sort_unstable();
    let mut covered = head_end;
    for (start, end, name) in spans {
        let gap = bytes.get(covered..start).ok_or_else(|| Error::invalid(format!("section {name} overlaps")))?;
        if gap.len() >= ALIGN || gap.iter().any(|&b| b != 0) {
            return Err(Error::invalid(format!("unexpected bytes before section {name}")));
        }
        covered = end;
    }
    if covered != bytes.len() {
        return Err(Error::invalid(format!("{} bytes after the last section", bytes.len() - covered)));
    }
    Ok(())
}

fn ensure_consumed(rest: &[u8], what: &str) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(format!("{what}: {} bytes after the last entry", rest.len())))
    }
}

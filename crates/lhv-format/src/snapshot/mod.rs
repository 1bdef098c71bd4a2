//! Snapshot frames: a whole index in one blob.
//!
//! `"LHV1"` | envelope length (u32 BE) | envelope (JSON) | CRC32C of the
//! envelope (u32 BE) | sections, each at an 8-byte aligned offset named in
//! the envelope with its length and CRC32C. docs/FORMAT.md has the details.

use std::borrow::Cow;
use std::io::{Read, Write};

use bytes::Bytes;

use lhv_core::{DenseParts, FieldSchema, Index, IndexParams, IndexParts, Storage, VectorParams};

use crate::arrays::{get_strings, put_strings};
use crate::arrival::{Arrival, Present};
use crate::envelope::{Envelope, Section, encode_head, head_len, read_head};
use crate::error::{Error, Result};
use crate::{CHOSEN_EF_SNAPSHOT_VERSION, FIELD_SCHEMA_SNAPSHOT_VERSION, NAMED_VECTORS_SNAPSHOT_VERSION};

/// Sections start at multiples of this, so that an aligned buffer holding the
/// snapshot holds aligned arrays.
pub(crate) const ALIGN: usize = 8;

mod dense;
mod source;
mod sparse;
mod stream;

use dense::{DensePartsRef, Frame, Sections, Space, VECTORS};
pub use source::InPlace;
use source::{RowCheck, SectionSource, SharedSource, SliceSource};

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
        vec![(IDS.to_owned(), vec![Cow::Owned(ids)]), (METADATA.to_owned(), vec![Cow::Owned(metadata)])];
    let unnamed = DensePartsRef {
        vectors: &parts.vectors,
        graph: &parts.graph,
        vectorless: &parts.vectorless,
        full_rows: parts.full_rows.as_ref(),
    };
    let mut format_version = dense::encode(Space::Unnamed, unnamed, &mut sections);
    // Typed field indexes are what version 3 adds to the envelope.
    if parts.params.indexed_fields.iter().any(|f| f.schema != FieldSchema::Any) {
        format_version = format_version.max(FIELD_SCHEMA_SNAPSHOT_VERSION);
    }
    // Named vectors are what version 5 adds: their sections, and their graphs' entries.
    for (i, named) in parts.named.iter().enumerate() {
        let version = dense::encode(Space::Named(i), named.into(), &mut sections);
        format_version = format_version.max(version).max(NAMED_VECTORS_SNAPSHOT_VERSION);
    }
    for (i, sparse) in parts.sparse.iter().enumerate() {
        sparse::encode(i, sparse, &mut sections);
        format_version = format_version.max(NAMED_VECTORS_SNAPSHOT_VERSION);
    }
    // A default ef the index chooses itself is what version 7 adds to the envelope.
    if parts.params.dense_vectors().iter().any(|(_, vector)| vector.ef_search_auto) {
        format_version = format_version.max(CHOSEN_EF_SNAPSHOT_VERSION);
    }
    let checksums: Vec<u32> = sections
        .iter()
        .map(|(_, pieces)| pieces.iter().fold(0, |crc, piece| crate::checksum::crc32c_append(crc, piece)))
        .collect();

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
            .map(|((name, pieces), &crc32c)| {
                offset = offset.next_multiple_of(ALIGN);
                let length: usize = pieces.iter().map(|piece| piece.len()).sum();
                let section =
                    Section { name: (*name).to_owned(), offset: offset as u64, length: length as u64, crc32c };
                offset += length;
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
    for ((_, pieces), section) in sections.iter().zip(&envelope.sections) {
        out.resize(section.offset as usize, 0);
        pieces.iter().for_each(|piece| out.extend_from_slice(piece));
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

/// Decodes a snapshot held in a buffer the index may keep (typically a
/// snapshot file mapped into memory): the rows of its dense vectors are read
/// in place (when aligned), everything else is copied out. Checks exactly
/// what [`decode_snapshot`] does. Also returns the parts of `bytes` the
/// index reads in place: the rest of the buffer is no longer needed (a
/// mapping's other pages may be released), and the parts not `resident` are
/// read a few rows at a time.
pub fn decode_shared_snapshot(bytes: Bytes) -> Result<(Snapshot, Vec<InPlace>)> {
    decode_arriving_snapshot(bytes, &Present)
}

/// [`decode_shared_snapshot`] of a buffer whose sections arrive while it is
/// decoded (a mapped file read in by another thread): each part is waited
/// for through `arrival` just before it is checked, so that checking and
/// copying the first parts overlaps with reading the rest. The head (the
/// envelope) is read without waiting: whoever plans the reading has read it
/// with [`read_envelope`](crate::read_envelope). The graph's sections are
/// taken before the rows of the same vector, so that the rows, the largest
/// part, are best read last.
pub fn decode_arriving_snapshot(bytes: Bytes, arrival: &dyn Arrival) -> Result<(Snapshot, Vec<InPlace>)> {
    let (envelope, head_end) = read_head(&bytes)?;
    check_tiling(&envelope.sections, head_end, &bytes, arrival)?;
    let row_checks = row_checks(&envelope.params);
    let mut source = SharedSource {
        sections: &envelope.sections,
        bytes: bytes.clone(),
        arrival,
        kept: Vec::new(),
        row_checks,
        pending: Vec::new(),
    };
    let parts = decode_parts(&envelope, &mut source)?;
    let SharedSource { kept, row_checks, pending, .. } = source;
    // The rows (by far the largest part) are checked on a thread of their
    // own as they arrive, while the index is put together from the rest.
    let check = || source::check_rows(&bytes, &envelope.sections, &row_checks, &pending, arrival);
    let (built, verdict) = std::thread::scope(|scope| {
        let mut checking = Some(std::thread::Builder::new().spawn_scoped(scope, check).ok());
        let mut finish = || match checking.take() {
            Some(Some(thread)) => thread.join().unwrap_or_else(|_| Err(Error::invalid("checking the rows failed"))),
            // The thread could not start: checked here.
            Some(None) => check(),
            None => Ok(Vec::new()),
        };
        let mut verdict = None;
        let built = Index::from_parts_with_norms(parts, || match finish() {
            Ok(norms) => {
                verdict = Some(Ok(()));
                norms
            }
            Err(error) => {
                verdict = Some(Err(error));
                Vec::new()
            }
        });
        let verdict = verdict.unwrap_or_else(|| finish().map(|_| ()));
        (built, verdict)
    });
    // A damaged row section is reported as such, whatever else failed.
    verdict?;
    let index = built.map_err(|e| Error::invalid(e.to_string()))?;
    Ok((Snapshot { index, last_lsn: envelope.last_lsn, epoch: envelope.epoch }, kept))
}

/// The float32 rows the graph walks read, by dense vector: their norms are
/// checked as they arrive (the exact rows of a vector kept on disk are not
/// read by the walk, and are checked when they are read).
fn row_checks(params: &IndexParams) -> Vec<RowCheck> {
    let walked = |vector: &VectorParams| vector.stored_rows_storage() == Storage::F32;
    let mut checks = Vec::new();
    if let Some(vector) = params.unnamed().filter(|v| walked(v)) {
        checks.push(RowCheck { section: VECTORS.to_owned(), space: 0, dim: vector.dim, metric: vector.metric });
    }
    for (i, vector) in params.vectors.values().enumerate().filter(|(_, v)| walked(v)) {
        let section = Space::Named(i).section(VECTORS);
        checks.push(RowCheck { section, space: 1 + i, dim: vector.dim, metric: vector.metric });
    }
    checks
}

/// The exact rows of every dense vector kept on disk in a snapshot held in
/// a buffer the index may keep (a mapped file), by vector name (`""`: the
/// unnamed one), each checked against its CRC; nothing else is decoded.
/// What an index folds into a newer snapshot's file once it is durable.
pub fn on_disk_rows(bytes: &Bytes) -> Result<Vec<(String, Bytes)>> {
    let (envelope, head_end) = read_head(bytes)?;
    check_layout(&envelope.sections, head_end, bytes.len() as u64)?;
    let params = &envelope.params;
    let mut wanted = Vec::new();
    if params.on_disk && params.dim > 0 {
        wanted.push((String::new(), Space::Unnamed));
    }
    for (i, (name, vector)) in params.vectors.iter().enumerate() {
        if vector.on_disk {
            wanted.push((name.clone(), Space::Named(i)));
        }
    }
    let mut source = SharedSource {
        sections: &envelope.sections,
        bytes: bytes.clone(),
        arrival: &Present,
        kept: Vec::new(),
        row_checks: Vec::new(),
        pending: Vec::new(),
    };
    let mut rows = Vec::with_capacity(wanted.len());
    for (name, space) in wanted {
        let shared = source.shared(&space.section("vectors"), false)?;
        rows.push((name, shared.unwrap_or_default()));
    }
    Ok(rows)
}

/// Decodes a snapshot of `length` bytes read from `reader`, each section
/// straight into the array the index keeps: loading needs little more
/// memory than the index itself, where [`decode_snapshot`] needs the
/// snapshot's bytes besides. Checks exactly what [`decode_snapshot`] does,
/// and that the stream holds `length` bytes; a read error is
/// [`Error::Read`].
pub fn read_snapshot(reader: &mut impl Read, length: u64) -> Result<Snapshot> {
    let (envelope, mut sections) = stream::read_sections(reader, length)?;
    let parts = decode_parts(&envelope, &mut sections)?;
    let index = Index::from_parts(parts).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(Snapshot { index, last_lsn: envelope.last_lsn, epoch: envelope.epoch })
}

/// Decodes a snapshot into the parts of an index, checking every CRC and
/// length, and the sequence number of the last log record applied to it.
pub fn decode_snapshot_parts(bytes: &[u8]) -> Result<(IndexParts, u64)> {
    let (envelope, head_end) = read_head(bytes)?;
    check_tiling(&envelope.sections, head_end, bytes, &Present)?;
    let parts = decode_parts(&envelope, &mut SliceSource { sections: &envelope.sections, bytes, arrival: &Present })?;
    Ok((parts, envelope.last_lsn))
}

/// The parts of an index from the sections an envelope lists.
fn decode_parts(envelope: &Envelope, source: &mut impl SectionSource) -> Result<IndexParts> {
    let slots = usize::try_from(envelope.slot_count).map_err(|_| Error::invalid("slot count too large"))?;
    let ids: Vec<Option<String>> = {
        let bytes = source.bytes(IDS)?;
        let (ids, rest) = get_strings(&bytes, slots, IDS)?;
        ensure_consumed(rest, IDS)?;
        ids.into_iter().map(|id| id.map(str::to_owned)).collect()
    };
    let live = ids.iter().flatten().count() as u64;
    if live != envelope.item_count {
        return Err(Error::invalid(format!("{live} ids, the envelope says {}", envelope.item_count)));
    }
    let metadata = {
        let bytes = source.bytes(METADATA)?;
        let (metadata_text, rest) = get_strings(&bytes, slots, METADATA)?;
        ensure_consumed(rest, METADATA)?;
        metadata_text
            .into_iter()
            .enumerate()
            .map(|(slot, text)| {
                text.map(serde_json::from_str)
                    .transpose()
                    .map_err(|e| Error::invalid(format!("metadata of slot {slot} is not JSON: {e}")))
            })
            .collect::<Result<_>>()?
    };
    let params = &envelope.params;
    let frame = Frame { slots, format_version: envelope.format_version };
    // An index without an unnamed vector has its sections, empty (dimension 0).
    let unnamed = params.unnamed().unwrap_or_else(|| VectorParams::new(0, params.metric).with_storage(params.storage));
    let DenseParts { vectors, graph, vectorless, full_rows } =
        dense::decode(&frame, source, Space::Unnamed, &unnamed, envelope.entry)?;
    if envelope.named_entries.len() != params.vectors.len() {
        let (entries, declared) = (envelope.named_entries.len(), params.vectors.len());
        return Err(Error::invalid(format!("{entries} entry nodes for {declared} named vectors")));
    }
    let named = params
        .vectors
        .values()
        .zip(&envelope.named_entries)
        .enumerate()
        .map(|(i, (vector, &entry))| dense::decode(&frame, source, Space::Named(i), vector, entry))
        .collect::<Result<Vec<_>>>()?;
    let sparse = (0..params.sparse_vectors.len()).map(|i| sparse::decode(i, source)).collect::<Result<Vec<_>>>()?;
    let params = envelope.params.clone();
    Ok(IndexParts { params, ids, metadata, vectors, graph, vectorless, full_rows, named, sparse })
}

/// The sections must cover the input after the head exactly, separated only
/// by the zero padding that aligns them: then every byte is under a checksum
/// or checked, and any damage is detected. The padding is read once
/// `arrival` has it.
fn check_tiling(sections: &[Section], head_end: usize, bytes: &[u8], arrival: &dyn Arrival) -> Result<()> {
    let mut covered = head_end;
    for index in check_layout(sections, head_end, bytes.len() as u64)? {
        let section = &sections[index];
        // `check_layout` has placed every section inside the input.
        let padding = covered..section.offset as usize;
        if !padding.is_empty() {
            arrival.wait(padding.clone());
        }
        let gap = bytes.get(padding).unwrap_or_default();
        if gap.iter().any(|&b| b != 0) {
            return Err(Error::invalid(format!("unexpected bytes before section {}", section.name)));
        }
        covered = (section.offset + section.length) as usize;
    }
    Ok(())
}

/// Checks that the sections tile an input of `length` bytes after a head of
/// `head_end` bytes (in offset order, without overlap, each at most
/// `ALIGN - 1` bytes after the previous one's end, the last ending the
/// input); returns their positions in `sections` in offset order.
pub(crate) fn check_layout(sections: &[Section], head_end: usize, length: u64) -> Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_unstable_by_key(|&i| (sections[i].offset, sections[i].length));
    let mut covered = head_end as u64;
    for &index in &order {
        let section = &sections[index];
        let end = section.offset.checked_add(section.length).ok_or_else(|| Error::invalid("section past 2^64"))?;
        if end > length {
            return Err(Error::Truncated { needed: end, available: length });
        }
        let name = &section.name;
        if section.offset < covered {
            return Err(Error::invalid(format!("section {name} overlaps")));
        }
        if section.offset - covered >= ALIGN as u64 {
            return Err(Error::invalid(format!("unexpected bytes before section {name}")));
        }
        covered = end;
    }
    if covered != length {
        return Err(Error::invalid(format!("{} bytes after the last section", length - covered)));
    }
    Ok(order)
}

fn ensure_consumed(rest: &[u8], what: &str) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(format!("{what}: {} bytes after the last entry", rest.len())))
    }
}

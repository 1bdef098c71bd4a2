//! Write-ahead-log records.
//!
//! A log is records end to end. Each record is a 28-byte header (big-endian
//! numbers) and a payload (little-endian arrays):
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `"LHVL"` |
//! | 4..6 | format version |
//! | 6 | operation: 1 upsert, 2 delete, 3 epoch; version 2: 4 field index, 5 batch; version 3: 6 graph parameters; version 4: 7 upsert with items without a vector; version 5: 8 upsert with named or sparse vectors |
//! | 7 | flags, 0 |
//! | 8..16 | sequence number |
//! | 16..20 | payload length |
//! | 20..24 | CRC32C of the payload |
//! | 24..28 | CRC32C of bytes 0..24 |

mod upsert;

use lhv_core::{IndexedField, Item};
use serde::{Deserialize, Serialize};
use upsert::{UPSERT, UPSERT_NAMED, UPSERT_VECTORLESS};

use crate::arrays::{get_strings, put_strings, take_u32};
use crate::error::{Error, Result};
use crate::{
    EXTENDED_LOG_VERSION, FORMAT_VERSION, GRAPH_PARAMS_LOG_VERSION, NAMED_VECTORS_LOG_VERSION, VECTORLESS_LOG_VERSION,
};

/// The first four bytes of every log record.
pub const RECORD_MAGIC: [u8; 4] = *b"LHVL";
/// Bytes in a record header.
pub const RECORD_HEADER_LEN: usize = 28;

const DELETE: u8 = 2;
const EPOCH: u8 = 3;
const FIELD_INDEX: u8 = 4;
const BATCH: u8 = 5;
const GRAPH_PARAMS: u8 = 6;

/// One write, as logged before it is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Position in the log: strictly increasing from record to record.
    pub sequence: u64,
    /// The write.
    pub op: LogOp,
}

/// The write a record holds.
#[derive(Debug, Clone, PartialEq)]
pub enum LogOp {
    /// An [`Index::upsert`](lhv_core::Index::upsert) batch; all vectors of
    /// a name have the same length, but for empty ones (items without a
    /// vector, which make the record an operation 7 of version 4). Named
    /// dense or sparse vectors make it an operation 8 of version 5.
    Upsert(Vec<Item>),
    /// An [`Index::delete`](lhv_core::Index::delete) batch.
    Delete(Vec<String>),
    /// Changes nothing in the index: the lease epoch of the writer of the
    /// records after it, first in every log object a leased writer writes,
    /// so that recovery can tell the writes of a writer that had already
    /// lost its lease from those of its successor.
    Epoch(u64),
    /// A field index added to or dropped from every item (its payload is the
    /// change as JSON: `{"create": field}` or `{"drop": key}`).
    FieldIndex(FieldIndexChange),
    /// Upserts and deletes applied in order as one write: logged together,
    /// so that recovery applies all of them or none (Qdrant's `points/batch`).
    /// Holds only [`LogOp::Upsert`] and [`LogOp::Delete`].
    Batch(Vec<LogOp>),
    /// How the graph builds later insertions
    /// ([`Index::set_build_params`](lhv_core::Index::set_build_params); the
    /// payload is JSON `{"m", "ef_construction"}`).
    GraphParams(GraphParams),
}

/// The graph parameters of later insertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphParams {
    /// Out-degree of the upper layers (twice this at the bottom).
    pub m: usize,
    /// Candidate list size of an insertion.
    pub ef_construction: usize,
}

/// A change to an index's field indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum FieldIndexChange {
    /// [`Index::create_field_index`](lhv_core::Index::create_field_index).
    Create(IndexedField),
    /// [`Index::drop_field_index`](lhv_core::Index::drop_field_index) of this key.
    Drop(String),
}

/// What [`decode_log`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct LogContents {
    /// The complete records, in order.
    pub records: Vec<LogRecord>,
    /// Bytes the complete records take; the rest of the input is a torn tail.
    pub valid_len: usize,
    /// Bytes of an incomplete last record (a write cut short by a crash): drop
    /// them before appending. 0 when the log ends cleanly.
    pub torn_tail: usize,
}

/// Appends one record to `out`. Fails (leaving `out` as it was) if the
/// vectors of an upsert differ in length or the payload exceeds 4 GiB.
pub fn encode_record(record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
    let mut payload = Vec::new();
    let kind = encode_payload(&record.op, &mut payload)?;
    // Each record keeps the lowest version that has its operation, so that old logs and new ones look alike.
    let version = match kind {
        FIELD_INDEX => EXTENDED_LOG_VERSION,
        // A batch takes the version of the newest upsert in it, at least 2.
        BATCH => needed_version(&record.op).max(EXTENDED_LOG_VERSION),
        GRAPH_PARAMS => GRAPH_PARAMS_LOG_VERSION,
        UPSERT_VECTORLESS => VECTORLESS_LOG_VERSION,
        UPSERT_NAMED => NAMED_VECTORS_LOG_VERSION,
        _ => FORMAT_VERSION,
    };
    let length = u32::try_from(payload.len()).map_err(|_| Error::invalid("log record payload over 4 GiB"))?;
    let mut header = [0u8; RECORD_HEADER_LEN];
    header[..4].copy_from_slice(&RECORD_MAGIC);
    header[4..6].copy_from_slice(&(version as u16).to_be_bytes());
    header[6] = kind;
    header[8..16].copy_from_slice(&record.sequence.to_be_bytes());
    header[16..20].copy_from_slice(&length.to_be_bytes());
    header[20..24].copy_from_slice(&crate::checksum::crc32c(&payload).to_be_bytes());
    let header_crc = crate::checksum::crc32c(&header[..24]);
    header[24..28].copy_from_slice(&header_crc.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&payload);
    Ok(())
}

/// Appends the payload of `op` to `payload`; its operation code.
fn encode_payload(op: &LogOp, payload: &mut Vec<u8>) -> Result<u8> {
    Ok(match op {
        LogOp::Upsert(items) => upsert::encode(items, payload)?,
        LogOp::Delete(ids) => {
            payload.extend_from_slice(&count(ids.len())?.to_le_bytes());
            put_strings(payload, ids.iter().map(|id| Some(id.as_str())))?;
            DELETE
        }
        LogOp::Epoch(epoch) => {
            payload.extend_from_slice(&epoch.to_le_bytes());
            EPOCH
        }
        LogOp::FieldIndex(change) => {
            let json = serde_json::to_vec(change).map_err(|e| Error::invalid(format!("field index change: {e}")))?;
            payload.extend_from_slice(&json);
            FIELD_INDEX
        }
        LogOp::Batch(ops) => {
            // A count, then each operation as its code, its payload's length and its payload.
            payload.extend_from_slice(&count(ops.len())?.to_le_bytes());
            for (position, op) in ops.iter().enumerate() {
                if !matches!(op, LogOp::Upsert(_) | LogOp::Delete(_)) {
                    return Err(Error::invalid(format!("batch operation {position} is not an upsert or a delete")));
                }
                let mut inner = Vec::new();
                let kind = encode_payload(op, &mut inner)?;
                payload.push(kind);
                payload.extend_from_slice(&count(inner.len())?.to_le_bytes());
                payload.extend_from_slice(&inner);
            }
            BATCH
        }
        LogOp::GraphParams(params) => {
            let json = serde_json::to_vec(params).map_err(|e| Error::invalid(format!("graph parameters: {e}")))?;
            payload.extend_from_slice(&json);
            GRAPH_PARAMS
        }
    })
}

/// The lowest record version that holds the upserts of `op`: 4 for items
/// without a vector, 5 for named or sparse vectors.
fn needed_version(op: &LogOp) -> u32 {
    match op {
        LogOp::Upsert(items) => match upsert::kind(items) {
            UPSERT_NAMED => NAMED_VECTORS_LOG_VERSION,
            UPSERT_VECTORLESS => VECTORLESS_LOG_VERSION,
            _ => FORMAT_VERSION,
        },
        LogOp::Batch(ops) => ops.iter().map(needed_version).max().unwrap_or(FORMAT_VERSION),
        _ => FORMAT_VERSION,
    }
}

fn count(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::invalid(format!("{n} entries, more than a record holds")))
}

/// Decodes a whole log.
///
/// An incomplete last record (the input ends inside it, or it and everything
/// after it are zero bytes, as a crash can leave a file) is a torn tail: it
/// is reported in [`LogContents::torn_tail`], not returned. Any other damage,
/// a failed checksum included, is [`Error::Corrupt`] naming the record's
/// offset, even in the last record: a complete record was possibly
/// acknowledged, so it is never dropped silently.
pub fn decode_log(bytes: &[u8]) -> Result<LogContents> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let torn = || LogContents { records: Vec::new(), valid_len: offset, torn_tail: rest.len() };
        if rest.len() < RECORD_HEADER_LEN || rest.iter().all(|&b| b == 0) {
            return Ok(LogContents { records, ..torn() });
        }
        let corrupt = |reason: String| Error::Corrupt { offset: offset as u64, reason };
        let header = &rest[..RECORD_HEADER_LEN];
        if header[..4] != RECORD_MAGIC {
            return Err(corrupt("bad record magic".into()));
        }
        let stored = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
        if !crate::checksum_matches(&header[..24], stored(24)) {
            return Err(corrupt("header checksum mismatch".into()));
        }
        let version = u16::from_be_bytes([header[4], header[5]]);
        let version = u32::from(version);
        if !(FORMAT_VERSION..=NAMED_VECTORS_LOG_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion { found: version });
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&header[8..16]);
        let sequence = u64::from_be_bytes(word);
        let length = u32::from_be_bytes([header[16], header[17], header[18], header[19]]) as usize;
        let Some(payload) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + length) else {
            return Ok(LogContents { records, ..torn() });
        };
        if !crate::checksum_matches(payload, stored(20)) {
            return Err(corrupt("payload checksum mismatch".into()));
        }
        if let Some(previous) = records.last().map(|r: &LogRecord| r.sequence)
            && sequence <= previous
        {
            return Err(corrupt(format!("sequence number {sequence} after {previous}")));
        }
        if header[7] != 0 {
            return Err(corrupt(format!("unknown flags {:#04x}", header[7])));
        }
        let introduced = match header[6] {
            FIELD_INDEX | BATCH => EXTENDED_LOG_VERSION,
            GRAPH_PARAMS => GRAPH_PARAMS_LOG_VERSION,
            UPSERT_VECTORLESS => VECTORLESS_LOG_VERSION,
            UPSERT_NAMED => NAMED_VECTORS_LOG_VERSION,
            _ => FORMAT_VERSION,
        };
        if version < introduced {
            return Err(corrupt(format!("a version {version} record holds no operation {}", header[6])));
        }
        let op = decode_payload(header[6], payload).map_err(|e| corrupt(e.to_string()))?;
        if version < needed_version(&op) {
            return Err(corrupt(format!("a version {version} record holds upserts of a later version")));
        }
        records.push(LogRecord { sequence, op });
        offset += RECORD_HEADER_LEN + length;
    }
    Ok(LogContents { records, valid_len: offset, torn_tail: 0 })
}

fn decode_payload(kind: u8, payload: &[u8]) -> Result<LogOp> {
    if kind == FIELD_INDEX {
        let change = serde_json::from_slice(payload).map_err(|e| Error::invalid(format!("field index change: {e}")))?;
        return Ok(LogOp::FieldIndex(change));
    }
    if kind == GRAPH_PARAMS {
        let params = serde_json::from_slice(payload).map_err(|e| Error::invalid(format!("graph parameters: {e}")))?;
        return Ok(LogOp::GraphParams(params));
    }
    if kind == BATCH {
        let (entries, mut rest) = take_u32(payload, "batch count")?;
        let mut ops = Vec::new();
        for position in 0..entries {
            let (&inner_kind, after) =
                rest.split_first().ok_or_else(|| Error::invalid(format!("batch operation {position} is missing")))?;
            if ![UPSERT, DELETE, UPSERT_VECTORLESS, UPSERT_NAMED].contains(&inner_kind) {
                return Err(Error::invalid(format!("batch operation {position} has code {inner_kind}")));
            }
            let (length, after) = take_u32(after, "batch operation length")?;
            let inner = after.get(..length as usize).ok_or_else(|| {
                Error::invalid(format!("batch operation {position}: {length} bytes, {} left", after.len()))
            })?;
            ops.push(
                decode_payload(inner_kind, inner)
                    .map_err(|e| Error::invalid(format!("batch operation {position}: {e}")))?,
            );
            rest = &after[length as usize..];
        }
        if !rest.is_empty() {
            return Err(Error::invalid(format!("{} bytes after the batch", rest.len())));
        }
        return Ok(LogOp::Batch(ops));
    }
    if kind == EPOCH {
        let bytes: [u8; 8] =
            payload.try_into().map_err(|_| Error::invalid(format!("{} epoch bytes, not 8", payload.len())))?;
        return Ok(LogOp::Epoch(u64::from_le_bytes(bytes)));
    }
    if [UPSERT, UPSERT_VECTORLESS, UPSERT_NAMED].contains(&kind) {
        return Ok(LogOp::Upsert(upsert::decode(kind, payload)?));
    }
    let (count, rest) = take_u32(payload, "entry count")?;
    let count = count as usize;
    match kind {
        DELETE => {
            let (ids, rest) = get_strings(rest, count, "ids")?;
            if !rest.is_empty() {
                return Err(Error::invalid(format!("{} bytes after the ids", rest.len())));
            }
            let ids = ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| {
                    id.map(str::to_owned).ok_or_else(|| Error::invalid(format!("delete entry {i} has no id")))
                })
                .collect::<Result<_>>()?;
            Ok(LogOp::Delete(ids))
        }
        other => Err(Error::invalid(format!("unknown operation {other}"))),
    }
}

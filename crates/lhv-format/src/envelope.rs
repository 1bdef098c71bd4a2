//! The head of a snapshot: magic, envelope length, the JSON envelope and its CRC.

use lhv_core::IndexParams;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{
    CHOSEN_EF_SNAPSHOT_VERSION, FIELD_SCHEMA_SNAPSHOT_VERSION, FORMAT_VERSION, NAMED_VECTORS_SNAPSHOT_VERSION,
    ON_DISK_SNAPSHOT_VERSION,
};

/// The first four bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"LHV1";
/// Magic, envelope length.
pub(crate) const PREFIX: usize = 8;
/// The CRC32C of the envelope, after it.
const ENVELOPE_CRC: usize = 4;

/// The JSON description of a snapshot: what the index is and where its sections are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The parameters of the index.
    pub params: IndexParams,
    /// Live vectors (slots with an id).
    pub item_count: u64,
    /// Slots, live and deleted-but-not-compacted.
    pub slot_count: u64,
    /// Sequence number of the last write-ahead-log record applied to this state (0: none).
    pub last_lsn: u64,
    /// The lease epoch of the writer that wrote the snapshot (0: written
    /// without a lease, and then absent from the JSON).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u64,
    /// The graph node where searches of the unnamed vector start; absent
    /// when there are no slots (or no unnamed vector).
    pub entry: Option<u32>,
    /// Per named vector (in name order), the node where its searches start
    /// (version 5; absent from the JSON when the index has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_entries: Vec<Option<u32>>,
    /// Where each section lies.
    pub sections: Vec<Section>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// One section of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// What the section holds (see docs/FORMAT.md).
    pub name: String,
    /// Its first byte, counted from the start of the snapshot.
    pub offset: u64,
    /// Its length in bytes.
    pub length: u64,
    /// CRC32C of its bytes.
    pub crc32c: u32,
}

/// Only the version, read before the rest so that a newer envelope is
/// reported as such instead of as a parse error.
#[derive(Deserialize)]
struct VersionOnly {
    format_version: u32,
}

/// The magic, the envelope's length, the envelope and its CRC.
pub(crate) fn encode_head(envelope: &Envelope) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(envelope).map_err(|e| Error::invalid(format!("envelope: {e}")))?;
    let length = u32::try_from(json.len()).map_err(|_| Error::invalid("envelope longer than 4 GiB"))?;
    let mut head = Vec::with_capacity(PREFIX + json.len() + ENVELOPE_CRC);
    head.extend_from_slice(&SNAPSHOT_MAGIC);
    head.extend_from_slice(&length.to_be_bytes());
    head.extend_from_slice(&json);
    head.extend_from_slice(&crate::checksum::crc32c(&json).to_be_bytes());
    Ok(head)
}

/// The length of the head [`encode_head`] makes for an envelope of `json_len` bytes.
pub(crate) fn head_len(json_len: usize) -> usize {
    PREFIX + json_len + ENVELOPE_CRC
}

/// Reads and checks the envelope of a snapshot; does not look at the sections.
pub fn read_envelope(bytes: &[u8]) -> Result<Envelope> {
    read_head(bytes).map(|(envelope, _)| envelope)
}

/// The envelope and the length of the head (where the sections may start).
pub(crate) fn read_head(bytes: &[u8]) -> Result<(Envelope, usize)> {
    let available = bytes.len() as u64;
    let truncated = |needed: usize| Error::Truncated { needed: needed as u64, available };
    let prefix = bytes.get(..PREFIX).ok_or_else(|| truncated(PREFIX))?;
    if prefix[..4] != SNAPSHOT_MAGIC {
        return Err(Error::BadMagic);
    }
    let json_len = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]) as usize;
    let end = head_len(json_len);
    let json = bytes.get(PREFIX..PREFIX + json_len).ok_or_else(|| truncated(end))?;
    let stored_crc = bytes.get(PREFIX + json_len..end).ok_or_else(|| truncated(end))?;
    let stored_crc = u32::from_be_bytes([stored_crc[0], stored_crc[1], stored_crc[2], stored_crc[3]]);
    if !crate::checksum_matches(json, stored_crc) {
        return Err(Error::Checksum { section: "envelope".into() });
    }
    let version: VersionOnly =
        serde_json::from_slice(json).map_err(|e| Error::invalid(format!("envelope is not valid JSON: {e}")))?;
    if !(FORMAT_VERSION..=CHOSEN_EF_SNAPSHOT_VERSION).contains(&version.format_version) {
        return Err(Error::UnsupportedVersion { found: version.format_version });
    }
    let envelope: Envelope = serde_json::from_slice(json).map_err(|e| Error::invalid(format!("envelope: {e}")))?;
    if envelope.format_version == FORMAT_VERSION && envelope.params.storage != lhv_core::Storage::F32 {
        return Err(Error::invalid("a version 1 snapshot holds float32 rows only"));
    }
    let typed = envelope.params.indexed_fields.iter().any(|f| f.schema != lhv_core::FieldSchema::Any);
    if typed && envelope.format_version < FIELD_SCHEMA_SNAPSHOT_VERSION {
        return Err(Error::invalid(format!(
            "a version {} snapshot declares untyped field indexes only",
            envelope.format_version
        )));
    }
    let params = &envelope.params;
    let named = !params.vectors.is_empty() || !params.sparse_vectors.is_empty() || !envelope.named_entries.is_empty();
    if named && envelope.format_version < NAMED_VECTORS_SNAPSHOT_VERSION {
        return Err(Error::invalid(format!("a version {} snapshot holds no named vectors", envelope.format_version)));
    }
    let on_disk = params.on_disk || params.vectors.values().any(|v| v.on_disk);
    if on_disk && envelope.format_version < ON_DISK_SNAPSHOT_VERSION {
        return Err(Error::invalid(format!(
            "a version {} snapshot holds no vector kept on disk",
            envelope.format_version
        )));
    }
    let chosen_ef = params.dense_vectors().iter().any(|(_, vector)| vector.ef_search_auto);
    if chosen_ef && envelope.format_version < CHOSEN_EF_SNAPSHOT_VERSION {
        return Err(Error::invalid(format!(
            "a version {} snapshot holds no default ef chosen by the index",
            envelope.format_version
        )));
    }
    Ok((envelope, end))
}

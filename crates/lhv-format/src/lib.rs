//! `lhv-format`: the bytes of vectord's durable state.
//!
//! Two formats, both pure (bytes in, values out; no I/O of their own):
//!
//! - **Snapshots** (LHV1 frames): a whole [`Index`](lhv_core::Index) in one
//!   blob, its graph included, so that loading rebuilds nothing and searches
//!   after a load return bit-identical results.
//! - **Write-ahead-log records**: one upsert or delete batch (or field-index change) each, with a
//!   sequence number, so that writes since the last snapshot can be replayed.
//!
//! Every length and count read from the input is checked before it is used
//! and every part carries a CRC32C: damaged input gives an [`Error`], never a
//! panic and never a silently different index. docs/FORMAT.md has the byte
//! layouts and the versioning rule.
//!
//! ```
//! use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
//! use lhv_format::{LogOp, LogRecord, decode_log, decode_snapshot, encode_record, encode_snapshot};
//!
//! let index = Index::new(IndexParams::new(2, Metric::L2))?;
//! index.upsert(vec![Item::new("a", vec![1.0, 2.0])])?;
//! let bytes = encode_snapshot(&index.to_parts(), 1)?;
//! let restored = decode_snapshot(&bytes)?;
//! assert_eq!(restored.last_lsn, 1);
//! assert_eq!(restored.index.search(&[1.0, 2.0], 1, &SearchOptions::default())?, index.search(&[1.0, 2.0], 1, &SearchOptions::default())?);
//!
//! let mut log = Vec::new();
//! encode_record(&LogRecord { sequence: 2, op: LogOp::Delete(vec!["a".into()]) }, &mut log)?;
//! log.extend_from_slice(&[b'L', b'H']); // a record cut short by a crash
//! let contents = decode_log(&log)?;
//! assert_eq!(contents.records.len(), 1);
//! assert_eq!(contents.torn_tail, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod arrays;
mod arrival;
mod checksum;
mod envelope;
mod error;
mod log;
mod snapshot;

pub use arrival::Arrival;
pub use envelope::{Envelope, SNAPSHOT_MAGIC, Section, read_envelope};
pub use error::{Error, Result};
pub use log::{
    FieldIndexChange, GraphParams, LogContents, LogOp, LogRecord, RECORD_HEADER_LEN, RECORD_MAGIC, decode_log,
    encode_record,
};
pub use snapshot::{
    InPlace, Snapshot, decode_arriving_snapshot, decode_shared_snapshot, decode_snapshot, decode_snapshot_parts,
    encode_leased_snapshot, encode_snapshot, on_disk_rows, read_snapshot, write_snapshot,
};

/// The version of the log format, and of snapshots of float32 indexes.
pub const FORMAT_VERSION: u32 = 1;
/// The version of snapshots of indexes that keep codes (float16 or 8-bit
/// [`Storage`](lhv_core::Storage)); it reads version 1 snapshots as well.
pub const CODES_SNAPSHOT_VERSION: u32 = 2;
/// The version of snapshots whose parameters declare a typed field index
/// (an [`IndexedField`](lhv_core::IndexedField) of a
/// [`FieldSchema`](lhv_core::FieldSchema) other than `Any`); it reads
/// versions 1 and 2 as well. A writer writes the lowest version that holds
/// the index.
pub const FIELD_SCHEMA_SNAPSHOT_VERSION: u32 = 3;
/// The version of snapshots that hold items without a vector (a
/// `vectorless` section: their slots); it reads versions 1 to 3 as well.
pub const VECTORLESS_SNAPSHOT_VERSION: u32 = 4;
/// The version of snapshots of indexes with named vectors
/// ([`IndexParams::vectors`](lhv_core::IndexParams::vectors)): a graph and
/// rows per named vector, in sections named `<section>@<i>`; it reads
/// versions 1 to 4 as well.
pub const NAMED_VECTORS_SNAPSHOT_VERSION: u32 = 5;
/// The version of snapshots of indexes with a dense vector kept on disk
/// ([`VectorParams::on_disk`](lhv_core::VectorParams::on_disk)): its exact
/// float32 rows in a `vectors` section (`vectors@<i>` for named vector `i`)
/// besides the sections of the codes the walk reads; it reads versions 1 to
/// 5 as well.
pub const ON_DISK_SNAPSHOT_VERSION: u32 = 6;
/// The version of snapshots whose parameters let the index choose a dense
/// vector's default ef by measurement
/// ([`IndexParams::ef_search_auto`](lhv_core::IndexParams::ef_search_auto)),
/// `ef_search` holding the last choice; it reads versions 1 to 6 as well,
/// whose ef is the one stored.
pub const CHOSEN_EF_SNAPSHOT_VERSION: u32 = 7;
/// The version of log records of the operations added after version 1: a
/// field index added or dropped ([`LogOp::FieldIndex`]) and batches
/// ([`LogOp::Batch`]); every other record is still written as version 1.
pub const EXTENDED_LOG_VERSION: u32 = 2;
/// The version of log records that change the graph parameters of later
/// insertions ([`LogOp::GraphParams`]); it reads versions 1 and 2 as well.
pub const GRAPH_PARAMS_LOG_VERSION: u32 = 3;
/// The version of upsert records with items without a vector (operation 7,
/// also inside a batch); it reads versions 1 to 3 as well.
pub const VECTORLESS_LOG_VERSION: u32 = 4;
/// The version of upsert records with named dense or sparse vectors
/// (operation 8, also inside a batch); it reads versions 1 to 4 as well.
pub const NAMED_VECTORS_LOG_VERSION: u32 = 5;

/// Whether `bytes` have the CRC32C `stored`. Fuzz builds (`cfg(fuzzing)`, set by
/// cargo-fuzz) accept any checksum: random inputs almost never carry a valid
/// one, and the fuzzer is there to reach the parsers behind the checks.
pub(crate) fn checksum_matches(bytes: &[u8], stored: u32) -> bool {
    checksum_matches_arriving(bytes, 0, &arrival::Present, stored)
}

/// [`checksum_matches`] for `bytes` at `offset` of a buffer whose parts
/// `arrival` reports as they are read in.
pub(crate) fn checksum_matches_arriving(bytes: &[u8], offset: usize, arrival: &dyn Arrival, stored: u32) -> bool {
    cfg!(fuzzing) || arrival::crc32c(bytes, offset, arrival) == stored
}

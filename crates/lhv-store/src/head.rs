//! The log head of a leased shard: the one small object whose conditional
//! replace commits a write in a cluster.
//!
//! `<storage>.wal/head` (a cluster member's shard: `_cluster/<incarnation>/
//! <shard>.wal/head`) holds `{"epoch", "last", "snapshot"}`: the epoch
//! (placement token) of the writer that wrote it, the sequence number of the
//! last committed record, and that of the last snapshot whose covered log
//! objects may have been removed. A leased writer creates a log object (a
//! conditional create at the next key), then replaces the head on the
//! version it last wrote (`If-Match`). Only then is the write committed, so
//! log objects past `last` are never read as committed: they are writes
//! whose head update failed (a writer that lost its place, or a failed
//! request). They are not removed (a paused writer could otherwise delete
//! its successor's object): the next writer that needs the key commits the
//! one in its way, a write never acknowledged that may so appear whole
//! (see `leased.rs`). A new writer replaces the head under its own
//! epoch before its first write, which makes every later head update of its
//! predecessor fail.
//!
//! A single process never writes a head; one it finds under `_vectors/` (a
//! bucket a cluster over S3 leases wrote, before that mode was removed) is
//! read at open and then removed, with the objects past it (`recovery.rs`).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layout::log_dir;
use crate::store::{ObjectVersion, Store};

/// The stored head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogHead {
    /// The epoch (token) of the writer that wrote it.
    pub(crate) epoch: u64,
    /// The last committed sequence number.
    pub(crate) last: u64,
    /// The last sequence number of a snapshot whose log objects may be gone.
    pub(crate) snapshot: u64,
}

/// The head's key for a shard's storage name.
pub(crate) fn head_key(storage: &str) -> String {
    format!("{}/head", log_dir(storage))
}

/// The head and its version, if the shard has one; a damaged head is an error naming it.
pub(crate) async fn read_head(store: &dyn Store, storage: &str) -> Result<Option<(LogHead, ObjectVersion)>> {
    let key = head_key(storage);
    let Some((bytes, version)) = store.get_versioned(&key).await? else { return Ok(None) };
    let head = serde_json::from_slice(&bytes).map_err(|e| Error::DamagedHead { key, reason: e.to_string() })?;
    Ok(Some((head, version)))
}

/// Writes the head: created if `version` is `None`, else replaced only if
/// still at `version` ([`Error::VersionChanged`] or [`Error::AlreadyExists`] if not).
pub(crate) async fn write_head(
    store: &dyn Store,
    storage: &str,
    head: &LogHead,
    version: Option<&ObjectVersion>,
) -> Result<ObjectVersion> {
    let key = head_key(storage);
    let bytes = Bytes::from(serde_json::to_vec(head).map_err(|e| Error::storage("encode", &key, e))?);
    match version {
        None => store.put_new_versioned(&key, bytes).await,
        Some(version) => store.put_if_version(&key, bytes, version).await,
    }
}

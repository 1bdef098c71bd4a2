//! Loading one index: its snapshot, then the log records after it.

use lhv_core::Index;
use lhv_format::{Snapshot, decode_log};

use crate::error::{Error, Result};
use crate::follow::{Unreadable, read_committed};
use crate::head::read_head;
use crate::layout::{log_key, snapshot_key};
use crate::mapped::load_snapshot;
use crate::replay::replay;
use crate::shard::{CommitState, LogObject};
use crate::store::{ObjectReader, ObjectVersion, Store};

/// A loaded index, or why it cannot be served.
pub(crate) type Loaded = std::result::Result<(Index, CommitState, Vec<String>), String>;

/// Loads index `name` from its snapshot and the log objects starting at
/// `log_firsts` (sorted). `Err` is a storage failure; `Ok(Err(reason))` is a
/// damaged or inconsistent object, which is left as it is. On success, also
/// returns the keys of log objects to remove: those the snapshot covers,
/// and (`clustered` false) those past a leased writer's head, which were
/// never committed.
///
/// A shard a cluster wrote has a log head: only the records up to its
/// `last` are committed. `clustered` is a cluster member's shard (`member/`).
/// Opened outside a cluster (a [`Catalog`](crate::Catalog) finding a head
/// under `_vectors/`, left by the former cluster over S3 leases), the head
/// goes (after the objects past it), so that the shard's log is an ordinary
/// one again.
pub(crate) async fn load(store: &dyn Store, name: &str, log_firsts: &[u64], clustered: bool) -> Result<Loaded> {
    if clustered {
        // Another process's snapshot may remove log objects while they are
        // read: then read again from the newer snapshot.
        for _ in 0..8 {
            match load_followed(store, name).await? {
                Followed::NoHead => break,
                Followed::Loaded(loaded) => return Ok(*loaded),
                Followed::Moved(reason) => tracing::info!(index = %name, %reason, "loading again"),
            }
        }
    }
    load_listed(store, name, log_firsts, clustered).await
}

/// What reading a clustered shard by its log head found.
enum Followed {
    /// No leased writer has written it: read it by the listing.
    NoHead,
    Loaded(Box<Loaded>),
    /// A snapshot overtook the read: why.
    Moved(String),
}

/// Loads a shard a cluster writes: the head, the snapshot, then the log
/// objects key after key up to the head's `last` (no listing), and the
/// head once more to make sure no snapshot removed what was read.
async fn load_followed(store: &dyn Store, name: &str) -> Result<Followed> {
    let (head, head_version) = match read_head(store, name).await {
        Ok(Some(head)) => head,
        Ok(None) => return Ok(Followed::NoHead),
        Err(crate::error::Error::DamagedHead { key, reason }) => {
            return Ok(Followed::Loaded(Box::new(Err(format!("{key}: {reason}")))));
        }
        Err(other) => return Err(other),
    };
    let (snapshot, snapshot_version) = match read_snapshot_object(store, name).await? {
        Ok(read) => read,
        Err(reason) => return Ok(Followed::Loaded(Box::new(Err(reason)))),
    };
    let objects = match read_committed(store, name, snapshot.last_lsn, head.last).await? {
        Ok(objects) => objects,
        Err(Unreadable::Missing(reason)) => return Ok(Followed::Moved(reason)),
        Err(Unreadable::Damaged(reason)) => return Ok(Followed::Loaded(Box::new(Err(reason)))),
    };
    let index = snapshot.index;
    let mut last = snapshot.last_lsn;
    let mut log = Vec::new();
    for (key, contents, bytes) in objects {
        let last_in_object = contents.records.last().map_or(last, |r| r.sequence);
        last = match replay(&index, last, &key, contents) {
            Ok(last) => last,
            Err(reason) => return Ok(Followed::Loaded(Box::new(Err(reason)))),
        };
        log.push(LogObject { key, last_sequence: last_in_object, bytes });
    }
    if let Some((now, _)) = read_head(store, name).await?
        && now.snapshot > snapshot.last_lsn
    {
        return Ok(Followed::Moved(format!("a snapshot at {} overtook the read", now.snapshot)));
    }
    let state = CommitState::after(last, log, Some(snapshot_version), Some((head, head_version)));
    Ok(Followed::Loaded(Box::new(Ok((index, state, Vec::new())))))
}

/// Loads a shard from the objects a listing found.
async fn load_listed(store: &dyn Store, name: &str, log_firsts: &[u64], clustered: bool) -> Result<Loaded> {
    let head = match read_head(store, name).await {
        Ok(head) => head,
        Err(crate::error::Error::DamagedHead { key, reason }) => return Ok(Err(format!("{key}: {reason}"))),
        Err(other) => return Err(other),
    };
    let (snapshot, snapshot_version) = match read_snapshot_object(store, name).await? {
        Ok(read) => read,
        Err(reason) => return Ok(Err(reason)),
    };
    let index = snapshot.index;
    let committed = head.as_ref().map_or(u64::MAX, |(head, _)| head.last);
    let mut last = snapshot.last_lsn;
    let mut log = Vec::new();
    let mut covered = Vec::new();
    for &first in log_firsts {
        let key = log_key(name, first);
        if first > committed {
            if !clustered {
                covered.push(key);
            }
            continue;
        }
        let Some(bytes) = store.get(&key).await? else {
            return Ok(Err(format!("{key} disappeared while loading")));
        };
        let contents = match decode_log(&bytes) {
            Ok(contents) => contents,
            Err(e) => return Ok(Err(format!("{key}: {e}"))),
        };
        if contents.torn_tail > 0 {
            // Never acknowledged: the write that was cut short did not return.
            tracing::warn!(%key, bytes = contents.torn_tail, "ignoring a torn tail");
        }
        let Some(last_in_object) = contents.records.last().map(|r| r.sequence) else {
            covered.push(key);
            continue;
        };
        if last_in_object <= snapshot.last_lsn {
            covered.push(key);
            continue;
        }
        last = match replay(&index, last, &key, contents) {
            Ok(last) => last,
            Err(reason) => return Ok(Err(reason)),
        };
        log.push(LogObject { key, last_sequence: last_in_object, bytes: bytes.len() as u64 });
    }
    if let Some((head, _)) = &head
        && last < head.last
    {
        return Ok(Err(format!("the log head says {} records, the log holds {last}", head.last)));
    }
    let head = match head {
        Some(head) if clustered => Some(head),
        Some(_) => {
            // Outside a cluster: past-the-head objects go first (returned as covered), then the head.
            for key in &covered {
                store.delete(key).await?;
            }
            store.delete(&crate::head::head_key(name)).await?;
            None
        }
        None => None,
    };
    let state = CommitState::after(last, log, Some(snapshot_version), head);
    Ok(Ok((index, state, covered)))
}

/// Reads index `name`'s snapshot on a blocking thread: mapped with its rows
/// in place, or streamed straight into the index's arrays (see `mapped.rs`),
/// so that loading needs little more memory than the index itself. `Err` is a storage failure, a read error
/// included; `Ok(Err(reason))` a missing or damaged snapshot, left as it is. A
/// damaged local copy of a remote snapshot (`cache.rs`) is dropped and the
/// object read again.
async fn read_snapshot_object(store: &dyn Store, name: &str) -> Result<Result<(Snapshot, ObjectVersion), String>> {
    let key = snapshot_key(name);
    match read_snapshot_once(store, &key).await? {
        Err(reason) if store.evict(&key).await.unwrap_or(false) => {
            tracing::warn!(%key, %reason, "the local copy of the snapshot is damaged: reading the object again");
            read_snapshot_once(store, &key).await
        }
        read => Ok(read),
    }
}

async fn read_snapshot_once(store: &dyn Store, key: &str) -> Result<Result<(Snapshot, ObjectVersion), String>> {
    let Some(ObjectReader { body, length, version }) = store.open(key).await? else {
        return Ok(Err(format!("{key} disappeared while loading")));
    };
    let read = tokio::task::spawn_blocking(move || load_snapshot(body, length))
        .await
        .map_err(|e| Error::storage("get", key, e))?;
    match read {
        Ok(snapshot) => Ok(Ok((snapshot, version))),
        Err(lhv_format::Error::Read { reason }) => Err(Error::storage("get", key, reason)),
        Err(e) => Ok(Err(format!("{key}: {e}"))),
    }
}

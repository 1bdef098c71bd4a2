//! One shard of a cluster index's incarnation, as a member holds it, and the
//! storage side of an incarnation's life: its empty shards written at
//! create, its heads fenced at drop, its objects removed after.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lhv_core::{Index, IndexParams, Item, UpsertOutcome};
use lhv_format::{LogOp, encode_snapshot};

use super::fence::TokenFence;
use crate::control::Membership;
use crate::durable::DurableIndex;
use crate::error::{Error, Result};
use crate::follow::CaughtUp;
use crate::head::{LogHead, head_key, read_head, write_head};
use crate::layout::{CLUSTER_DIR, cluster_shard_name, snapshot_key};
use crate::shard::{Applied, DurableShard, Leased, unreachable_outcome};
use crate::store::Store;

/// How a member keeps its shards.
#[derive(Debug, Clone)]
pub struct ShardOptions {
    /// A snapshot is written once the log after the last one holds this many bytes.
    pub snapshot_log_bytes: u64,
    /// A writer starts a write only if its membership lease holds this much longer.
    pub write_margin: Duration,
    /// Log objects a snapshot covers are kept this long, so that replicas
    /// behind catch up from the log rather than reload the snapshot.
    pub log_retention: Duration,
}

impl Default for ShardOptions {
    fn default() -> Self {
        Self {
            snapshot_log_bytes: 64 << 20,
            write_margin: Duration::from_millis(1_000),
            log_retention: Duration::from_secs(60),
        }
    }
}

/// A loaded shard: a replica following its log, or (once given a token)
/// its writer.
#[derive(Debug)]
pub struct ClusterShard {
    incarnation: String,
    number: u32,
    shard: Arc<DurableShard>,
    fence: Arc<TokenFence>,
}

/// Where reading a shard's log left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// Every committed record applied; how many log objects were new.
    Current(usize),
    /// It cannot go on from where it is (a snapshot removed what it needs):
    /// open it again. Why.
    Reload(String),
}

impl ClusterShard {
    /// Loads shard `number` of `incarnation` from its snapshot and the log up
    /// to its head, as a replica. [`Error::Unavailable`] if an object is damaged.
    pub async fn open(
        store: Arc<dyn Store>,
        incarnation: &str,
        number: u32,
        membership: Arc<Membership>,
        options: &ShardOptions,
    ) -> Result<Self> {
        let storage = cluster_shard_name(incarnation, number);
        let loaded = crate::recovery::load(store.as_ref(), &storage, &[], true).await?;
        // Log objects a snapshot covers stay: replicas behind may still read them.
        let (index, mut state, covered) =
            loaded.map_err(|reason| Error::Unavailable { name: storage.clone(), reason })?;
        // Covered objects a writer left (in its retention window, or after a
        // failed delete): retired from now, so that this member removes them
        // if it writes. Their sequence numbers are not known here (0: the
        // head is not raised for them); a replica that still reads one once
        // it is gone finds it missing and reloads, which is always correct.
        let now = std::time::Instant::now();
        state.retired =
            covered.into_iter().map(|key| (now, crate::shard::LogObject { key, last_sequence: 0, bytes: 0 })).collect();
        let fence = Arc::new(TokenFence::new(head_key(&storage), membership, options.write_margin));
        let leased = Leased {
            fence: Arc::clone(&fence) as Arc<dyn crate::fence::WriterFence>,
            log_retention: options.log_retention,
        };
        let shard = DurableShard::new(storage, Arc::new(index), store, options.snapshot_log_bytes, Some(leased), state);
        Ok(Self { incarnation: incarnation.to_owned(), number, shard: Arc::new(shard), fence })
    }

    /// The incarnation whose shard this is.
    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }

    /// The shard's number.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The in-memory index (for reads).
    pub fn index(&self) -> &Arc<Index> {
        self.shard.index()
    }

    /// The shard's log and commit machinery.
    pub(crate) fn durable(&self) -> &Arc<DurableShard> {
        &self.shard
    }

    /// This member writes the shard under `token` from now on (the
    /// placement's revision), or (None) does not. The first write under a
    /// new token reads the log to its end and claims the head.
    pub fn set_writer(&self, token: Option<u64>) {
        self.fence.set(token);
    }

    /// The token this member writes under, if it is the writer.
    pub fn writer_token(&self) -> Option<u64> {
        self.fence.token()
    }

    /// Claims the head under the token now, rather than at the first write
    /// (a promoted replica makes its predecessor's commits fail at once).
    pub async fn claim(&self) -> Result<()> {
        let mut state = self.shard.lock_commit().await;
        self.shard.prepare_write(&mut state).await
    }

    /// Applies what the writer committed since (a replica).
    pub async fn catch_up(&self) -> Result<Followed> {
        Ok(match self.shard.catch_up().await? {
            CaughtUp::Current(count) => Followed::Current(count),
            CaughtUp::Reload(reason) => Followed::Reload(reason),
        })
    }

    /// The last sequence number applied.
    pub async fn last_sequence(&self) -> u64 {
        self.shard.last_sequence().await
    }

    /// Upserts `items` (all of this shard), durable when it returns.
    pub async fn upsert(&self, items: Vec<Item>) -> Result<UpsertOutcome> {
        self.index().validate_upsert(&items)?;
        match self.shard.submit(LogOp::Upsert(items)).await? {
            Applied::Upserted(outcome) => Ok(outcome),
            _ => unreachable_outcome(),
        }
    }

    /// Deletes `ids` (all of this shard), durable when it returns: how many existed.
    pub async fn delete(&self, ids: Vec<String>) -> Result<usize> {
        match self.shard.submit(LogOp::Delete(ids)).await? {
            Applied::Deleted(count) => Ok(count),
            _ => unreachable_outcome(),
        }
    }

    /// Writes a snapshot now (the writer only; a replica does nothing).
    pub async fn snapshot(&self) -> Result<()> {
        self.shard.snapshot().await
    }
}

/// Index `name` as this member holds it: the shards `held` (of one
/// incarnation, in increasing number) of its `total`, read and written as
/// one [`DurableIndex`] that answers for them alone (a write naming an item
/// of another shard is refused, [`lhv_core::Error::ShardNotHeld`]).
pub fn member_index(name: &str, total: u32, held: &[&ClusterShard]) -> Result<DurableIndex> {
    let shards = held.iter().map(|shard| (shard.number as usize, Arc::clone(shard.durable()))).collect();
    DurableIndex::from_subset(name.to_owned(), total as usize, shards)
}

/// Writes the empty shards of a new incarnation (before any member loads
/// one). Incarnation ids are fresh, so every key is new; one already there
/// is an error, never overwritten.
pub async fn create_incarnation(store: &dyn Store, incarnation: &str, params: IndexParams, shards: u32) -> Result<()> {
    let empty = Index::new(params)?;
    let snapshot = Bytes::from(encode_snapshot(&empty.to_parts(), 0)?);
    for number in 0..shards {
        store.put_new(&snapshot_key(&cluster_shard_name(incarnation, number)), snapshot.clone()).await?;
    }
    Ok(())
}

/// Fences every shard of `incarnation` at `token` (a drop's revision,
/// larger than every placement token the incarnation had): each head is
/// raised to it with a conditional write, so a writer of the incarnation
/// that is still running (paused, or not yet told) can never commit again.
pub async fn fence_incarnation(store: &dyn Store, incarnation: &str, shards: u32, token: u64) -> Result<()> {
    for number in 0..shards {
        let storage = cluster_shard_name(incarnation, number);
        loop {
            let current = read_head(store, &storage).await?;
            let head = match &current {
                Some((head, _)) if head.epoch >= token => break,
                Some((head, _)) => LogHead { epoch: token, ..*head },
                None => LogHead { epoch: token, last: 0, snapshot: 0 },
            };
            match write_head(store, &storage, &head, current.as_ref().map(|(_, v)| v)).await {
                Ok(_) => break,
                // A commit landed in between: read it and raise it again.
                Err(Error::VersionChanged { .. } | Error::AlreadyExists { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

/// Removes every object of `incarnation` (after its drop was fenced and
/// its record removed: no member serves it any more).
pub async fn remove_incarnation(store: &dyn Store, incarnation: &str) -> Result<()> {
    for key in store.list(&format!("{CLUSTER_DIR}/{incarnation}")).await? {
        store.delete(&key).await?;
    }
    Ok(())
}

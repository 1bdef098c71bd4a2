//! One shard of a durable index (the whole of an unsharded one): an
//! [`Index`] whose writes are logged before they are applied.
//!
//! A write is validated, queued, and written by whichever writer holds the
//! commit lock next: it takes every queued write, numbers them, writes them as
//! one log object (group commit: one fsync or PUT for many batches), applies
//! them to the in-memory index in order, and answers each writer. Nothing is
//! applied (so no search sees it) before it is durable, and a failed log write
//! applies nothing and consumes no sequence numbers: the next group reuses the
//! same object key, replacing whatever a failed PUT may have left.
//!
//! In a cluster (the `cluster` feature: a member's shards, `member/`) a
//! shard is leased ([`Leased`]; the commit path is in `leased.rs`): its log
//! objects are created conditionally, begin with the writer's epoch (its
//! placement token), and are committed by a conditional replace of the log
//! head (`head.rs`); a failed write never removes anything at a key (it may
//! be another writer's). A [`Catalog`](crate::Catalog)'s shards are never
//! leased.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lhv_core::{Index, UpsertOutcome};
use lhv_format::{LogOp, LogRecord, encode_leased_snapshot, encode_record};
use tokio::sync::{Mutex, oneshot};

use crate::error::{Error, Result};
use crate::fence::WriterFence;
use crate::head::LogHead;
use crate::layout::{log_key, snapshot_key};
use crate::store::{ObjectVersion, Store};

/// A log object the current snapshot does not cover yet.
#[derive(Debug, Clone)]
pub(crate) struct LogObject {
    pub(crate) key: String,
    pub(crate) last_sequence: u64,
    pub(crate) bytes: u64,
}

/// Guarded by the commit lock: only the committing writer changes it.
#[derive(Debug)]
pub(crate) struct CommitState {
    /// The sequence number the next record gets.
    pub(crate) next_sequence: u64,
    /// Log objects after the snapshot, in order.
    pub(crate) log: Vec<LogObject>,
    /// The snapshot's version as last read or written: a leased writer
    /// replaces the snapshot only if nobody else has since.
    pub(crate) snapshot_version: Option<ObjectVersion>,
    /// The log head's version as last read or written (leased shards).
    pub(crate) head_version: Option<ObjectVersion>,
    /// The `snapshot` field of that head.
    pub(crate) head_snapshot: u64,
    /// The epoch (token) the head was last claimed under by this process (0:
    /// not claimed, so the next leased write reads the log and claims it first).
    pub(crate) claimed_epoch: u64,
    /// Log objects a snapshot covers, kept (in a cluster) for the log
    /// retention window from when they were covered, so that replicas
    /// behind read them rather than reload; removed by a later snapshot.
    pub(crate) retired: Vec<(Instant, LogObject)>,
}

impl CommitState {
    /// The state after reading the log up to sequence number `last`.
    pub(crate) fn after(
        last: u64,
        log: Vec<LogObject>,
        snapshot_version: Option<ObjectVersion>,
        head: Option<(LogHead, ObjectVersion)>,
    ) -> Self {
        let (head_version, head_snapshot) = head.map_or((None, 0), |(h, v)| (Some(v), h.snapshot));
        Self {
            next_sequence: last + 1,
            log,
            snapshot_version,
            head_version,
            head_snapshot,
            claimed_epoch: 0,
            retired: Vec::new(),
        }
    }

    /// The last sequence number applied.
    pub(crate) fn last(&self) -> u64 {
        self.next_sequence - 1
    }
}

/// What makes a shard's writes those of the one writer in a cluster: the
/// fence that says which epoch (token) it writes under, if any.
#[derive(Debug, Clone)]
pub(crate) struct Leased {
    pub(crate) fence: Arc<dyn WriterFence>,
    /// How long log objects a snapshot covers are kept for replicas behind.
    pub(crate) log_retention: Duration,
}

/// What a logged write did.
#[derive(Debug)]
pub(crate) enum Applied {
    Upserted(UpsertOutcome),
    Deleted(usize),
    /// A field index change; whether the index it names existed before.
    FieldIndexChanged(bool),
    /// A batch of upserts and deletes.
    Batch,
    /// New graph parameters for later insertions.
    GraphParamsSet,
}

#[derive(Debug)]
pub(crate) struct Pending {
    op: LogOp,
    reply: oneshot::Sender<Result<Applied>>,
}

/// The log, commit and snapshot machinery of one shard; its objects go by
/// its storage name (the index's name, or `<name>@<shard>`).
#[derive(Debug)]
pub(crate) struct DurableShard {
    pub(crate) name: String,
    pub(crate) index: Arc<Index>,
    pub(crate) store: Arc<dyn Store>,
    snapshot_log_bytes: u64,
    pub(crate) leased: Option<Leased>,
    queue: parking_lot::Mutex<Vec<Pending>>,
    pub(crate) commit: Mutex<CommitState>,
    /// One snapshot at a time.
    snapshotting: Mutex<()>,
    dropped: AtomicBool,
}

impl DurableShard {
    pub(crate) fn new(
        name: String,
        index: Arc<Index>,
        store: Arc<dyn Store>,
        snapshot_log_bytes: u64,
        leased: Option<Leased>,
        state: CommitState,
    ) -> Self {
        Self {
            name,
            index,
            store,
            snapshot_log_bytes,
            leased,
            queue: parking_lot::Mutex::new(Vec::new()),
            commit: Mutex::new(state),
            snapshotting: Mutex::new(()),
            dropped: AtomicBool::new(false),
        }
    }

    /// The shard's storage name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The shard's in-memory index.
    pub(crate) fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// The commit lock: while it is held no write of this shard commits.
    pub(crate) async fn lock_commit(&self) -> tokio::sync::MutexGuard<'_, CommitState> {
        self.commit.lock().await
    }

    /// Commits `op` (computed under the commit lock `state`, which the
    /// caller holds) first in a group with the writes still queued, so it
    /// sees exactly what precedes it. Returns its answer to come and whether
    /// a snapshot is due.
    pub(crate) async fn commit_first(
        self: &Arc<Self>,
        state: &mut CommitState,
        op: LogOp,
    ) -> Result<(oneshot::Receiver<Result<Applied>>, bool)> {
        self.check_not_dropped()?;
        let (reply, answer) = oneshot::channel();
        let mut group = vec![Pending { op, reply }];
        group.append(&mut self.queue.lock());
        self.commit_group(state, group).await;
        Ok((answer, self.snapshot_due(state)))
    }

    /// Waits for the answer of a write that [`commit_first`](Self::commit_first) committed.
    pub(crate) async fn answer(&self, answer: oneshot::Receiver<Result<Applied>>) -> Result<Applied> {
        answer.await.unwrap_or_else(|_| Err(cancelled(&self.name)))
    }

    /// The sequence number of the last durable write (0 if none).
    pub(crate) async fn last_sequence(&self) -> u64 {
        self.commit.lock().await.next_sequence - 1
    }

    /// Queues a write and returns once it is durable and applied (or failed).
    pub(crate) async fn submit(self: &Arc<Self>, op: LogOp) -> Result<Applied> {
        self.check_not_dropped()?;
        let (reply, mut answer) = oneshot::channel();
        self.queue.lock().push(Pending { op, reply });
        let (answered, snapshot_due) = {
            let mut state = self.commit.lock().await;
            // A previous holder of the lock may have committed this write already;
            // then leave the queue to the writer whose write is still waiting, so
            // that writes keep collecting into large groups.
            let answered = match answer.try_recv() {
                Err(oneshot::error::TryRecvError::Empty) => {
                    let group = std::mem::take(&mut *self.queue.lock());
                    self.commit_group(&mut state, group).await;
                    None
                }
                Ok(result) => Some(result),
                Err(oneshot::error::TryRecvError::Closed) => Some(Err(cancelled(&self.name))),
            };
            (answered, self.snapshot_due(&state))
        };
        if snapshot_due {
            self.snapshot_in_background();
        }
        match answered {
            Some(result) => result,
            None => answer.await.unwrap_or_else(|_| Err(cancelled(&self.name))),
        }
    }

    /// A dropped index takes no more writes.
    fn check_not_dropped(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::IndexNotFound { name: self.name.clone() });
        }
        Ok(())
    }

    /// Whether the log after the snapshot has grown past the snapshot threshold.
    fn snapshot_due(&self, state: &CommitState) -> bool {
        state.log.iter().map(|o| o.bytes).sum::<u64>() >= self.snapshot_log_bytes
    }

    /// Logs and applies one group; every writer in it gets its answer.
    async fn commit_group(self: &Arc<Self>, state: &mut CommitState, group: Vec<Pending>) {
        if let Some(leased) = &self.leased {
            return self.commit_leased(leased, state, group).await;
        }
        let first = state.next_sequence;
        let key = log_key(&self.name, first);
        let (records, replies, encoded) = encode_group(first, None, group);
        let length = encoded.as_ref().map_or(0, |b| b.len() as u64);
        let written = match encoded {
            Ok(bytes) => self.store.put(&key, bytes).await,
            Err(e) => Err(e),
        };
        if let Err(error) = written {
            // Nothing was applied and no sequence number is used up. A PUT that
            // failed may still have landed: remove it (best effort; the next
            // group writes the same key anyway).
            let _ = self.store.delete(&key).await;
            fail_all(replies, &key, &error);
            return;
        }
        self.apply_group(state, LogObject { key, last_sequence: 0, bytes: length }, records, replies).await;
    }

    /// Applies a durable group to the in-memory index and answers its writers.
    pub(crate) async fn apply_group(
        self: &Arc<Self>,
        state: &mut CommitState,
        mut object: LogObject,
        records: Vec<LogRecord>,
        replies: Vec<oneshot::Sender<Result<Applied>>>,
    ) {
        let last = records.last().map_or(state.next_sequence - 1, |r| r.sequence);
        state.next_sequence = last + 1;
        object.last_sequence = last;
        state.log.push(object);
        let index = Arc::clone(self);
        let outcomes = tokio::task::spawn_blocking(move || {
            records
                .into_iter()
                .filter(|record| !matches!(record.op, LogOp::Epoch(_)))
                .map(|record| index.apply(record.op))
                .collect::<Vec<_>>()
        })
        .await;
        match outcomes {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(join) => {
                for reply in replies {
                    let _ = reply.send(Err(Error::storage("apply", &self.name, &join)));
                }
            }
        }
    }

    /// Applies one logged write to the in-memory index.
    fn apply(&self, op: LogOp) -> Result<Applied> {
        match op {
            LogOp::Upsert(items) => Ok(Applied::Upserted(self.index.upsert(items)?)),
            LogOp::Delete(ids) => Ok(Applied::Deleted(self.index.delete(&ids))),
            LogOp::FieldIndex(change) => {
                Ok(Applied::FieldIndexChanged(crate::replay::change_fields(&self.index, change)?))
            }
            LogOp::GraphParams(params) => {
                self.index.set_build_params(params.m, params.ef_construction)?;
                Ok(Applied::GraphParamsSet)
            }
            LogOp::Batch(ops) => {
                crate::replay::apply_batch(&self.index, ops)?;
                Ok(Applied::Batch)
            }
            LogOp::Epoch(_) => unreachable_outcome(),
        }
    }

    pub(crate) fn snapshot_in_background(self: &Arc<Self>) {
        let index = Arc::clone(self);
        tokio::spawn(async move {
            if let Ok(_one) = index.snapshotting.try_lock()
                && let Err(error) = index.write_snapshot().await
            {
                tracing::warn!(index = %index.name, %error, "background snapshot failed; the log is kept");
            }
        });
    }

    /// The index as an LHV1 snapshot frame: everything acknowledged before the
    /// call, nothing half-applied (writes wait while the index is copied).
    pub(crate) async fn export_snapshot(self: &Arc<Self>) -> Result<Vec<u8>> {
        let (parts, last_sequence) = {
            let state = self.commit.lock().await;
            let index = Arc::clone(self);
            let parts = tokio::task::spawn_blocking(move || index.index.to_parts())
                .await
                .map_err(|e| Error::storage("export", &self.name, e))?;
            (parts, state.next_sequence - 1)
        };
        let bytes = tokio::task::spawn_blocking(move || encode_leased_snapshot(&parts, last_sequence, 0))
            .await
            .map_err(|e| Error::storage("export", &self.name, e))??;
        Ok(bytes)
    }

    /// Writes a snapshot of everything durable so far, then removes the log
    /// objects it covers. Writes wait only while the index is copied.
    pub(crate) async fn snapshot(self: &Arc<Self>) -> Result<()> {
        let _one = self.snapshotting.lock().await;
        self.write_snapshot().await
    }

    async fn write_snapshot(self: &Arc<Self>) -> Result<()> {
        // In a cluster only the writer snapshots, under its token.
        let lease_epoch = match &self.leased {
            None => 0,
            Some(leased) => match leased.fence.writable_epoch() {
                Ok(epoch) => epoch,
                Err(_) => return Ok(()),
            },
        };
        let slot_epoch;
        let (parts, last_sequence, covered, version) = {
            let state = self.commit.lock().await;
            if state.log.is_empty() || (self.leased.is_some() && state.claimed_epoch != lease_epoch) {
                return Ok(());
            }
            let index = Arc::clone(self);
            // Before the parts: a compaction after this makes the fold below a no-op.
            slot_epoch = self.index.slot_epoch();
            let parts = tokio::task::spawn_blocking(move || index.index.to_parts())
                .await
                .map_err(|e| Error::storage("snapshot", &self.name, e))?;
            (parts, state.next_sequence - 1, state.log.clone(), state.snapshot_version.clone())
        };
        let bytes = tokio::task::spawn_blocking(move || encode_leased_snapshot(&parts, last_sequence, lease_epoch))
            .await
            .map_err(|e| Error::storage("snapshot", &self.name, e))??;
        let key = snapshot_key(&self.name);
        let now = Instant::now();
        let (written_version, expired) = match &self.leased {
            None => {
                self.store.put(&key, Bytes::from(bytes)).await?;
                let covered: Vec<LogObject> =
                    covered.into_iter().filter(|o| o.last_sequence <= last_sequence).collect();
                let mut state = self.commit.lock().await;
                state.log.retain(|o| !covered.iter().any(|c| c.key == o.key));
                (None, covered)
            }
            Some(leased) => {
                let written =
                    self.put_leased_snapshot(leased, Bytes::from(bytes), version, lease_epoch, last_sequence).await?;
                let mut state = self.commit.lock().await;
                state.snapshot_version = Some(written.clone());
                // What the snapshot covers retires now; what retired a window ago goes.
                let newly: Vec<LogObject> =
                    state.log.iter().filter(|o| o.last_sequence <= last_sequence).cloned().collect();
                state.log.retain(|o| o.last_sequence > last_sequence);
                state.retired.extend(newly.into_iter().map(|o| (now, o)));
                let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.retired)
                    .into_iter()
                    .partition(|(at, _)| now.duration_since(*at) >= leased.log_retention);
                state.retired = kept;
                let expired: Vec<LogObject> = expired.into_iter().map(|(_, o)| o).collect();
                // Only once the head says they may be gone do they go: a
                // replica that read an older head finds out before it applies anything.
                let floor = expired.iter().map(|o| o.last_sequence).max().unwrap_or(0);
                if floor > state.head_snapshot {
                    let head = LogHead { epoch: lease_epoch, last: state.last(), snapshot: floor };
                    if let Err(error) = self.replace_head(&mut state, &head).await {
                        state.claimed_epoch = 0;
                        return Err(error);
                    }
                }
                (Some(written), expired)
            }
        };
        for object in &expired {
            // A log object that outlives its snapshot is skipped on recovery
            // (and retired again by the next writer), so a failed delete only
            // leaves garbage for a later snapshot.
            if let Err(error) = self.store.delete(&object.key).await {
                tracing::warn!(index = %self.name, %error, "could not remove a covered log object");
            }
        }
        if written_version.is_some() {
            self.commit.lock().await.snapshot_version = written_version;
        }
        if self.index.params().any_on_disk() {
            crate::mapped::fold_on_disk_rows(&*self.store, &key, Arc::clone(&self.index), slot_epoch).await;
        }
        Ok(())
    }

    /// Stops accepting writes and waits for the running commit and snapshot.
    pub(crate) async fn retire(&self) {
        self.dropped.store(true, Ordering::Release);
        let _snapshot = self.snapshotting.lock().await;
        let _commit = self.commit.lock().await;
    }
}

/// Numbers a group's writes from `first` (after an epoch record, for a
/// leased writer) and encodes them as one log object.
fn encode_group(
    first: u64,
    epoch: Option<u64>,
    group: Vec<Pending>,
) -> (Vec<LogRecord>, Vec<oneshot::Sender<Result<Applied>>>, Result<Bytes>) {
    let (records, replies) = number_group(first, epoch, group);
    let mut bytes = Vec::new();
    let encoded = records
        .iter()
        .try_for_each(|record| encode_record(record, &mut bytes))
        .map(|()| Bytes::from(bytes))
        .map_err(Error::Format);
    (records, replies, encoded)
}

/// A group's writes as log records numbered from `first`, after an epoch
/// record for a leased writer, and their writers' reply channels.
pub(crate) fn number_group(
    first: u64,
    epoch: Option<u64>,
    group: Vec<Pending>,
) -> (Vec<LogRecord>, Vec<oneshot::Sender<Result<Applied>>>) {
    let mut replies = Vec::with_capacity(group.len());
    let mut records = Vec::with_capacity(group.len() + 1);
    records.extend(epoch.map(|epoch| LogRecord { sequence: first, op: LogOp::Epoch(epoch) }));
    for (sequence, Pending { op, reply }) in (first + records.len() as u64..).zip(group) {
        records.push(LogRecord { sequence, op });
        replies.push(reply);
    }
    (records, replies)
}

/// Answers every writer of a group that was not committed with `error`.
pub(crate) fn fail_all(replies: Vec<oneshot::Sender<Result<Applied>>>, key: &str, error: &Error) {
    for reply in replies {
        let _ = reply.send(Err(failed_commit(key, error)));
    }
}

/// `error` once more, for each writer of a group that failed with it.
pub(crate) fn failed_commit(key: &str, error: &Error) -> Error {
    match error {
        Error::NotWriter { name } => Error::NotWriter { name: name.clone() },
        Error::LeaseLost { key } => Error::LeaseLost { key: key.clone() },
        Error::LogConflict { key } => Error::LogConflict { key: key.clone() },
        Error::Storage { full, message, .. } => {
            Error::Storage { operation: "log write", key: key.to_owned(), message: message.clone(), full: *full }
        }
        other => {
            Error::Storage { operation: "log write", key: key.to_owned(), message: other.to_string(), full: false }
        }
    }
}

fn cancelled(name: &str) -> Error {
    Error::storage("commit", name, "the committing task was cancelled")
}

/// The error for an answer of the wrong kind, which a write never gets.
pub(crate) fn unreachable_outcome<T>() -> Result<T> {
    Err(Error::storage("apply", "", "an operation produced the outcome of another kind"))
}

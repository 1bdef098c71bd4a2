//! The commit path of a leased shard (a cluster member writing a shard
//! under its placement token): a conditional create of the log object, its
//! first record the writer's epoch (token), then the conditional replace of
//! the log head (`head.rs`) that commits it; snapshots replaced only on the
//! version their writer last saw.

use std::sync::Arc;

use bytes::Bytes;
use lhv_format::encode_record;

use crate::error::{Error, Result};
use crate::head::{LogHead, head_key, read_head, write_head};
use crate::layout::{log_key, snapshot_key};
use crate::replay::replay;
use crate::shard::{CommitState, DurableShard, Leased, LogObject, Pending, fail_all, number_group};
use crate::store::ObjectVersion;

impl DurableShard {
    /// [`commit_group`](Self::commit_group) of a leased shard: a
    /// conditional create of the log object (epoch record first), then the
    /// conditional replace of the log head that commits it; only then
    /// applied and acknowledged.
    pub(crate) async fn commit_leased(self: &Arc<Self>, leased: &Leased, state: &mut CommitState, group: Vec<Pending>) {
        let key = log_key(&self.name, state.next_sequence);
        let epoch = match leased.fence.writable_epoch() {
            Ok(epoch) => epoch,
            Err(error) => return fail_all(number_group(0, None, group).1, &key, &error),
        };
        if state.claimed_epoch != epoch
            && let Err(error) = self.claim(leased, state, epoch).await
        {
            return fail_all(number_group(0, None, group).1, &key, &error);
        }
        let (mut records, replies) = number_group(state.next_sequence, Some(epoch), group);
        // A log object in the way (never committed) is committed first; then
        // the group goes after it, numbered anew.
        let mut adopted = 0;
        let (key, length) = loop {
            let first = state.next_sequence;
            for (sequence, record) in (first..).zip(records.iter_mut()) {
                record.sequence = sequence;
            }
            let key = log_key(&self.name, first);
            let mut bytes = Vec::new();
            if let Err(error) = records.iter().try_for_each(|record| encode_record(record, &mut bytes)) {
                return fail_all(replies, &key, &Error::Format(error));
            }
            let length = bytes.len() as u64;
            let created = match self.store.put_new(&key, Bytes::from(bytes)).await {
                Err(Error::AlreadyExists { .. }) if adopted < 4 => {
                    adopted += 1;
                    match self.adopt(state, epoch, &key).await {
                        Ok(()) => continue,
                        Err(error) => Err(error),
                    }
                }
                Err(Error::AlreadyExists { .. }) => Err(Error::LogConflict { key: key.clone() }),
                other => other,
            };
            match created {
                Ok(()) => break (key, length),
                Err(error) => {
                    if matches!(error, Error::LeaseLost { .. }) {
                        leased.fence.lost(epoch);
                    }
                    state.claimed_epoch = 0;
                    return fail_all(replies, &key, &error);
                }
            }
        };
        let last = records.last().map_or(state.last(), |r| r.sequence);
        let head = LogHead { epoch, last, snapshot: state.head_snapshot };
        if let Err(error) = self.replace_head(state, &head).await {
            let error = if matches!(error, Error::LeaseLost { .. }) {
                leased.fence.lost(epoch);
                leased.fence.lost_error()
            } else {
                error
            };
            state.claimed_epoch = 0;
            return fail_all(replies, &key, &error);
        }
        self.apply_group(state, LogObject { key, last_sequence: 0, bytes: length }, records, replies).await;
    }

    /// The log object at `key` lies past the head: a write whose head update
    /// never landed (this process's own, its answer lost, or that of a writer
    /// that lost its lease). It is never removed (a process that paused
    /// between looking at it and removing it could remove its successor's
    /// object instead): it is committed, by replacing the head on this
    /// writer's version ([`Error::LeaseLost`] if another writer moved it),
    /// and applied. It was never acknowledged, so it may appear, whole.
    async fn adopt(self: &Arc<Self>, state: &mut CommitState, epoch: u64, key: &str) -> Result<()> {
        let Some(bytes) = self.store.get(key).await? else { return Err(Error::LogConflict { key: key.to_owned() }) };
        let contents = lhv_format::decode_log(&bytes)?;
        let first = state.next_sequence;
        let (Some(head_record), Some(last)) =
            (contents.records.first().map(|r| r.sequence), contents.records.last().map(|r| r.sequence))
        else {
            return Err(Error::LogConflict { key: key.to_owned() });
        };
        if head_record != first {
            return Err(Error::LogConflict { key: key.to_owned() });
        }
        self.replace_head(state, &LogHead { epoch, last, snapshot: state.head_snapshot }).await?;
        tracing::info!(%key, "committing a log object whose head update had not landed");
        let shard = Arc::clone(self);
        let replayed = tokio::task::spawn_blocking(move || replay(&shard.index, first - 1, "", contents))
            .await
            .map_err(|e| Error::storage("apply", &self.name, e))?;
        let applied = replayed.map_err(|reason| Error::storage("apply", key, reason))?;
        state.next_sequence = applied + 1;
        state.log.push(LogObject { key: key.to_owned(), last_sequence: last, bytes: bytes.len() as u64 });
        Ok(())
    }

    /// Replaces the head on the version last written (creates it if there is
    /// none yet). Another process's head in between means the lease was lost;
    /// a failed request is checked by reading the head back.
    pub(crate) async fn replace_head(&self, state: &mut CommitState, head: &LogHead) -> Result<()> {
        let written = write_head(self.store.as_ref(), &self.name, head, state.head_version.as_ref()).await;
        let version = match written {
            Ok(version) => version,
            Err(Error::VersionChanged { .. } | Error::AlreadyExists { .. }) => {
                return Err(Error::LeaseLost { key: head_key(&self.name) });
            }
            Err(error) => match read_head(self.store.as_ref(), &self.name).await {
                // The request failed but the write landed.
                Ok(Some((stored, version))) if stored == *head => version,
                _ => return Err(error),
            },
        };
        state.head_version = Some(version);
        state.head_snapshot = head.snapshot;
        Ok(())
    }

    /// Replaces the snapshot only if it is still the one this writer last
    /// read or wrote: a writer that lost its lease cannot overwrite its
    /// successor's. If another snapshot is there but the lease is still
    /// ours (a predecessor's late snapshot), it is replaced.
    pub(crate) async fn put_leased_snapshot(
        &self,
        leased: &Leased,
        bytes: Bytes,
        version: Option<ObjectVersion>,
        lease_epoch: u64,
        last_sequence: u64,
    ) -> Result<ObjectVersion> {
        let key = snapshot_key(&self.name);
        if let Some(version) = version {
            match self.store.put_if_version(&key, bytes.clone(), &version).await {
                Err(Error::VersionChanged { .. }) => {}
                other => return other,
            }
        }
        if read_head(self.store.as_ref(), &self.name).await?.is_some_and(|(head, _)| head.epoch > lease_epoch) {
            leased.fence.lost(lease_epoch);
            return Err(leased.fence.lost_error());
        }
        let Some((current_bytes, current)) = self.store.get_versioned(&key).await? else {
            return Err(Error::IndexNotFound { name: self.name.clone() });
        };
        // Never replace a snapshot that is ahead of this one, or from a later writer.
        let envelope = lhv_format::read_envelope(&current_bytes)?;
        if envelope.epoch > lease_epoch || envelope.last_lsn > last_sequence {
            return Err(leased.fence.lost_error());
        }
        self.store.put_if_version(&key, bytes, &current).await
    }
}

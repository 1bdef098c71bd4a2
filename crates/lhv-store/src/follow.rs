//! Reading the log of a shard another process writes: a replica applies
//! the records its writer committed (up to the log head's `last`), and a
//! process that becomes the writer (a larger token) reads to the end and
//! claims the head under its own epoch before its first write.
//!
//! Log objects are read by key, each following the last record of the one
//! before, up to the head's `last`: no listing. Objects past the head are
//! never read (they were never committed). A snapshot may remove objects a
//! replica has not read yet, and a writer that lost its place may then
//! create an object at a freed key; so after reading, the head is read
//! again, and if a snapshot now covers the replica's position, what was read
//! is discarded and the shard is loaded again instead.

use std::sync::Arc;

use lhv_format::{LogContents, decode_log};

use crate::error::{Error, Result};
use crate::head::{LogHead, read_head};
use crate::layout::log_key;
use crate::replay::replay;
use crate::shard::{CommitState, DurableShard, Leased, LogObject};
use crate::store::Store;

/// What reading the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaughtUp {
    /// Every committed record is applied; how many log objects were new.
    Current(usize),
    /// The shard cannot go on from where it is (a newer snapshot removed the
    /// objects it needs, or one is damaged): load it again. Why.
    Reload(String),
}

/// A committed log object, read but not applied yet: its key, records and size.
pub(crate) type ReadObject = (String, LogContents, u64);

/// Why committed log objects could not be read.
pub(crate) enum Unreadable {
    /// One is gone (a snapshot removed it): read again from the snapshot.
    Missing(String),
    /// One fails its checks.
    Damaged(String),
}

/// The log objects of `storage` holding records `from + 1 ..= to`, in
/// order: each key follows the last record of the object before, so no
/// listing is needed.
pub(crate) async fn read_committed(
    store: &dyn Store,
    storage: &str,
    from: u64,
    to: u64,
) -> Result<std::result::Result<Vec<ReadObject>, Unreadable>> {
    let mut objects = Vec::new();
    let mut last = from;
    while last < to {
        let key = log_key(storage, last + 1);
        let Some(bytes) = store.get(&key).await? else {
            return Ok(Err(Unreadable::Missing(format!("{key} is gone"))));
        };
        let contents = match decode_log(&bytes) {
            Ok(contents) => contents,
            Err(e) => return Ok(Err(Unreadable::Damaged(format!("{key}: {e}")))),
        };
        match contents.records.last().map(|r| r.sequence) {
            Some(end) if end > last => last = end,
            _ => return Ok(Err(Unreadable::Damaged(format!("{key} holds no record after {last}")))),
        }
        objects.push((key, contents, bytes.len() as u64));
    }
    Ok(Ok(objects))
}

impl DurableShard {
    /// Applies every record committed after the shard's position (a replica).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) async fn catch_up(self: &Arc<Self>) -> Result<CaughtUp> {
        let mut state = self.commit.lock().await;
        let Some((head, _)) = read_head(self.store.as_ref(), &self.name).await? else {
            // No leased writer has written since the shard was loaded.
            return Ok(CaughtUp::Current(0));
        };
        self.apply_up_to(&mut state, &head).await
    }

    /// Reads and applies the records up to `head.last`, unless a snapshot overtook the position.
    async fn apply_up_to(self: &Arc<Self>, state: &mut CommitState, head: &LogHead) -> Result<CaughtUp> {
        if head.last <= state.last() {
            return Ok(CaughtUp::Current(0));
        }
        let from = state.last();
        if head.snapshot > from {
            return Ok(CaughtUp::Reload(format!("a snapshot at {} covers records after {from}", head.snapshot)));
        }
        let objects = match read_committed(self.store.as_ref(), &self.name, from, head.last).await? {
            Ok(objects) => objects,
            Err(Unreadable::Missing(reason) | Unreadable::Damaged(reason)) => return Ok(CaughtUp::Reload(reason)),
        };
        // Anything removed while it was read shows in the head by now.
        let again = read_head(self.store.as_ref(), &self.name).await?;
        if let Some((now, _)) = again
            && now.snapshot > from
        {
            return Ok(CaughtUp::Reload(format!("a snapshot at {} covers records after {from}", now.snapshot)));
        }
        let count = objects.len();
        let shard = Arc::clone(self);
        let applied = tokio::task::spawn_blocking(move || {
            let mut last = from;
            let mut log = Vec::new();
            for (key, contents, bytes) in objects {
                let last_in_object = contents.records.last().map_or(last, |r| r.sequence);
                last = replay(&shard.index, last, &key, contents)?;
                log.push(LogObject { key, last_sequence: last_in_object, bytes });
            }
            Ok::<_, String>((last, log))
        })
        .await
        .map_err(|e| Error::storage("catch up", &self.name, e))?;
        match applied {
            Ok((last, log)) => {
                state.next_sequence = last + 1;
                state.log.extend(log);
                // The writer removes what its snapshots cover: forget those
                // objects too, so that a replica's list stays as short as its writer's.
                state.log.retain(|o| o.last_sequence > head.snapshot);
                Ok(CaughtUp::Current(count))
            }
            Err(reason) => Ok(CaughtUp::Reload(reason)),
        }
    }

    /// For a write computed under the commit lock: claims the head first if
    /// this leased shard has not yet under its current lease (a plain
    /// write does so itself). Not the writer: [`Error::NotWriter`].
    pub(crate) async fn prepare_write(self: &Arc<Self>, state: &mut CommitState) -> Result<()> {
        let Some(leased) = &self.leased else { return Ok(()) };
        let epoch = leased.fence.writable_epoch()?;
        if state.claimed_epoch != epoch {
            self.claim(leased, state, epoch).await?;
        }
        Ok(())
    }

    /// Before the first write under `epoch`: reads the log to its end and
    /// replaces the head under `epoch`, so that no earlier writer's head
    /// update can land after it. A head already under a later epoch means
    /// the lease is lost.
    pub(crate) async fn claim(self: &Arc<Self>, leased: &Leased, state: &mut CommitState, epoch: u64) -> Result<()> {
        // A head replaced between the read and the claim (the previous writer
        // still finishing a write) sends the claim round again.
        for _ in 0..8 {
            let current = read_head(self.store.as_ref(), &self.name).await?;
            let head = match &current {
                Some((head, _)) if head.epoch > epoch => {
                    leased.fence.lost(epoch);
                    return Err(leased.fence.lost_error());
                }
                Some((head, _)) => *head,
                None => LogHead { epoch, last: state.last(), snapshot: 0 },
            };
            if let CaughtUp::Reload(reason) = self.apply_up_to(state, &head).await? {
                return Err(Error::storage("take over", &self.name, reason));
            }
            state.head_version = current.map(|(_, v)| v);
            let claimed = LogHead { epoch, last: state.last(), snapshot: head.snapshot };
            match self.replace_head(state, &claimed).await {
                Ok(()) => {
                    state.claimed_epoch = epoch;
                    return Ok(());
                }
                Err(Error::LeaseLost { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(Error::LogConflict { key: crate::head::head_key(&self.name) })
    }
}

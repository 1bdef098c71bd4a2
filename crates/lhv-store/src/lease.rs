//! Leases: which process may write something (a shard), decided in the
//! store itself with conditional writes, so that processes sharing a bucket
//! need no other coordinator.
//!
//! A lease is one small JSON object `{"holder", "epoch", "expires_at_ms"}`.
//! It is created with a conditional create (`If-None-Match: *`), and renewed,
//! released or taken over with a conditional replace on its version
//! (`If-Match`): of several processes racing for it, exactly one write
//! lands. A takeover (only once the lease has expired) raises the epoch, so
//! everything a holder writes can carry the epoch it wrote under. A holder
//! that paused past its expiry finds out at its next renewal, which fails
//! with [`Error::LeaseLost`]. Times are passed in, in milliseconds since the
//! Unix epoch, so that callers choose the clock (and tests can move it).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{ObjectVersion, Store};

/// The stored state of a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRecord {
    /// Who holds it (a process's address or name).
    pub holder: String,
    /// Raised by one at every takeover; starts at 1.
    pub epoch: u64,
    /// Until when it holds, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
}

/// A lease this process holds.
#[derive(Debug, Clone)]
pub struct Lease {
    key: String,
    record: LeaseRecord,
    version: ObjectVersion,
}

/// What an attempt to take a lease found.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The lease is ours.
    Acquired(Lease),
    /// Another holder has it, until `expires_at_ms`.
    HeldBy(LeaseRecord),
}

impl Lease {
    /// Takes the lease at `key` for `holder` until `now_ms + ttl_ms`: when
    /// there is none (epoch 1), when it has expired (epoch + 1), or when
    /// `holder` holds it already (renewed, same epoch).
    pub async fn acquire(store: &dyn Store, key: &str, holder: &str, now_ms: u64, ttl_ms: u64) -> Result<Attempt> {
        // Losing a race means another write landed: the next look sees it.
        loop {
            if let Some(attempt) = Self::try_acquire(store, key, holder, now_ms, ttl_ms).await? {
                return Ok(attempt);
            }
        }
    }

    /// One look and one conditional write; `None` if another write won the race.
    async fn try_acquire(
        store: &dyn Store,
        key: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Option<Attempt>> {
        let expires_at_ms = now_ms.saturating_add(ttl_ms);
        let (record, written) = match read(store, key).await? {
            None => {
                let record = LeaseRecord { holder: holder.to_owned(), epoch: 1, expires_at_ms };
                (record.clone(), store.put_new_versioned(key, encode(&record)?).await)
            }
            Some((current, version)) => {
                let epoch = if current.holder == holder && now_ms < current.expires_at_ms {
                    current.epoch
                } else if now_ms >= current.expires_at_ms {
                    current.epoch + 1
                } else {
                    return Ok(Some(Attempt::HeldBy(current)));
                };
                let record = LeaseRecord { holder: holder.to_owned(), epoch, expires_at_ms };
                (record.clone(), store.put_if_version(key, encode(&record)?, &version).await)
            }
        };
        match written {
            Ok(version) => Ok(Some(Attempt::Acquired(Lease { key: key.to_owned(), record, version }))),
            Err(Error::AlreadyExists { .. } | Error::VersionChanged { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The lease record at `key`, if there is one (whoever holds it).
    pub async fn read(store: &dyn Store, key: &str) -> Result<Option<LeaseRecord>> {
        Ok(read(store, key).await?.map(|(record, _)| record))
    }

    /// The epoch this process holds the lease under.
    pub fn epoch(&self) -> u64 {
        self.record.epoch
    }

    /// Until when it holds, in milliseconds since the Unix epoch.
    pub fn expires_at_ms(&self) -> u64 {
        self.record.expires_at_ms
    }

    /// The holder's name.
    pub fn holder(&self) -> &str {
        &self.record.holder
    }

    /// Extends the lease to `now_ms + ttl_ms`, provided no other process has
    /// written it since: else [`Error::LeaseLost`].
    pub async fn renew(&mut self, store: &dyn Store, now_ms: u64, ttl_ms: u64) -> Result<()> {
        let record = LeaseRecord { expires_at_ms: now_ms.saturating_add(ttl_ms), ..self.record.clone() };
        self.version = self.replace(store, &record).await?;
        self.record = record;
        Ok(())
    }

    /// Gives the lease up: it expires at `now_ms`, so that the next process
    /// need not wait. A lease already taken over is left alone ([`Error::LeaseLost`]).
    pub async fn release(self, store: &dyn Store, now_ms: u64) -> Result<()> {
        let record = LeaseRecord { expires_at_ms: now_ms, ..self.record.clone() };
        self.replace(store, &record).await.map(|_| ())
    }

    async fn replace(&self, store: &dyn Store, record: &LeaseRecord) -> Result<ObjectVersion> {
        match store.put_if_version(&self.key, encode(record)?, &self.version).await {
            Err(Error::VersionChanged { .. }) => Err(Error::LeaseLost { key: self.key.clone() }),
            other => other,
        }
    }
}

async fn read(store: &dyn Store, key: &str) -> Result<Option<(LeaseRecord, ObjectVersion)>> {
    let Some((bytes, version)) = store.get_versioned(key).await? else { return Ok(None) };
    let record = serde_json::from_slice(&bytes)
        .map_err(|e| Error::DamagedLease { key: key.to_owned(), reason: e.to_string() })?;
    Ok(Some((record, version)))
}

fn encode(record: &LeaseRecord) -> Result<Bytes> {
    serde_json::to_vec(record).map(Bytes::from).map_err(|e| Error::storage("encode", "lease", e))
}

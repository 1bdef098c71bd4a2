//! The lease that makes one process the writer of an index among the
//! processes sharing a bucket, as its shards' commits see it.
//!
//! The lease decides who should write and lets a writer refuse early (its
//! lease must hold a margin longer than a write takes); what makes a writer
//! that paused past its lease harmless is the log head (`head.rs`): its
//! successor replaced the head before writing, so the paused writer's
//! conditional head update fails and nothing it writes is committed.

use crate::cluster::Clock;
use crate::error::{Error, Result};
use crate::lease::Lease;

/// What a shard's commits ask before each write: the epoch (fencing token)
/// to write under, if this process may write now. Whatever it says, the
/// log head in storage decides: a commit under an epoch lower than the
/// head's fails.
pub(crate) trait WriterFence: std::fmt::Debug + Send + Sync {
    /// The epoch to write under now, or [`Error::NotWriter`].
    fn writable_epoch(&self) -> Result<u64>;
    /// The head showed a later writer: forget `epoch` (if still held).
    fn lost(&self, epoch: u64);
    /// The error a write gets once the writer has lost its place.
    fn lost_error(&self) -> Error;
}

/// An index's S3 lease as the fence of its shards, held while it lasts
/// `margin_ms` longer by `clock`.
#[derive(Debug)]
pub(crate) struct LeaseFence {
    pub(crate) fence: std::sync::Arc<Fence>,
    pub(crate) clock: Clock,
    /// A write starts only if the lease holds this much longer.
    pub(crate) margin_ms: u64,
}

impl WriterFence for LeaseFence {
    fn writable_epoch(&self) -> Result<u64> {
        self.fence.writable_epoch(self.clock.now_ms(), self.margin_ms)
    }

    fn lost(&self, epoch: u64) {
        self.fence.lost(epoch);
    }

    fn lost_error(&self) -> Error {
        self.fence.lost_error()
    }
}

/// One index's lease, as this process holds it (or not).
#[derive(Debug)]
pub(crate) struct Fence {
    index: String,
    key: String,
    holder: String,
    held: parking_lot::Mutex<Option<Lease>>,
}

impl Fence {
    pub(crate) fn new(index: String, key: String, holder: String) -> Self {
        Self { index, key, holder, held: parking_lot::Mutex::new(None) }
    }

    /// The lease object's key.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// This process's name in lease records (its address).
    pub(crate) fn holder(&self) -> &str {
        &self.holder
    }

    /// The lease, if this process holds it.
    pub(crate) fn lease(&self) -> Option<Lease> {
        self.held.lock().clone()
    }

    /// Records the lease as held (a fresh or renewed one), or as not held.
    pub(crate) fn set(&self, lease: Option<Lease>) {
        *self.held.lock() = lease;
    }

    /// The epoch to write under, if the lease is held until at least
    /// `now_ms + margin_ms` (a write must land well before another process
    /// may take over).
    pub(crate) fn writable_epoch(&self, now_ms: u64, margin_ms: u64) -> Result<u64> {
        match self.held.lock().as_ref() {
            Some(lease) if now_ms.saturating_add(margin_ms) < lease.expires_at_ms() => Ok(lease.epoch()),
            _ => Err(Error::NotWriter { name: self.index.clone() }),
        }
    }

    /// Forgets the lease held at `epoch`: another process took it over.
    pub(crate) fn lost(&self, epoch: u64) {
        let mut held = self.held.lock();
        if held.as_ref().is_some_and(|l| l.epoch() == epoch) {
            tracing::warn!(index = %self.index, epoch, "lost the lease: another process writes the index now");
            *held = None;
        }
    }

    /// [`Error::LeaseLost`] for this lease.
    pub(crate) fn lost_error(&self) -> Error {
        Error::LeaseLost { key: self.key.clone() }
    }
}

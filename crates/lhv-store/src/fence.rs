//! What makes one process the writer of a shard among the processes sharing
//! a bucket, as the shard's commits see it.
//!
//! The fence decides who should write and lets a writer refuse early (what
//! it holds must last a margin longer than a write takes); what makes a
//! writer that paused past it harmless is the log head (`head.rs`): its
//! successor replaced the head before writing, so the paused writer's
//! conditional head update fails and nothing it writes is committed. A
//! cluster member's fence is its placement token (`member/fence.rs`).

use crate::error::{Error, Result};

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

//! A cluster shard's writer fence: the placement token this member writes
//! under, held while its membership lease is known to hold a margin longer.

use std::sync::Arc;
use std::time::Duration;

use crate::control::Membership;
use crate::error::{Error, Result};
use crate::fence::WriterFence;

/// The token (if this member is the shard's writer) and the membership it
/// depends on.
#[derive(Debug)]
pub(crate) struct TokenFence {
    /// The shard's head key, to name it in errors.
    head_key: String,
    token: parking_lot::Mutex<Option<u64>>,
    membership: Arc<Membership>,
    /// A write starts only if the membership lease holds this much longer.
    margin: Duration,
}

impl TokenFence {
    pub(crate) fn new(head_key: String, membership: Arc<Membership>, margin: Duration) -> Self {
        Self { head_key, token: parking_lot::Mutex::new(None), membership, margin }
    }

    /// Writes go under `token` from now on (None: this member does not write the shard).
    pub(crate) fn set(&self, token: Option<u64>) {
        *self.token.lock() = token;
    }

    /// The token held, if any.
    pub(crate) fn token(&self) -> Option<u64> {
        *self.token.lock()
    }
}

impl WriterFence for TokenFence {
    fn writable_epoch(&self) -> Result<u64> {
        match *self.token.lock() {
            Some(token) if self.membership.holds_for(self.margin) => Ok(token),
            _ => Err(Error::NotWriter { name: self.head_key.clone() }),
        }
    }

    fn lost(&self, epoch: u64) {
        let mut token = self.token.lock();
        if *token == Some(epoch) {
            tracing::warn!(head = %self.head_key, token = epoch, "a later writer or a drop took this shard");
            *token = None;
        }
    }

    fn lost_error(&self) -> Error {
        Error::LeaseLost { key: self.head_key.clone() }
    }
}

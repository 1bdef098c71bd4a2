//! Watching the cluster's keys: every change after a listing, in revision
//! order, so a process keeps its view of the catalog, the members and the
//! placement current without polling.

use etcd_client::{EventType, WatchOptions, WatchStream};

use super::{ControlPlane, Revision, control};
use crate::error::{Error, Result};

/// One change to a key of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The key, relative to the cluster's prefix (`indexes/docs`, ...).
    pub key: String,
    /// The new value, or None if the key was deleted (or its lease expired).
    pub value: Option<Vec<u8>>,
    /// The revision of the change.
    pub revision: Revision,
}

/// The changes to the cluster's keys from a revision on.
pub struct Watch {
    stream: WatchStream,
    prefix: String,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Watches every key of the cluster from revision `from` (inclusive:
    /// one past a listing's revision misses nothing).
    pub async fn watch(&self, from: Revision) -> Result<Watch> {
        let options = WatchOptions::new().with_prefix().with_start_revision(from).with_progress_notify();
        let stream = self
            .client
            .watch_client()
            .watch(self.prefix.clone(), Some(options))
            .await
            .map_err(|e| control("watch", e))?;
        Ok(Watch { stream, prefix: self.prefix.clone() })
    }
}

impl Watch {
    /// The next changes (several may come at once; none on a progress
    /// notification). [`Error::Control`] if the watch broke or its start
    /// revision was compacted away: list again and watch anew.
    pub async fn next(&mut self) -> Result<Vec<Change>> {
        let answer = self.stream.message().await.map_err(|e| control("watch", e))?;
        let Some(answer) = answer else {
            return Err(Error::Control { operation: "watch", reason: "the watch stream ended".into() });
        };
        if answer.canceled() {
            let reason =
                format!("watch canceled ({}; compacted to {})", answer.cancel_reason(), answer.compact_revision());
            return Err(Error::Control { operation: "watch", reason });
        }
        let mut changes = Vec::with_capacity(answer.events().len());
        for event in answer.events() {
            let Some(kv) = event.kv() else { continue };
            let full = String::from_utf8_lossy(kv.key());
            let Some(key) = full.strip_prefix(self.prefix.as_str()) else { continue };
            let value = match event.event_type() {
                EventType::Put => Some(kv.value().to_vec()),
                EventType::Delete => None,
            };
            changes.push(Change { key: key.to_owned(), value, revision: kv.mod_revision() });
        }
        Ok(changes)
    }
}

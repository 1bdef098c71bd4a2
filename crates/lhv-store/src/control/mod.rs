//! The cluster's control plane, kept in etcd: which indexes exist (each
//! incarnation under a fresh id), which processes are members (each on an
//! etcd lease, whose expiry etcd's leader measures), where each shard is
//! placed (its writer and replicas, with a fencing token that never
//! repeats) and which member is the controller.
//!
//! Every change is an etcd transaction that compares what it read, so two
//! processes changing one record cannot both succeed; what the control plane
//! decides is then enforced in object storage by the shards' log heads (a
//! writer commits only by a conditional replace of its head, under its
//! token), because an etcd record alone cannot stop a writer that paused.
//!
//! Keys, under a prefix of the operator's choosing (one per cluster):
//!
//! | key | value |
//! |---|---|
//! | `indexes/<name>` | [`IndexRecord`]: incarnation, parameters, shards, replication, state |
//! | `members/<node>` | [`MemberRecord`]: address and memory budget, on the member's lease |
//! | `placement/<incarnation>/<shard>` | [`ShardPlacement`]: writer and replicas; its revision is the token |
//! | `controller` | the controller's node name, on its lease |
//! | `loads/<node>` | [`Load`]: bytes and log position of each shard the member holds, on its lease |
//! | `heads/<incarnation>/<shard>` | the last sequence number the shard's writer committed (replicas watch it) |

mod aliases;
mod election;
mod indexes;
mod members;
mod placement;
mod reports;
mod watch;

use std::time::Duration;

use etcd_client::{Client, ConnectOptions, GetOptions, KeyValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub use election::Leadership;
pub use indexes::{IndexRecord, IndexState};
pub use members::{MemberRecord, Membership};
pub use placement::{PlacedShard, ShardPlacement};
pub use reports::{Load, ShardLoad};
pub use watch::{Change, Watch};

/// A revision of the etcd key space: every change gets the next one, so a
/// revision is never handed out twice (fencing tokens are revisions).
pub type Revision = i64;

/// How long one request to etcd may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the control plane: etcd's endpoints and the cluster's
/// key prefix. Cheap to clone (one gRPC channel shared).
#[derive(Clone)]
pub struct ControlPlane {
    client: Client,
    prefix: String,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Connects to etcd at `endpoints` (`http://host:port`); every key of this
    /// cluster goes under `prefix` (say `/vectord/prod/`).
    pub async fn connect(endpoints: &[String], prefix: &str) -> Result<Self> {
        let options = ConnectOptions::new()
            .with_connect_timeout(REQUEST_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(Duration::from_secs(2), REQUEST_TIMEOUT);
        let client = Client::connect(endpoints, Some(options)).await.map_err(|e| control("connect", e))?;
        let mut prefix = prefix.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Self { client, prefix })
    }

    /// The full etcd key of `key` under this cluster's prefix.
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// `key` without this cluster's prefix (keys etcd hands back are full).
    fn strip<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.prefix.as_str())
    }

    /// Every key-value under `prefix` (relative), with the revision the listing was taken at.
    async fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision)> {
        let mut client = self.client.kv_client();
        let mut answer = client
            .get(self.key(prefix), Some(GetOptions::new().with_prefix()))
            .await
            .map_err(|e| control("list", e))?;
        let revision = answer.header().map_or(0, |h| h.revision());
        Ok((answer.take_kvs(), revision))
    }

    /// Every key of the cluster as one consistent listing (each as a
    /// [`Change`] to an empty view), and its revision: apply the changes a
    /// [`Watch`] from the next revision brings to keep it current.
    pub async fn everything(&self) -> Result<(Vec<Change>, Revision)> {
        let (kvs, revision) = self.list("").await?;
        let changes = kvs
            .iter()
            .filter_map(|kv| {
                let full = String::from_utf8_lossy(kv.key());
                let key = self.strip(&full)?.to_owned();
                Some(Change { key, value: Some(kv.value().to_vec()), revision: kv.mod_revision() })
            })
            .collect();
        Ok((changes, revision))
    }

    /// The value at `key` (relative) and its revision of last change, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let mut client = self.client.kv_client();
        let mut answer = client.get(self.key(key), None).await.map_err(|e| control("get", e))?;
        Ok(answer.take_kvs().into_iter().next())
    }
}

/// [`Error::Control`] from an etcd client error.
fn control(operation: &'static str, error: etcd_client::Error) -> Error {
    Error::Control { operation, reason: error.to_string() }
}

/// A record as stored: JSON.
fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::DamagedRecord { key: key.to_owned(), reason: e.to_string() })
}

/// A stored record; one that does not decode is named, never skipped.
fn decode<T: DeserializeOwned>(kv: &KeyValue) -> Result<T> {
    serde_json::from_slice(kv.value()).map_err(|e| Error::DamagedRecord {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        reason: e.to_string(),
    })
}

//! A member's picture of the cluster: everything under the cluster's
//! prefix, from one listing, kept current by applying the changes a watch
//! brings, in revision order.

use std::collections::BTreeMap;

use crate::control::{Change, IndexRecord, IndexState, Load, MemberRecord, Revision, ShardPlacement};
use crate::controller::{ClusterState, IndexInfo, ShardKey};
use crate::error::{Error, Result};

/// The cluster as the control plane holds it.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// Indexes by name: record and the revision of its last change.
    pub indexes: BTreeMap<String, (IndexRecord, Revision)>,
    /// Live members.
    pub members: BTreeMap<String, MemberRecord>,
    /// Placement of each shard, with its token.
    pub placements: BTreeMap<ShardKey, (ShardPlacement, Revision)>,
    /// What each member reports holding.
    pub loads: BTreeMap<String, Load>,
    /// The last committed sequence number of each shard, as its writer reports it.
    pub heads: BTreeMap<ShardKey, u64>,
    /// The aliases: alias to index.
    pub aliases: BTreeMap<String, String>,
    /// The controller's node name.
    pub controller: Option<String>,
    /// The revision this view is current to.
    pub revision: Revision,
}

fn damaged(key: &str, reason: impl std::fmt::Display) -> Error {
    Error::DamagedRecord { key: key.to_owned(), reason: reason.to_string() }
}

fn shard_key(rest: &str, key: &str) -> Result<ShardKey> {
    let (incarnation, shard) = rest.split_once('/').ok_or_else(|| damaged(key, "not <incarnation>/<shard>"))?;
    let shard = shard.parse().map_err(|e| damaged(key, e))?;
    Ok((incarnation.to_owned(), shard))
}

fn json<T: serde::de::DeserializeOwned>(key: &str, value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|e| damaged(key, e))
}

/// A reported head: a sequence number in decimal.
fn head(key: &str, value: &[u8]) -> Result<u64> {
    let text = std::str::from_utf8(value).map_err(|e| damaged(key, e))?;
    text.parse().map_err(|e| damaged(key, e))
}

/// `map[key]` set to a decoded value, or removed (the key was deleted).
fn set<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, value: Option<Result<V>>) -> Result<()> {
    match value {
        Some(value) => {
            map.insert(key, value?);
        }
        None => {
            map.remove(&key);
        }
    }
    Ok(())
}

impl ClusterView {
    /// A view of `changes` (a listing) at `revision`.
    pub fn from_listing(changes: &[Change], revision: Revision) -> Result<Self> {
        let mut view = Self::default();
        for change in changes {
            view.apply(change)?;
        }
        view.revision = revision;
        Ok(view)
    }

    /// Applies one change. A record that does not decode is an error naming it.
    pub fn apply(&mut self, change: &Change) -> Result<()> {
        let key = change.key.as_str();
        self.revision = self.revision.max(change.revision);
        let value = change.value.as_deref();
        let revision = change.revision;
        if let Some(name) = key.strip_prefix("indexes/") {
            set(&mut self.indexes, name.to_owned(), value.map(|v| json(key, v).map(|r| (r, revision))))?;
        } else if let Some(node) = key.strip_prefix("members/") {
            set(&mut self.members, node.to_owned(), value.map(|v| json(key, v)))?;
        } else if let Some(rest) = key.strip_prefix("placement/") {
            set(&mut self.placements, shard_key(rest, key)?, value.map(|v| json(key, v).map(|p| (p, revision))))?;
        } else if let Some(node) = key.strip_prefix("loads/") {
            set(&mut self.loads, node.to_owned(), value.map(|v| json(key, v)))?;
        } else if let Some(rest) = key.strip_prefix("heads/") {
            set(&mut self.heads, shard_key(rest, key)?, value.map(|v| head(key, v)))?;
        } else if key == "aliases" {
            self.aliases = match value {
                Some(value) => json(key, value)?,
                None => BTreeMap::new(),
            };
        } else if key == "controller" {
            self.controller = value.map(|v| String::from_utf8_lossy(v).into_owned());
        }
        Ok(())
    }

    /// The index named `name`, if it serves (live, or being resharded: its
    /// old shards answer reads meanwhile); not one being dropped.
    pub fn live_index(&self, name: &str) -> Option<&(IndexRecord, Revision)> {
        self.indexes.get(name).filter(|(record, _)| record.state != IndexState::Dropping)
    }

    /// What the controller's plan is made from.
    pub fn controller_state(&self) -> ClusterState {
        let mut state = ClusterState {
            members: self.members.iter().map(|(node, record)| (node.clone(), record.memory_budget)).collect(),
            placements: self.placements.clone(),
            ..ClusterState::default()
        };
        for (name, (record, revision)) in &self.indexes {
            if record.state != IndexState::Live {
                continue;
            }
            state.indexes.push(IndexInfo {
                name: name.clone(),
                incarnation: record.incarnation.clone(),
                shards: record.shards,
                replication: record.replication,
                revision: *revision,
            });
        }
        for (node, load) in &self.loads {
            for (shard, reported) in &load.shards {
                let Ok(key) = shard_key(shard, shard) else { continue };
                let bytes = state.shard_bytes.entry(key.clone()).or_default();
                *bytes = (*bytes).max(reported.bytes);
                state.progress.insert((key, node.clone()), reported.last);
            }
        }
        state
    }
}

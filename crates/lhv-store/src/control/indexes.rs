//! The catalog of a cluster: each index's current incarnation, changed only
//! in transactions.
//!
//! Creating an index is one transaction that succeeds only if the name is
//! free, so of any number of processes creating one name at once exactly one
//! wins, before anything is written to object storage; the winner's
//! incarnation id is fresh, and all of its objects live under it, so no
//! create or drop ever touches another incarnation's data (B1, B3 of the
//! old design). A drop first marks the record `dropping` (a new revision,
//! which fences the incarnation's shard heads in storage), then removes the
//! record and the incarnation's placement in one transaction.

use etcd_client::{Compare, CompareOp, DeleteOptions, Txn, TxnOp};
use lhv_core::IndexParams;
use serde::{Deserialize, Serialize};

use super::{ControlPlane, Revision, control, decode, encode};
use crate::error::{Error, Result};

/// One index of the cluster, as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexRecord {
    /// A fresh id per create: the index's objects live under it, so a
    /// dropped and re-created index never shares a key with its predecessor.
    pub incarnation: String,
    /// Dimension, metric, storage and graph parameters.
    pub params: IndexParams,
    /// How many shards (items placed by `shard_of` of their id).
    pub shards: u32,
    /// How many copies of each shard are loaded (the writer's included).
    pub replication: u32,
    /// Live, or being dropped.
    pub state: IndexState,
}

/// Where an index is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexState {
    /// Serving.
    Live,
    /// Being dropped: no new writes; its record goes once its shards are fenced.
    Dropping,
    /// Being split into twice as many shards (a new incarnation): reads go
    /// on from the old shards, writes wait (its heads are fenced).
    Resharding,
}

impl IndexRecord {
    /// A live record of a new incarnation with a fresh id.
    pub fn new(params: IndexParams, shards: u32, replication: u32) -> Self {
        let incarnation = uuid::Uuid::new_v4().simple().to_string();
        Self { incarnation, params, shards, replication, state: IndexState::Live }
    }
}

pub(super) fn index_key(name: &str) -> String {
    format!("indexes/{name}")
}

impl ControlPlane {
    /// Creates index `name` as `record`, if no index has the name: the
    /// revision of the create. [`Error::IndexExists`] if one has (being
    /// dropped included).
    pub async fn create_index(&self, name: &str, record: &IndexRecord) -> Result<Revision> {
        let key = self.key(&index_key(name));
        let value = encode(&key, record)?;
        // No alias may have the name: the create holds only while the alias
        // map is as read (an alias change in between sends it round again).
        for _ in 0..32 {
            let (aliases, aliases_at) = self.aliases().await?;
            if aliases.contains_key(name) {
                return Err(Error::AliasExists { name: name.to_owned() });
            }
            let aliases_key = self.key(super::aliases::ALIASES_KEY);
            let txn = Txn::new()
                .when([
                    Compare::create_revision(key.clone(), CompareOp::Equal, 0),
                    Compare::mod_revision(aliases_key, CompareOp::Equal, aliases_at),
                ])
                .and_then([TxnOp::put(key.clone(), value.clone(), None)]);
            let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("create index", e))?;
            if answer.succeeded() {
                return Ok(answer.header().map_or(0, |h| h.revision()));
            }
            if self.index(name).await?.is_some() {
                return Err(Error::IndexExists { name: name.to_owned() });
            }
        }
        Err(Error::AliasesBusy)
    }

    /// Index `name`'s record and the revision it last changed at.
    pub async fn index(&self, name: &str) -> Result<Option<(IndexRecord, Revision)>> {
        let Some(kv) = self.get(&index_key(name)).await? else { return Ok(None) };
        Ok(Some((decode(&kv)?, kv.mod_revision())))
    }

    /// Every index (name, record, revision of its last change), and the
    /// revision of the listing (watch from the next one to miss nothing).
    pub async fn indexes(&self) -> Result<(Vec<(String, IndexRecord, Revision)>, Revision)> {
        let (kvs, revision) = self.list("indexes/").await?;
        let mut out = Vec::with_capacity(kvs.len());
        for kv in &kvs {
            let key = String::from_utf8_lossy(kv.key());
            let Some(name) = self.strip(&key).and_then(|k| k.strip_prefix("indexes/")) else { continue };
            out.push((name.to_owned(), decode(kv)?, kv.mod_revision()));
        }
        Ok((out, revision))
    }

    /// Marks incarnation `incarnation` of `name` as being dropped: the
    /// revision of the mark, a token above every placement token the
    /// incarnation had (its shard heads are fenced with it). Marking one
    /// already marked gives the same revision.
    pub async fn mark_dropping(&self, name: &str, incarnation: &str) -> Result<Revision> {
        self.mark(name, incarnation, IndexState::Dropping, "drop index").await
    }

    /// Marks live incarnation `incarnation` of `name` as being resharded:
    /// the revision of the mark (a token above all of its placement tokens).
    pub async fn mark_resharding(&self, name: &str, incarnation: &str) -> Result<Revision> {
        self.mark(name, incarnation, IndexState::Resharding, "reshard index").await
    }

    async fn mark(
        &self,
        name: &str,
        incarnation: &str,
        state: IndexState,
        operation: &'static str,
    ) -> Result<Revision> {
        let relative = index_key(name);
        let key = self.key(&relative);
        let Some(kv) = self.get(&relative).await? else { return Err(Error::IndexNotFound { name: name.to_owned() }) };
        let mut record: IndexRecord = decode(&kv)?;
        if record.incarnation != incarnation {
            return Err(Error::IndexNotFound { name: name.to_owned() });
        }
        if record.state == state {
            return Ok(kv.mod_revision());
        }
        // A drop may overtake a resharding; nothing else changes a marked record.
        if record.state != IndexState::Live && state != IndexState::Dropping {
            return Err(Error::RecordChanged { key });
        }
        record.state = state;
        let txn = Txn::new()
            .when([Compare::mod_revision(key.clone(), CompareOp::Equal, kv.mod_revision())])
            .and_then([TxnOp::put(key.clone(), encode(&key, &record)?, None)]);
        let answer = self.client.kv_client().txn(txn).await.map_err(|e| control(operation, e))?;
        if !answer.succeeded() {
            return Err(Error::RecordChanged { key });
        }
        Ok(answer.header().map_or(0, |h| h.revision()))
    }

    /// Ends a resharding: the record (still as marked at `marked`) becomes
    /// `next` (the new incarnation, live), and the old incarnation's
    /// placement and heads go, in one transaction.
    pub async fn finish_resharding(&self, name: &str, marked: Revision, old: &str, next: &IndexRecord) -> Result<()> {
        let key = self.key(&index_key(name));
        let txn = Txn::new().when([Compare::mod_revision(key.clone(), CompareOp::Equal, marked)]).and_then([
            TxnOp::put(key.clone(), encode(&key, next)?, None),
            TxnOp::delete(self.key(&format!("placement/{old}/")), Some(DeleteOptions::new().with_prefix())),
            TxnOp::delete(self.key(&format!("heads/{old}/")), Some(DeleteOptions::new().with_prefix())),
        ]);
        let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("reshard index", e))?;
        if !answer.succeeded() {
            return Err(Error::RecordChanged { key });
        }
        Ok(())
    }

    /// Removes incarnation `incarnation` of `name` (marked dropping), its
    /// placement and its reported heads, in one transaction: true if this
    /// call removed it, false if it was gone already.
    pub async fn remove_index(&self, name: &str, incarnation: &str) -> Result<bool> {
        let relative = index_key(name);
        let key = self.key(&relative);
        let Some(kv) = self.get(&relative).await? else { return Ok(false) };
        let record: IndexRecord = decode(&kv)?;
        if record.incarnation != incarnation {
            return Ok(false);
        }
        if record.state != IndexState::Dropping {
            return Err(Error::RecordChanged { key });
        }
        let placement = self.key(&format!("placement/{incarnation}/"));
        let heads = self.key(&format!("heads/{incarnation}/"));
        let txn =
            Txn::new().when([Compare::mod_revision(key.clone(), CompareOp::Equal, kv.mod_revision())]).and_then([
                TxnOp::delete(key.clone(), None),
                TxnOp::delete(placement, Some(DeleteOptions::new().with_prefix())),
                TxnOp::delete(heads, Some(DeleteOptions::new().with_prefix())),
            ]);
        let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("remove index", e))?;
        if !answer.succeeded() {
            return Err(Error::RecordChanged { key });
        }
        // The compare held, so the record was there and this call removed it.
        Ok(true)
    }
}

//! A durable index: one shard, or several, each with its own log and
//! snapshot, read together through a [`ShardedIndex`].
//!
//! A write is validated whole, split by shard, and each part is committed by
//! its shard (in parallel); the write is acknowledged once every part is
//! durable. Across shards there is no atomic commit: if a process dies while
//! a multi-shard write is in flight (so it was never acknowledged), some
//! shards may keep their part.

use std::sync::Arc;

use futures::future::join_all;
use lhv_core::{Index, IndexedField, Item, MAX_INDEXED_FIELDS, ShardedIndex, UpsertOutcome};
use lhv_format::{FieldIndexChange, GraphParams, LogOp};

use crate::error::{Error, Result};
use crate::shard::{Applied, DurableShard, unreachable_outcome};

/// An index made durable by a [`Catalog`](crate::Catalog).
///
/// Read through [`index`](Self::index); write through
/// [`upsert`](Self::upsert) and [`delete`](Self::delete), which return only
/// once the write is durable.
#[derive(Debug)]
pub struct DurableIndex {
    name: String,
    shards: Vec<Arc<DurableShard>>,
    view: ShardedIndex,
}

impl DurableIndex {
    pub(crate) fn new(name: String, shards: Vec<Arc<DurableShard>>) -> Result<Self> {
        let indexes: Vec<Arc<Index>> = shards.iter().map(|s| Arc::clone(s.index())).collect();
        let view = ShardedIndex::from_shards(indexes)?;
        Ok(Self { name, shards, view })
    }

    /// Some shards of an index of `total` shards, with their numbers
    /// (increasing): a cluster member's part of an index.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn from_subset(name: String, total: usize, shards: Vec<(usize, Arc<DurableShard>)>) -> Result<Self> {
        let indexes = shards.iter().map(|(number, shard)| (*number, Arc::clone(shard.index()))).collect();
        let view = ShardedIndex::from_subset(total, indexes)?;
        Ok(Self { name, shards: shards.into_iter().map(|(_, shard)| shard).collect(), view })
    }

    /// The shards numbered `numbers` alone (each must be held), as an index
    /// of their own: reads answer for them, writes commit in them and refuse
    /// an item of another shard ([`lhv_core::Error::ShardNotHeld`]), so a
    /// request forwarded to a shard's writer touches only what it writes.
    /// Nothing is copied.
    pub fn subset(&self, numbers: &[usize]) -> Result<Self> {
        let view = self.view.subset(numbers)?;
        let shards = view
            .numbers()
            .iter()
            .filter_map(|n| self.view.numbers().binary_search(n).ok().map(|slot| Arc::clone(&self.shards[slot])))
            .collect();
        Ok(Self { name: self.name.clone(), shards, view })
    }

    /// The index's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The in-memory index (all its shards), for searches and reads. Write
    /// through [`upsert`](Self::upsert) and [`delete`](Self::delete) instead
    /// of its own methods, or the writes are not logged.
    pub fn index(&self) -> &ShardedIndex {
        &self.view
    }

    /// How many shards the index has (held here or not).
    pub fn shard_count(&self) -> usize {
        self.view.shard_count()
    }

    pub(crate) fn shards(&self) -> &[Arc<DurableShard>] {
        &self.shards
    }

    /// [`ShardedIndex::upsert`], durable when it returns.
    pub async fn upsert(&self, items: Vec<Item>) -> Result<UpsertOutcome> {
        self.view.validate_upsert(&items)?;
        let parts = self.view.split_items(items)?.into_iter().map(LogOp::Upsert).collect();
        self.commit_parts(parts).await.and_then(sum_upserts)
    }

    /// [`ShardedIndex::delete`], durable when it returns; returns how many ids existed.
    pub async fn delete(&self, ids: Vec<String>) -> Result<usize> {
        let parts = self.view.split_ids(&ids)?.into_iter().map(LogOp::Delete).collect();
        self.commit_parts(parts).await.and_then(sum_deletes)
    }

    /// Builds a field index of `field` on every shard (replacing any index of
    /// its key) while reads and writes go on; durable when it returns, and
    /// kept up to date by every later write. Whether one of its key existed.
    pub async fn create_field_index(&self, field: IndexedField) -> Result<bool> {
        field.validate()?;
        let held = self.view.field_indexes();
        if held.len() >= MAX_INDEXED_FIELDS && !held.iter().any(|info| info.field.key == field.key) {
            return Err(lhv_core::Error::InvalidParameter {
                name: "indexed_fields",
                value: format!("{} keys and {:?}", held.len(), field.key),
                allowed: "at most 32 keys",
            }
            .into());
        }
        self.change_fields(FieldIndexChange::Create(field)).await
    }

    /// Drops the field index of `key` from every shard; durable when it
    /// returns. Whether there was one.
    pub async fn drop_field_index(&self, key: &str) -> Result<bool> {
        self.change_fields(FieldIndexChange::Drop(key.to_owned())).await
    }

    /// Builds later insertions of every shard with out-degree `m` and
    /// candidate list `ef_construction` ([`lhv_core::Index::set_build_params`]);
    /// durable when it returns (a log record, so replicas and recovery apply
    /// it at the same point among the writes).
    pub async fn set_build_params(&self, m: usize, ef_construction: usize) -> Result<()> {
        // Checked before anything is logged: a logged change always applies.
        lhv_core::IndexParams { m, ef_construction, ..self.view.params() }.validate()?;
        let parts = vec![LogOp::GraphParams(GraphParams { m, ef_construction }); self.shards.len()];
        self.commit_parts(parts).await?;
        Ok(())
    }

    async fn change_fields(&self, change: FieldIndexChange) -> Result<bool> {
        let parts = vec![LogOp::FieldIndex(change); self.shards.len()];
        self.commit_parts(parts).await?.into_iter().try_fold(false, |existed, applied| match applied {
            Applied::FieldIndexChanged(had) => Ok(existed | had),
            _ => unreachable_outcome(),
        })
    }

    /// Each shard's part of a write, committed by the shards in parallel.
    async fn commit_parts(&self, parts: Vec<LogOp>) -> Result<Vec<Applied>> {
        let writes = self.shards.iter().zip(parts).filter(|(_, op)| !is_empty(op)).map(|(shard, op)| shard.submit(op));
        join_all(writes).await.into_iter().collect()
    }

    /// An upsert computed from the index as it stands, with no other write
    /// applied between the reading and the writing (a read-modify-write, as
    /// setting part of an item's metadata needs); durable when it returns.
    /// `compute` runs while every shard's commit lock is held: keep it short.
    /// Its error (any type a store error converts into) is returned as it
    /// is, and nothing is written.
    pub async fn upsert_with<E: From<Error>>(
        &self,
        compute: impl FnOnce(&ShardedIndex) -> std::result::Result<Vec<Item>, E>,
    ) -> std::result::Result<UpsertOutcome, E> {
        let computed = |index: &ShardedIndex| -> std::result::Result<Vec<LogOp>, E> {
            let items = compute(index)?;
            index.validate_upsert(&items).map_err(|e| E::from(e.into()))?;
            Ok(index.split_items(items).map_err(Error::from)?.into_iter().map(LogOp::Upsert).collect())
        };
        Ok(sum_upserts(self.commit_computed(computed).await?)?)
    }

    /// A delete of the ids `select` picks from the index as it stands (say,
    /// those that pass a filter), with no other write applied in between;
    /// durable when it returns; returns how many ids were deleted.
    pub async fn delete_with<E: From<Error>>(
        &self,
        select: impl FnOnce(&ShardedIndex) -> std::result::Result<Vec<String>, E>,
    ) -> std::result::Result<usize, E> {
        let computed = |index: &ShardedIndex| -> std::result::Result<Vec<LogOp>, E> {
            Ok(index.split_ids(&select(index)?).map_err(Error::from)?.into_iter().map(LogOp::Delete).collect())
        };
        Ok(sum_deletes(self.commit_computed(computed).await?)?)
    }

    /// Upserts and deletes computed from the index as it stands (with no other
    /// write applied in between), committed as one write: each shard logs its
    /// part as one batch record, applied whole, deletes first. Durable when it
    /// returns. Items must not be among the deleted ids.
    pub async fn write_batch_with<E: From<Error>>(
        &self,
        compute: impl FnOnce(&ShardedIndex) -> std::result::Result<(Vec<String>, Vec<Item>), E>,
    ) -> std::result::Result<(), E> {
        let computed = |index: &ShardedIndex| -> std::result::Result<Vec<LogOp>, E> {
            let (deleted, upserted) = compute(index)?;
            index.validate_upsert(&upserted).map_err(|e| E::from(e.into()))?;
            let deletes = index.split_ids(&deleted).map_err(Error::from)?;
            let upserts = index.split_items(upserted).map_err(Error::from)?;
            Ok(deletes
                .into_iter()
                .zip(upserts)
                .map(|(ids, items)| {
                    let ops = [LogOp::Delete(ids), LogOp::Upsert(items)];
                    LogOp::Batch(ops.into_iter().filter(|op| !is_empty(op)).collect())
                })
                .collect())
        };
        self.commit_computed(computed).await?;
        Ok(())
    }

    /// Computes a write while every shard's commit lock is held (taken in
    /// shard order, so two computed writes never deadlock), where every
    /// committed write is applied, and commits each shard's part first in
    /// its shard's next group.
    async fn commit_computed<E: From<Error>>(
        &self,
        compute: impl FnOnce(&ShardedIndex) -> std::result::Result<Vec<LogOp>, E>,
    ) -> std::result::Result<Vec<Applied>, E> {
        let mut states = Vec::with_capacity(self.shards.len());
        for shard in &self.shards {
            let mut state = shard.lock_commit().await;
            // A leased shard reads the log to its end before anything is computed from it.
            shard.prepare_write(&mut state).await?;
            states.push(state);
        }
        let parts = compute(&self.view)?;
        let mut answers = Vec::new();
        for ((shard, state), op) in self.shards.iter().zip(&mut states).zip(parts) {
            if is_empty(&op) {
                continue;
            }
            let (answer, snapshot_due) = shard.commit_first(state, op).await?;
            answers.push((shard, answer, snapshot_due));
        }
        drop(states);
        let mut applied = Vec::with_capacity(answers.len());
        for (shard, answer, snapshot_due) in answers {
            if snapshot_due {
                shard.snapshot_in_background();
            }
            applied.push(shard.answer(answer).await?);
        }
        Ok(applied)
    }

    /// The sequence number of the last durable write, summed over the shards
    /// (0 if none): it grows with every write, as an operation id should.
    pub async fn last_sequence(&self) -> u64 {
        let mut sum = 0;
        for shard in &self.shards {
            sum += shard.last_sequence().await;
        }
        sum
    }

    /// The index as an LHV1 snapshot frame: everything acknowledged before the
    /// call, nothing half-applied (writes wait while the index is copied).
    /// [`Catalog::create_from_snapshot`](crate::Catalog::create_from_snapshot)
    /// reads it. A sharded index's frame holds all its items as one unsharded
    /// index, whose graph is built anew from them.
    pub async fn export_snapshot(&self) -> Result<Vec<u8>> {
        if let [only] = self.shards.as_slice() {
            return only.export_snapshot().await;
        }
        let mut states = Vec::with_capacity(self.shards.len());
        for shard in &self.shards {
            states.push(shard.lock_commit().await);
        }
        // Writes wait only while the items are copied, not while their graph is built.
        let view = self.view.clone();
        let items = tokio::task::spawn_blocking(move || every_item(&view))
            .await
            .map_err(|e| Error::storage("export", &self.name, e))??;
        drop(states);
        let params = self.view.params().clone();
        let merged = tokio::task::spawn_blocking(move || -> Result<lhv_core::IndexParts> {
            let merged = Index::new(params)?;
            merged.upsert(items)?;
            Ok(merged.to_parts())
        })
        .await
        .map_err(|e| Error::storage("export", &self.name, e))??;
        let bytes = tokio::task::spawn_blocking(move || lhv_format::encode_snapshot(&merged, 0))
            .await
            .map_err(|e| Error::storage("export", &self.name, e))??;
        Ok(bytes)
    }

    /// Writes a snapshot of every shard with log records since its last one,
    /// then removes the log objects it covers.
    pub async fn snapshot(&self) -> Result<()> {
        for shard in &self.shards {
            shard.snapshot().await?;
        }
        Ok(())
    }

    /// Stops accepting writes and waits for the running commits and snapshots.
    pub(crate) async fn retire(&self) {
        for shard in &self.shards {
            shard.retire().await;
        }
    }
}

/// Every item of every shard, with its vector and metadata.
fn every_item(view: &ShardedIndex) -> Result<Vec<Item>> {
    let ids = view.ids_where(std::ops::Bound::Unbounded, usize::MAX, None)?;
    Ok(ids
        .into_iter()
        .filter_map(|id| {
            // Every vector the item has (named and sparse ones too), and its metadata.
            Some(view.get(&id)?.into_item(id))
        })
        .collect())
}

fn is_empty(op: &LogOp) -> bool {
    match op {
        LogOp::Upsert(items) => items.is_empty(),
        LogOp::Delete(ids) => ids.is_empty(),
        LogOp::Batch(ops) => ops.iter().all(is_empty),
        LogOp::FieldIndex(_) | LogOp::Epoch(_) | LogOp::GraphParams(_) => false,
    }
}

fn sum_upserts(applied: Vec<Applied>) -> Result<UpsertOutcome> {
    applied.into_iter().try_fold(UpsertOutcome::default(), |sum, applied| match applied {
        Applied::Upserted(o) => {
            Ok(UpsertOutcome { inserted: sum.inserted + o.inserted, updated: sum.updated + o.updated })
        }
        Applied::Deleted(_) | Applied::FieldIndexChanged(_) | Applied::Batch | Applied::GraphParamsSet => {
            unreachable_outcome()
        }
    })
}

fn sum_deletes(applied: Vec<Applied>) -> Result<usize> {
    applied.into_iter().try_fold(0, |sum, applied| match applied {
        Applied::Deleted(count) => Ok(sum + count),
        Applied::Upserted(_) | Applied::FieldIndexChanged(_) | Applied::Batch | Applied::GraphParamsSet => {
            unreachable_outcome()
        }
    })
}

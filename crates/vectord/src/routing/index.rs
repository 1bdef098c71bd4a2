//! An index of the cluster as one process answers for it: each operation
//! sent to its shards' holders and the parts merged.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use axum::http::StatusCode;
use lhv_core::{
    Filter, Hit, IndexParams, IndexedField, Item, OrderBy, OrderValue, Record, SparseModifier, SparseStatistics,
    UpsertOutcome, compare_ids, merge_hits, shard_of,
};
use lhv_store::control::IndexRecord;
use lhv_store::node::ShardRoute;

use super::Routing;
use super::dispatch::Reach;
use super::wire::{Overview, ShardOp, ShardReply};
use crate::error::ApiError;
use crate::ops::{self, Freshness, Operation, Query, Scan, Scored, shards_touched};
use crate::state::AppState;

/// Index `name` of the cluster, as routing saw it when asked.
pub(crate) struct RoutedIndex {
    /// The service (the part run here is written as any other write).
    pub(super) state: AppState,
    pub(super) routing: Arc<Routing>,
    pub(super) name: String,
    pub(super) record: IndexRecord,
    pub(super) routes: Vec<ShardRoute>,
    /// The largest sequence number the writes made through this handle reached.
    pub(super) last_sequence: u64,
}

impl std::fmt::Debug for RoutedIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutedIndex").field("name", &self.name).field("record", &self.record).finish_non_exhaustive()
    }
}

impl RoutedIndex {
    pub(super) fn new(state: AppState, routing: Arc<Routing>, name: &str) -> Result<Self, ApiError> {
        let (record, routes) = routing.node.route(name)?;
        Ok(Self { state, routing, name: name.to_owned(), record, routes, last_sequence: 0 })
    }

    /// Its name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Its parameters as created (field indexes made later: see [`Self::describe`]).
    pub(crate) fn params(&self) -> &IndexParams {
        &self.record.params
    }

    /// How many shards it has.
    pub(crate) fn shard_count(&self) -> usize {
        self.record.shards as usize
    }

    fn all_shards(&self) -> Vec<u32> {
        (0..self.record.shards).collect()
    }

    /// Its sizes, parameters and field indexes, over every shard.
    pub(crate) async fn describe(&mut self, strong: bool) -> Result<Overview, ApiError> {
        let replies = self.run(self.all_shards(), Reach::Read(Freshness::of(strong)), &|_| ShardOp::Describe).await?;
        let mut merged: Option<Overview> = None;
        for reply in replies {
            let ShardReply::Described(part) = reply else { return Err(mismatched()) };
            merged = Some(match merged {
                Some(sum) => sum.merge(part),
                None => part,
            });
        }
        merged.ok_or_else(mismatched)
    }

    /// Each query's hits per vector, nearest first, over every shard.
    pub(crate) async fn search(
        &mut self,
        queries: &[Query],
        freshness: Freshness,
    ) -> Result<Vec<Vec<Vec<Hit>>>, ApiError> {
        let mut queries = queries.to_vec();
        for query in &mut queries {
            self.weigh_sparse(query, freshness).await?;
        }
        let op = |_: &[u32]| ShardOp::Search { queries: queries.clone() };
        let replies = self.run(self.all_shards(), Reach::Read(freshness), &op).await?;
        let mut parts: Vec<Vec<Vec<Vec<Hit>>>> = Vec::with_capacity(replies.len());
        for reply in replies {
            let ShardReply::Hits(hits) = reply else { return Err(mismatched()) };
            parts.push(hits);
        }
        let mut merged = Vec::with_capacity(queries.len());
        for (q, query) in queries.iter().enumerate() {
            let searched = query.vectors.len() + query.sparse.len();
            let mut per_vector = Vec::with_capacity(searched);
            for v in 0..searched {
                let lists = parts.iter().map(|part| part.get(q).and_then(|p| p.get(v)).cloned().unwrap_or_default());
                per_vector.push(merge_hits(lists.collect(), query.k));
            }
            merged.push(per_vector);
        }
        Ok(merged)
    }

    /// Sets the counts a sparse query over an idf sparse vector is weighted
    /// by, added up over every shard, so that each shard scores alike.
    async fn weigh_sparse(&mut self, query: &mut Query, freshness: Freshness) -> Result<(), ApiError> {
        let idf = self.params().sparse_vectors.get(&query.using).is_some_and(|p| p.modifier == SparseModifier::Idf);
        if query.sparse.is_empty() || !query.statistics.is_empty() || !idf {
            return Ok(());
        }
        let (using, vectors) = (query.using.clone(), query.sparse.clone());
        let op = |_: &[u32]| ShardOp::SparseStatistics { using: using.clone(), vectors: vectors.clone() };
        let mut summed = vec![SparseStatistics::default(); vectors.len()];
        for reply in self.run(self.all_shards(), Reach::Read(freshness), &op).await? {
            let ShardReply::Statistics(counts) = reply else { return Err(mismatched()) };
            for (sum, counts) in summed.iter_mut().zip(&counts) {
                sum.add(counts);
            }
        }
        query.statistics = summed;
        Ok(())
    }

    /// The records of `ids`, in their order (None for ids not stored).
    pub(crate) async fn get(&mut self, ids: &[String], strong: bool) -> Result<Vec<Option<Record>>, ApiError> {
        let total = self.shard_count();
        let by_shard = group_ids(ids, total);
        let shards: Vec<u32> = by_shard.keys().copied().collect();
        let op = |group: &[u32]| ShardOp::Get { ids: ids_of(&by_shard, group) };
        let replies = self.run_grouped(shards, Reach::Read(Freshness::of(strong)), &op).await?;
        let mut found: BTreeMap<String, Record> = BTreeMap::new();
        for (group, reply) in replies {
            let ShardReply::Records(records) = reply else { return Err(mismatched()) };
            for (id, record) in ids_of(&by_shard, &group).into_iter().zip(records) {
                if let Some(record) = record {
                    found.insert(id, record);
                }
            }
        }
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    /// Up to `limit` items (with their records) in id order from `start`, passing `filter`.
    pub(crate) async fn scroll(
        &mut self,
        start: Bound<&str>,
        limit: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<(String, Record)>, ApiError> {
        let start = start.map(str::to_owned);
        let filter = filter.cloned();
        let op = move |_: &[u32]| ShardOp::Scroll { start: start.clone(), limit, filter: filter.clone() };
        let replies = self.run(self.all_shards(), Reach::Read(Freshness::Writer), &op).await?;
        let mut items = Vec::new();
        for reply in replies {
            let ShardReply::Items(part) = reply else { return Err(mismatched()) };
            items.extend(part);
        }
        items.sort_by(|a, b| compare_ids(&a.0, &b.0));
        items.truncate(limit);
        Ok(items)
    }

    /// The best `scan.top` points of a scan over every shard (each shard's
    /// best, merged by score then id).
    pub(crate) async fn scan(&mut self, scan: Scan) -> Result<Vec<Scored>, ApiError> {
        let top = scan.top;
        let op = move |_: &[u32]| ShardOp::Scan { scan: scan.clone() };
        let replies = self.run(self.all_shards(), Reach::Read(Freshness::Writer), &op).await?;
        let mut found = Vec::new();
        for reply in replies {
            let ShardReply::Scanned(part) = reply else { return Err(mismatched()) };
            found.extend(part);
        }
        Ok(ops::best_scored(found, top))
    }

    /// The first `limit` entries in `order` over every shard (each shard's
    /// first, merged in the order).
    pub(crate) async fn ordered(
        &mut self,
        order: &OrderBy,
        limit: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<(String, OrderValue, Record)>, ApiError> {
        let filter = filter.cloned();
        let op = move |_: &[u32]| ShardOp::Ordered { order: order.clone(), limit, filter: filter.clone() };
        let replies = self.run(self.all_shards(), Reach::Read(Freshness::Writer), &op).await?;
        let (mut entries, mut records) = (Vec::new(), BTreeMap::new());
        for reply in replies {
            let ShardReply::Entries(part) = reply else { return Err(mismatched()) };
            for (id, value, record) in part {
                entries.push((id.clone(), value));
                records.insert(id, record);
            }
        }
        let first = order.first(entries, limit);
        Ok(first
            .into_iter()
            .filter_map(|(id, value)| records.get(&id).map(|r| (id.clone(), value, r.clone())))
            .collect())
    }

    /// Per distinct value at `key`, how many items passing `filter` hold
    /// it, each shard's counts added up.
    pub(crate) async fn value_counts(
        &mut self,
        key: &lhv_core::FieldKey,
        filter: Option<&Filter>,
    ) -> Result<Vec<(serde_json::Value, usize)>, ApiError> {
        let filter = filter.cloned();
        let op = move |_: &[u32]| ShardOp::ValueCounts { key: key.clone(), filter: filter.clone() };
        let replies = self.run(self.all_shards(), Reach::Read(Freshness::Writer), &op).await?;
        let mut sums: BTreeMap<String, (serde_json::Value, usize)> = BTreeMap::new();
        for reply in replies {
            let ShardReply::ValueCounts(part) = reply else { return Err(mismatched()) };
            for (value, count) in part {
                sums.entry(value.to_string()).or_insert((value, 0)).1 += count;
            }
        }
        Ok(sums.into_values().collect())
    }

    /// The whole index as one LHV1 frame: every shard's items (each read at
    /// its writer) in one unsharded index, with the parameters and field
    /// indexes the shards have.
    pub(crate) async fn export_snapshot(&mut self) -> Result<Vec<u8>, ApiError> {
        let params = self.describe(true).await?.params;
        let records = self.scroll(Bound::Unbounded, usize::MAX, None).await?;
        let frame = ops::blocking(move || -> Result<Vec<u8>, ApiError> {
            let index = lhv_core::Index::new(params)?;
            let items: Vec<Item> = records.into_iter().map(|(id, record)| record.into_item(id)).collect();
            if !items.is_empty() {
                index.upsert(items)?;
            }
            Ok(lhv_format::encode_snapshot(&index.to_parts(), 0).map_err(lhv_store::Error::from)?)
        })
        .await??;
        Ok(frame)
    }

    /// How many items pass `filter`.
    pub(crate) async fn count_where(&mut self, filter: Option<&Filter>) -> Result<usize, ApiError> {
        let filter = filter.cloned();
        let op = move |_: &[u32]| ShardOp::CountWhere { filter: filter.clone() };
        let replies = self.run(self.all_shards(), Reach::Read(Freshness::Writer), &op).await?;
        replies.into_iter().try_fold(0, |sum, reply| match reply {
            ShardReply::Count(count) => Ok(sum + count),
            _ => Err(mismatched()),
        })
    }

    /// Inserts or replaces `items`, checked whole here first (a bad item
    /// changes nothing), then each shard's part at its writer.
    pub(crate) async fn upsert(&mut self, items: Vec<Item>) -> Result<UpsertOutcome, ApiError> {
        lhv_core::Index::new(self.record.params.clone())?.validate_upsert(&items)?;
        let total = self.shard_count();
        let mut by_shard: BTreeMap<u32, Vec<Item>> = BTreeMap::new();
        for item in items {
            by_shard.entry(shard_number(&item.id, total)).or_default().push(item);
        }
        let shards: Vec<u32> = by_shard.keys().copied().collect();
        let op = |group: &[u32]| ShardOp::Upsert {
            items: group.iter().filter_map(|shard| by_shard.get(shard)).flatten().cloned().collect(),
        };
        let replies = self.run(shards, Reach::Write, &op).await?;
        let mut sum = UpsertOutcome::default();
        for reply in replies {
            let ShardReply::Upserted(part, sequence) = reply else { return Err(mismatched()) };
            sum = UpsertOutcome { inserted: sum.inserted + part.inserted, updated: sum.updated + part.updated };
            self.last_sequence = self.last_sequence.max(sequence);
        }
        Ok(sum)
    }

    /// Deletes `ids` at their shards' writers; how many were stored.
    pub(crate) async fn delete(&mut self, ids: &[String]) -> Result<usize, ApiError> {
        let by_shard = group_ids(ids, self.shard_count());
        let shards: Vec<u32> = by_shard.keys().copied().collect();
        let op = |group: &[u32]| ShardOp::Delete { ids: ids_of(&by_shard, group) };
        let replies = self.run(shards, Reach::Write, &op).await?;
        self.deleted(replies)
    }

    /// Deletes the items that pass `filter`, at each shard's writer under its
    /// commit lock; how many there were.
    pub(crate) async fn delete_where(&mut self, filter: &Filter) -> Result<usize, ApiError> {
        let op = |_: &[u32]| ShardOp::DeleteWhere { filter: filter.clone() };
        let replies = self.run(self.all_shards(), Reach::Write, &op).await?;
        self.deleted(replies)
    }

    /// How many the shards' deletes removed, added up; the sequence they reached noted.
    fn deleted(&mut self, replies: Vec<ShardReply>) -> Result<usize, ApiError> {
        let mut sum = 0;
        for reply in replies {
            let ShardReply::Deleted(count, sequence) = reply else { return Err(mismatched()) };
            sum += count;
            self.last_sequence = self.last_sequence.max(sequence);
        }
        Ok(sum)
    }

    /// Applies a batch of writes: each shard's writer applies the part of
    /// every operation that concerns its shards, in order, as one write.
    /// Over several shards every writer first checks its part (a point
    /// named must exist, items must fit), so a batch one would refuse is
    /// written nowhere; a write that gets in between the check and the
    /// batch can still make one shard refuse what the others applied.
    pub(crate) async fn write_batch(&mut self, operations: &[Operation]) -> Result<(), ApiError> {
        let total = self.shard_count();
        let shards = shards_touched(operations, total);
        let part = |check_only: bool| {
            move |group: &[u32]| ShardOp::Batch {
                operations: operations.iter().map(|operation| operation.within(group, total)).collect(),
                check_only,
            }
        };
        if shards.len() > 1 {
            for reply in self.run(shards.clone(), Reach::Write, &part(true)).await? {
                let ShardReply::Checked = reply else { return Err(mismatched()) };
            }
        }
        for reply in self.run(shards, Reach::Write, &part(false)).await? {
            let ShardReply::Written(sequence) = reply else { return Err(mismatched()) };
            self.last_sequence = self.last_sequence.max(sequence);
        }
        Ok(())
    }

    /// The largest sequence number the writes through this handle reached
    /// (per shard, as Qdrant's operation ids are).
    pub(crate) fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Builds later insertions of every shard with these graph parameters.
    pub(crate) async fn set_build_params(&mut self, m: usize, ef_construction: usize) -> Result<(), ApiError> {
        let op = move |_: &[u32]| ShardOp::SetBuildParams { m, ef_construction };
        for reply in self.run(self.all_shards(), Reach::Write, &op).await? {
            let ShardReply::Written(sequence) = reply else { return Err(mismatched()) };
            self.last_sequence = self.last_sequence.max(sequence);
        }
        Ok(())
    }

    /// Builds a field index on every shard; whether one of its key existed.
    pub(crate) async fn create_field_index(&mut self, field: IndexedField) -> Result<bool, ApiError> {
        let op = move |_: &[u32]| ShardOp::CreateFieldIndex { field: field.clone() };
        self.changed(&op).await
    }

    /// Drops the field index of `key` on every shard; whether there was one.
    pub(crate) async fn drop_field_index(&mut self, key: &str) -> Result<bool, ApiError> {
        let op = |_: &[u32]| ShardOp::DropFieldIndex { key: key.to_owned() };
        self.changed(&op).await
    }

    async fn changed(&mut self, op: &(dyn Fn(&[u32]) -> ShardOp + Sync)) -> Result<bool, ApiError> {
        let replies = self.run(self.all_shards(), Reach::Write, op).await?;
        replies.into_iter().try_fold(false, |any, reply| match reply {
            ShardReply::Changed(changed) => Ok(any || changed),
            _ => Err(mismatched()),
        })
    }
}

/// The shard (as placement numbers them) `id` belongs to.
fn shard_number(id: &str, total: usize) -> u32 {
    // shard_of is below `total`, which is at most MAX_SHARDS.
    u32::try_from(shard_of(id, total)).unwrap_or(u32::MAX)
}

fn group_ids(ids: &[String], total: usize) -> BTreeMap<u32, Vec<String>> {
    let mut by_shard: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for id in ids {
        by_shard.entry(shard_number(id, total)).or_default().push(id.clone());
    }
    by_shard
}

fn ids_of(by_shard: &BTreeMap<u32, Vec<String>>, group: &[u32]) -> Vec<String> {
    group.iter().filter_map(|shard| by_shard.get(shard)).flatten().cloned().collect()
}

pub(super) fn unplaced_error(name: &str, shards: &[u32]) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shard_unavailable",
        format!("index {name:?}: shards {shards:?} have no live holder now; retry"),
    )
}

fn mismatched() -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "member_answer_invalid", "a cluster member answered another operation")
}

//! An index of the cluster as one process answers for it: each operation
//! sent to its shards' holders and the parts merged.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use lhv_core::{
    Filter, Hit, IndexParams, IndexedField, Item, Record, UpsertOutcome, compare_ids, merge_hits, shard_of,
};
use lhv_store::control::IndexRecord;
use lhv_store::node::ShardRoute;

use super::Routing;
use super::call::CallFailure;
use super::execute::execute;
use super::wire::{Overview, ShardCall, ShardOp, ShardReply};
use crate::error::ApiError;
use crate::ops::{Operation, Query, shards_touched};
use crate::state::AppState;

/// How long a read looks for holders that answer (one failing over included).
const READ_PATIENCE: Duration = Duration::from_secs(10);
/// How long a write waits for its shards' writers (a failover takes about a lease).
const WRITE_PATIENCE: Duration = Duration::from_secs(20);

/// Spreads reads over the replicas: each read starts at the next one.
static NEXT_REPLICA: AtomicUsize = AtomicUsize::new(0);

/// Index `name` of the cluster, as routing saw it when asked.
pub(crate) struct RoutedIndex {
    /// The service (the part run here is written as any other write).
    state: AppState,
    routing: Arc<Routing>,
    name: String,
    record: IndexRecord,
    routes: Vec<ShardRoute>,
    /// The largest sequence number the writes made through this handle reached.
    last_sequence: u64,
}

impl std::fmt::Debug for RoutedIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutedIndex").field("name", &self.name).field("record", &self.record).finish_non_exhaustive()
    }
}

/// Who answers for some shards: this process, or the member at an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Here,
    There { node: String, address: String },
}

/// Whether an operation reads (any holder) or writes (the writer only).
#[derive(Debug, Clone, Copy)]
enum Reach {
    Read { strong: bool },
    Write,
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
        let replies = self.run(self.all_shards(), Reach::Read { strong }, &|_| ShardOp::Describe).await?;
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
    pub(crate) async fn search(&mut self, queries: &[Query], strong: bool) -> Result<Vec<Vec<Vec<Hit>>>, ApiError> {
        let op = |_: &[u32]| ShardOp::Search { queries: queries.to_vec() };
        let replies = self.run(self.all_shards(), Reach::Read { strong }, &op).await?;
        let mut parts: Vec<Vec<Vec<Vec<Hit>>>> = Vec::with_capacity(replies.len());
        for reply in replies {
            let ShardReply::Hits(hits) = reply else { return Err(mismatched()) };
            parts.push(hits);
        }
        let mut merged = Vec::with_capacity(queries.len());
        for (q, query) in queries.iter().enumerate() {
            let mut per_vector = Vec::with_capacity(query.vectors.len());
            for v in 0..query.vectors.len() {
                let lists = parts.iter().map(|part| part.get(q).and_then(|p| p.get(v)).cloned().unwrap_or_default());
                per_vector.push(merge_hits(lists.collect(), query.k));
            }
            merged.push(per_vector);
        }
        Ok(merged)
    }

    /// The records of `ids`, in their order (None for ids not stored).
    pub(crate) async fn get(&mut self, ids: &[String], strong: bool) -> Result<Vec<Option<Record>>, ApiError> {
        let total = self.shard_count();
        let by_shard = group_ids(ids, total);
        let shards: Vec<u32> = by_shard.keys().copied().collect();
        let op = |group: &[u32]| ShardOp::Get { ids: ids_of(&by_shard, group) };
        let replies = self.run_grouped(shards, Reach::Read { strong }, &op).await?;
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
        let replies = self.run(self.all_shards(), Reach::Read { strong: false }, &op).await?;
        let mut items = Vec::new();
        for reply in replies {
            let ShardReply::Items(part) = reply else { return Err(mismatched()) };
            items.extend(part);
        }
        items.sort_by(|a, b| compare_ids(&a.0, &b.0));
        items.truncate(limit);
        Ok(items)
    }

    /// How many items pass `filter`.
    pub(crate) async fn count_where(&mut self, filter: Option<&Filter>) -> Result<usize, ApiError> {
        let filter = filter.cloned();
        let op = move |_: &[u32]| ShardOp::CountWhere { filter: filter.clone() };
        let replies = self.run(self.all_shards(), Reach::Read { strong: false }, &op).await?;
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

    async fn run(
        &mut self,
        shards: Vec<u32>,
        reach: Reach,
        op: &(dyn Fn(&[u32]) -> ShardOp + Sync),
    ) -> Result<Vec<ShardReply>, ApiError> {
        Ok(self.run_grouped(shards, reach, op).await?.into_iter().map(|(_, reply)| reply).collect())
    }

    /// Runs `op` on `shards`: grouped by holder, one call per holder, all at
    /// once; the shards of a call that failed in passing are tried again (on
    /// another holder for reads, at the writer the placement names next for
    /// writes) until the patience runs out. Each reply with its shards.
    async fn run_grouped(
        &mut self,
        mut pending: Vec<u32>,
        reach: Reach,
        op: &(dyn Fn(&[u32]) -> ShardOp + Sync),
    ) -> Result<Vec<(Vec<u32>, ShardReply)>, ApiError> {
        let patience = if matches!(reach, Reach::Write) { WRITE_PATIENCE } else { READ_PATIENCE };
        let started = Instant::now();
        let spread = NEXT_REPLICA.fetch_add(1, Ordering::Relaxed);
        let mut avoid: BTreeSet<String> = BTreeSet::new();
        let mut done = Vec::new();
        let mut last_failure: Option<ApiError> = None;
        for attempt in 0usize.. {
            let mut groups: BTreeMap<Holder, Vec<u32>> = BTreeMap::new();
            let mut unplaced = Vec::new();
            // A retried part comes back after others: keep each call's shard
            // numbers increasing, as a member's part of an index requires.
            pending.sort_unstable();
            pending.dedup();
            for shard in pending.drain(..) {
                match self.holder(shard, reach, &avoid, spread + attempt) {
                    Some(holder) => groups.entry(holder).or_default().push(shard),
                    None => unplaced.push(shard),
                }
            }
            let this = &*self;
            let calls = groups.into_iter().map(|(holder, group)| async move {
                let result = this.send(&holder, &group, reach, op(&group)).await;
                (holder, group, result)
            });
            for (holder, group, result) in futures::future::join_all(calls).await {
                match result {
                    Ok(reply) => done.push((group, reply)),
                    Err(CallFailure::Final(error)) => return Err(error),
                    Err(CallFailure::Retry(error)) => {
                        tracing::debug!(index = %self.name, ?holder, %error.message, "a part is tried again");
                        if let Holder::There { node, .. } = holder {
                            avoid.insert(node);
                        }
                        pending.extend(group);
                        last_failure = Some(error);
                    }
                }
            }
            if !unplaced.is_empty() {
                last_failure.get_or_insert_with(|| unplaced_error(&self.name, &unplaced));
                pending.extend(unplaced);
            }
            if pending.is_empty() {
                return Ok(done);
            }
            if started.elapsed() > patience {
                return Err(last_failure.unwrap_or_else(|| unplaced_error(&self.name, &pending)));
            }
            // Give the placement time to change, then look at it again.
            let pause = Duration::from_millis(50 << attempt.min(4));
            tokio::time::sleep(pause).await;
            self.refresh()?;
            if attempt % 4 == 3 {
                // Every holder may have failed in passing: give them another chance.
                avoid.clear();
            }
        }
        Err(unplaced_error(&self.name, &pending))
    }

    /// Who answers for `shard`: for a write its writer; for a read this
    /// process if it holds the shard, else a holder not failed yet, taken in
    /// turn (`turn`) so that reads spread over the replicas.
    fn holder(&self, shard: u32, reach: Reach, avoid: &BTreeSet<String>, turn: usize) -> Option<Holder> {
        let route = self.routes.get(shard as usize)?;
        let here = self.routing.node.name();
        let as_holder = |(node, address): &(String, String)| {
            if node == here { Holder::Here } else { Holder::There { node: node.clone(), address: address.clone() } }
        };
        match reach {
            Reach::Write => route.writer.as_ref().map(as_holder),
            Reach::Read { .. } => {
                let holders: Vec<&(String, String)> = route.writer.iter().chain(&route.replicas).collect();
                if holders.iter().any(|(node, _)| node == here) {
                    return Some(Holder::Here);
                }
                let fresh: Vec<&&(String, String)> = holders.iter().filter(|(node, _)| !avoid.contains(node)).collect();
                let pick = if fresh.is_empty() {
                    holders.get(turn % holders.len().max(1)).copied()
                } else {
                    fresh.get(turn % fresh.len()).map(|h| **h)
                };
                pick.map(as_holder)
            }
        }
    }

    /// One call: run here, or sent to the member.
    async fn send(
        &self,
        holder: &Holder,
        shards: &[u32],
        reach: Reach,
        op: ShardOp,
    ) -> Result<ShardReply, CallFailure> {
        let strong = matches!(reach, Reach::Read { strong: true });
        match holder {
            Holder::Here => {
                let node = self.routing.node();
                if strong {
                    node.sync(&self.name).await.map_err(|e| CallFailure::of(e.into()))?;
                }
                let part =
                    node.part(&self.name, &self.record.incarnation, shards).map_err(|e| CallFailure::of(e.into()))?;
                execute(&self.state, Arc::new(part), op).await.map_err(CallFailure::of)
            }
            Holder::There { address, .. } => {
                let call = ShardCall {
                    index: self.name.clone(),
                    incarnation: self.record.incarnation.clone(),
                    shards: shards.to_vec(),
                    strong,
                    op,
                };
                // A member that stopped answering (paused, partitioned) holds
                // the call until its timeout; once the placement of one of
                // these shards changes (the controller moved them off it), the
                // call is given up and the part sent where they are now. A
                // write given up may still have committed: sent again, it is
                // applied again, as idempotent writes are.
                tokio::select! {
                    answer = self.routing.call(address, &call) => answer,
                    () = self.placement_changes(shards) => Err(CallFailure::Retry(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "shard_moved",
                        format!("the shards {shards:?} moved off {address} while it did not answer; retry"),
                    ))),
                }
            }
        }
    }

    /// Returns once the placement of one of `shards` differs from the one
    /// this request routes by (checked every 100 ms; never while it holds).
    async fn placement_changes(&self, shards: &[u32]) {
        let tokens: Vec<i64> =
            shards.iter().map(|shard| self.routes.get(*shard as usize).map_or(0, |route| route.token)).collect();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Ok((record, routes)) = self.routing.node.route(&self.name) else { return };
            if record.incarnation != self.record.incarnation {
                return;
            }
            let moved = shards
                .iter()
                .zip(&tokens)
                .any(|(shard, token)| routes.get(*shard as usize).is_none_or(|route| route.token != *token));
            if moved {
                return;
            }
        }
    }

    /// Takes the placement as it is now; the index must still be the same incarnation.
    fn refresh(&mut self) -> Result<(), ApiError> {
        let (record, routes) = self.routing.node.route(&self.name)?;
        if record.incarnation != self.record.incarnation {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster_changed",
                format!("index {:?} was dropped and created again during the request; retry", self.name),
            ));
        }
        self.routes = routes;
        Ok(())
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

fn unplaced_error(name: &str, shards: &[u32]) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shard_unavailable",
        format!("index {name:?}: shards {shards:?} have no live holder now; retry"),
    )
}

fn mismatched() -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "member_answer_invalid", "a cluster member answered another operation")
}

//! An index as a handler reaches it: loaded in this process (the catalog),
//! or, in an etcd cluster, spread over the members and reached through
//! routing. Handlers written against this work the same in both.

use std::ops::Bound;
use std::sync::Arc;

use lhv_core::{
    FieldKey, Filter, Hit, IndexParams, IndexStats, IndexedField, Item, OrderBy, OrderValue, Record, ShardedIndex,
    UpsertOutcome,
};
use lhv_store::DurableIndex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Query;
use crate::error::ApiError;
use crate::state::AppState;

/// An index's sizes, parameters and field indexes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Overview {
    /// Its parameters (with the field indexes it holds now).
    pub params: IndexParams,
    /// Its sizes.
    pub stats: IndexStats,
    /// Per field index, the live items holding a value it keeps.
    pub field_indexes: Vec<(IndexedField, usize)>,
}

impl Overview {
    /// What a loaded index (or part of one) holds now.
    pub(crate) fn of(durable: &DurableIndex) -> Self {
        let index = durable.index();
        Overview {
            params: index.params(),
            stats: index.stats(),
            field_indexes: index.field_indexes().into_iter().map(|info| (info.field, info.points)).collect(),
        }
    }

    /// Two parts' overviews as one: sizes and field-index counts added up.
    #[cfg(feature = "cluster")]
    pub(crate) fn merge(mut self, other: Overview) -> Overview {
        self.stats.live += other.stats.live;
        self.stats.tombstones += other.stats.tombstones;
        self.stats.memory_bytes += other.stats.memory_bytes;
        self.stats.disk_bytes += other.stats.disk_bytes;
        for (field, points) in other.field_indexes {
            match self.field_indexes.iter_mut().find(|(known, _)| known.key == field.key) {
                Some((_, sum)) => *sum += points,
                None => self.field_indexes.push((field, points)),
            }
        }
        self
    }

    /// The live items of the field index of `key`, if there is one.
    pub(crate) fn field_points(&self, key: &str) -> Option<usize> {
        self.field_indexes.iter().find(|(field, _)| field.key == key).map(|(_, points)| *points)
    }
}

/// How fresh a read must be. A loaded index is always current; in a
/// cluster, replicas follow their writers by milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Any copy (reads spread over the replicas; one may be a moment behind).
    Any,
    /// Every write acknowledged before it, as the shards' writers have
    /// applied them (but for a moment while a writer changes hands).
    Writer,
    /// Every write acknowledged before it, checked against each shard's
    /// log head (one object read per shard).
    Strong,
}

impl Freshness {
    /// `Strong` if `strong`, else `Writer`.
    #[cfg(feature = "cluster")]
    pub(crate) fn of(strong: bool) -> Self {
        if strong { Freshness::Strong } else { Freshness::Writer }
    }
}

/// An index, wherever it is.
pub(crate) enum IndexHandle {
    /// Loaded here.
    Local(AppState, Arc<DurableIndex>),
    /// Spread over an etcd cluster.
    #[cfg(feature = "cluster")]
    Routed(Box<crate::routing::RoutedIndex>),
}

impl std::fmt::Debug for IndexHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IndexHandle").field(&self.name()).finish()
    }
}

/// Index `name`, wherever it is.
pub(crate) async fn handle(state: &AppState, name: &str) -> Result<IndexHandle, ApiError> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        return Ok(IndexHandle::Routed(Box::new(routing.index(state, name).await?)));
    }
    Ok(IndexHandle::Local(state.clone(), state.catalog.get(name)?))
}

impl IndexHandle {
    /// Its name.
    pub(crate) fn name(&self) -> &str {
        match self {
            IndexHandle::Local(_, durable) => durable.name(),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.name(),
        }
    }

    /// Its parameters (as created, in a cluster: [`Self::describe`] has the field indexes made since).
    pub(crate) fn params(&self) -> IndexParams {
        match self {
            IndexHandle::Local(_, durable) => durable.index().params(),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.params().clone(),
        }
    }

    /// How many shards it has.
    pub(crate) fn shard_count(&self) -> usize {
        match self {
            IndexHandle::Local(_, durable) => durable.shard_count(),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.shard_count(),
        }
    }

    /// Its sizes, parameters and field indexes; `strong`: with every write
    /// acknowledged before it (in a cluster; always so here).
    pub(crate) async fn describe(&mut self, strong: bool) -> Result<Overview, ApiError> {
        let _ = strong;
        match self {
            IndexHandle::Local(_, durable) => Ok(Overview::of(durable)),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.describe(strong).await,
        }
    }

    /// Each query's hits per vector, nearest first, as fresh as asked.
    pub(crate) async fn search(
        &mut self,
        queries: Vec<Query>,
        freshness: Freshness,
    ) -> Result<Vec<Vec<Vec<Hit>>>, ApiError> {
        let _ = freshness;
        match self {
            IndexHandle::Local(_, durable) => super::search(Arc::clone(durable), queries).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.search(&queries, freshness).await,
        }
    }

    /// The records of `ids`, in their order.
    pub(crate) async fn get_many(&mut self, ids: &[String]) -> Result<Vec<Option<Record>>, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => Ok(ids.iter().map(|id| durable.index().get(id)).collect()),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.get(ids, false).await,
        }
    }

    /// The record of `id`.
    pub(crate) async fn get(&mut self, id: &str) -> Result<Option<Record>, ApiError> {
        Ok(self.get_many(&[id.to_owned()]).await?.pop().flatten())
    }

    /// Up to `limit` items (with their records) in id order from `start`,
    /// passing `filter`; in a cluster each shard's ids and records come
    /// from the same holder, so a page is consistent per shard.
    pub(crate) async fn scroll(
        &mut self,
        start: Bound<&str>,
        limit: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<(String, Record)>, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => {
                let index = durable.index();
                let ids = index.ids_where(start, limit, filter)?;
                // An item deleted since its id was listed is left out.
                Ok(ids.into_iter().filter_map(|id| index.get(&id).map(|record| (id, record))).collect())
            }
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.scroll(start, limit, filter).await,
        }
    }

    /// How many items pass `filter`.
    pub(crate) async fn count_where(&mut self, filter: Option<&Filter>) -> Result<usize, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => Ok(durable.index().count_where(filter)?),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.count_where(filter).await,
        }
    }

    /// The best `scan.top` points by a score of their vectors (exact: every
    /// point passing the filter is scored), best first, ties by id.
    pub(crate) async fn scan(&mut self, scan: super::Scan) -> Result<Vec<super::Scored>, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => {
                let durable = Arc::clone(durable);
                blocking(move || super::scoring::scan(durable.index(), &scan)).await?
            }
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.scan(scan).await,
        }
    }

    /// The first `limit` entries (an item, one of its values at the key,
    /// and its record) in `order`, among the items passing `filter`.
    pub(crate) async fn ordered(
        &mut self,
        order: &OrderBy,
        limit: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<(String, OrderValue, Record)>, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => Ok(ordered_in(durable.index(), order, limit, filter)?),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.ordered(order, limit, filter).await,
        }
    }

    /// Per distinct value at `key` among the items passing `filter`, how
    /// many items hold it.
    pub(crate) async fn value_counts(
        &mut self,
        key: &FieldKey,
        filter: Option<&Filter>,
    ) -> Result<Vec<(Value, usize)>, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => {
                let (durable, key, filter) = (Arc::clone(durable), key.clone(), filter.cloned());
                Ok(blocking(move || value_counts_in(durable.index(), &key, filter.as_ref())).await??)
            }
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.value_counts(key, filter).await,
        }
    }

    /// The index as an LHV1 snapshot frame (one unsharded index).
    pub(crate) async fn export_snapshot(&mut self) -> Result<Vec<u8>, ApiError> {
        match self {
            IndexHandle::Local(_, durable) => Ok(durable.export_snapshot().await?),
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.export_snapshot().await,
        }
    }

    /// Inserts or replaces `items`; durable when it returns.
    pub(crate) async fn upsert(&mut self, items: Vec<Item>) -> Result<UpsertOutcome, ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::upsert(state, durable, items).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.upsert(items).await,
        }
    }

    /// Deletes `ids`; durable when it returns; how many were stored.
    pub(crate) async fn delete(&mut self, ids: Vec<String>) -> Result<usize, ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::delete(state, durable, ids).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.delete(&ids).await,
        }
    }

    /// Deletes the items that pass `filter`, each shard selecting and
    /// deleting with no write in between; durable when it returns; how many.
    pub(crate) async fn delete_where(&mut self, filter: &Filter) -> Result<usize, ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::delete_where(state, durable, filter).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.delete_where(filter).await,
        }
    }

    /// Applies `operations` in order as one write, all or nothing (in a
    /// cluster: checked at every shard's writer first, then written there);
    /// durable when it returns.
    pub(crate) async fn write_batch(&mut self, operations: Vec<super::Operation>) -> Result<(), ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::write_batch(state, durable, &operations).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.write_batch(&operations).await,
        }
    }

    /// An id for the write just made through this handle (Qdrant's
    /// `operation_id`): the index's last sequence number here; in a cluster
    /// the largest the written shards reached.
    pub(crate) async fn operation_id(&self) -> u64 {
        match self {
            IndexHandle::Local(_, durable) => durable.last_sequence().await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.last_sequence(),
        }
    }

    /// Builds (or replaces) a field index; whether one of its key existed.
    pub(crate) async fn create_field_index(&mut self, field: IndexedField) -> Result<bool, ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::create_field_index(state, durable, field).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.create_field_index(field).await,
        }
    }

    /// Builds later insertions with out-degree `m` and candidate list
    /// `ef_construction`, on every shard; durable when it returns.
    pub(crate) async fn set_build_params(&mut self, m: usize, ef_construction: usize) -> Result<(), ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::set_build_params(state, durable, m, ef_construction).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.set_build_params(m, ef_construction).await,
        }
    }

    /// Drops the field index of `key`; whether there was one.
    pub(crate) async fn drop_field_index(&mut self, key: &str) -> Result<bool, ApiError> {
        match self {
            IndexHandle::Local(state, durable) => super::drop_field_index(state, durable, key).await,
            #[cfg(feature = "cluster")]
            IndexHandle::Routed(routed) => routed.drop_field_index(key).await,
        }
    }
}

/// [`IndexHandle::ordered`] over an index (or part of one) loaded here; an
/// item deleted since it was listed is left out.
pub(crate) fn ordered_in(
    index: &ShardedIndex,
    order: &OrderBy,
    limit: usize,
    filter: Option<&Filter>,
) -> lhv_core::Result<Vec<(String, OrderValue, Record)>> {
    let entries = index.ordered(order, limit, filter)?;
    Ok(entries.into_iter().filter_map(|(id, value)| index.get(&id).map(|record| (id, value, record))).collect())
}

/// Runs a scan that may visit every item off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "search_cancelled", e.to_string()))
}

/// [`IndexHandle::value_counts`] over an index (or part of one) loaded
/// here, as (value, count) in no particular order.
pub(crate) fn value_counts_in(
    index: &ShardedIndex,
    key: &FieldKey,
    filter: Option<&Filter>,
) -> lhv_core::Result<Vec<(Value, usize)>> {
    let mut counts: Vec<(Value, usize)> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for id in index.ids_where(Bound::Unbounded, usize::MAX, filter)? {
        let Some(record) = index.get(&id) else { continue };
        let Some(metadata) = record.metadata.as_ref() else { continue };
        let mut seen: Vec<&Value> = Vec::new();
        for value in key.values(metadata, true) {
            if seen.contains(&value) {
                continue;
            }
            seen.push(value);
            let slot = *at.entry(value.to_string()).or_insert_with(|| {
                counts.push((value.clone(), 0));
                counts.len() - 1
            });
            counts[slot].1 += 1;
        }
    }
    Ok(counts)
}

//! What the native routes answer, as types: the handlers return these, and
//! the OpenAPI document describes these same types.

use std::collections::BTreeMap;

use lhv_core::{Hit, IndexedField, Metric, Storage};
use lhv_store::DurableIndex;

use crate::ops::{IndexHandle, Overview};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What the API says about an index.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexInfo {
    name: String,
    dim: usize,
    #[schema(value_type = super::docs::MetricDoc)]
    distance: Metric,
    count: usize,
    m: usize,
    ef_construction: usize,
    ef_search: usize,
    /// The field indexes held now.
    #[schema(value_type = Vec<super::docs::IndexedFieldDoc>)]
    indexed_fields: Vec<IndexedField>,
    /// Per field index, the live items holding a value it keeps.
    indexed_points: BTreeMap<String, usize>,
    #[schema(value_type = super::docs::StorageDoc)]
    storage: Storage,
    /// Whether the unnamed vector's exact rows are kept on disk.
    on_disk: bool,
    /// Bytes the index holds in memory: vectors (or their codes), graphs and
    /// per-item bookkeeping.
    memory_bytes: usize,
    /// Bytes of exact rows of vectors kept on disk, read in place from the
    /// snapshot file (searches read a few rows each through the page cache).
    disk_bytes: usize,
    shards: usize,
    status: &'static str,
}

impl IndexInfo {
    /// A loaded index's description.
    pub(crate) fn of(durable: &DurableIndex) -> Self {
        Self::described(durable.name(), durable.shard_count(), Overview::of(durable))
    }

    /// The description of index `name` of `shards` shards, as `overview` has it.
    pub(crate) fn described(name: &str, shards: usize, overview: Overview) -> Self {
        let params = overview.params;
        Self {
            name: name.to_owned(),
            dim: params.dim,
            distance: params.metric,
            count: overview.stats.live,
            m: params.m,
            ef_construction: params.ef_construction,
            ef_search: params.ef_search,
            indexed_fields: params.indexed_fields,
            indexed_points: overview.field_indexes.into_iter().map(|(field, points)| (field.key, points)).collect(),
            storage: params.storage,
            on_disk: params.on_disk,
            memory_bytes: overview.stats.memory_bytes,
            disk_bytes: overview.stats.disk_bytes,
            shards,
            status: "ready",
        }
    }

    /// An index's description, wherever it is.
    pub(crate) async fn of_handle(handle: &mut IndexHandle) -> Result<Self, crate::error::ApiError> {
        let overview = handle.describe(false).await?;
        Ok(Self::described(handle.name(), handle.shard_count(), overview))
    }
}

/// An index in a listing: described if loaded, else its state.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum IndexEntry {
    /// Loaded.
    Ready(IndexInfo),
    /// Loading, or unavailable (with the reason).
    NotReady {
        /// Its name.
        name: String,
        /// `loading` or `unavailable`.
        status: &'static str,
        /// Why it is unavailable.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// `GET /v1/vectors/index`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexListAnswer {
    /// A ready index as `IndexInfo`; a loading or unavailable one as
    /// `{"name", "status": "loading" | "unavailable", "reason"?}`.
    #[schema(value_type = Vec<Object>)]
    pub indexes: Vec<IndexEntry>,
}

/// An item as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredItem {
    /// Its id.
    pub id: String,
    /// Its unnamed vector, as stored (empty if it has none).
    pub vector: Vec<f32>,
    /// Its named dense vectors, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Option<Object>)]
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// Its sparse vectors, by name, each `{"indices", "values"}` (indices ascending).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Option<Object>)]
    pub sparse: BTreeMap<String, lhv_core::SparseVector>,
    /// Its metadata.
    /// (Any JSON value: an object through the Qdrant API, anything through this one.)
    #[schema(value_type = Option<serde_json::Value>)]
    pub metadata: Option<Value>,
}

/// One search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct HitDoc {
    /// The item's id.
    pub id: String,
    /// Distance under the index metric (smaller is closer).
    pub distance: f32,
    /// The item's metadata.
    /// (Any JSON value: an object through the Qdrant API, anything through this one.)
    #[schema(value_type = Option<serde_json::Value>)]
    pub metadata: Option<Value>,
}

impl From<Hit> for HitDoc {
    fn from(hit: Hit) -> Self {
        Self { id: hit.id, distance: hit.distance, metadata: hit.metadata }
    }
}

/// `POST .../search`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    /// Nearest first.
    pub results: Vec<HitDoc>,
}

/// `POST .../search/batch`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchBatchAnswer {
    /// One list per query, in the order of the queries, each nearest first.
    pub results: Vec<Vec<HitDoc>>,
}

/// `POST .../add`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertedAnswer {
    /// Items inserted or replaced.
    pub upserted: usize,
}

/// `DELETE` of an index or an item.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedAnswer {
    /// The name or id deleted.
    pub deleted: String,
}

/// An item in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemSummaryDoc {
    /// The item's id.
    pub id: String,
    /// The item's metadata.
    /// (Any JSON value: an object through the Qdrant API, anything through this one.)
    #[schema(value_type = Option<serde_json::Value>)]
    pub metadata: Option<Value>,
}

/// `GET .../items`: one page, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemPageAnswer {
    /// The page's items.
    pub items: Vec<ItemSummaryDoc>,
    /// Pass as `after` for the next page; null on the last.
    pub next: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusAnswer {
    /// `ok`: the process serves.
    pub status: &'static str,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyAnswer {
    /// `ready`, or `loading` (with 503).
    pub status: &'static str,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// An error as a probe reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorObject {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable text.
    pub message: &'static str,
}

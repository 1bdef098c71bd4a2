//! Collections: a Qdrant collection is a vectord index with one unnamed
//! dense vector per point.

use axum::extract::State;
use lhv_core::IndexParams;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::answers::Reply;
use super::answers::{Answer, CollectionName, CollectionsList, Exists};
use super::refuse::{not_supported, unknown_fields};
use super::vector_config::{self, Defaults, HnswConfig};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, Overview};
use crate::state::AppState;

/// `PUT /collections/{name}`.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateCollection {
    vectors: Option<Value>,
    hnsw_config: Option<HnswConfig>,
    quantization_config: Option<Value>,
    shard_number: Option<u64>,
    replication_factor: Option<u64>,
    write_consistency_factor: Option<u64>,
    sparse_vectors: Option<Map<String, Value>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Settings that change how Qdrant keeps or replicates data but not what a
/// request answers; vectord keeps everything in memory and durable at once.
const HARMLESS: &[&str] =
    &["on_disk_payload", "optimizers_config", "wal_config", "strict_mode_config", "sharding_method", "timeout"];

impl CreateCollection {
    /// The index parameters and the shard count, if the request sets one.
    /// The index's parameters, shards and (in a cluster) copies per shard.
    fn params(self, clustered: bool) -> Result<(IndexParams, Option<usize>, Option<u32>), ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        let shards = self.shard_number.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if !clustered && self.replication_factor.is_some_and(|n| n > 1) {
            return Err(not_supported("replication (a single node; a cluster on etcd has it)"));
        }
        if self.write_consistency_factor.is_some_and(|n| n > 1) {
            return Err(not_supported("a write consistency factor (each shard has one writer)"));
        }
        let replication = match self.replication_factor {
            Some(copies @ 1..=64) => Some(copies as u32),
            Some(other) => {
                let allowed = "an integer in 1..=64";
                let value = other.to_string();
                return Err(lhv_core::Error::InvalidParameter { name: "replication_factor", value, allowed }.into());
            }
            None => None,
        };
        let defaults = Defaults { hnsw: self.hnsw_config, quantization: self.quantization_config };
        let params = vector_config::read(self.vectors, self.sparse_vectors, defaults)?;
        Ok((params, shards, replication))
    }
}

/// Creates a collection.
pub(crate) async fn create(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<CreateCollection>,
) -> Reply<bool> {
    let (params, shards, replication) = request.params(ops::is_clustered(&state))?;
    ops::create_index(&state, &name, params, shards.unwrap_or(state.config.default_shards), replication).await?;
    Ok(Answer(true))
}

/// Every collection's name.
pub(crate) async fn list(State(state): State<AppState>) -> Answer<CollectionsList> {
    let collections = ops::index_names(&state).await.into_iter().map(|name| CollectionName { name }).collect();
    Answer(CollectionsList { collections })
}

/// Whether a collection exists (loading or not).
pub(crate) async fn exists(OnIndex { state, name }: OnIndex) -> Answer<Exists> {
    Answer(Exists { exists: ops::index_names(&state).await.contains(&name) })
}

/// Deletes a collection; `false` if there was none.
pub(crate) async fn delete(OnIndex { state, name }: OnIndex) -> Reply<bool> {
    match ops::drop_index(&state, &name).await {
        Ok(()) => Ok(Answer(true)),
        Err(lhv_store::Error::IndexNotFound { .. }) => Ok(Answer(false)),
        Err(error) => Err(error.into()),
    }
}

/// A collection's status, size and configuration.
pub(crate) async fn describe(OnIndex { state, name }: OnIndex) -> Reply<Value> {
    let mut handle = ops::handle(&state, &name).await?;
    let overview = handle.describe(false).await?;
    Ok(Answer(info(&overview, handle.shard_count(), state.config.snapshot_log_bytes)))
}

/// Qdrant's `CollectionInfo`, with every field its clients read (its
/// `migrate()` recreates a collection from `config`), each saying what
/// vectord does in Qdrant's terms.
fn info(overview: &Overview, shards: usize, snapshot_log_bytes: u64) -> Value {
    let params = &overview.params;
    let (vectors, sparse_vectors, quantization) = vector_config::show(params);
    let full_scan_kb = params.exact_search_threshold.saturating_mul(params.dim.max(1) * 4) / 1024;
    let sparse_vectors = sparse_vectors.as_object().filter(|s| !s.is_empty()).map(|s| Value::Object(s.clone()));
    let count = overview.stats.live;
    let mut info = json!({
        "status": "green",
        "optimizer_status": "ok",
        "indexed_vectors_count": count,
        "points_count": count,
        "segments_count": 1,
        "config": {
            "params": {
                "vectors": vectors,
                "shard_number": shards,
                "replication_factor": 1,
                "write_consistency_factor": 1,
                "on_disk_payload": false,
            },
            // Graphs are built on the rayon pool, all cores: Qdrant's 0 ("as many as there are").
            "hnsw_config": {
                "m": params.m,
                "ef_construct": params.ef_construction,
                "full_scan_threshold": full_scan_kb,
                "max_indexing_threads": 0,
            },
            // One segment, every write durable before it is answered, and deleted
            // slots compacted away past lhv-core's tombstone share.
            "optimizer_config": {
                "default_segment_number": 1,
                "flush_interval_sec": 0,
                "deleted_threshold": lhv_core::MAX_TOMBSTONE_SHARE,
            },
            // The log grows to `snapshot_log_bytes` before a snapshot replaces it.
            "wal_config": { "wal_capacity_mb": snapshot_log_bytes.div_ceil(1 << 20), "wal_segments_ahead": 0 },
            "quantization_config": quantization,
        },
        "payload_schema": super::field_index::payload_schema(&overview.field_indexes),
    });
    if let Some(sparse_vectors) = sparse_vectors {
        info["config"]["params"]["sparse_vectors"] = sparse_vectors;
    }
    info
}

//! Collections: a Qdrant collection is a vectord index with one unnamed
//! dense vector per point.

use axum::extract::State;
use lhv_core::{IndexParams, Metric, Storage};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::answers::Reply;
use super::answers::{Answer, CollectionName, CollectionsList, Exists};
use super::refuse::{not_supported, unknown_fields};
use super::shown;
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

/// Qdrant's `hnsw_config`, as far as vectord's graph has the same knobs.
#[derive(Debug, Default, Deserialize)]
pub(super) struct HnswConfig {
    pub(super) m: Option<usize>,
    pub(super) ef_construct: Option<usize>,
    /// Below this many kilobytes of vectors a search compares with every point.
    pub(super) full_scan_threshold: Option<usize>,
    #[serde(flatten)]
    pub(super) rest: Map<String, Value>,
}

/// Knobs of `hnsw_config` that tune Qdrant's indexing, not answers.
pub(super) const HARMLESS_HNSW: &[&str] = &["max_indexing_threads", "on_disk", "payload_m", "inline_storage"];

/// `vectors`: `{size, distance, ...}`, or the same under the name `""`.
#[derive(Debug, Deserialize)]
struct VectorParams {
    size: usize,
    distance: String,
    hnsw_config: Option<HnswConfig>,
    quantization_config: Option<Value>,
    datatype: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Settings that change how Qdrant keeps or replicates data but not what a
/// request answers; vectord keeps everything in memory and durable at once.
const HARMLESS: &[&str] =
    &["on_disk_payload", "optimizers_config", "wal_config", "strict_mode_config", "sharding_method", "timeout"];

fn metric(name: &str) -> Result<Metric, ApiError> {
    match name {
        "Cosine" => Ok(Metric::Cosine),
        "Euclid" => Ok(Metric::L2),
        "Dot" => Ok(Metric::Dot),
        other => Err(not_supported(format!("the distance {other:?} (Cosine, Euclid and Dot are)"))),
    }
}

fn storage(quantization: Option<&Value>, datatype: Option<&str>) -> Result<Storage, ApiError> {
    let quantized = match quantization.filter(|q| !q.is_null()) {
        None => None,
        Some(q) if q.pointer("/scalar/type").and_then(Value::as_str) == Some("int8") => Some(Storage::Int8),
        Some(q) => return Err(not_supported(format!("the quantization {q} (scalar int8 is)"))),
    };
    match (quantized, datatype) {
        (Some(storage), None | Some("float32")) => Ok(storage),
        (None, None | Some("float32")) => Ok(Storage::F32),
        (None, Some("float16")) => Ok(Storage::F16),
        (_, Some(other)) => Err(not_supported(format!("the datatype {other:?} with this quantization"))),
    }
}

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
        if self.sparse_vectors.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(not_supported("sparse vectors"));
        }
        let vectors: VectorParams = match self.vectors {
            Some(Value::Object(mut object)) if !object.contains_key("size") => match object.remove("") {
                Some(unnamed) if object.is_empty() => serde_json::from_value(unnamed),
                _ => return Err(not_supported("named vectors (only the unnamed vector, \"\", is)")),
            },
            Some(vectors) => serde_json::from_value(vectors),
            None => {
                return Err(ApiError::bad_request("`vectors` is required: {\"size\": N, \"distance\": \"Cosine\"}"));
            }
        }
        .map_err(|e| ApiError::bad_request(format!("`vectors`: {e}")))?;
        unknown_fields(&vectors.rest, &["on_disk"])?;
        let quantization = vectors.quantization_config.as_ref().or(self.quantization_config.as_ref());
        let storage = storage(quantization, vectors.datatype.as_deref())?;
        let mut params = IndexParams::new(vectors.size, metric(&vectors.distance)?).with_storage(storage);
        // The vector's own hnsw_config overrides the collection's.
        for hnsw in [self.hnsw_config, vectors.hnsw_config].into_iter().flatten() {
            unknown_fields(&hnsw.rest, HARMLESS_HNSW)?;
            if let Some(m) = hnsw.m {
                params = params.with_m(m);
            }
            if let Some(ef) = hnsw.ef_construct {
                params = params.with_ef_construction(ef);
            }
            if let Some(kb) = hnsw.full_scan_threshold {
                params = params.with_exact_search_threshold(kb.saturating_mul(1024) / (vectors.size.max(1) * 4));
            }
        }
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
    let mut vectors = json!({ "size": params.dim, "distance": shown::distance_name(params.metric) });
    let mut quantization = Value::Null;
    match params.storage {
        Storage::F32 => {}
        Storage::F16 => vectors["datatype"] = json!("float16"),
        Storage::Int8 => quantization = json!({ "scalar": { "type": "int8", "always_ram": true } }),
    }
    let full_scan_kb = params.exact_search_threshold.saturating_mul(params.dim * 4) / 1024;
    let count = overview.stats.live;
    json!({
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
    })
}

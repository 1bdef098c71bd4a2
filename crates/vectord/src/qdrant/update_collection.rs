//! `PATCH /collections/{c}`: what vectord can change on a live collection.
//! `hnsw_config.m` and `ef_construct` (the collection's or the unnamed
//! vector's) set how later insertions build the graph, durably (a log
//! record); settings that tune how Qdrant stores and optimises data are
//! accepted and change nothing; the rest (quantization, the full-scan
//! threshold, replication, sparse vectors) is refused by name.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Answer, Reply};
use super::refuse::{not_supported, unknown_fields};
use super::vector_config::{HARMLESS_HNSW, HnswConfig};
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops;

/// Qdrant's `UpdateCollection`.
#[derive(Debug, Deserialize)]
pub(crate) struct UpdateCollection {
    hnsw_config: Option<HnswConfig>,
    /// Per vector name: `{hnsw_config, quantization_config, on_disk}`.
    vectors: Option<Map<String, Value>>,
    params: Option<Map<String, Value>>,
    quantization_config: Option<Value>,
    sparse_vectors: Option<Map<String, Value>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The unnamed vector's part of `vectors`.
#[derive(Debug, Deserialize)]
struct VectorDiff {
    hnsw_config: Option<HnswConfig>,
    quantization_config: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Settings of Qdrant's optimiser and limits: vectord has no segments to optimise.
const HARMLESS: &[&str] = &["optimizers_config", "strict_mode_config", "timeout"];

impl UpdateCollection {
    /// The `hnsw_config` changes, in the order they apply (the vector's own last).
    fn hnsw_changes(self) -> Result<Vec<HnswConfig>, crate::error::ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        if let Some(params) = &self.params {
            let replicated = ["replication_factor", "write_consistency_factor"]
                .iter()
                .any(|key| params.get(*key).and_then(Value::as_u64).is_some_and(|n| n > 1));
            if replicated {
                return Err(not_supported("replication (a single node)"));
            }
            let rest: Map<String, Value> = params
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "replication_factor" | "write_consistency_factor"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            unknown_fields(&rest, &["read_fan_out_factor", "on_disk_payload", "read_fan_out_delay_ms"])?;
        }
        if self.sparse_vectors.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(not_supported("sparse vectors"));
        }
        let mut changes: Vec<HnswConfig> = self.hnsw_config.into_iter().collect();
        let mut quantization = self.quantization_config;
        for (name, diff) in self.vectors.unwrap_or_default() {
            if !name.is_empty() {
                return Err(not_supported(format!(
                    "named vectors (the vector {name:?}; only the unnamed one, \"\", is)"
                )));
            }
            let diff: VectorDiff = serde_json::from_value(diff)
                .map_err(|e| crate::error::ApiError::bad_request(format!("`vectors`: {e}")))?;
            unknown_fields(&diff.rest, &["on_disk"])?;
            if diff.rest.get("on_disk").is_some_and(|on_disk| !on_disk.is_null()) {
                return Err(not_supported("changing on_disk of an existing collection (create a new one)"));
            }
            quantization = quantization.or(diff.quantization_config);
            changes.extend(diff.hnsw_config);
        }
        if quantization.is_some_and(|q| !q.is_null()) {
            return Err(not_supported("changing the quantization of an existing collection (create a new one)"));
        }
        for hnsw in &changes {
            unknown_fields(&hnsw.rest, HARMLESS_HNSW)?;
            if hnsw.full_scan_threshold.is_some() {
                return Err(not_supported("changing full_scan_threshold of an existing collection"));
            }
        }
        Ok(changes)
    }
}

/// Applies the changes; `true` once they are durable.
pub(crate) async fn update(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<UpdateCollection>,
) -> Reply<bool> {
    let changes = request.hnsw_changes()?;
    let mut handle = ops::handle(&state, &name).await?;
    if changes.is_empty() {
        return Ok(Answer(true));
    }
    let current = handle.describe(true).await?.params;
    let (mut m, mut ef_construction) = (current.m, current.ef_construction);
    for hnsw in changes {
        m = hnsw.m.unwrap_or(m);
        ef_construction = hnsw.ef_construct.unwrap_or(ef_construction);
    }
    if (m, ef_construction) != (current.m, current.ef_construction) {
        handle.set_build_params(m, ef_construction).await?;
    }
    Ok(Answer(true))
}

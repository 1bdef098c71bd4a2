//! Creating, listing, describing and dropping indexes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use std::collections::BTreeMap;

use lhv_core::{IndexParams, IndexedField, Metric, SparseParams, Storage, VectorParams};
use lhv_store::IndexState;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Reply;
use super::answers::{DeletedAnswer, IndexEntry, IndexInfo, IndexListAnswer};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops;
use crate::state::AppState;

/// `POST /v1/vectors/index`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "name": "docs", "dim": 2, "distance": "cosine" }))]
pub struct CreateIndex {
    /// 1 to 255 characters, without `/` or control characters (Qdrant's
    /// rule for collection names; docs/API.md says how they are stored).
    #[schema(min_length = 1, max_length = 255, pattern = "^[^/\\x00-\\x1f\\x7f-\\x9f]+$", example = "docs")]
    name: String,
    /// Components of the unnamed vector (leave out, with `distance`, for an
    /// index of named vectors only).
    #[schema(minimum = 1, maximum = 4096)]
    dim: Option<usize>,
    /// `cosine`, `l2` or `dot`: the unnamed vector's (required with `dim`).
    #[schema(value_type = Option<super::docs::MetricDoc>)]
    distance: Option<Metric>,
    /// Named dense vectors besides the unnamed one, by name: each
    /// `{"dim", "distance", "m", "ef_construction", "ef_search", "storage"}`
    /// (as the index's own fields). An item may have any of them.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    vectors: BTreeMap<String, serde_json::Value>,
    /// Named sparse vectors (index → weight pairs, searched exactly by dot
    /// product), by name: each `{"modifier": "none" | "idf"}`; with `idf`
    /// query weights are multiplied by inverse document frequencies (BM25-style scores).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    sparse_vectors: BTreeMap<String, SparseParams>,
    /// Links per node in the graph [default: 16].
    #[schema(minimum = 2, maximum = 100)]
    m: Option<usize>,
    /// Candidates considered while inserting [default: 200].
    #[schema(minimum = 1, maximum = 10000)]
    ef_construction: Option<usize>,
    /// Candidates considered while searching, unless a search says otherwise
    /// [default: chosen by the index, measured each time it grows by a
    /// quarter, to reach recall@10 0.95; 64 until it holds 1 024 items].
    #[schema(minimum = 1, maximum = 10000)]
    ef_search: Option<usize>,
    /// Metadata keys (dot-separated paths, at most 32) to index for fast
    /// selective filters: a key alone indexes strings, numbers and booleans;
    /// `{"key", "schema"}` one type of value. `PUT .../fields/{key}` adds more later.
    #[serde(default)]
    #[schema(max_items = 32, value_type = Vec<super::docs::IndexedFieldDoc>)]
    indexed_fields: Vec<IndexedField>,
    /// How vectors are kept: `f32` (default, exact), `f16` (half the memory) or
    /// `int8` (8-bit codes plus 4-bit residuals for rescoring: about 40 % of it).
    #[serde(default)]
    #[schema(value_type = Option<super::docs::StorageDoc>)]
    storage: Storage,
    /// Keep the unnamed vector's exact float32 rows on disk, in the snapshot
    /// file, and only the codes the graph walk reads in memory (`storage`'s,
    /// or 8-bit codes for `f32`); searches rescore their candidates exactly
    /// from the file and items come back exact [default: false]. Named
    /// vectors take `on_disk` in their own parameters.
    #[serde(default)]
    on_disk: bool,
    /// Shards [default: the server's `default_shards`, 1 unless set]: each is its own graph, log and snapshot; an item
    /// goes to the shard a hash of its id picks, and a search asks every shard.
    #[schema(minimum = 1, maximum = 64)]
    shards: Option<usize>,
    /// In an etcd cluster, copies of each shard, on distinct processes [default: the
    /// cluster's `replication`]; ignored by a single process.
    #[schema(minimum = 1, maximum = 64)]
    replication: Option<u32>,
}

/// The named dense vectors of a request: as [`VectorParams`], each choosing
/// its own `ef_search` unless the request sets one (as the index's does).
fn named_vectors(vectors: BTreeMap<String, serde_json::Value>) -> Result<BTreeMap<String, VectorParams>, ApiError> {
    vectors
        .into_iter()
        .map(|(name, value)| {
            let chosen = value.get("ef_search").is_none() && value.get("ef_search_auto").is_none();
            let mut params: VectorParams =
                serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("vectors.{name}: {e}")))?;
            params.ef_search_auto |= chosen;
            Ok((name, params))
        })
        .collect()
}

/// Creates an index.
#[utoipa::path(post, path = "/v1/vectors/index", operation_id = "createIndex", request_body = CreateIndex, responses(
    (status = 201, description = "Created", body = IndexInfo, links(
        ("describeIndex" = (operation_id = "describeIndex", parameters(("name" = "$response.body#/name")))),
        ("addItems" = (operation_id = "addItems", parameters(("name" = "$response.body#/name")))),
        ("listItems" = (operation_id = "listItems", parameters(("name" = "$response.body#/name")))),
        ("search" = (operation_id = "search", parameters(("name" = "$response.body#/name")))),
        ("searchBatch" = (operation_id = "searchBatch", parameters(("name" = "$response.body#/name")))),
        ("dropIndex" = (operation_id = "dropIndex", parameters(("name" = "$response.body#/name"))))
    )), (status = 409, description = "The name is taken", body = super::docs::ErrorDoc)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<CreateIndex>,
) -> Result<(StatusCode, Json<IndexInfo>), ApiError> {
    let mut params = match (request.dim, request.distance) {
        (Some(dim), Some(distance)) => IndexParams::new(dim, distance),
        (Some(_), None) => return Err(ApiError::bad_request("`distance` is required with `dim`")),
        (None, _) => IndexParams::named_only(),
    };
    params.vectors = named_vectors(request.vectors)?;
    params.sparse_vectors = request.sparse_vectors;
    if let Some(m) = request.m {
        params = params.with_m(m);
    }
    if let Some(ef) = request.ef_construction {
        params = params.with_ef_construction(ef);
    }
    if let Some(ef) = request.ef_search {
        params = params.with_ef_search(ef);
    }
    params =
        params.with_indexed_fields(request.indexed_fields).with_storage(request.storage).with_on_disk(request.on_disk);
    let shards = request.shards.unwrap_or(state.config.default_shards);
    if let Some(copies) = request.replication.filter(|copies| !(1..=64).contains(copies)) {
        let allowed = "an integer in 1..=64";
        return Err(
            lhv_core::Error::InvalidParameter { name: "replication", value: copies.to_string(), allowed }.into()
        );
    }
    ops::create_index(&state, &request.name, params, shards, request.replication).await?;
    let mut created = ops::handle(&state, &request.name).await?;
    Ok((StatusCode::CREATED, Json(IndexInfo::of_handle(&mut created).await?)))
}

/// Every index, by name (loading and unavailable ones with their status).
#[utoipa::path(get, path = "/v1/vectors/index", operation_id = "listIndexes", responses((status = 200, description = "The indexes", body = IndexListAnswer)))]
pub(crate) async fn list(State(state): State<AppState>) -> Json<IndexListAnswer> {
    let not_ready = |name: String, status, reason| IndexEntry::NotReady { name, status, reason };
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        let mut indexes = Vec::new();
        for name in routing.names().await {
            let described = match ops::handle(&state, &name).await {
                Ok(mut handle) => IndexInfo::of_handle(&mut handle).await,
                Err(error) => Err(error),
            };
            indexes.push(match described {
                Ok(info) => IndexEntry::Ready(info),
                Err(e) => not_ready(name, "unavailable", Some(e.message)),
            });
        }
        return Json(IndexListAnswer { indexes });
    }
    let indexes = state
        .catalog
        .list()
        .into_iter()
        .map(|status| match status.state {
            IndexState::Ready => match state.catalog.get(&status.name) {
                Ok(durable) => IndexEntry::Ready(IndexInfo::of(&durable)),
                Err(e) => not_ready(status.name, "unavailable", Some(e.to_string())),
            },
            IndexState::Loading => not_ready(status.name, "loading", None),
            IndexState::Unavailable(reason) => not_ready(status.name, "unavailable", Some(reason)),
        })
        .collect();
    Json(IndexListAnswer { indexes })
}

/// One index.
#[utoipa::path(get, path = "/v1/vectors/index/{name}", operation_id = "describeIndex", params(("name" = String, Path, example = "docs")), responses(
    (status = 200, description = "The index", body = IndexInfo)))]
pub(crate) async fn describe(OnIndex { state, name }: OnIndex) -> Reply<IndexInfo> {
    Ok(Json(IndexInfo::of_handle(&mut ops::handle(&state, &name).await?).await?))
}

/// Deletes an index and all its stored objects.
#[utoipa::path(delete, path = "/v1/vectors/index/{name}", operation_id = "dropIndex", params(("name" = String, Path, example = "old-docs")), responses(
    (status = 200, description = "Deleted", body = DeletedAnswer)))]
pub(crate) async fn drop(OnIndex { state, name }: OnIndex) -> Reply<DeletedAnswer> {
    ops::drop_index(&state, &name).await?;
    Ok(Json(DeletedAnswer { deleted: name }))
}

//! k-nearest-neighbour searches.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use lhv_core::{Filter, Hit, SearchOptions};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/vectors/index/{name}/search`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "vector": [0.6, 0.8], "k": 3 }))]
pub struct Search {
    /// `dim` finite numbers (not all zero for cosine).
    #[schema(value_type = Vec<crate::openapi::ComponentDoc>)]
    vector: Vec<f32>,
    /// How many results, at most.
    #[schema(minimum = 1, maximum = 10000)]
    k: usize,
    /// Candidates considered [default: the index's `ef_search`; raised to `k` if below].
    #[schema(minimum = 1, maximum = 10000)]
    ef: Option<usize>,
    /// Only items that pass this filter are searched.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::FilterDoc>)]
    filter: Option<Filter>,
    /// Refine the candidates' distances with the 4-bit residuals before choosing
    /// the top `k` [default: true for `int8` indexes; no effect on others].
    #[serde(default)]
    rescore: Option<bool>,
    /// In a cluster, `strong` answers from the index's writer (forwarded to it),
    /// so every acknowledged write is seen; `eventual` (the default) answers from
    /// this process, whose replica may be up to about one follow interval behind.
    #[serde(default)]
    #[allow(dead_code)]
    consistency: Option<Consistency>,
}

/// How fresh a search's answer must be (see docs/OPERATIONS.md).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Whatever this process has applied.
    Eventual,
    /// Everything acknowledged before the search.
    Strong,
}

/// `POST /v1/vectors/index/{name}/search/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "vectors": [[0.6, 0.8], [1.0, 0.0]], "k": 3 }))]
pub struct SearchBatch {
    /// Query vectors, each as in a single search.
    #[schema(value_type = Vec<Vec<crate::openapi::ComponentDoc>>)]
    vectors: Vec<Vec<f32>>,
    /// How many results per query, at most.
    #[schema(minimum = 1, maximum = 10000)]
    k: usize,
    /// Candidates considered [default: the index's `ef_search`].
    #[schema(minimum = 1, maximum = 10000)]
    ef: Option<usize>,
    /// Only items that pass this filter are searched, for every query.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::FilterDoc>)]
    filter: Option<Filter>,
    /// As in a single search.
    #[serde(default)]
    rescore: Option<bool>,
    /// As in a single search.
    #[serde(default)]
    #[allow(dead_code)]
    consistency: Option<Consistency>,
}

/// Runs a search on the blocking pool.
async fn off_the_workers<T: Send + 'static>(search: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(search)
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "search_cancelled", e.to_string()))
}

fn results(hits: Vec<Hit>) -> Vec<Value> {
    hits.into_iter().map(|h| json!({ "id": h.id, "distance": h.distance, "metadata": h.metadata })).collect()
}

/// The `k` nearest items to one vector.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search", operation_id = "search", params(("name" = String, Path, example = "docs")), request_body = Search, responses(
    (status = 200, description = "Nearest first", body = crate::openapi::SearchAnswer), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn one(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<Search>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    let Json(request) = body?;
    let durable = state.catalog.get(&name)?;
    let hits = match request.filter {
        None => {
            let options = SearchOptions { ef: request.ef, rescore: request.rescore, filter: None, exact: false };
            durable.index().search(&request.vector, request.k, &options)?
        }
        // A filtered search may compare with every match: off the async workers.
        Some(filter) => {
            off_the_workers(move || {
                let options =
                    SearchOptions { ef: request.ef, rescore: request.rescore, filter: Some(&filter), exact: false };
                durable.index().search(&request.vector, request.k, &options)
            })
            .await??
        }
    };
    Ok(Json(json!({ "results": results(hits) })))
}

/// The `k` nearest items to each of several vectors.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search/batch", operation_id = "searchBatch", params(("name" = String, Path, example = "docs")), request_body = SearchBatch, responses(
    (status = 200, description = "One list per query", body = crate::openapi::SearchBatchAnswer), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn batch(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<SearchBatch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    let Json(request) = body?;
    let durable = state.catalog.get(&name)?;
    // Many queries keep a core busy for a while: off the async workers.
    let hits = off_the_workers(move || {
        let options =
            SearchOptions { ef: request.ef, rescore: request.rescore, filter: request.filter.as_ref(), exact: false };
        durable.index().search_batch(&request.vectors, request.k, &options)
    })
    .await??;
    let all: Vec<Vec<Value>> = hits.into_iter().map(results).collect();
    Ok(Json(json!({ "results": all })))
}

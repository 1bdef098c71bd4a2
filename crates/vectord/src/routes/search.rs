//! k-nearest-neighbour searches.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use lhv_core::Hit;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/vectors/index/{name}/search`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Search {
    vector: Vec<f32>,
    k: usize,
    ef: Option<usize>,
}

/// `POST /v1/vectors/index/{name}/search/batch`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchBatch {
    vectors: Vec<Vec<f32>>,
    k: usize,
    ef: Option<usize>,
}

fn results(hits: Vec<Hit>) -> Vec<Value> {
    hits.into_iter().map(|h| json!({ "id": h.id, "distance": h.distance, "metadata": h.metadata })).collect()
}

/// The `k` nearest items to one vector.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search", params(("name" = String, Path)), request_body = Search, responses(
    (status = 200, description = "`{\"results\": [hit...]}`", body = Vec<crate::openapi::HitDoc>), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 401, description = "Missing or wrong API key", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn one(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<Search>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    let Json(request) = body?;
    let durable = state.catalog.get(&name)?;
    let hits = durable.index().search(&request.vector, request.k, request.ef)?;
    Ok(Json(json!({ "results": results(hits) })))
}

/// The `k` nearest items to each of several vectors.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search/batch", params(("name" = String, Path)), request_body = SearchBatch, responses(
    (status = 200, description = "`{\"results\": [[hit...], ...]}`", body = Object), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 401, description = "Missing or wrong API key", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn batch(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<SearchBatch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    let Json(request) = body?;
    let durable = state.catalog.get(&name)?;
    // Many queries keep a core busy for a while: off the async workers.
    let hits =
        tokio::task::spawn_blocking(move || durable.index().search_batch(&request.vectors, request.k, request.ef))
            .await
            .map_err(|e| {
                ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "search_cancelled", e.to_string())
            })??;
    let all: Vec<Vec<Value>> = hits.into_iter().map(results).collect();
    Ok(Json(json!({ "results": all })))
}

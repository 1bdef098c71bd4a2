//! Adding, reading, listing and deleting items.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use lhv_core::Item;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/vectors/index/{name}/add`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "items": [{ "id": "a", "vector": [0.6, 0.8], "metadata": { "tag": "x" } }] }))]
pub struct AddItems {
    /// Inserted or replaced all together, or (on error) none.
    #[schema(value_type = Vec<crate::openapi::ItemDoc>)]
    items: Vec<Item>,
}

/// `GET /v1/vectors/index/{name}/items` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many items [default: 100].
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
    /// Start after this id (the `next` of the previous page).
    after: Option<String>,
}

const DEFAULT_LIMIT: usize = 100;

/// Inserts or replaces items; answers once the batch is durable.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/add", operation_id = "addItems", params(("name" = String, Path, example = "docs")), request_body = AddItems, responses(
    (status = 200, description = "Inserted or replaced", body = crate::openapi::UpsertedAnswer, links(
        ("getItem" = (operation_id = "getItem", parameters(("name" = "$request.path.name"), ("id" = "$request.body#/items/0/id")))),
        ("deleteItem" = (operation_id = "deleteItem", parameters(("name" = "$request.path.name"), ("id" = "$request.body#/items/0/id"))))
    )), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc), (status = 507, description = "Storage full", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn add(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<AddItems>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    let Json(AddItems { items }) = body?;
    let durable = state.catalog.get(&name)?;
    let count = items.len();
    let started = std::time::Instant::now();
    let result = durable.upsert(items).await;
    observe(&state, started, &result);
    result?;
    Ok(Json(json!({ "upserted": count })))
}

/// One item.
#[utoipa::path(get, path = "/v1/vectors/index/{name}/items/{id}", operation_id = "getItem", params(("name" = String, Path, example = "docs"), ("id" = String, Path, example = "a")), responses(
    (status = 200, description = "The item", body = crate::openapi::ItemDoc), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((name, id)) = path?;
    let durable = state.catalog.get(&name)?;
    let record = durable.index().get(&id).ok_or_else(|| item_not_found(&name, &id))?;
    Ok(Json(json!({ "id": id, "vector": record.vector, "metadata": record.metadata })))
}

/// Deletes one item; durable when it answers.
#[utoipa::path(delete, path = "/v1/vectors/index/{name}/items/{id}", operation_id = "deleteItem", params(("name" = String, Path, example = "docs"), ("id" = String, Path, example = "a")), responses(
    (status = 200, description = "Deleted", body = crate::openapi::DeletedAnswer), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index or item", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc), (status = 507, description = "Storage full", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((name, id)) = path?;
    let durable = state.catalog.get(&name)?;
    if !durable.index().contains(&id) {
        return Err(item_not_found(&name, &id));
    }
    let started = std::time::Instant::now();
    let result = durable.delete(vec![id.clone()]).await;
    observe(&state, started, &result);
    if result? == 0 {
        return Err(item_not_found(&name, &id));
    }
    Ok(Json(json!({ "deleted": id })))
}

/// A page of ids (ascending) with their metadata.
#[utoipa::path(get, path = "/v1/vectors/index/{name}/items", operation_id = "listItems", params(("name" = String, Path, example = "docs"), ListQuery), responses(
    (status = 200, description = "One page", body = crate::openapi::ItemPageAnswer), (status = 400, description = "Invalid request", body = crate::openapi::ErrorDoc), (status = 404, description = "No such index", body = crate::openapi::ErrorDoc), (status = 503, description = "Index loading or unavailable, or storage failing", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    let Query(query) = query?;
    let durable = state.catalog.get(&name)?;
    let index = durable.index();
    let page = index.scroll(query.after.as_deref(), query.limit.unwrap_or(DEFAULT_LIMIT)).map_err(ApiError::from)?;
    let items: Vec<Value> = page
        .ids
        .into_iter()
        .map(|id| {
            let metadata = index.get(&id).and_then(|r| r.metadata);
            json!({ "id": id, "metadata": metadata })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": page.next_after })))
}

/// Records a durable write in the metrics; a storage failure counts as failed.
fn observe<T>(state: &AppState, started: std::time::Instant, result: &Result<T, lhv_store::Error>) {
    let failed = matches!(result, Err(lhv_store::Error::Storage { .. }));
    state.metrics.observe_persist(started.elapsed(), !failed);
}

fn item_not_found(name: &str, id: &str) -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "item_not_found", format!("index {name:?} has no item {id:?}"))
}

//! Adding, reading, listing and deleting items.

use std::ops::Bound;

use axum::Json;
use lhv_core::Item;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Reply;
use super::answers::{DeletedAnswer, ItemPageAnswer, ItemSummaryDoc, StoredItem, UpsertedAnswer};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex, OnItem, QueryParams};
use crate::ops;

/// `POST /v1/vectors/index/{name}/add`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "items": [{ "id": "a", "vector": [0.6, 0.8], "metadata": { "tag": "x" } }] }))]
pub struct AddItems {
    /// Inserted or replaced all together, or (on error) none.
    #[schema(value_type = Vec<super::docs::ItemDoc>)]
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
    (status = 200, description = "Inserted or replaced", body = UpsertedAnswer, links(
        ("getItem" = (operation_id = "getItem", parameters(("name" = "$request.path.name"), ("id" = "$request.body#/items/0/id")))),
        ("deleteItem" = (operation_id = "deleteItem", parameters(("name" = "$request.path.name"), ("id" = "$request.body#/items/0/id"))))
    ))))]
pub(crate) async fn add(
    OnIndex { state, name }: OnIndex,
    JsonBody(AddItems { items }): JsonBody<AddItems>,
) -> Reply<UpsertedAnswer> {
    let upserted = items.len();
    ops::handle(&state, &name).await?.upsert(items).await?;
    Ok(Json(UpsertedAnswer { upserted }))
}

/// One item.
#[utoipa::path(get, path = "/v1/vectors/index/{name}/items/{id}", operation_id = "getItem", params(("name" = String, Path, example = "docs"), ("id" = String, Path, example = "a")), responses(
    (status = 200, description = "The item", body = StoredItem)))]
pub(crate) async fn get(OnItem { state, name, id }: OnItem) -> Reply<StoredItem> {
    let record = ops::handle(&state, &name).await?.get(&id).await?.ok_or_else(|| item_not_found(&name, &id))?;
    let lhv_core::Record { vector, vectors, sparse, metadata } = record;
    Ok(Json(StoredItem { id, vector, vectors, sparse, metadata }))
}

/// Deletes one item; durable when it answers.
#[utoipa::path(delete, path = "/v1/vectors/index/{name}/items/{id}", operation_id = "deleteItem", params(("name" = String, Path, example = "docs"), ("id" = String, Path, example = "a")), responses(
    (status = 200, description = "Deleted", body = DeletedAnswer), (status = 404, description = "No such index or item", body = super::docs::ErrorDoc)))]
pub(crate) async fn delete(OnItem { state, name, id }: OnItem) -> Reply<DeletedAnswer> {
    let mut handle = ops::handle(&state, &name).await?;
    if handle.get(&id).await?.is_none() {
        return Err(item_not_found(&name, &id));
    }
    if handle.delete(vec![id.clone()]).await? == 0 {
        return Err(item_not_found(&name, &id));
    }
    Ok(Json(DeletedAnswer { deleted: id }))
}

/// A page of ids with their metadata, in id order: ids that are unsigned
/// integers (`42`, no leading zero) first, numerically, then the others by byte.
#[utoipa::path(get, path = "/v1/vectors/index/{name}/items", operation_id = "listItems", params(("name" = String, Path, example = "docs"), ListQuery), responses(
    (status = 200, description = "One page", body = ItemPageAnswer)))]
pub(crate) async fn list(
    OnIndex { state, name }: OnIndex,
    QueryParams(query): QueryParams<ListQuery>,
) -> Reply<ItemPageAnswer> {
    let mut handle = ops::handle(&state, &name).await?;
    let start = query.after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let page = ops::scroll_page(&mut handle, start, query.limit.unwrap_or(DEFAULT_LIMIT), None).await?;
    // `next` is the last id of this page (the next starts after it), if there is a next.
    let next = page.next.and(page.items.last().map(|(id, _)| id.clone()));
    let items = page.items.into_iter().map(|(id, record)| ItemSummaryDoc { id, metadata: record.metadata }).collect();
    Ok(Json(ItemPageAnswer { items, next }))
}

fn item_not_found(name: &str, id: &str) -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "item_not_found", format!("index {name:?} has no item {id:?}"))
}

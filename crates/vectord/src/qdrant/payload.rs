//! Payload writes: set (merge), overwrite, delete keys, clear. Each reads the
//! points' current metadata and writes the new one in one step
//! ([`DurableIndex::upsert_with`](lhv_store::DurableIndex::upsert_with)), so a
//! concurrent write is never overwritten with stale data.

use axum::http::{Method, StatusCode};
use lhv_core::{Item, ShardedIndex};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::Reply;
use super::answers::UpdateResult;
use super::refuse::unknown_fields;
use super::shown::{path_remove, path_set};
use super::{Selection, Selector, points, selection};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, WriteError};

/// `POST` / `PUT /collections/{name}/points/payload`.
#[derive(Debug, Deserialize)]
pub(crate) struct SetPayload {
    payload: Map<String, Value>,
    points: Option<Vec<Value>>,
    filter: Option<Value>,
    /// Merge into the object at this dot-separated path instead of the top.
    key: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// `POST /collections/{name}/points/payload/delete`.
#[derive(Debug, Deserialize)]
pub(crate) struct DeletePayload {
    keys: Vec<String>,
    points: Option<Vec<Value>>,
    filter: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Puts `payload` in the selected points' payloads (or in the objects at
/// `key` in them): `POST` sets its keys and keeps the others, `PUT`
/// replaces the whole payload (or object), as in Qdrant.
pub(crate) async fn write(method: Method, on: OnIndex, JsonBody(request): JsonBody<SetPayload>) -> Reply<UpdateResult> {
    unknown_fields(&request.rest, points::HARMLESS)?;
    let selected = selection(request.points.as_deref(), request.filter.as_ref())?;
    let (payload, key, merge) = (request.payload, request.key, method == Method::POST);
    rewrite(on, selected, move |object| match (&key, merge) {
        (Some(key), true) => path_set_merged(object, key, payload.clone()),
        (None, true) => object.extend(payload.clone()),
        (Some(key), false) => path_set(object, key, Value::Object(payload.clone())),
        (None, false) => *object = payload.clone(),
    })
    .await
}

/// Removes these keys (dot-separated paths) from the selected points' payloads.
pub(crate) async fn delete_keys(on: OnIndex, JsonBody(request): JsonBody<DeletePayload>) -> Reply<UpdateResult> {
    unknown_fields(&request.rest, points::HARMLESS)?;
    let selected = selection(request.points.as_deref(), request.filter.as_ref())?;
    let keys = request.keys;
    rewrite(on, selected, move |object| keys.iter().for_each(|key| path_remove(object, key))).await
}

/// Empties the selected points' payloads.
pub(crate) async fn clear(on: OnIndex, JsonBody(selector): JsonBody<Selector>) -> Reply<UpdateResult> {
    rewrite(on, selector.selection()?, Map::clear).await
}

/// Merges `payload` into the object at `key`, making it if needed.
fn path_set_merged(object: &mut Map<String, Value>, key: &str, payload: Map<String, Value>) {
    let mut merged = match super::shown::path_get(object, key) {
        Some(Value::Object(existing)) => existing.clone(),
        _ => Map::new(),
    };
    merged.extend(payload);
    path_set(object, key, Value::Object(merged));
}

/// Applies `change` to the payload of every selected point, in one durable write.
async fn rewrite(
    OnIndex { state, name }: OnIndex,
    selected: Selection,
    change: impl Fn(&mut Map<String, Value>) + Send + 'static,
) -> Reply<UpdateResult> {
    let durable = ops::index(&state, &name)?;
    ops::durably(&state, durable.upsert_with(|index| Ok::<_, WriteError>(rewritten(index, &selected, &change)?)))
        .await?;
    Ok(UpdateResult::of(&durable).await)
}

/// The selected points with their changed payloads.
fn rewritten(
    index: &ShardedIndex,
    selected: &Selection,
    change: &impl Fn(&mut Map<String, Value>),
) -> Result<Vec<Item>, ApiError> {
    let ids = selected.ids(index)?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(stored) = index.get(&id) else {
            let message = format!("Not found: No point with id {id} found");
            return Err(ApiError::new(StatusCode::NOT_FOUND, "item_not_found", message));
        };
        let mut object = match stored.metadata {
            Some(Value::Object(object)) => object,
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                let message =
                    format!("point {id} has metadata that is not a JSON object (written through vectord's own API)");
                return Err(ApiError::bad_request(message));
            }
        };
        change(&mut object);
        items.push(Item { id, vector: stored.vector, metadata: Some(Value::Object(object)) });
    }
    Ok(items)
}

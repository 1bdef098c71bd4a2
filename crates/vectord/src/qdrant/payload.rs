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

/// A change to the payloads of the selected points.
pub(crate) type PayloadChange = Box<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

impl SetPayload {
    /// What the request changes in which points: `merge` sets its keys and
    /// keeps the others (`POST`), else it replaces the whole payload (or the
    /// object at `key`), as in Qdrant.
    pub(crate) fn change(self, merge: bool) -> Result<(Selection, PayloadChange), ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let selected = selection(self.points.as_deref(), self.filter.as_ref())?;
        let (payload, key) = (self.payload, self.key);
        let change: PayloadChange = Box::new(move |object| match (&key, merge) {
            (Some(key), true) => path_set_merged(object, key, payload.clone()),
            (None, true) => object.extend(payload.clone()),
            (Some(key), false) => path_set(object, key, Value::Object(payload.clone())),
            (None, false) => *object = payload.clone(),
        });
        Ok((selected, change))
    }
}

impl DeletePayload {
    /// The points whose keys (dot-separated paths) are removed, and the removal.
    pub(crate) fn change(self) -> Result<(Selection, PayloadChange), ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let selected = selection(self.points.as_deref(), self.filter.as_ref())?;
        let keys = self.keys;
        Ok((selected, Box::new(move |object| keys.iter().for_each(|key| path_remove(object, key)))))
    }
}

/// Puts `payload` in the selected points' payloads (or in the objects at
/// `key` in them): `POST` sets its keys and keeps the others, `PUT`
/// replaces the whole payload (or object), as in Qdrant.
pub(crate) async fn write(method: Method, on: OnIndex, JsonBody(request): JsonBody<SetPayload>) -> Reply<UpdateResult> {
    let (selected, change) = request.change(method == Method::POST)?;
    rewrite(on, selected, change).await
}

/// Removes these keys (dot-separated paths) from the selected points' payloads.
pub(crate) async fn delete_keys(on: OnIndex, JsonBody(request): JsonBody<DeletePayload>) -> Reply<UpdateResult> {
    let (selected, change) = request.change()?;
    rewrite(on, selected, change).await
}

/// Empties the selected points' payloads.
pub(crate) async fn clear(on: OnIndex, JsonBody(selector): JsonBody<Selector>) -> Reply<UpdateResult> {
    rewrite(on, selector.selection()?, Box::new(Map::clear)).await
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
async fn rewrite(OnIndex { state, name }: OnIndex, selected: Selection, change: PayloadChange) -> Reply<UpdateResult> {
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
        let Some(stored) = index.get(&id) else { return Err(no_point(&id)) };
        let metadata = Some(changed(&id, stored.metadata, change)?);
        items.push(Item { id, vector: stored.vector, metadata });
    }
    Ok(items)
}

/// A point's payload after `change`: its metadata must be an object (or none).
pub(crate) fn changed(
    id: &str,
    metadata: Option<Value>,
    change: &impl Fn(&mut Map<String, Value>),
) -> Result<Value, ApiError> {
    let mut object = match metadata {
        Some(Value::Object(object)) => object,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            let message =
                format!("point {id} has metadata that is not a JSON object (written through vectord's own API)");
            return Err(ApiError::bad_request(message));
        }
    };
    change(&mut object);
    Ok(Value::Object(object))
}

/// The 404 of a write naming a point that does not exist.
pub(crate) fn no_point(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "item_not_found", format!("Not found: No point with id {id} found"))
}

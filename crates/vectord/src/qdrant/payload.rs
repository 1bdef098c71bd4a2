//! Payload writes: set (merge), overwrite, delete keys, clear. Each reads the
//! points' current metadata and writes the new one in one step (a batch of
//! one, see [`crate::ops::Operation`]), so a concurrent write is never
//! overwritten with stale data; in a cluster each shard's writer does so
//! for its points.

use axum::http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::Reply;
use super::answers::UpdateResult;
use super::refuse::unknown_fields;
use super::{Selector, points, selection};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, Operation, PayloadEdit};

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

impl SetPayload {
    /// The write: `merge` sets the payload's keys and keeps the others
    /// (`POST`), else it replaces the whole payload (or the object at
    /// `key`), as in Qdrant.
    pub(crate) fn operation(self, merge: bool) -> Result<Operation, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let selection = selection(self.points.as_deref(), self.filter.as_ref())?;
        Ok(Operation::Payload { selection, edit: PayloadEdit::Set { payload: self.payload, key: self.key, merge } })
    }
}

impl DeletePayload {
    /// The write: these keys (dot-separated paths) removed from the selected points.
    pub(crate) fn operation(self) -> Result<Operation, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let selection = selection(self.points.as_deref(), self.filter.as_ref())?;
        Ok(Operation::Payload { selection, edit: PayloadEdit::DeleteKeys { keys: self.keys } })
    }
}

impl Selector {
    /// The write that empties the selected points' payloads.
    pub(crate) fn clear_payload(&self) -> Result<Operation, ApiError> {
        Ok(Operation::Payload { selection: self.selection()?, edit: PayloadEdit::Clear })
    }
}

/// Puts `payload` in the selected points' payloads (or in the objects at
/// `key` in them): `POST` sets its keys and keeps the others, `PUT`
/// replaces the whole payload (or object), as in Qdrant.
pub(crate) async fn write(method: Method, on: OnIndex, JsonBody(request): JsonBody<SetPayload>) -> Reply<UpdateResult> {
    written(on, request.operation(method == Method::POST)?).await
}

/// Removes these keys (dot-separated paths) from the selected points' payloads.
pub(crate) async fn delete_keys(on: OnIndex, JsonBody(request): JsonBody<DeletePayload>) -> Reply<UpdateResult> {
    written(on, request.operation()?).await
}

/// Empties the selected points' payloads.
pub(crate) async fn clear(on: OnIndex, JsonBody(selector): JsonBody<Selector>) -> Reply<UpdateResult> {
    written(on, selector.clear_payload()?).await
}

/// Makes one write durably, as a batch of one; the answer to it.
pub(crate) async fn written(OnIndex { state, name }: OnIndex, operation: Operation) -> Reply<UpdateResult> {
    let mut handle = ops::handle(&state, &name).await?;
    handle.write_batch(vec![operation]).await?;
    Ok(UpdateResult::of(&handle).await)
}

//! `PUT /collections/{name}/points/vectors`: new vectors for existing points,
//! their payloads kept; all or nothing, durable when answered.

use lhv_core::{IndexParams, Item};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Reply, UpdateResult};
use super::ids;
use super::payload::written;
use super::point_vectors;
use super::points::HARMLESS;
use super::refuse::unknown_fields;
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, Operation};

/// The request.
#[derive(Debug, Deserialize)]
pub(crate) struct UpdateVectors {
    points: Vec<PointVectors>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct PointVectors {
    id: Value,
    vector: Value,
}

impl UpdateVectors {
    /// The new vectors as items without metadata (which keeps the stored
    /// payload); each replaces the point's vector of its name.
    pub(crate) fn items(self, params: &IndexParams) -> Result<Vec<Item>, ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        let mut items = Vec::with_capacity(self.points.len());
        for PointVectors { id, vector } in self.points {
            let vectors = point_vectors::PointVectors::read(params, vector)?;
            if vectors.is_empty() {
                return Err(ApiError::bad_request(
                    "update_vectors needs a vector for every point (delete_vectors removes one)",
                ));
            }
            items.push(vectors.into_item(ids::parse(&id)?, None));
        }
        Ok(items)
    }
}

/// `POST /collections/{name}/points/vectors/delete` (and `delete_vectors` in a batch).
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteVectors {
    points: Option<Vec<Value>>,
    filter: Option<Value>,
    /// The names of the vectors to delete (`""`: the unnamed one).
    vector: Vec<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl DeleteVectors {
    /// The write (none when no vector is named).
    pub(crate) fn operation(self, params: &IndexParams) -> Result<Option<Operation>, ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        if let Some(unknown) = self.vector.iter().find(|name| !point_vectors::declares(params, name)) {
            return Err(point_vectors::unknown_vector(unknown));
        }
        let selection = super::selection(self.points.as_deref(), self.filter.as_ref())?;
        Ok((!self.vector.is_empty()).then_some(Operation::DeleteVectors { selection, names: self.vector }))
    }
}

/// Takes the named vectors of the selected points away, keeping them and
/// their payloads and other vectors (an unknown id: 404, nothing written);
/// a point without vectors is listed, counted and filtered, never found by
/// a search, until a vector comes back.
pub(crate) async fn delete(on: OnIndex, JsonBody(request): JsonBody<DeleteVectors>) -> Reply<UpdateResult> {
    let params = ops::handle(&on.state, &on.name).await?.params();
    match request.operation(&params)? {
        Some(operation) => written(on, operation).await,
        None => Ok(UpdateResult::of(&ops::handle(&on.state, &on.name).await?).await),
    }
}

/// Replaces the named vectors of existing points (an unknown id: 404, nothing written).
pub(crate) async fn update(on: OnIndex, JsonBody(request): JsonBody<UpdateVectors>) -> Reply<UpdateResult> {
    let params = ops::handle(&on.state, &on.name).await?.params();
    written(on, Operation::UpdateVectors { items: request.items(&params)? }).await
}

//! `PUT /collections/{name}/points/vectors`: new vectors for existing points,
//! their payloads kept; all or nothing, durable when answered.

use lhv_core::Item;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Selection;
use super::answers::{Reply, UpdateResult};
use super::ids;
use super::payload::no_point;
use super::points::{HARMLESS, as_stored, dense_vector};
use super::refuse::{not_supported, unknown_fields};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, WriteError};

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
    /// The new vectors as items without metadata (which keeps the stored payload).
    pub(crate) fn items(self, metric: lhv_core::Metric) -> Result<Vec<Item>, ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        let mut items = Vec::with_capacity(self.points.len());
        for PointVectors { id, vector } in self.points {
            let vector = dense_vector(vector)?;
            if vector.is_empty() {
                return Err(ApiError::bad_request(
                    "update_vectors needs a vector for every point (delete_vectors removes one)",
                ));
            }
            items.push(Item { id: ids::parse(&id)?, vector: as_stored(metric, vector), metadata: None });
        }
        Ok(items)
    }
}

/// `POST /collections/{name}/points/vectors/delete` (and `delete_vectors` in a batch).
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteVectors {
    points: Option<Vec<Value>>,
    filter: Option<Value>,
    /// The names of the vectors to delete: the unnamed one, `""`.
    vector: Vec<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl DeleteVectors {
    /// The points whose vector goes.
    pub(crate) fn selection(&self) -> Result<Selection, ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        if let Some(named) = self.vector.iter().find(|name| !name.is_empty()) {
            return Err(not_supported(format!("named vectors (the vector {named:?}; only the unnamed one, \"\", is)")));
        }
        super::selection(self.points.as_deref(), self.filter.as_ref())
    }

    /// Whether the unnamed vector is among those to delete.
    pub(crate) fn names_the_vector(&self) -> bool {
        !self.vector.is_empty()
    }
}

/// Takes the vector of the selected points away, keeping them and their
/// payloads (an unknown id: 404, nothing written); they are listed,
/// counted and filtered, never found by a search, until a vector comes back.
pub(crate) async fn delete(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<DeleteVectors>,
) -> Reply<UpdateResult> {
    let selection = request.selection()?;
    let durable = ops::index(&state, &name)?;
    if request.names_the_vector() {
        let write = durable.upsert_with(|index| {
            let ids = selection.ids(index)?;
            if let Some(missing) = ids.iter().find(|id| !index.contains(id)) {
                return Err(WriteError::Refused(no_point(missing)));
            }
            Ok(ids.into_iter().map(|id| Item { id, vector: Vec::new(), metadata: None }).collect())
        });
        ops::durably(&state, write).await?;
    }
    Ok(UpdateResult::of(&durable).await)
}

/// Replaces the vectors of existing points (an unknown id: 404, nothing written).
pub(crate) async fn update(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<UpdateVectors>,
) -> Reply<UpdateResult> {
    unknown_fields(&request.rest, HARMLESS)?;
    let durable = ops::index(&state, &name)?;
    let metric = durable.index().params().metric;
    let mut items = Vec::with_capacity(request.points.len());
    for PointVectors { id, vector } in request.points {
        // No metadata: the stored payload is kept.
        items.push(Item { id: ids::parse(&id)?, vector: as_stored(metric, dense_vector(vector)?), metadata: None });
    }
    let write = durable.upsert_with(|index| {
        if let Some(missing) = items.iter().find(|item| !index.contains(&item.id)) {
            let message = format!("Not found: No point with id {} found", missing.id);
            return Err(WriteError::Refused(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "item_not_found",
                message,
            )));
        }
        Ok(items)
    });
    ops::durably(&state, write).await?;
    Ok(UpdateResult::of(&durable).await)
}

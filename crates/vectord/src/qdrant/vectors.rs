//! `PUT /collections/{name}/points/vectors`: new vectors for existing points,
//! their payloads kept; all or nothing, durable when answered.

use lhv_core::Item;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Selection;
use super::answers::{Reply, UpdateResult};
use super::ids;
use super::payload::written;
use super::points::{HARMLESS, as_stored, dense_vector};
use super::refuse::{not_supported, unknown_fields};
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
            items.push(Item {
                id: ids::parse(&id)?,
                vector: as_stored(metric, vector),
                metadata: None,
                ..Default::default()
            });
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
    fn selection(&self) -> Result<Selection, ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        if let Some(named) = self.vector.iter().find(|name| !name.is_empty()) {
            return Err(not_supported(format!("named vectors (the vector {named:?}; only the unnamed one, \"\", is)")));
        }
        super::selection(self.points.as_deref(), self.filter.as_ref())
    }

    /// Whether the unnamed vector is among those to delete.
    fn names_the_vector(&self) -> bool {
        !self.vector.is_empty()
    }
}

impl DeleteVectors {
    /// The write (none when the unnamed vector is not among those named).
    pub(crate) fn operation(self) -> Result<Option<Operation>, ApiError> {
        let selection = self.selection()?;
        Ok(self.names_the_vector().then_some(Operation::DeleteVectors { selection }))
    }
}

/// Takes the vector of the selected points away, keeping them and their
/// payloads (an unknown id: 404, nothing written); they are listed,
/// counted and filtered, never found by a search, until a vector comes back.
pub(crate) async fn delete(on: OnIndex, JsonBody(request): JsonBody<DeleteVectors>) -> Reply<UpdateResult> {
    match request.operation()? {
        Some(operation) => written(on, operation).await,
        None => Ok(UpdateResult::of(&ops::handle(&on.state, &on.name).await?).await),
    }
}

/// Replaces the vectors of existing points (an unknown id: 404, nothing written).
pub(crate) async fn update(on: OnIndex, JsonBody(request): JsonBody<UpdateVectors>) -> Reply<UpdateResult> {
    let metric = ops::handle(&on.state, &on.name).await?.params().metric;
    written(on, Operation::UpdateVectors { items: request.items(metric)? }).await
}

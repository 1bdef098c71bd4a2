//! `PUT /collections/{name}/points/vectors`: new vectors for existing points,
//! their payloads kept; all or nothing, durable when answered.

use lhv_core::Item;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Reply, UpdateResult};
use super::ids;
use super::points::{HARMLESS, as_stored, dense_vector};
use super::refuse::unknown_fields;
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
            items.push(Item { id: ids::parse(&id)?, vector: as_stored(metric, dense_vector(vector)?), metadata: None });
        }
        Ok(items)
    }
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

//! Qdrant's REST API, the common part of it, over the same indexes: a Qdrant
//! collection is a vectord index, a point an item (its payload the item's
//! metadata, its id an unsigned integer or a UUID kept as its canonical
//! string). docs/QDRANT.md has the table of what is supported.
//!
//! Answers use Qdrant's envelope `{"result", "status": "ok", "time"}`;
//! errors keep vectord's statuses (from the one mapping in [`crate::error`])
//! and take Qdrant's body `{"status": {"error": "..."}, "time"}` at the edge
//! (the routes are declared Qdrant's in [`crate::routes`]). What vectord does
//! not do is refused with "not supported by vectord: ...", never answered
//! approximately.

pub(crate) mod aliases;
mod answers;
pub(crate) mod batch;
pub(crate) mod collections;
pub(crate) mod discover;
mod examples;
pub(crate) mod facet;
pub(crate) mod field_index;
mod filter;
pub(crate) mod groups;
mod ids;
mod order_by;
pub(crate) mod payload;
mod point_vectors;
pub(crate) mod points;
mod query;
pub(crate) mod recommend;
mod refuse;
pub(crate) mod search;
mod shown;
pub(crate) mod update_collection;
mod vector_config;
pub(crate) mod vectors;

use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
pub(crate) use crate::ops::Selection;

/// The version of Qdrant's API these routes follow (that of the client
/// release they are tested with), reported at `GET /` as Qdrant does.
pub const QDRANT_API_VERSION: &str = "1.20.0";

/// `GET /`: what Qdrant answers there, which clients read for its version.
pub(crate) async fn root() -> Json<answers::ServiceInfo> {
    Json(answers::ServiceInfo {
        title: "vectord (Qdrant-compatible API)",
        version: QDRANT_API_VERSION,
        vectord_version: env!("CARGO_PKG_VERSION"),
    })
}

/// Qdrant's `PointsSelector`: `{"points": [ids]}` or `{"filter": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Selector {
    /// These points (those that exist).
    points: Option<Vec<Value>>,
    /// The points that pass this filter.
    filter: Option<Value>,
    /// Anything else: refused unless harmless.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl Selector {
    fn selection(&self) -> Result<Selection, ApiError> {
        refuse::unknown_fields(&self.rest, points::HARMLESS)?;
        selection(self.points.as_deref(), self.filter.as_ref())
    }
}

/// The selection of a request that names `points` or a `filter`, not both.
pub(crate) fn selection(points: Option<&[Value]>, filter: Option<&Value>) -> Result<Selection, ApiError> {
    match (points, filter.filter(|f| !f.is_null())) {
        (Some(points), None) => Ok(Selection::Ids(ids::parse_all(points)?)),
        (None, Some(_)) => match filter::translate(filter)? {
            Some(filter) => Ok(Selection::Filter(filter)),
            None => Ok(Selection::Ids(Vec::new())),
        },
        _ => Err(ApiError::bad_request("select points with either `points` (ids) or `filter`")),
    }
}

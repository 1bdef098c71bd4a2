//! Qdrant's REST API, the common part of it, over the same indexes: a Qdrant
//! collection is a vectord index, a point an item (its payload the item's
//! metadata, its id an unsigned integer or a UUID kept as its canonical
//! string). docs/QDRANT.md has the table of what is supported.
//!
//! Answers use Qdrant's envelope `{"result", "status": "ok", "time"}`;
//! errors keep vectord's statuses (from the one mapping in [`crate::error`])
//! and take Qdrant's body `{"status": {"error": "..."}, "time"}` on the way
//! out ([`qdrant_error_bodies`]). What vectord does not do is refused with
//! "not supported by vectord: ...", never answered approximately.

mod collections;
mod filter;
mod ids;
mod payload;
mod points;
mod refuse;
mod search;
mod shown;

use std::ops::Bound;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use lhv_core::{Filter, ShardedIndex};
use lhv_store::DurableIndex;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The version of Qdrant's API these routes follow (that of the client
/// release they are tested with), reported at `GET /` as Qdrant does.
pub const QDRANT_API_VERSION: &str = "1.20.0";

/// Whether a path belongs to the Qdrant-shaped API.
pub fn is_qdrant_path(path: &str) -> bool {
    path == "/" || path == "/collections" || path.starts_with("/collections/")
}

/// Whether a Qdrant request writes (for the read-only API key). Searches,
/// scrolls, counts and retrievals are POSTs that only read.
pub fn is_write(method: &axum::http::Method, path: &str) -> bool {
    use axum::http::Method;
    match *method {
        Method::PUT | Method::DELETE | Method::PATCH => true,
        Method::POST => {
            path.ends_with("/points/delete") || path.ends_with("/points/payload") || path.contains("/points/payload/")
        }
        _ => false,
    }
}

/// The Qdrant routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/collections", get(collections::list))
        .route("/collections/{name}", put(collections::create).get(collections::describe).delete(collections::delete))
        .route("/collections/{name}/exists", get(collections::exists))
        .route("/collections/{name}/points", put(points::upsert).post(points::retrieve))
        .route("/collections/{name}/points/{id}", get(points::get_one))
        .route("/collections/{name}/points/delete", post(points::delete))
        .route("/collections/{name}/points/scroll", post(points::scroll))
        .route("/collections/{name}/points/count", post(points::count))
        .route("/collections/{name}/points/search", post(search::search))
        .route("/collections/{name}/points/search/batch", post(search::search_batch))
        .route("/collections/{name}/points/query", post(search::query))
        .route("/collections/{name}/points/query/batch", post(search::query_batch))
        .route("/collections/{name}/points/payload", post(payload::set).put(payload::overwrite))
        .route("/collections/{name}/points/payload/delete", post(payload::delete_keys))
        .route("/collections/{name}/points/payload/clear", post(payload::clear))
}

/// `GET /`: what Qdrant answers there, which clients read for its version.
async fn root() -> Json<Value> {
    Json(
        json!({ "title": "vectord (Qdrant-compatible API)", "version": QDRANT_API_VERSION, "vectord_version": env!("CARGO_PKG_VERSION") }),
    )
}

/// Qdrant's envelope around a result.
pub(crate) fn ok(started: Instant, result: Value) -> Json<Value> {
    Json(json!({ "result": result, "status": "ok", "time": started.elapsed().as_secs_f64() }))
}

/// Qdrant's answer to a write: it is durable and applied (`wait` or not).
pub(crate) async fn updated(started: Instant, durable: &DurableIndex) -> Json<Value> {
    let operation_id = durable.last_sequence().await;
    ok(started, json!({ "operation_id": operation_id, "status": "completed" }))
}

/// Qdrant's `PointsSelector`: `{"points": [ids]}` or `{"filter": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Selector {
    points: Option<Vec<Value>>,
    filter: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl Selector {
    fn selection(&self) -> Result<Selection, ApiError> {
        refuse::unknown_fields(&self.rest, points::HARMLESS)?;
        selection(self.points.as_deref(), self.filter.as_ref())
    }
}

/// The points a write applies to.
pub(crate) enum Selection {
    /// These ids (those that exist).
    Ids(Vec<String>),
    /// Those that pass.
    Filter(Filter),
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

impl Selection {
    /// The ids selected in `index` as it stands.
    pub(crate) fn ids(&self, index: &ShardedIndex) -> lhv_core::Result<Vec<String>> {
        match self {
            Selection::Ids(ids) => Ok(ids.clone()),
            Selection::Filter(filter) => index.ids_where(Bound::Unbounded, usize::MAX, Some(filter)),
        }
    }
}

/// Gives the error answers of Qdrant paths Qdrant's body,
/// `{"status": {"error": "<message>"}, "time": <seconds>}`, whichever layer
/// answered (routing, the API key, body limits, a handler).
pub async fn qdrant_error_bodies(request: Request, next: Next) -> Response {
    let qdrant = is_qdrant_path(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    if !qdrant || response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let body = json!({ "status": { "error": message }, "time": started.elapsed().as_secs_f64() });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body.to_string())).into_response()
}

/// The answer to a Qdrant route vectord does not have.
pub fn unknown_route(method: &axum::http::Method, path: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_supported",
        format!("not supported by vectord: {method} {path}"),
    )
}

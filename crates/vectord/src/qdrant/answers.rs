//! What the Qdrant routes answer, as types, inside Qdrant's envelope
//! `{"result": ..., "status": "ok", "time": <seconds>}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// A Qdrant route's answer: the typed result in Qdrant's envelope, or an error.
pub(crate) type Reply<T> = Result<Answer<T>, crate::error::ApiError>;

/// A successful answer: `result` in Qdrant's envelope.
#[derive(Debug)]
pub(crate) struct Answer<T>(pub T);

#[derive(Serialize)]
struct Envelope<T> {
    result: T,
    status: &'static str,
    time: f64,
}

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        let time = crate::http::since_admitted().as_secs_f64();
        Json(Envelope { result: self.0, status: "ok", time }).into_response()
    }
}

/// The answer to a write: it is durable and applied (`wait` or not).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UpdateResult {
    /// The index's log position after the write.
    pub operation_id: u64,
    /// Always `completed`: vectord answers once the write is durable.
    pub status: &'static str,
}

impl UpdateResult {
    /// The answer to a write just made through `handle`.
    pub(crate) async fn of(handle: &crate::ops::IndexHandle) -> Answer<Self> {
        Answer(Self { operation_id: handle.operation_id().await, status: "completed" })
    }
}

/// `GET /collections`.
#[derive(Debug, Serialize)]
pub(crate) struct CollectionsList {
    /// Each collection, by name.
    pub collections: Vec<CollectionName>,
}

/// A collection in a listing.
#[derive(Debug, Serialize)]
pub(crate) struct CollectionName {
    /// Its name.
    pub name: String,
}

/// `GET /collections/{name}/exists`.
#[derive(Debug, Serialize)]
pub(crate) struct Exists {
    /// Whether it exists (loaded or not).
    pub exists: bool,
}

/// `POST .../points/count`.
#[derive(Debug, Serialize)]
pub(crate) struct CountResult {
    /// How many points pass the filter.
    pub count: usize,
}

/// A point as retrieved or scrolled.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Record {
    /// Its id: an unsigned integer or a UUID.
    pub id: Value,
    /// Its payload, or the selected part of it; null when not asked for.
    pub payload: Option<Value>,
    /// Its vector when asked for.
    pub vector: Option<PointVector>,
    /// The value it is listed by, in a scroll with `order_by`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_value: Option<Value>,
}

/// A point's vector as Qdrant shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum PointVector {
    /// The unnamed dense vector.
    Dense(Vec<f32>),
    /// Vectors by name (`""`: the unnamed one), dense as lists of numbers,
    /// sparse as `{"indices", "values"}`; `{}` for a point without any.
    Named(Map<String, Value>),
}

/// `POST .../points/scroll`.
#[derive(Debug, Serialize)]
pub(crate) struct ScrollResult {
    /// The page, in id order.
    pub points: Vec<Record>,
    /// The id the next page starts with; null on the last page.
    pub next_page_offset: Option<Value>,
}

/// A search hit: the point, with its score.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScoredPoint {
    /// The point (id, and payload and vector as asked for).
    #[serde(flatten)]
    pub point: Record,
    /// Always 0: vectord keeps no per-point version.
    pub version: u64,
    /// Qdrant's score (a similarity, or the Euclidean distance).
    pub score: f32,
}

/// `POST .../points/query`: the hits under `points`.
#[derive(Debug, Serialize)]
pub(crate) struct QueryResponse {
    /// Best first.
    pub points: Vec<ScoredPoint>,
}

/// `POST .../points/search/groups` and `query/groups`.
#[derive(Debug, Serialize)]
pub(crate) struct GroupsResult {
    /// The groups, by their best hit, best first.
    pub groups: Vec<PointGroup>,
}

/// One group: the value of `group_by` its hits share, and its best hits.
#[derive(Debug, Serialize)]
pub(crate) struct PointGroup {
    /// A string or an integer.
    pub id: serde_json::Value,
    /// Best first.
    pub hits: Vec<ScoredPoint>,
}

/// `GET /`.
#[derive(Debug, Serialize)]
pub(crate) struct ServiceInfo {
    /// What answers.
    pub title: &'static str,
    /// The version of Qdrant's API followed (clients check it).
    pub version: &'static str,
    /// vectord's own version.
    pub vectord_version: &'static str,
}

//! Discovery and context search, through `points/discover` and the query
//! API (`{"discover": {"target", "context"}}`, `{"context": [...]}`), as
//! qdrant-client's local mode computes them. Every point that passes the
//! filter is scored exactly (a scan). With a target, a point's score is its
//! rank (per context pair +1 if it is more similar to the positive example,
//! −1 if to the negative, 0 if equally) plus its squashed similarity to the
//! target; without one, the sum over pairs of `fast_sigmoid(min(sim(positive)
//! − sim(negative) − ε, 0))`: 0 for a point on the positive side of every
//! pair. The example points are left out of the answer.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Answer, Reply, ScoredPoint};
use super::examples::{leave_out, scanned, vectors_of};
use super::points::HARMLESS;
use super::refuse::{not_supported, unknown_fields};
use super::search::{Plan, Shared};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, IndexHandle, Scoring};

/// A context pair: a positive and a negative example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pair {
    positive: Value,
    negative: Value,
}

/// Context: a list of pairs, or one pair.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Context {
    Pairs(Vec<Pair>),
    One(Pair),
}

impl Context {
    fn pairs(self) -> Vec<Pair> {
        match self {
            Context::Pairs(pairs) => pairs,
            Context::One(pair) => vec![pair],
        }
    }
}

/// A discovery: an optional target and the context.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Discovery {
    target: Option<Value>,
    context: Option<Context>,
}

/// `POST /collections/{name}/points/discover`.
#[derive(Debug, Deserialize)]
pub(crate) struct DiscoverRequest {
    target: Option<Value>,
    context: Option<Vec<Pair>>,
    limit: usize,
    using: Option<String>,
    lookup_from: Option<Value>,
    #[serde(flatten)]
    shared: Shared,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// `POST /collections/{name}/points/discover`.
pub(crate) async fn points_discover(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<DiscoverRequest>,
) -> Reply<Vec<ScoredPoint>> {
    unknown_fields(&request.rest, HARMLESS)?;
    check_sources(request.using.as_deref(), request.lookup_from.as_ref())?;
    let mut handle = ops::handle(&state, &name).await?;
    let discovery = Discovery { target: request.target, context: request.context.map(Context::Pairs) };
    Ok(Answer(discover(&mut handle, discovery, request.limit, request.shared).await?))
}

/// Refuses named vectors and examples from another collection.
pub(super) fn check_sources(using: Option<&str>, lookup_from: Option<&Value>) -> Result<(), ApiError> {
    if using.is_some_and(|u| !u.is_empty()) {
        return Err(not_supported("named vectors in `using` (the unnamed vector, \"\", is)"));
    }
    if lookup_from.is_some_and(|l| !l.is_null()) {
        return Err(not_supported("`lookup_from` (examples come from the collection itself)"));
    }
    Ok(())
}

/// The discovered points, best first.
pub(super) async fn discover(
    handle: &mut IndexHandle,
    discovery: Discovery,
    limit: usize,
    shared: Shared,
) -> Result<Vec<ScoredPoint>, ApiError> {
    let target = discovery.target.filter(|t| !t.is_null());
    let pairs = discovery.context.map(Context::pairs).unwrap_or_default();
    // Every example in one read: the target (if any), then each pair's two.
    let mut examples: Vec<Value> = target.into_iter().collect();
    let has_target = !examples.is_empty();
    for pair in pairs {
        examples.extend([pair.positive, pair.negative]);
    }
    let read = vectors_of(handle, &examples, "").await?;
    let mut vectors = read.vectors.into_iter();
    let target = if has_target { vectors.next() } else { None };
    let rest: Vec<Vec<f32>> = vectors.collect();
    let pairs: Vec<(Vec<f32>, Vec<f32>)> =
        rest.chunks_exact(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect();
    if target.is_none() && pairs.is_empty() {
        return Err(ApiError::bad_request("a discovery needs a `target` or a `context`"));
    }
    let mut plan = Plan::new(target.clone().unwrap_or_default(), limit, shared)?;
    leave_out(&mut plan, read.mentioned);
    scanned(handle, &plan, Scoring::Discover { target, pairs }).await
}

/// Whether a query-API `query` is a discovery (`{"discover": {...}}`) or a
/// context search (`{"context": ...}`): the discovery if so.
pub(super) fn query_discovery(query: Option<&Value>) -> Option<Result<Discovery, ApiError>> {
    let Value::Object(object) = query? else { return None };
    let read = if let Some(discover) = object.get("discover") {
        serde_json::from_value(discover.clone()).map_err(|e| ApiError::bad_request(format!("discover: {e}")))
    } else {
        let context = object.get("context")?;
        serde_json::from_value(context.clone())
            .map(|context| Discovery { target: None, context: Some(context) })
            .map_err(|e| ApiError::bad_request(format!("context: {e}")))
    };
    if object.len() != 1 {
        return Some(Err(ApiError::bad_request("a discover or context query has only that key")));
    }
    Some(read)
}

//! Qdrant's universal query: a tree of `prefetch`es whose leaves search one
//! vector (dense or sparse, by `using`; by a vector or by a point's own
//! vector) and whose inner nodes fuse their children's results (`rrf`,
//! `dbsf`) or score their candidates again with another vector.
//!
//! A node's filter is its own and its ancestors' together (Qdrant applies
//! the outer `filter` at every level); a prefetch takes `limit` 10 unless it
//! says otherwise; `score_threshold` applies at the node that sets it.

mod run;

use lhv_core::{Filter, IndexParams, SparseVector};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::filter;
use super::ids;
use super::point_vectors::unknown_vector;
use super::refuse::{not_supported, unknown_fields};
use super::search::SearchParams;
use crate::error::ApiError;

pub(super) use run::{Shown, answer};

/// The limit of a prefetch that sets none (Qdrant's).
const DEFAULT_PREFETCH_LIMIT: usize = 10;
/// Deepest nesting of prefetches accepted.
const MAX_DEPTH: usize = 8;

/// A prefetch (or the request itself) as JSON.
#[derive(Debug, Deserialize)]
pub(super) struct Prefetch {
    prefetch: Option<Value>,
    query: Option<Value>,
    using: Option<String>,
    filter: Option<Value>,
    params: Option<SearchParams>,
    score_threshold: Option<f32>,
    limit: Option<usize>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// What a node asks.
#[derive(Debug, Clone)]
pub(super) enum Ask {
    /// The nearest points to a dense vector.
    Dense(Vec<f32>),
    /// The best points by a sparse vector.
    Sparse(SparseVector),
    /// The nearest points to this point's own vector of `using` (it left out).
    Point(String),
    /// Reciprocal rank fusion of the prefetches' results.
    Rrf { k: f32, weights: Option<Vec<f32>> },
    /// Distribution-based score fusion of the prefetches' results.
    Dbsf,
}

/// One node of the tree, checked.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) children: Vec<Node>,
    pub(super) ask: Option<Ask>,
    pub(super) using: String,
    /// Its own filter and its ancestors', together.
    pub(super) filter: Option<Filter>,
    pub(super) ef: Option<usize>,
    pub(super) exact: bool,
    pub(super) rescore: Option<bool>,
    pub(super) score_threshold: Option<f32>,
    pub(super) limit: usize,
}

impl Prefetch {
    /// The request itself as the top of the tree.
    pub(super) fn top(
        prefetch: Option<Value>,
        query: Option<Value>,
        using: Option<String>,
        filter: Option<Value>,
        params: Option<SearchParams>,
        score_threshold: Option<f32>,
    ) -> Self {
        Prefetch { prefetch, query, using, filter, params, score_threshold, limit: None, rest: Map::new() }
    }
}

impl Node {
    /// The tree of a request (or prefetch) `spec`, under the filter of its ancestors.
    pub(super) fn read(
        params: &IndexParams,
        spec: Prefetch,
        inherited: Option<&Filter>,
        limit: usize,
        depth: usize,
    ) -> Result<Node, ApiError> {
        if depth > MAX_DEPTH {
            return Err(ApiError::bad_request(format!("prefetches nest at most {MAX_DEPTH} deep")));
        }
        unknown_fields(&spec.rest, &["lookup_from"])?;
        if spec.rest.get("lookup_from").is_some_and(|l| !l.is_null()) {
            return Err(not_supported("`lookup_from` (vectors from another collection)"));
        }
        let filter = both(inherited, filter::translate(spec.filter.as_ref())?);
        let using = spec.using.unwrap_or_default();
        let children = match spec.prefetch {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.into_iter().map(Some).collect(),
            Some(one) => vec![Some(one)],
        };
        let children = children
            .into_iter()
            .flatten()
            .map(|child| {
                let child: Prefetch =
                    serde_json::from_value(child).map_err(|e| ApiError::bad_request(format!("prefetch: {e}")))?;
                let limit = child.limit.unwrap_or(DEFAULT_PREFETCH_LIMIT);
                Node::read(params, child, filter.as_ref(), limit, depth + 1)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ask = spec.query.map(|query| read_ask(params, &using, query)).transpose()?.flatten();
        match (&ask, children.is_empty()) {
            (Some(Ask::Rrf { .. } | Ask::Dbsf), true) => {
                return Err(ApiError::bad_request("a fusion query needs prefetches to fuse"));
            }
            (None, true) => return Err(ApiError::bad_request("a query needs a `query` or a `prefetch`")),
            (None, false) if children.len() > 1 => {
                return Err(ApiError::bad_request("several prefetches need a `query` to combine them (a fusion)"));
            }
            _ => {}
        }
        if !matches!(ask, Some(Ask::Rrf { .. } | Ask::Dbsf) | None) && !super::point_vectors::declares(params, &using) {
            return Err(unknown_vector(&using));
        }
        let search = spec.params.unwrap_or_default();
        let (ef, exact, rescore) = search.read()?;
        Ok(Node { children, ask, using, filter, ef, exact, rescore, score_threshold: spec.score_threshold, limit })
    }
}

/// Both filters (either may be absent).
fn both(a: Option<&Filter>, b: Option<Filter>) -> Option<Filter> {
    match (a, b) {
        (None, b) => b,
        (Some(a), None) => Some(a.clone()),
        (Some(a), Some(b)) => Some(Filter {
            must: vec![lhv_core::Condition::Filter(a.clone()), lhv_core::Condition::Filter(b)],
            ..Filter::default()
        }),
    }
}

/// A node's `query`: a vector (dense, or sparse when `using` names a sparse
/// vector), a point id, `{"nearest": ...}` of either, or a fusion.
fn read_ask(params: &IndexParams, using: &str, query: Value) -> Result<Option<Ask>, ApiError> {
    let sparse = params.sparse_vectors.contains_key(using);
    Ok(Some(match query {
        Value::Null => return Ok(None),
        Value::Object(mut object) => {
            if let Some(fusion) = object.remove("fusion") {
                return match fusion.as_str() {
                    Some("rrf") => Ok(Some(Ask::Rrf { k: lhv_core::fusion::DEFAULT_RRF_K, weights: None })),
                    Some("dbsf") => Ok(Some(Ask::Dbsf)),
                    _ => Err(ApiError::bad_request(format!("fusion {fusion} is \"rrf\" or \"dbsf\""))),
                };
            }
            if let Some(rrf) = object.remove("rrf") {
                return Ok(Some(read_rrf(rrf)?));
            }
            if let Some(nearest) = object.remove("nearest") {
                if let Some((key, _)) = object.iter().next() {
                    return Err(not_supported(format!("`{key}` with a nearest query")));
                }
                return read_ask(params, using, nearest);
            }
            if object.contains_key("indices") {
                return read_vector(sparse, using, Value::Object(object)).map(Some);
            }
            let kind = object.keys().next().cloned().unwrap_or_default();
            return Err(not_supported(format!("the `{kind}` query inside a prefetch or with `using`")));
        }
        Value::Number(_) | Value::String(_) => Ask::Point(ids::parse(&query)?),
        vector => read_vector(sparse, using, vector)?,
    }))
}

fn read_vector(sparse: bool, using: &str, value: Value) -> Result<Ask, ApiError> {
    if sparse {
        let vector: SparseVector = serde_json::from_value(value).map_err(|e| {
            ApiError::bad_request(format!("a query of the sparse vector {using:?} is {{\"indices\", \"values\"}}: {e}"))
        })?;
        Ok(Ask::Sparse(vector))
    } else {
        let vector: Vec<f32> = serde_json::from_value(value).map_err(|e| {
            ApiError::bad_request(format!("a query of the dense vector {using:?} is a list of numbers: {e}"))
        })?;
        Ok(Ask::Dense(vector))
    }
}

/// `{"rrf": {"k": K, "weights": [...]}}`.
fn read_rrf(value: Value) -> Result<Ask, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rrf {
        k: Option<f32>,
        weights: Option<Vec<f32>>,
    }
    let rrf: Rrf = serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("rrf: {e}")))?;
    Ok(Ask::Rrf { k: rrf.k.unwrap_or(lhv_core::fusion::DEFAULT_RRF_K), weights: rrf.weights })
}

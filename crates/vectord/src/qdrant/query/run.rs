//! Evaluating a query tree through an index handle: leaves search, inner
//! nodes fuse or score their candidates again; the top node's results are
//! shown as Qdrant's scored points.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use lhv_core::{Condition, Filter, Hit, IndexParams, Metric};
use serde_json::Value;

use super::{Ask, Node};
use crate::error::ApiError;
use crate::ops::{self, IndexHandle, Query};
use crate::qdrant::answers::ScoredPoint;
use crate::qdrant::point_vectors::ShownVectors;
use crate::qdrant::shown::{WithPayload, WithVector, passes_threshold, payload, record, score};

/// One result of a node: a point, its score in Qdrant's sense, and its metadata.
#[derive(Debug, Clone)]
struct Found {
    id: String,
    score: f32,
    metadata: Option<Value>,
}

/// How a request shows its results.
pub(in crate::qdrant) struct Shown<'a> {
    pub(in crate::qdrant) offset: usize,
    pub(in crate::qdrant) with_payload: &'a WithPayload,
    pub(in crate::qdrant) with_vector: Option<&'a WithVector>,
}

/// The top node's results, `offset` of them skipped, as Qdrant shows them.
pub(in crate::qdrant) async fn answer(
    handle: &mut IndexHandle,
    top: &Node,
    shown: Shown<'_>,
) -> Result<Vec<ScoredPoint>, ApiError> {
    let params = handle.params();
    let vectors = ShownVectors::of(&params, shown.with_vector, false)?;
    let found: Vec<Found> = evaluate(handle, &params, top).await?.into_iter().skip(shown.offset).collect();
    let records = if vectors.any() {
        let ids: Vec<String> = found.iter().map(|f| f.id.clone()).collect();
        handle.get_many(&ids).await?
    } else {
        vec![None; found.len()]
    };
    Ok(found
        .into_iter()
        .zip(records)
        .map(|(found, stored)| {
            let vector = stored.as_ref().and_then(|stored| vectors.show(&params, stored));
            let point = record(&found.id, payload(shown.with_payload, found.metadata.as_ref()), vector);
            ScoredPoint { point, version: 0, score: found.score }
        })
        .collect())
}

type Evaluated<'a> = Pin<Box<dyn Future<Output = Result<Vec<Found>, ApiError>> + Send + 'a>>;

/// A node's results, best first, at most its limit.
fn evaluate<'a>(handle: &'a mut IndexHandle, params: &'a IndexParams, node: &'a Node) -> Evaluated<'a> {
    Box::pin(async move {
        let mut lists = Vec::with_capacity(node.children.len());
        for child in &node.children {
            lists.push(evaluate(handle, params, child).await?);
        }
        let found = match &node.ask {
            None => lists.into_iter().next().unwrap_or_default(),
            Some(Ask::Rrf { k, weights }) => {
                fused(lists, |scored| lhv_core::fusion::rrf(scored, *k, weights.as_deref()))?
            }
            Some(Ask::Dbsf) => fused(lists, |scored| Ok(lhv_core::fusion::dbsf(scored)))?,
            Some(ask) if lists.is_empty() => search(handle, params, node, ask, node.filter.clone()).await?,
            Some(ask) => {
                // Score the prefetches' candidates again, with this node's vector.
                let mut candidates: Vec<String> = lists.into_iter().flatten().map(|found| found.id).collect();
                candidates.sort_unstable();
                candidates.dedup();
                let among = Condition::HasId { has_id: candidates };
                search(handle, params, node, ask, with(node.filter.as_ref(), among, false)).await?
            }
        };
        let threshold = |found: &Found| match metric_of(params, node) {
            Some(metric) => passes_threshold(metric, found.score, node.score_threshold),
            None => node.score_threshold.is_none_or(|t| found.score >= t),
        };
        Ok(found.into_iter().filter(threshold).take(node.limit).collect())
    })
}

/// The dense metric whose scores a node reports (none for sparse and fused scores).
fn metric_of(params: &IndexParams, node: &Node) -> Option<Metric> {
    match node.ask {
        Some(Ask::Dense(_) | Ask::Point(_)) => params.vector(&node.using).map(|v| v.metric),
        _ => None,
    }
}

/// Fuses lists of results; a point keeps the metadata it came with.
fn fused(
    lists: Vec<Vec<Found>>,
    fuse: impl FnOnce(&[Vec<(String, f32)>]) -> lhv_core::Result<Vec<(String, f32)>>,
) -> Result<Vec<Found>, ApiError> {
    let scored: Vec<Vec<(String, f32)>> =
        lists.iter().map(|list| list.iter().map(|f| (f.id.clone(), f.score)).collect()).collect();
    let metadata: HashMap<String, Option<Value>> =
        lists.into_iter().flatten().map(|found| (found.id, found.metadata)).collect();
    Ok(fuse(&scored)?
        .into_iter()
        .map(|(id, score)| {
            let metadata = metadata.get(&id).cloned().flatten();
            Found { id, score, metadata }
        })
        .collect())
}

/// `filter` with one more condition, required (or, with `negated`, excluded).
fn with(filter: Option<&Filter>, condition: Condition, negated: bool) -> Option<Filter> {
    let mut combined = filter.cloned().unwrap_or_default();
    if negated {
        combined.must_not.push(condition)
    } else {
        combined.must.push(condition)
    }
    Some(combined)
}

/// The 400 of a query by a point that lacks the vector searched.
fn no_vector_of(id: &str, using: &str) -> ApiError {
    ApiError::bad_request(format!("Wrong input: point {id} has no vector {using:?} to search with"))
}

/// The best points of one vector for a leaf's (or a re-scoring node's) ask.
async fn search(
    handle: &mut IndexHandle,
    params: &IndexParams,
    node: &Node,
    ask: &Ask,
    filter: Option<Filter>,
) -> Result<Vec<Found>, ApiError> {
    let mut query = Query {
        using: node.using.clone(),
        k: node.limit.max(1),
        ef: node.ef,
        rescore: node.rescore,
        exact: node.exact,
        filter,
        ..Query::default()
    };
    match ask {
        Ask::Dense(vector) => query.vectors = vec![vector.clone()],
        Ask::Sparse(vector) => query.sparse = vec![vector.clone()],
        Ask::Point(id) => {
            let stored = handle.get(id).await?.ok_or_else(|| crate::ops::no_point(id))?;
            let sparse = params.sparse_vectors.contains_key(&node.using);
            match stored.sparse.get(&node.using) {
                Some(vector) if sparse => query.sparse = vec![vector.clone()],
                _ if sparse => return Err(no_vector_of(id, &node.using)),
                _ => match ops::dense_of(&stored, &node.using) {
                    [] => return Err(no_vector_of(id, &node.using)),
                    vector => query.vectors = vec![vector.to_vec()],
                },
            }
            // The point itself is left out, as Qdrant leaves it out.
            query.filter = with(query.filter.as_ref(), Condition::HasId { has_id: vec![id.clone()] }, true);
        }
        Ask::Rrf { .. } | Ask::Dbsf => return Err(ApiError::bad_request("a fusion is not a search")),
    }
    if node.limit == 0 {
        return Ok(Vec::new());
    }
    let sparse = !query.sparse.is_empty();
    let hits: Vec<Hit> =
        handle.search(vec![query], ops::Freshness::Writer).await?.into_iter().flatten().flatten().collect();
    let metric = params.vector(&node.using).map_or(Metric::Dot, |v| v.metric);
    Ok(hits
        .into_iter()
        .map(|hit| {
            let score = if sparse { -hit.distance } else { score(metric, hit.distance) };
            Found { id: hit.id, score, metadata: hit.metadata }
        })
        .collect())
}

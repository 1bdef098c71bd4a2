//! Recommendations: points like some examples and unlike others, through the
//! query API (`{"query": {"recommend": {...}}}`) and `points/recommend`, with
//! Qdrant's three strategies, as qdrant-client's local mode computes them.
//!
//! Examples are point ids (their stored vectors; the points themselves are
//! left out of the answer) or vectors. `average_vector` (the default)
//! searches for `2·mean(positive) − mean(negative)` (or the mean of the
//! positives) like any nearest-vector query. `best_score` and `sum_scores`
//! score every point that passes the filter against every example, exactly
//! (a scan, not a graph walk: the cost grows with the collection):
//! `best_score` ranks by the best positive similarity, squashed to (0.5, 1),
//! unless a negative is closer, which gives the negated squashed negative
//! similarity; `sum_scores` by the sum of positive similarities minus the sum
//! of negative ones. Similarities are Qdrant's internal ones: cosine, dot, or
//! the negated squared Euclidean distance.

use std::ops::Bound;
use std::sync::Arc;

use lhv_core::{Condition, Filter, Metric, ShardedIndex};
use lhv_store::DurableIndex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Answer, Reply, ScoredPoint};
use super::points::HARMLESS;
use super::refuse::{not_supported, unknown_fields};
use super::search::{Plan, Shared, run_all};
use super::shown::{payload, record};
use super::{ids, payload::no_point};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops;

/// `{"positive", "negative", "strategy"}`: the examples and how to use them.
#[derive(Debug, Deserialize)]
pub(crate) struct Examples {
    #[serde(default)]
    positive: Vec<Value>,
    #[serde(default)]
    negative: Vec<Value>,
    strategy: Option<String>,
}

/// `POST /collections/{name}/points/recommend`: the examples, and the fields of a search.
#[derive(Debug, Deserialize)]
pub(crate) struct RecommendRequest {
    #[serde(flatten)]
    pub(super) examples: Examples,
    pub(super) limit: usize,
    pub(super) using: Option<String>,
    pub(super) lookup_from: Option<Value>,
    #[serde(flatten)]
    pub(super) shared: Shared,
    /// Anything else (last, so that it gets only what the others leave).
    #[serde(flatten)]
    pub(super) rest: Map<String, Value>,
}

/// `POST /collections/{name}/points/recommend`.
pub(crate) async fn points_recommend(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<RecommendRequest>,
) -> Reply<Vec<ScoredPoint>> {
    unknown_fields(&request.rest, HARMLESS)?;
    let durable = ops::index(&state, &name)?;
    let RecommendRequest { examples, limit, using, lookup_from, shared, .. } = request;
    Ok(Answer(recommend(durable, examples, limit, shared, using.as_deref(), lookup_from.as_ref()).await?))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Strategy {
    AverageVector,
    BestScore,
    SumScores,
}

/// The recommended points, best first.
pub(super) async fn recommend(
    durable: Arc<DurableIndex>,
    examples: Examples,
    limit: usize,
    shared: Shared,
    using: Option<&str>,
    lookup_from: Option<&Value>,
) -> Result<Vec<ScoredPoint>, ApiError> {
    if using.is_some_and(|u| !u.is_empty()) {
        return Err(not_supported("named vectors in `using` (the unnamed vector, \"\", is)"));
    }
    if lookup_from.is_some_and(|l| !l.is_null()) {
        return Err(not_supported("`lookup_from` (examples come from the collection itself)"));
    }
    let strategy = match examples.strategy.as_deref() {
        None | Some("average_vector") => Strategy::AverageVector,
        Some("best_score") => Strategy::BestScore,
        Some("sum_scores") => Strategy::SumScores,
        Some(other) => return Err(ApiError::bad_request(format!("unknown recommend strategy {other:?}"))),
    };
    let index = durable.index();
    let metric = index.params().metric;
    let (positive, mut mentioned) = vectors_of(index, &examples.positive)?;
    let (negative, more) = vectors_of(index, &examples.negative)?;
    mentioned.extend(more);
    match strategy {
        Strategy::AverageVector if positive.is_empty() => {
            return Err(ApiError::bad_request("the average_vector strategy needs a positive example"));
        }
        _ if positive.is_empty() && negative.is_empty() => {
            return Err(ApiError::bad_request("a recommendation needs positive or negative examples"));
        }
        _ => {}
    }
    let dim = index.params().dim;
    if let Some(bad) = positive.iter().chain(&negative).find(|v| v.len() != dim) {
        return Err(ApiError::bad_request(format!("an example has {} components, not {dim}", bad.len())));
    }
    let mut plan = Plan::new(average(&positive, &negative, dim), limit, shared)?;
    if !mentioned.is_empty() {
        let others = Condition::HasId { has_id: mentioned };
        let outer = plan.filter.take().map(Condition::Filter).into_iter().collect();
        plan.filter = Some(Filter { must: outer, must_not: vec![others], ..Filter::default() });
    }
    if strategy == Strategy::AverageVector {
        let found = run_all(Arc::clone(&durable), std::slice::from_ref(&plan)).await?;
        return Ok(found.into_iter().next().unwrap_or_default());
    }
    let durable = Arc::clone(&durable);
    tokio::task::spawn_blocking(move || scored_by_examples(&durable, &plan, metric, strategy, &positive, &negative))
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "search_cancelled", e.to_string()))?
}

/// The examples' vectors, and the ids among them.
fn vectors_of(index: &ShardedIndex, examples: &[Value]) -> Result<(Vec<Vec<f32>>, Vec<String>), ApiError> {
    let (mut vectors, mut mentioned) = (Vec::new(), Vec::new());
    for example in examples {
        match example {
            Value::Array(_) => vectors.push(
                serde_json::from_value(example.clone())
                    .map_err(|e| ApiError::bad_request(format!("an example vector is a list of numbers: {e}")))?,
            ),
            Value::Object(_) => return Err(not_supported("named, sparse or multi-vector examples")),
            id => {
                let id = ids::parse(id)?;
                vectors.push(index.get(&id).ok_or_else(|| no_point(&id))?.vector);
                mentioned.push(id);
            }
        }
    }
    Ok((vectors, mentioned))
}

/// `2·mean(positive) − mean(negative)`, or the mean of the positives; zeros without any.
fn average(positive: &[Vec<f32>], negative: &[Vec<f32>], dim: usize) -> Vec<f32> {
    let mean = |vectors: &[Vec<f32>]| -> Vec<f64> {
        let mut sum = vec![0.0; dim];
        vectors.iter().for_each(|v| sum.iter_mut().zip(v).for_each(|(s, x)| *s += f64::from(*x)));
        sum.iter().map(|s| s / vectors.len().max(1) as f64).collect()
    };
    let pos = mean(positive);
    if negative.is_empty() {
        return pos.iter().map(|x| *x as f32).collect();
    }
    let neg = mean(negative);
    pos.iter().zip(neg).map(|(p, n)| (2.0 * p - n) as f32).collect()
}

/// Every passing point scored against the examples, best first, as the plan pages and cuts them.
fn scored_by_examples(
    durable: &DurableIndex,
    plan: &Plan,
    metric: Metric,
    strategy: Strategy,
    positive: &[Vec<f32>],
    negative: &[Vec<f32>],
) -> Result<Vec<ScoredPoint>, ApiError> {
    let index = durable.index();
    let mut scored: Vec<(f32, String, Option<Value>, Vec<f32>)> = Vec::new();
    for id in index.ids_where(Bound::Unbounded, usize::MAX, plan.filter.as_ref())? {
        let Some(stored) = index.get(&id) else { continue };
        let similarities = |examples: &[Vec<f32>]| -> Vec<f32> {
            examples.iter().map(|e| similarity(metric, e, &stored.vector)).collect()
        };
        let (pos, neg) = (similarities(positive), similarities(negative));
        let score = match strategy {
            Strategy::SumScores => pos.iter().sum::<f32>() - neg.iter().sum::<f32>(),
            _ => {
                let best = |scores: &[f32]| scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let (pos, neg) = (best(&pos), best(&neg));
                if pos > neg { squashed(pos) } else { -squashed(neg) }
            }
        };
        scored.push((score, id, stored.metadata, stored.vector));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(scored
        .into_iter()
        .skip(plan.offset)
        .take(plan.limit)
        .take_while(|(score, ..)| plan.score_threshold.is_none_or(|t| *score >= t))
        .map(|(score, id, metadata, vector)| {
            let point = record(&id, payload(&plan.with_payload, metadata.as_ref()), plan.with_vector.then_some(vector));
            ScoredPoint { point, version: 0, score }
        })
        .collect())
}

/// Qdrant's internal similarity: cosine, dot, or the negated squared Euclidean distance.
fn similarity(metric: Metric, example: &[f32], vector: &[f32]) -> f32 {
    let dot: f64 = example.iter().zip(vector).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
    match metric {
        Metric::Dot => dot as f32,
        Metric::Cosine => {
            let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            let norms = norm(example) * norm(vector);
            if norms > 0.0 { (dot / norms) as f32 } else { 0.0 }
        }
        Metric::L2 => -example.iter().zip(vector).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(),
    }
}

/// `0.5·(x / (1 + |x|) + 1)`: Qdrant's scaled fast sigmoid.
fn squashed(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    0.5 * (x / (1.0 + x.abs()) + 1.0)
}

/// Whether a query-API `query` is a recommendation: its examples if so.
pub(super) fn query_examples(query: Option<&Value>) -> Option<Result<Examples, ApiError>> {
    let Value::Object(object) = query? else { return None };
    let examples = object.get("recommend")?;
    if object.len() != 1 {
        return Some(Err(ApiError::bad_request("a recommend query has only `recommend`")));
    }
    Some(serde_json::from_value(examples.clone()).map_err(|e| ApiError::bad_request(format!("recommend: {e}"))))
}

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

use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Answer, Reply, ScoredPoint};
use super::examples::{leave_out, scanned, vectors_of};
use super::points::HARMLESS;
use super::refuse::{not_supported, unknown_fields};
use super::search::{Plan, Shared, run_all};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, IndexHandle, Scoring};

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
    let mut handle = ops::handle(&state, &name).await?;
    let RecommendRequest { examples, limit, using, lookup_from, shared, .. } = request;
    Ok(Answer(recommend(&mut handle, examples, limit, shared, using.as_deref(), lookup_from.as_ref()).await?))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Strategy {
    AverageVector,
    BestScore,
    SumScores,
}

/// The recommended points, best first.
pub(super) async fn recommend(
    handle: &mut IndexHandle,
    examples: Examples,
    limit: usize,
    shared: Shared,
    using: Option<&str>,
    lookup_from: Option<&Value>,
) -> Result<Vec<ScoredPoint>, ApiError> {
    let using = using.unwrap_or_default();
    if lookup_from.is_some_and(|l| !l.is_null()) {
        return Err(not_supported("`lookup_from` (examples come from the collection itself)"));
    }
    let strategy = match examples.strategy.as_deref() {
        None | Some("average_vector") => Strategy::AverageVector,
        Some("best_score") => Strategy::BestScore,
        Some("sum_scores") => Strategy::SumScores,
        Some(other) => return Err(ApiError::bad_request(format!("unknown recommend strategy {other:?}"))),
    };
    let positive = vectors_of(handle, &examples.positive, using).await?;
    let negative = vectors_of(handle, &examples.negative, using).await?;
    let mentioned = [positive.mentioned, negative.mentioned].concat();
    let (positive, negative) = (positive.vectors, negative.vectors);
    match strategy {
        Strategy::AverageVector if positive.is_empty() => {
            return Err(ApiError::bad_request("the average_vector strategy needs a positive example"));
        }
        _ if positive.is_empty() && negative.is_empty() => {
            return Err(ApiError::bad_request("a recommendation needs positive or negative examples"));
        }
        _ => {}
    }
    let dim = handle.params().vector(using).map_or(0, |v| v.dim);
    let mut plan = Plan::new(average(&positive, &negative, dim), limit, shared)?;
    plan.using = using.to_owned();
    leave_out(&mut plan, mentioned);
    let scoring = match strategy {
        Strategy::AverageVector => {
            let found = run_all(handle, std::slice::from_ref(&plan)).await?;
            return Ok(found.into_iter().next().unwrap_or_default());
        }
        Strategy::BestScore => Scoring::BestScore { positive, negative },
        Strategy::SumScores => Scoring::SumScores { positive, negative },
    };
    scanned(handle, &plan, scoring).await
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

/// Whether a query-API `query` is a recommendation: its examples if so.
pub(super) fn query_examples(query: Option<&Value>) -> Option<Result<Examples, ApiError>> {
    let Value::Object(object) = query? else { return None };
    let examples = object.get("recommend")?;
    if object.len() != 1 {
        return Some(Err(ApiError::bad_request("a recommend query has only `recommend`")));
    }
    Some(serde_json::from_value(examples.clone()).map_err(|e| ApiError::bad_request(format!("recommend: {e}"))))
}

//! What recommendations and discovery share: examples given as point ids or
//! vectors, Qdrant's internal similarities and squashing functions (as
//! qdrant-client's local mode computes them), and the exact scan that
//! scores every passing point with a function of its vector.

use std::ops::Bound;

use lhv_core::{Condition, Filter, Metric, ShardedIndex};
use lhv_store::DurableIndex;
use serde_json::Value;

use super::answers::ScoredPoint;
use super::ids;
use super::refuse::not_supported;
use super::search::Plan;
use super::shown::{payload, record};
use crate::error::ApiError;
use crate::ops::no_point;

/// The vectors of examples (point ids: their stored vectors; or vectors of
/// `dim` components), and the ids among them.
pub(super) struct Examples {
    pub(super) vectors: Vec<Vec<f32>>,
    pub(super) mentioned: Vec<String>,
}

/// Reads `examples` against `index`.
pub(super) fn vectors_of(index: &ShardedIndex, examples: &[Value]) -> Result<Examples, ApiError> {
    let mut read = Examples { vectors: Vec::new(), mentioned: Vec::new() };
    for example in examples {
        read.vectors.push(vector_of(index, example, &mut read.mentioned)?);
    }
    Ok(read)
}

/// One example's vector; an id is added to `mentioned`.
pub(super) fn vector_of(
    index: &ShardedIndex,
    example: &Value,
    mentioned: &mut Vec<String>,
) -> Result<Vec<f32>, ApiError> {
    let dim = index.params().dim;
    let vector: Vec<f32> = match example {
        Value::Array(_) => serde_json::from_value(example.clone())
            .map_err(|e| ApiError::bad_request(format!("an example vector is a list of numbers: {e}")))?,
        Value::Object(_) => return Err(not_supported("named, sparse or multi-vector examples")),
        id => {
            let id = ids::parse(id)?;
            let vector = index.get(&id).ok_or_else(|| no_point(&id))?.vector;
            if vector.is_empty() {
                return Err(ApiError::bad_request(format!("Vector with name  for point {id} not found")));
            }
            mentioned.push(id);
            vector
        }
    };
    if vector.len() != dim {
        return Err(ApiError::bad_request(format!("an example has {} components, not {dim}", vector.len())));
    }
    Ok(vector)
}

/// The plan with the points `mentioned` left out (examples are not answers).
pub(super) fn leave_out(plan: &mut Plan, mentioned: Vec<String>) {
    if mentioned.is_empty() {
        return;
    }
    let others = Condition::HasId { has_id: mentioned };
    let outer = plan.filter.take().map(Condition::Filter).into_iter().collect();
    plan.filter = Some(Filter { must: outer, must_not: vec![others], ..Filter::default() });
}

/// Every point that passes the plan's filter, scored by `score` of its
/// vector, best first, paged and cut as the plan says (a scan: exact, its
/// cost grows with the collection).
pub(super) fn scan(
    durable: &DurableIndex,
    plan: &Plan,
    score: impl Fn(&[f32]) -> f32,
) -> Result<Vec<ScoredPoint>, ApiError> {
    let index = durable.index();
    let mut scored: Vec<(f32, String, Option<Value>, Vec<f32>)> = Vec::new();
    for id in index.ids_where(Bound::Unbounded, usize::MAX, plan.filter.as_ref())? {
        // Points without a vector are no candidates.
        let Some(stored) = index.get(&id).filter(|stored| !stored.vector.is_empty()) else { continue };
        scored.push((score(&stored.vector), id, stored.metadata, stored.vector));
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
pub(super) fn similarity(metric: Metric, example: &[f32], vector: &[f32]) -> f32 {
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

/// `x / (1 + |x|)`: Qdrant's fast sigmoid, in (-1, 1).
pub(super) fn fast_sigmoid(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    x / (1.0 + x.abs())
}

/// `0.5·(fast_sigmoid(x) + 1)`: Qdrant's scaled fast sigmoid, in (0, 1).
pub(super) fn squashed(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    0.5 * (fast_sigmoid(x) + 1.0)
}

//! What recommendations and discovery share: examples given as point ids or
//! vectors (the ids' stored vectors read in one request, wherever the index
//! is), and the exact scan ([`crate::ops::Scan`]) that scores every passing
//! point with a function of its vector, paged as Qdrant pages.

use lhv_core::{Condition, Filter};
use serde_json::Value;

use super::answers::ScoredPoint;
use super::ids;
use super::refuse::not_supported;
use super::search::Plan;
use super::shown::{payload, record};
use crate::error::ApiError;
use crate::ops::{IndexHandle, Scan, Scoring, no_point};

/// The vectors of examples (point ids: their stored vectors; or vectors of
/// the index's dimension), in the order given, and the ids among them.
pub(super) struct Examples {
    pub(super) vectors: Vec<Vec<f32>>,
    pub(super) mentioned: Vec<String>,
}

/// Reads `examples` against the index `handle` reaches.
pub(super) async fn vectors_of(
    handle: &mut IndexHandle,
    examples: &[Value],
    using: &str,
) -> Result<Examples, ApiError> {
    let params = handle.params();
    if params.sparse_vectors.contains_key(using) {
        return Err(not_supported(format!("examples of the sparse vector {using:?} (dense vectors' are)")));
    }
    let dim = params.vector(using).ok_or_else(|| super::point_vectors::unknown_vector(using))?.dim;
    let mut mentioned = Vec::new();
    for example in examples {
        match example {
            Value::Array(_) => {}
            Value::Object(_) => return Err(not_supported("named, sparse or multi-vector examples")),
            id => mentioned.push(ids::parse(id)?),
        }
    }
    let mut stored = handle.get_many(&mentioned).await?.into_iter().zip(&mentioned);
    let mut vectors = Vec::with_capacity(examples.len());
    for example in examples {
        let vector: Vec<f32> = match example {
            Value::Array(_) => serde_json::from_value(example.clone())
                .map_err(|e| ApiError::bad_request(format!("an example vector is a list of numbers: {e}")))?,
            _ => {
                let Some((record, id)) = stored.next() else {
                    return Err(ApiError::bad_request("an example is missing"));
                };
                let record = record.ok_or_else(|| no_point(id))?;
                let vector = crate::ops::dense_of(&record, using).to_vec();
                if vector.is_empty() {
                    return Err(ApiError::bad_request(format!("Vector with name {using} for point {id} not found")));
                }
                vector
            }
        };
        if vector.len() != dim {
            return Err(ApiError::bad_request(format!("an example has {} components, not {dim}", vector.len())));
        }
        vectors.push(vector);
    }
    Ok(Examples { vectors, mentioned })
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

/// Every point that passes the plan's filter, scored by `scoring`, best
/// first (ties by id), paged and cut as the plan says (a scan: exact, its
/// cost grows with the collection; in a cluster each shard scans its points).
pub(super) async fn scanned(
    handle: &mut IndexHandle,
    plan: &Plan,
    scoring: Scoring,
) -> Result<Vec<ScoredPoint>, ApiError> {
    let top =
        plan.offset.checked_add(plan.limit).ok_or_else(|| ApiError::bad_request("`limit` + `offset` is too large"))?;
    let found = handle.scan(Scan { scoring, filter: plan.filter.clone(), top, using: plan.using.clone() }).await?;
    let params = handle.params();
    let shown = plan.shown_vectors(&params)?;
    Ok(found
        .into_iter()
        .skip(plan.offset)
        .take_while(|(score, ..)| plan.score_threshold.is_none_or(|t| *score >= t))
        .map(|(score, id, stored)| {
            let point =
                record(&id, payload(&plan.with_payload, stored.metadata.as_ref()), shown.show(&params, &stored));
            ScoredPoint { point, version: 0, score }
        })
        .collect())
}

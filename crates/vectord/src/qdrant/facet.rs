//! `POST /collections/{name}/facet`: how many points hold each value of a
//! key, among those that pass a filter. As in Qdrant, the key needs a payload
//! index (of strings, integers, booleans or UUIDs); counts are always exact.

use std::collections::HashMap;

use lhv_core::{FieldKey, FieldSchema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::answers::{Answer, Reply};
use super::points::HARMLESS;
use super::refuse::unknown_fields;
use super::{filter, ids};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops;

/// The request.
#[derive(Debug, Deserialize)]
pub(crate) struct Facet {
    key: String,
    filter: Option<Value>,
    limit: Option<usize>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The answer: values by count, most first (then by type: booleans,
/// integers, strings; then by value).
#[derive(Debug, Serialize)]
pub(crate) struct FacetResponse {
    hits: Vec<FacetHit>,
}

#[derive(Debug, Serialize)]
struct FacetHit {
    value: Value,
    count: usize,
}

const DEFAULT_LIMIT: usize = 10;

/// Counts the points holding each value at `key`.
pub(crate) async fn facet(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<Facet>,
) -> Reply<FacetResponse> {
    // Counts are always exact, so `exact` changes nothing.
    let harmless: Vec<&str> = HARMLESS.iter().copied().chain(["exact"]).collect();
    unknown_fields(&request.rest, &harmless)?;
    let key = FieldKey::parse(&request.key).map_err(ApiError::bad_request)?;
    let filter = filter::translate(request.filter.as_ref())?;
    let mut handle = ops::handle(&state, &name).await?;
    let indexed = handle.describe(false).await?.field_indexes.into_iter().any(|(field, _)| {
        field.key == request.key && !matches!(field.schema, FieldSchema::Text | FieldSchema::Datetime)
    });
    if !indexed {
        let message = format!(
            "Bad request: Index required but not found for \"{}\" of one of the following types: [keyword, integer, bool, uuid]",
            request.key
        );
        return Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "index_required", message));
    }
    // Per distinct value, how many points hold it (in a cluster, each
    // shard counts its points). Values shown alike (a UUID in two spellings)
    // add up, so a point holding both is counted twice: no client writes those.
    let mut counts: HashMap<(u8, String), (Value, usize)> = HashMap::new();
    for (value, count) in handle.value_counts(&key, filter.as_ref()).await? {
        let Some((tag, shown)) = facet_value(&value) else { continue };
        counts.entry((tag, sortable(&shown))).or_insert((shown, 0)).1 += count;
    }
    let mut hits: Vec<((u8, String), (Value, usize))> = counts.into_iter().collect();
    hits.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
    let hits = hits
        .into_iter()
        .take(request.limit.unwrap_or(DEFAULT_LIMIT))
        .map(|(_, (value, count))| FacetHit { value, count })
        .collect();
    Ok(Answer(FacetResponse { hits }))
}

/// A value that can be faceted, with its type's rank (booleans, integers,
/// strings); a UUID string in its hyphenated form.
fn facet_value(value: &Value) -> Option<(u8, Value)> {
    match value {
        Value::Bool(_) => Some((0, value.clone())),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some((1, value.clone())),
        Value::String(_) => Some((2, ids::parse(value).map_or_else(|_| value.clone(), Value::from))),
        _ => None,
    }
}

/// A key that sorts values of one type as Python does: booleans false first,
/// integers numerically, strings by code point.
fn sortable(value: &Value) -> String {
    match value {
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            // Offset so that the decimal digits of every i64 and u64 sort numerically.
            (Some(i), _) => format!("{:021}", i128::from(i) + i128::from(i64::MAX) + 1),
            (None, Some(u)) => format!("{:021}", i128::from(u) + i128::from(i64::MAX) + 1),
            _ => String::new(),
        },
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

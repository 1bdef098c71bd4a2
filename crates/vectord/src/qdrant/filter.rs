//! Qdrant's filter language, translated into lhv-core's [`Filter`].
//!
//! Supported: `must` / `should` / `must_not` (a list or a single condition),
//! nested filters, `{"key", "match": {"value" | "any" | "except"}}`,
//! `{"key", "range": {"gt", "gte", "lt", "lte"}}` with numbers, and
//! `{"has_id": [...]}`. Everything else (full-text and phrase matches, geo,
//! `values_count`, `is_empty`, `is_null`, `nested`, `has_vector`,
//! `min_should`, datetime ranges, `a[]` keys) is refused by name: a filter
//! that is only partly understood would give wrong results.

use lhv_core::Filter;
use serde_json::{Map, Value, json};

use super::ids;
use super::refuse::not_supported;
use crate::error::ApiError;

/// lhv-core's equivalent of a Qdrant filter (`None` for a JSON null).
pub(crate) fn translate(filter: Option<&Value>) -> Result<Option<Filter>, ApiError> {
    let Some(filter) = filter.filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    let translated = filter_object(filter)?;
    let filter: Filter = serde_json::from_value(translated)
        .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_filter", e.to_string()))?;
    filter.validate()?;
    Ok(Some(filter))
}

fn filter_object(filter: &Value) -> Result<Value, ApiError> {
    let object = filter.as_object().ok_or_else(|| invalid("a filter is a JSON object"))?;
    let mut out = Map::new();
    for (clause, conditions) in object {
        match clause.as_str() {
            "must" | "should" | "must_not" => {
                let list = match conditions {
                    Value::Null => Vec::new(),
                    Value::Array(list) => list.iter().map(condition).collect::<Result<_, _>>()?,
                    single => vec![condition(single)?],
                };
                out.insert(clause.clone(), Value::Array(list));
            }
            "min_should" if conditions.is_null() => {}
            other => return Err(not_supported(format!("the filter clause `{other}`"))),
        }
    }
    Ok(Value::Object(out))
}

fn condition(condition: &Value) -> Result<Value, ApiError> {
    let object = condition.as_object().ok_or_else(|| invalid("a condition is a JSON object"))?;
    if let Some(ids) = object.get("has_id") {
        let ids = ids.as_array().ok_or_else(|| invalid("`has_id` is a list of point ids"))?;
        return Ok(json!({ "has_id": ids::parse_all(ids)? }));
    }
    if ["must", "should", "must_not", "min_should"].iter().any(|k| object.contains_key(*k)) {
        return filter_object(condition);
    }
    if let Some(key) = object.get("key") {
        return field_condition(key, object);
    }
    match object.keys().next() {
        Some(kind) => Err(not_supported(format!("the `{kind}` condition"))),
        None => Err(invalid("an empty condition")),
    }
}

fn field_condition(key: &Value, object: &Map<String, Value>) -> Result<Value, ApiError> {
    let key = key.as_str().ok_or_else(|| invalid("`key` is a string"))?;
    if key.contains('[') {
        return Err(not_supported(format!("array paths in keys (`{key}`)")));
    }
    let present: Vec<(&String, &Value)> = object.iter().filter(|(k, v)| *k != "key" && !v.is_null()).collect();
    let [(kind, value)] = present.as_slice() else {
        return Err(invalid(format!("the condition on `{key}` needs exactly one of `match` and `range`")));
    };
    match kind.as_str() {
        "match" => {
            let matches = value.as_object().ok_or_else(|| invalid("`match` is an object"))?;
            for kind in matches.keys() {
                if !["value", "any", "except"].contains(&kind.as_str()) {
                    return Err(not_supported(format!("`match: {{\"{kind}\": ...}}`")));
                }
            }
            Ok(json!({ "key": key, "match": value }))
        }
        "range" => {
            let bounds = value.as_object().ok_or_else(|| invalid("`range` is an object"))?;
            if bounds.values().any(Value::is_string) {
                return Err(not_supported("datetime ranges"));
            }
            Ok(json!({ "key": key, "range": value }))
        }
        other => Err(not_supported(format!("the `{other}` condition"))),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_filter", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(filter: Value, id: &str, payload: Value) -> bool {
        translate(Some(&filter)).unwrap().unwrap().matches(id, Some(&payload))
    }

    #[test]
    fn qdrant_shapes_mean_what_they_mean_in_qdrant() {
        let payload = json!({"city": "Berlin", "n": 3, "tags": ["a", "b"], "geo": {"zone": 2}});
        assert!(passes(json!({"must": [{"key": "city", "match": {"value": "Berlin"}}]}), "1", payload.clone()));
        // A single condition instead of a list.
        assert!(passes(json!({"must": {"key": "n", "range": {"gte": 3, "lt": 4}}}), "1", payload.clone()));
        assert!(!passes(json!({"must_not": {"key": "tags", "match": {"any": ["b"]}}}), "1", payload.clone()));
        assert!(passes(
            json!({"should": [{"key": "geo.zone", "match": {"value": 2}}, {"has_id": [7]}]}),
            "1",
            payload.clone()
        ));
        let uuid = "550e8400-e29b-41d4-a716-446655440000";
        assert!(passes(json!({"must": [{"has_id": ["550E8400-E29B-41D4-A716-446655440000"]}]}), uuid, json!({})));
        assert!(passes(json!({"must": [{"must_not": [{"has_id": [2]}]}]}), "1", payload));
    }

    #[test]
    fn what_vectord_cannot_do_is_refused_by_name() {
        for (filter, named) in [
            (json!({"must": [{"key": "t", "match": {"text": "x"}}]}), "text"),
            (
                json!({"must": [{"key": "p", "geo_radius": {"center": {"lon": 0, "lat": 0}, "radius": 1}}]}),
                "geo_radius",
            ),
            (json!({"must": [{"is_empty": {"key": "p"}}]}), "is_empty"),
            (json!({"must": [{"nested": {"key": "p", "filter": {}}}]}), "nested"),
            (json!({"must": [{"key": "d", "range": {"gt": "2024-01-01T00:00:00Z"}}]}), "datetime"),
            (json!({"min_should": {"conditions": [], "min_count": 1}}), "min_should"),
            (json!({"must": [{"key": "a[].b", "match": {"value": 1}}]}), "a[].b"),
        ] {
            let error = translate(Some(&filter)).unwrap_err();
            assert_eq!(error.code, "not_supported", "{filter}");
            assert!(error.message.contains(named), "{}", error.message);
        }
        assert_eq!(
            translate(Some(&json!({"must": [{"has_id": ["not-a-uuid"]}]}))).unwrap_err().code,
            "invalid_point_id"
        );
        assert_eq!(translate(Some(&json!({"must": [{"key": "x"}]}))).unwrap_err().code, "invalid_filter");
    }
}

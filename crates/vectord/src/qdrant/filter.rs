//! Qdrant's filter language: lhv-core's [`Filter`] is Qdrant's language with
//! Qdrant's meaning, so a Qdrant filter is read as it is, once its point ids
//! (integers or UUIDs, in `has_id`) are turned into vectord's id strings.
//! Geo conditions and the `slice` condition are refused by name: a filter
//! that is only partly understood would give wrong results.

use lhv_core::Filter;
use serde_json::{Map, Value};

use super::ids;
use super::refuse::not_supported;
use crate::error::ApiError;

/// Conditions vectord does not evaluate.
const REFUSED: [&str; 4] = ["geo_radius", "geo_bounding_box", "geo_polygon", "slice"];

/// lhv-core's equivalent of a Qdrant filter (`None` for a JSON null).
pub(crate) fn translate(filter: Option<&Value>) -> Result<Option<Filter>, ApiError> {
    let Some(filter) = filter.filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    let mut filter = filter.clone();
    normalize(&mut filter)?;
    let filter: Filter = serde_json::from_value(filter).map_err(|e| invalid(e.to_string()))?;
    filter.validate()?;
    Ok(Some(filter))
}

/// Rewrites the point ids of every `has_id` below `value` as vectord ids and
/// refuses what vectord does not evaluate.
fn normalize(value: &mut Value) -> Result<(), ApiError> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(normalize),
        Value::Object(object) => {
            if let Some(kind) = REFUSED.iter().find(|kind| object.get(**kind).is_some_and(|v| !v.is_null())) {
                return Err(not_supported(format!("the `{kind}` condition")));
            }
            if let Some(point_ids) = object.get_mut("has_id") {
                let list = point_ids.as_array().ok_or_else(|| invalid("`has_id` is a list of point ids"))?;
                *point_ids = Value::from(ids::parse_all(list)?);
            }
            object_values(object).try_for_each(normalize)
        }
        _ => Ok(()),
    }
}

/// The values of an object that can hold conditions (not match values, which may be any JSON).
fn object_values(object: &mut Map<String, Value>) -> impl Iterator<Item = &mut Value> {
    object
        .iter_mut()
        .filter(|(key, _)| !matches!(key.as_str(), "match" | "range" | "values_count" | "key"))
        .map(|(_, v)| v)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_filter", message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
    fn the_whole_language_is_read() {
        let payload = json!({"t": "Hello world", "items": [{"k": 1}], "e": []});
        for filter in [
            json!({"must": [{"key": "t", "match": {"text": "WORLD"}}]}),
            json!({"must": [{"is_empty": {"key": "e"}}, {"key": "items[].k", "match": {"value": 1}}]}),
            json!({"must": [{"nested": {"key": "items", "filter": {"must": [{"key": "k", "range": {"gte": 1}}]}}}]}),
            json!({"min_should": {"conditions": [{"has_id": [1]}, {"has_vector": ""}], "min_count": 2}}),
        ] {
            assert!(passes(filter.clone(), "1", payload.clone()), "{filter}");
        }
    }

    #[test]
    fn what_vectord_cannot_do_is_refused_by_name() {
        for (filter, named) in [
            (
                json!({"must": [{"key": "p", "geo_radius": {"center": {"lon": 0, "lat": 0}, "radius": 1}}]}),
                "geo_radius",
            ),
            (json!({"should": [{"must": [{"slice": {"total": 2, "index": 0}}]}]}), "slice"),
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
        // A point id inside a nested filter is read too.
        let nested = json!({"must": [{"min_should": {"conditions": [{"has_id": [3]}], "min_count": 1}}]});
        assert!(passes(nested, "3", json!({})));
    }
}

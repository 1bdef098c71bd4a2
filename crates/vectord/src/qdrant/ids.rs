//! Qdrant point ids (unsigned integers or UUIDs) and vectord's string ids.
//!
//! A point id is kept as its canonical string: `42` as `"42"`, a UUID in any
//! of the forms Qdrant accepts as its lowercase hyphenated form. Going back,
//! an id that is such a canonical form is shown as Qdrant shows it; any other
//! id (written through vectord's own API) is shown as the string it is.

use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// The vectord id of a Qdrant point id, or a 400 that says what is wrong.
pub(crate) fn parse(id: &Value) -> Result<String, ApiError> {
    match id {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()).ok_or_else(|| invalid(id)),
        Value::String(s) => Uuid::parse_str(s).map(|u| u.hyphenated().to_string()).map_err(|_| invalid(id)),
        _ => Err(invalid(id)),
    }
}

/// Several point ids, in order.
pub(crate) fn parse_all(ids: &[Value]) -> Result<Vec<String>, ApiError> {
    ids.iter().map(parse).collect()
}

/// A vectord id as Qdrant shows a point id.
pub(crate) fn show(id: &str) -> Value {
    if let Ok(n) = id.parse::<u64>()
        && n.to_string() == id
    {
        return Value::from(n);
    }
    Value::from(id)
}

fn invalid(id: &Value) -> ApiError {
    let message = format!("Unable to parse point id {id}: a point id is an unsigned integer or a UUID");
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_point_id", message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integers_and_uuids_round_trip_through_their_canonical_strings() {
        assert_eq!(parse(&json!(42)).unwrap(), "42");
        assert_eq!(show("42"), json!(42));
        let upper = "550E8400-E29B-41D4-A716-446655440000";
        let canonical = "550e8400-e29b-41d4-a716-446655440000";
        assert_eq!(parse(&json!(upper)).unwrap(), canonical);
        assert_eq!(parse(&json!("550e8400e29b41d4a716446655440000")).unwrap(), canonical);
        assert_eq!(show(canonical), json!(canonical));
        // Ids from vectord's own API stay strings.
        assert_eq!(show("042"), json!("042"));
        assert_eq!(show("doc/1"), json!("doc/1"));
    }

    #[test]
    fn other_ids_are_refused() {
        for bad in [json!(-1), json!(1.5), json!("doc-1"), json!(null), json!([1]), json!(u64::MAX as f64 * 2.0)] {
            assert_eq!(parse(&bad).unwrap_err().status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}

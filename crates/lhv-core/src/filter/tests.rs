use serde_json::{Value, json};

use super::*;

fn filter(value: Value) -> Filter {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_error(value: Value) -> String {
    match serde_json::from_value::<Filter>(value) {
        Ok(filter) => match filter.validate() {
            Ok(()) => panic!("accepted: {filter:?}"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn conditions_follow_paths_and_arrays() {
    let metadata = json!({"a": {"b": [1, 2, {"c": "x"}]}, "tags": ["red", "blue"], "n": 1.0, "flag": true});
    let passes = |f: Value| filter(f).matches("id-1", Some(&metadata));
    assert!(passes(json!({"must": [{"key": "tags", "match": {"value": "blue"}}]})));
    assert!(passes(json!({"must": [{"key": "a.b", "match": {"value": 2}}]})));
    assert!(passes(json!({"must": [{"key": "a.b.c", "match": {"value": "x"}}]})));
    assert!(passes(json!({"must": [{"key": "n", "match": {"value": 1}}]})));
    assert!(passes(json!({"must": [{"key": "flag", "match": {"value": true}}]})));
    assert!(passes(json!({"must": [{"key": "n", "range": {"gt": 0.5, "lte": 1}}]})));
    assert!(passes(json!({"must": [{"key": "tags", "match": {"any": ["green", "red"]}}]})));
    assert!(passes(json!({"must": [{"key": "tags", "match": {"except": ["red"]}}]})));
    assert!(passes(json!({"must": [{"has_id": ["id-0", "id-1"]}]})));
    assert!(passes(json!({"must_not": [{"key": "missing", "match": {"value": 1}}]})));
    assert!(passes(json!({})));
    assert!(!passes(json!({"must": [{"key": "tags", "match": {"value": "green"}}]})));
    assert!(!passes(json!({"must": [{"key": "n", "match": {"value": "1"}}]})));
    assert!(!passes(json!({"must": [{"key": "n", "range": {"gt": 1}}]})));
    assert!(!passes(json!({"must": [{"key": "missing", "range": {"gt": 1}}]})));
    assert!(!passes(json!({"should": [{"has_id": ["id-2"]}, {"key": "flag", "match": {"value": false}}]})));
    assert!(!passes(json!({"must": [{"must_not": [{"key": "flag", "match": {"value": true}}]}]})));
    assert!(!filter(json!({"must": [{"key": "n", "match": {"value": 1}}]})).matches("id-1", None));
}

#[test]
fn big_integers_compare_exactly() {
    let metadata = json!({"n": 9_007_199_254_740_993_u64});
    assert!(
        filter(json!({"must": [{"key": "n", "match": {"value": 9_007_199_254_740_993_u64}}]}))
            .matches("x", Some(&metadata))
    );
    assert!(
        !filter(json!({"must": [{"key": "n", "match": {"value": 9_007_199_254_740_992_u64}}]}))
            .matches("x", Some(&metadata))
    );
}

#[test]
fn malformed_filters_get_errors_that_say_what_is_wrong() {
    let cases = [
        (json!({"must": [{"key": "a", "match": {"value": 1}, "range": {"gt": 1}}]}), "one of \"match\" or \"range\""),
        (json!({"must": [{"key": "a", "match": {"eq": 1}}]}), "unknown variant"),
        (json!({"must": [{"key": "a"}]}), "one of \"match\" or \"range\""),
        (json!({"must": [{"has_id": "x"}]}), "has_id"),
        (json!({"must": [{"color": "red"}]}), "a condition is"),
        (json!({"must": [{"key": "a", "range": {}}]}), "at least one of"),
        (json!({"must": [{"key": "", "match": {"value": 1}}]}), "non-empty names"),
        (json!({"must": [{"key": "a..b", "match": {"value": 1}}]}), "non-empty names"),
        (json!({"must": [{"key": "a", "match": {"value": {"x": 1}}}]}), "strings, numbers or booleans"),
        (json!({"must": [{"key": "a", "match": {"any": [[1]]}}]}), "strings, numbers or booleans"),
        (json!({"musts": []}), "unknown field"),
        (json!({"must": [{"key": "a", "match": {"any": vec![1; MAX_FILTER_TERMS]}}]}), "more than"),
    ];
    for (value, expected) in cases {
        let error = parse_error(value.clone());
        assert!(error.contains(expected), "{value}: {error}");
    }
    let mut deep = json!({"must": [{"key": "a", "match": {"value": 1}}]});
    for _ in 0..MAX_FILTER_DEPTH {
        deep = json!({"must": [deep]});
    }
    assert!(parse_error(deep).contains("nest deeper"));
}

#[test]
fn filters_round_trip_through_json() {
    let value = json!({
        "must": [{"key": "a", "match": {"value": "x"}}, {"key": "n", "range": {"gte": 1.0}}],
        "should": [{"has_id": ["p"]}, {"must_not": [{"key": "b", "match": {"any": [true]}}]}],
        "must_not": [{"key": "c", "match": {"except": [1]}}]
    });
    let parsed = filter(value.clone());
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
}

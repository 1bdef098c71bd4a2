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
fn conditions_follow_qdrant_paths() {
    let metadata = json!({"a": {"b": [1, 2, {"c": "x"}]}, "tags": ["red", "blue"], "n": 1.0, "i": 1, "flag": true,
                          "items": [{"name": "x", "k": 1}, {"name": "y", "k": 2}]});
    let passes = |f: Value| filter(f).matches("id-1", Some(&metadata));
    assert!(passes(json!({"must": [{"key": "tags", "match": {"value": "blue"}}]})));
    assert!(passes(json!({"must": [{"key": "a.b", "match": {"value": 2}}]})));
    // Dots go into objects only; arrays on the way need brackets.
    assert!(!passes(json!({"must": [{"key": "a.b.c", "match": {"value": "x"}}]})));
    assert!(passes(json!({"must": [{"key": "a.b[].c", "match": {"value": "x"}}]})));
    assert!(!passes(json!({"must": [{"key": "items.name", "match": {"value": "x"}}]})));
    assert!(passes(json!({"must": [{"key": "items[].name", "match": {"value": "x"}}]})));
    assert!(passes(json!({"must": [{"key": "items[1].name", "match": {"value": "y"}}]})));
    // Integers and floats are different types.
    assert!(!passes(json!({"must": [{"key": "n", "match": {"value": 1}}]})));
    assert!(passes(json!({"must": [{"key": "i", "match": {"value": 1}}]})));
    assert!(passes(json!({"must": [{"key": "flag", "match": {"value": true}}]})));
    assert!(!passes(json!({"must": [{"key": "i", "match": {"value": true}}]})));
    assert!(passes(json!({"must": [{"key": "n", "range": {"gt": 0.5, "lte": 1}}]})));
    assert!(!passes(json!({"must": [{"key": "flag", "range": {"gte": 0}}]})));
    assert!(passes(json!({"must": [{"key": "tags", "match": {"any": ["green", "red"]}}]})));
    assert!(passes(json!({"must": [{"key": "tags", "match": {"except": ["red"]}}]})));
    // `except` holds for any value that is not null, objects included.
    assert!(passes(json!({"must": [{"key": "a", "match": {"except": ["x"]}}]})));
    assert!(passes(json!({"must": [{"has_id": ["id-0", "id-1"]}]})));
    assert!(passes(json!({"must": [{"has_vector": ""}]})));
    assert!(!passes(json!({"must": [{"has_vector": "image"}]})));
    assert!(passes(json!({"must_not": [{"key": "missing", "match": {"value": 1}}]})));
    assert!(passes(json!({})));
    assert!(passes(json!({"should": []})));
    assert!(!passes(json!({"must": [{"key": "tags", "match": {"value": "green"}}]})));
    assert!(!passes(json!({"must": [{"key": "i", "match": {"value": "1"}}]})));
    assert!(!passes(json!({"must": [{"key": "missing", "range": {"gt": 1}}]})));
    assert!(!passes(json!({"should": [{"has_id": ["id-2"]}, {"key": "flag", "match": {"value": false}}]})));
    assert!(!passes(json!({"must": [{"must_not": [{"key": "flag", "match": {"value": true}}]}]})));
    assert!(!filter(json!({"must": [{"key": "i", "match": {"value": 1}}]})).matches("id-1", None));
    // A single condition instead of a list.
    assert!(passes(json!({"must": {"key": "i", "match": {"value": 1}}})));
}

#[test]
fn emptiness_nulls_counts_and_nesting() {
    let metadata = json!({"e": [], "z": null, "zs": [1, null], "s": "x", "l": [1, 2, 3],
                          "people": [{"name": "a", "age": 30}, {"name": "b", "age": 20}]});
    let passes = |f: Value| filter(f).matches("p", Some(&metadata));
    for key in ["e", "z", "missing"] {
        assert!(passes(json!({"must": [{"is_empty": {"key": key}}]})), "{key}");
        assert!(passes(json!({"must": [{"key": key, "is_empty": true}]})), "{key}");
    }
    assert!(!passes(json!({"must": [{"is_empty": {"key": "s"}}]})));
    assert!(passes(json!({"must": [{"is_null": {"key": "z"}}]})));
    assert!(passes(json!({"must": [{"is_null": {"key": "zs"}}]})));
    assert!(!passes(json!({"must": [{"is_null": {"key": "missing"}}]})));
    assert!(passes(json!({"must": [{"key": "l", "values_count": {"gte": 3, "lt": 4}}]})));
    assert!(passes(json!({"must": [{"key": "s", "values_count": {"lte": 1}}]})));
    assert!(passes(json!({"must": [{"key": "missing", "values_count": {"lt": 1}}]})));
    assert!(!passes(json!({"must": [{"key": "l", "values_count": {"gt": 3}}]})));
    // The whole nested filter must hold for one element.
    let nested = |age: i64| {
        json!({"must": [{"nested": {"key": "people", "filter": {"must": [
        {"key": "name", "match": {"value": "a"}}, {"key": "age", "range": {"lt": age}}]}}}]})
    };
    assert!(!passes(nested(25)));
    assert!(passes(nested(31)));
    assert!(passes(
        json!({"must": [{"nested": {"key": "people[]", "filter": {"must": {"key": "age", "match": {"value": 20}}}}}]})
    ));
    let min = |count: usize| {
        json!({"min_should": {"conditions": [
        {"key": "s", "match": {"value": "x"}}, {"key": "l", "match": {"value": 9}}, {"has_id": ["p"]}], "min_count": count}})
    };
    assert!(passes(min(2)));
    assert!(!passes(min(3)));
}

#[test]
fn text_and_datetimes() {
    let metadata =
        json!({"t": "The Quick brown fox, jumps!", "d": "2024-03-01T10:00:00Z", "ds": ["2020-01-01", "bad"]});
    let passes = |f: Value| filter(f).matches("p", Some(&metadata));
    assert!(passes(json!({"must": [{"key": "t", "match": {"text": "fox quick"}}]})));
    assert!(!passes(json!({"must": [{"key": "t", "match": {"text": "fox slow"}}]})));
    assert!(passes(json!({"must": [{"key": "t", "match": {"text_any": "fox slow"}}]})));
    assert!(passes(json!({"must": [{"key": "t", "match": {"phrase": "brown FOX"}}]})));
    assert!(!passes(json!({"must": [{"key": "t", "match": {"phrase": "fox brown"}}]})));
    assert!(passes(json!({"must": [{"key": "t", "match": {"prefix": "The Q"}}]})));
    assert!(passes(json!({"must": [{"key": "t", "match": {"substring": "k br"}}]})));
    assert!(passes(json!({"must": [{"key": "d", "range": {"gte": "2024-03-01T11:00:00+02:00", "lt": "2024-03-02"}}]})));
    assert!(!passes(json!({"must": [{"key": "d", "range": {"gt": "2024-03-01T10:00:00"}}]})));
    assert!(passes(json!({"must": [{"key": "ds", "range": {"lt": "2021-01-01"}}]})));
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
        (json!({"must": [{"key": "a", "match": {"value": 1}, "range": {"gt": 1}}]}), "one of"),
        (json!({"must": [{"key": "a", "match": {"eq": 1}}]}), "unknown variant"),
        (json!({"must": [{"key": "a"}]}), "one of"),
        (json!({"must": [{"has_id": "x"}]}), "has_id"),
        (json!({"must": [{"color": "red"}]}), "a condition is"),
        (json!({"must": [{"key": "a", "range": {}}]}), "at least one of"),
        (json!({"must": [{"key": "a", "range": {"gt": 1, "lt": "2024-01-01"}}]}), "all numbers or all datetimes"),
        (json!({"must": [{"key": "a", "range": {"gt": "yesterday"}}]}), "not a datetime"),
        (json!({"must": [{"key": "", "match": {"value": 1}}]}), "a key is"),
        (json!({"must": [{"key": "a..b", "match": {"value": 1}}]}), "a key is"),
        (json!({"must": [{"key": "a[x]", "match": {"value": 1}}]}), "a key is"),
        (json!({"must": [{"key": "a", "match": {"value": {"x": 1}}}]}), "strings, numbers or booleans"),
        (json!({"must": [{"key": "a", "match": {"any": [[1]]}}]}), "strings, numbers or booleans"),
        (json!({"must": [{"key": "a", "geo_radius": {"center": {"lat": 0, "lon": 0}, "radius": 1}}]}), "geo"),
        (json!({"min_should": {"conditions": [], "min_count": 0}}), "at least 1"),
        (json!({"must": [{"nested": {"key": "a"}}]}), "nested"),
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
        "must": [{"key": "a", "match": {"value": "x"}}, {"key": "n", "range": {"gte": 1.0}},
                 {"key": "d", "range": {"lt": "2024-01-01"}}, {"is_empty": {"key": "e[]"}}],
        "should": [{"has_id": ["p"]}, {"must_not": [{"key": "b", "match": {"any": [true]}}]}, {"has_vector": ""}],
        "must_not": [{"key": "c", "match": {"except": [1]}}, {"nested": {"key": "p", "filter": {"must": [
            {"key": "q", "match": {"text": "w"}}]}}}, {"key": "l", "values_count": {"gt": 2.0}}],
        "min_should": {"conditions": [{"key": "x", "is_null": true}], "min_count": 1}
    });
    let parsed = filter(value.clone());
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
}

//! Metadata filters: a small JSON language modelled on Qdrant's.
//!
//! ```json
//! {"must":     [{"key": "lang", "match": {"value": "en"}}],
//!  "should":   [{"key": "year", "range": {"gte": 2020}}, {"has_id": ["a", "b"]}],
//!  "must_not": [{"key": "tags", "match": {"any": ["draft", "spam"]}}]}
//! ```
//!
//! An item passes when every `must` condition holds, at least one `should`
//! condition holds (if there are any), and no `must_not` condition holds. A
//! condition is one of:
//!
//! - `{"key": "a.b", "match": {"value": v}}`: a value at the key equals `v`
//!   (a string, number or boolean; `1` equals `1.0`);
//! - `{"key", "match": {"any": [v, ...]}}`: a value equals one of them;
//! - `{"key", "match": {"except": [v, ...]}}`: a value equals none of them;
//! - `{"key", "range": {"gt", "gte", "lt", "lte"}}`: a number within the bounds;
//! - `{"has_id": [id, ...]}`: the item's id is one of them;
//! - a nested filter `{"must": ..., "should": ..., "must_not": ...}`.
//!
//! A key names a path through objects, one dot per level (`"a.b"` is
//! `metadata["a"]["b"]`). Arrays met on the way, or at the end, are looked
//! through: `{"tags": ["x", "y"]}` matches `{"key": "tags", "match": {"value": "y"}}`.
//! A field that is missing, or holds a value of another type, satisfies no
//! condition (so it satisfies every `must_not`).

pub(crate) mod field_index;
mod schema;

pub use field_index::FieldIndexInfo;
pub use schema::{FieldSchema, IndexedField, MAX_FIELD_KEY_BYTES};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Deepest nesting of filters accepted (the outer filter is depth 1).
pub const MAX_FILTER_DEPTH: usize = 8;
/// Most conditions and listed values (in `any`, `except`, `has_id`) one filter may hold.
pub const MAX_FILTER_TERMS: usize = 10_000;

/// A boolean combination of conditions on items' metadata and ids.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Filter {
    /// All of these must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must: Vec<Condition>,
    /// At least one of these must hold, unless the list is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub should: Vec<Condition>,
    /// None of these may hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must_not: Vec<Condition>,
}

/// One condition of a [`Filter`]. Read from JSON by the keys it has, so that
/// a malformed condition gets an error that says which shape was meant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Condition {
    /// A value at `key` matches.
    Match {
        /// Dot-separated path into the metadata.
        key: String,
        /// What the value must match.
        #[serde(rename = "match")]
        matches: Match,
    },
    /// A number at `key` lies within the bounds.
    Range {
        /// Dot-separated path into the metadata.
        key: String,
        /// The bounds.
        range: Range,
    },
    /// The item's id is one of these.
    HasId {
        /// The ids.
        has_id: Vec<String>,
    },
    /// A nested filter.
    Nested(Filter),
}

/// What a value must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Match {
    /// Equal to this string, number or boolean.
    Value(Value),
    /// Equal to one of these.
    Any(Vec<Value>),
    /// Equal to none of these.
    Except(Vec<Value>),
}

/// Bounds on a number; absent bounds do not constrain.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Greater than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Greater than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Less than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Less than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
}

/// The fields of a [`Filter`] as JSON has them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterFields {
    #[serde(default)]
    must: Vec<Condition>,
    #[serde(default)]
    should: Vec<Condition>,
    #[serde(default)]
    must_not: Vec<Condition>,
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let fields: FilterFields =
            crate::object_only::deserialize_object(deserializer, "a filter object with must, should, must_not")?;
        Ok(Filter { must: fields.must, should: fields.should, must_not: fields.must_not })
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let object = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        Condition::from_object(object).map_err(serde::de::Error::custom)
    }
}

impl Condition {
    fn from_object(mut object: serde_json::Map<String, Value>) -> std::result::Result<Self, String> {
        let keys: Vec<String> = object.keys().cloned().collect();
        let only = |allowed: &[&str]| keys.iter().all(|k| allowed.contains(&k.as_str()));
        let field =
            |object: &mut serde_json::Map<String, Value>, name: &str| object.remove(name).unwrap_or(Value::Null);
        if object.contains_key("has_id") {
            if !only(&["has_id"]) {
                return Err(format!("a has_id condition has no other keys, got {keys:?}"));
            }
            let has_id = serde_json::from_value(field(&mut object, "has_id")).map_err(|e| format!("has_id: {e}"))?;
            return Ok(Condition::HasId { has_id });
        }
        if object.contains_key("key") {
            let key: String = serde_json::from_value(field(&mut object, "key")).map_err(|e| format!("key: {e}"))?;
            return match (only(&["key", "match"]), only(&["key", "range"])) {
                (true, false) | (true, true) if object.contains_key("match") => {
                    let matches = serde_json::from_value(field(&mut object, "match")).map_err(|e| {
                        format!(
                            "key {key:?}: match: {e} (one of {{\"value\": v}}, {{\"any\": [..]}}, {{\"except\": [..]}})"
                        )
                    })?;
                    Ok(Condition::Match { key, matches })
                }
                (false, true) if object.contains_key("range") => {
                    let range = serde_json::from_value(field(&mut object, "range"))
                        .map_err(|e| format!("key {key:?}: range: {e}"))?;
                    Ok(Condition::Range { key, range })
                }
                _ => Err(format!(
                    "key {key:?}: a field condition has \"key\" and one of \"match\" or \"range\", got {keys:?}"
                )),
            };
        }
        if only(&["must", "should", "must_not"]) {
            return serde_json::from_value(Value::Object(object)).map(Condition::Nested).map_err(|e| e.to_string());
        }
        Err(format!(
            "a condition is {{\"key\", \"match\"}}, {{\"key\", \"range\"}}, {{\"has_id\"}} or a nested filter, got keys {keys:?}"
        ))
    }
}

impl Filter {
    /// Whether the filter has no condition at all (it lets everything pass).
    pub fn is_empty(&self) -> bool {
        self.must.is_empty() && self.should.is_empty() && self.must_not.is_empty()
    }

    /// Checks the limits and the well-formedness that types cannot express:
    /// depth, size, non-empty keys, scalar match values, finite range bounds.
    pub fn validate(&self) -> Result<()> {
        let mut terms = 0;
        self.validate_at(1, &mut terms)
    }

    fn validate_at(&self, depth: usize, terms: &mut usize) -> Result<()> {
        if depth > MAX_FILTER_DEPTH {
            return Err(invalid(format!("filters nest deeper than {MAX_FILTER_DEPTH} levels")));
        }
        for condition in self.must.iter().chain(&self.should).chain(&self.must_not) {
            *terms += 1;
            match condition {
                Condition::Match { key, matches } => {
                    check_key(key)?;
                    let values = match matches {
                        Match::Value(value) => std::slice::from_ref(value),
                        Match::Any(values) | Match::Except(values) => values.as_slice(),
                    };
                    *terms += values.len();
                    if let Some(bad) = values.iter().find(|v| !is_scalar(v)) {
                        return Err(invalid(format!(
                            "key {key:?}: match values are strings, numbers or booleans, not {bad}"
                        )));
                    }
                }
                Condition::Range { key, range } => {
                    check_key(key)?;
                    let bounds = [range.gt, range.gte, range.lt, range.lte];
                    if bounds.iter().all(Option::is_none) {
                        return Err(invalid(format!("key {key:?}: a range needs at least one of gt, gte, lt, lte")));
                    }
                    if bounds.iter().flatten().any(|b| !b.is_finite()) {
                        return Err(invalid(format!("key {key:?}: range bounds must be finite numbers")));
                    }
                }
                Condition::HasId { has_id } => *terms += has_id.len(),
                Condition::Nested(filter) => filter.validate_at(depth + 1, terms)?,
            }
            if *terms > MAX_FILTER_TERMS {
                return Err(invalid(format!("the filter holds more than {MAX_FILTER_TERMS} conditions and values")));
            }
        }
        Ok(())
    }

    /// Whether an item with this id and metadata passes the filter.
    pub fn matches(&self, id: &str, metadata: Option<&Value>) -> bool {
        self.must.iter().all(|c| c.matches(id, metadata))
            && (self.should.is_empty() || self.should.iter().any(|c| c.matches(id, metadata)))
            && !self.must_not.iter().any(|c| c.matches(id, metadata))
    }
}

impl Condition {
    /// Whether an item with this id and metadata satisfies the condition.
    pub fn matches(&self, id: &str, metadata: Option<&Value>) -> bool {
        match self {
            Condition::Match { key, matches } => metadata.is_some_and(|m| {
                any_value_at(m, key.split('.'), &|value| match matches {
                    Match::Value(expected) => scalars_equal(value, expected),
                    Match::Any(expected) => expected.iter().any(|e| scalars_equal(value, e)),
                    Match::Except(excluded) => is_scalar(value) && !excluded.iter().any(|e| scalars_equal(value, e)),
                })
            }),
            Condition::Range { key, range } => metadata.is_some_and(|m| {
                any_value_at(m, key.split('.'), &|value| value.as_f64().is_some_and(|x| range.contains(x)))
            }),
            Condition::HasId { has_id } => has_id.iter().any(|candidate| candidate == id),
            Condition::Nested(filter) => filter.matches(id, metadata),
        }
    }
}

impl Range {
    /// Whether `x` lies within every bound.
    pub fn contains(&self, x: f64) -> bool {
        self.gt.is_none_or(|b| x > b)
            && self.gte.is_none_or(|b| x >= b)
            && self.lt.is_none_or(|b| x < b)
            && self.lte.is_none_or(|b| x <= b)
    }
}

/// Calls `visit` with every value at `path` below `value`, looking through
/// arrays on the way and at the end.
pub(crate) fn for_each_value_at<'a>(
    value: &Value,
    mut path: impl Iterator<Item = &'a str> + Clone,
    visit: &mut dyn FnMut(&Value),
) {
    if let Value::Array(items) = value {
        items.iter().for_each(|item| for_each_value_at(item, path.clone(), visit));
        return;
    }
    match path.next() {
        None => visit(value),
        Some(segment) => {
            if let Some(inner) = value.as_object().and_then(|fields| fields.get(segment)) {
                for_each_value_at(inner, path, visit);
            }
        }
    }
}

/// Whether some value at `path` below `value` satisfies `accept`, looking
/// through arrays on the way and at the end.
fn any_value_at<'a>(
    value: &Value,
    mut path: impl Iterator<Item = &'a str> + Clone,
    accept: &dyn Fn(&Value) -> bool,
) -> bool {
    if let Value::Array(items) = value {
        return items.iter().any(|item| any_value_at(item, path.clone(), accept));
    }
    match path.next() {
        None => accept(value),
        Some(segment) => match value {
            Value::Object(fields) => fields.get(segment).is_some_and(|inner| any_value_at(inner, path, accept)),
            _ => false,
        },
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Equality of JSON scalars, with numbers compared by value (`1 == 1.0`) and
/// integers exactly (beyond 2^53 as well).
pub(crate) fn scalars_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(invalid(format!("key {key:?}: keys are non-empty names separated by single dots")));
    }
    Ok(())
}

fn invalid(reason: String) -> Error {
    Error::InvalidFilter { reason }
}

#[cfg(test)]
mod tests;

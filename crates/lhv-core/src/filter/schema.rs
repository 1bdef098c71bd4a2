//! Which metadata keys an index keeps a field index for, and which values
//! each holds: Qdrant's payload schema types.
//!
//! A field index never changes what a filter matches: it only lets the
//! planner list a filter's candidates instead of reading every item. So an
//! index answers a condition only when it holds every value that can satisfy
//! it (a `keyword` index answers a match on a string, not a range), and the
//! values an index holds are closed under equality (`1` and `1.0` are both
//! integers to an `integer` index).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Longest key of a field index, in bytes.
pub const MAX_FIELD_KEY_BYTES: usize = 256;

/// The values a field index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldSchema {
    /// Strings, numbers and booleans: what vectord's own API declares.
    #[default]
    Any,
    /// Strings.
    Keyword,
    /// Numbers with an integral value.
    Integer,
    /// Numbers.
    Float,
    /// Booleans.
    Bool,
    /// Strings that are UUIDs (hyphenated, or 32 hex digits).
    Uuid,
    /// The words of strings (runs of letters and digits, lowercased): for
    /// `text`, `text_any` and `phrase` matches.
    Text,
    /// Strings that are datetimes, by instant: for datetime ranges.
    Datetime,
}

impl FieldSchema {
    /// Whether an index of this type holds `value` itself (a scalar found at
    /// its key), so that it lists the items equal to it. `text` and
    /// `datetime` indexes hold words and instants instead.
    pub fn holds(self, value: &Value) -> bool {
        match (self, value) {
            (FieldSchema::Any, Value::String(_) | Value::Number(_) | Value::Bool(_)) => true,
            (FieldSchema::Keyword, Value::String(_)) | (FieldSchema::Float, Value::Number(_)) => true,
            (FieldSchema::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|x| x.fract() == 0.0)
            }
            (FieldSchema::Bool, Value::Bool(_)) => true,
            (FieldSchema::Uuid, Value::String(s)) => is_uuid(s),
            _ => false,
        }
    }

    /// Whether an index of this type holds every number, so that it can list
    /// the matches of a range.
    pub(crate) fn holds_all_numbers(self) -> bool {
        matches!(self, FieldSchema::Any | FieldSchema::Float)
    }

    /// The name Qdrant gives the type.
    pub fn name(self) -> &'static str {
        match self {
            FieldSchema::Any => "any",
            FieldSchema::Keyword => "keyword",
            FieldSchema::Integer => "integer",
            FieldSchema::Float => "float",
            FieldSchema::Bool => "bool",
            FieldSchema::Uuid => "uuid",
            FieldSchema::Text => "text",
            FieldSchema::Datetime => "datetime",
        }
    }
}

/// A metadata key (dot-separated path) with a field index, and its type.
///
/// In JSON a key of type [`FieldSchema::Any`] is the plain string, as
/// vectord's API has always written it: `"lang"`; any other type is an
/// object: `{"key": "lang", "schema": "keyword"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexedField {
    /// The path into the metadata.
    pub key: String,
    /// The values its index holds.
    pub schema: FieldSchema,
}

impl IndexedField {
    /// A field index on `key` holding the values of `schema`.
    pub fn new(key: impl Into<String>, schema: FieldSchema) -> Self {
        Self { key: key.into(), schema }
    }

    /// Checks the key: 1 to [`MAX_FIELD_KEY_BYTES`] bytes, names separated by single dots.
    pub fn validate(&self) -> Result<()> {
        let key = &self.key;
        if key.len() > MAX_FIELD_KEY_BYTES || super::FieldKey::parse(key).is_err() {
            return Err(Error::InvalidParameter {
                name: "indexed_fields",
                value: format!("{key:?}"),
                allowed: "keys of 1 to 256 bytes: names separated by single dots, each optionally followed by [] or [n]",
            });
        }
        Ok(())
    }
}

impl From<&str> for IndexedField {
    fn from(key: &str) -> Self {
        Self::new(key, FieldSchema::Any)
    }
}

impl From<String> for IndexedField {
    fn from(key: String) -> Self {
        Self::new(key, FieldSchema::Any)
    }
}

/// The JSON of an [`IndexedField`].
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum FieldJson {
    Key(String),
    Typed(TypedJson),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedJson {
    key: String,
    #[serde(default)]
    schema: FieldSchema,
}

impl Serialize for IndexedField {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self.schema {
            FieldSchema::Any => FieldJson::Key(self.key.clone()),
            schema => FieldJson::Typed(TypedJson { key: self.key.clone(), schema }),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for IndexedField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match serde_json::from_value(value) {
            Ok(FieldJson::Key(key)) => Ok(Self::new(key, FieldSchema::Any)),
            Ok(FieldJson::Typed(TypedJson { key, schema })) => Ok(Self::new(key, schema)),
            Err(_) => Err(serde::de::Error::custom(
                "an indexed field is a key, or {\"key\", \"schema\"} with schema one of any, keyword, integer, float, bool, uuid, text, datetime",
            )),
        }
    }
}

/// Whether `s` is a UUID as Qdrant parses one: 32 hex digits, optionally
/// hyphenated 8-4-4-4-12, optionally braced or prefixed with `urn:uuid:`.
fn is_uuid(s: &str) -> bool {
    let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
    let s = s.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).unwrap_or(s);
    let hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    match s.len() {
        32 => hex(s, 32),
        36 => {
            let parts: Vec<&str> = s.split('-').collect();
            parts.len() == 5 && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(&len, part)| hex(part, len))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn types_hold_values_closed_under_equality() {
        assert!(FieldSchema::Integer.holds(&json!(1)) && FieldSchema::Integer.holds(&json!(1.0)));
        assert!(!FieldSchema::Integer.holds(&json!(1.5)) && !FieldSchema::Integer.holds(&json!("1")));
        assert!(FieldSchema::Float.holds(&json!(1.5)) && !FieldSchema::Float.holds(&json!(true)));
        assert!(FieldSchema::Keyword.holds(&json!("x")) && !FieldSchema::Keyword.holds(&json!(1)));
        assert!(FieldSchema::Uuid.holds(&json!("550e8400-e29b-41d4-a716-446655440000")));
        assert!(FieldSchema::Uuid.holds(&json!("550E8400E29B41D4A716446655440000")));
        assert!(!FieldSchema::Uuid.holds(&json!("550e8400-e29b-41d4-a716-44665544000")));
        assert!(FieldSchema::Any.holds(&json!(false)) && !FieldSchema::Any.holds(&json!(null)));
        assert!(!FieldSchema::Any.holds(&json!({"a": 1})));
    }

    #[test]
    fn untyped_fields_are_plain_keys_in_json() {
        let fields = vec![IndexedField::from("lang"), IndexedField::new("n", FieldSchema::Integer)];
        let json = serde_json::to_value(&fields).unwrap();
        assert_eq!(json, json!(["lang", {"key": "n", "schema": "integer"}]));
        assert_eq!(serde_json::from_value::<Vec<IndexedField>>(json).unwrap(), fields);
        assert!(serde_json::from_value::<IndexedField>(json!({"key": "n", "schema": "vector"})).is_err());
        assert!(serde_json::from_value::<IndexedField>(json!(3)).is_err());
    }
}

//! Filters from and to JSON, in Qdrant's shapes, and the checks types cannot
//! express (depth, size, bounds). A malformed condition gets an error that
//! says which shape was meant.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{
    Condition, Datetime, DatetimeRange, FieldCheck, FieldKey, Filter, MAX_FILTER_DEPTH, MAX_FILTER_TERMS, Match,
    MinShould, Range,
};
use crate::error::{Error, Result};

type Parsed<T> = std::result::Result<T, String>;

const CLAUSES: [&str; 4] = ["must", "should", "must_not", "min_should"];
const FIELD_CHECKS: [&str; 5] = ["match", "range", "values_count", "is_empty", "is_null"];

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = crate::object_only::deserialize_object::<D, Map<String, Value>>(
            deserializer,
            "a filter object with must, should, must_not, min_should",
        )?;
        filter(value).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        condition(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

fn filter(object: Map<String, Value>) -> Parsed<Filter> {
    let mut parsed = Filter::default();
    for (clause, value) in object {
        match clause.as_str() {
            "must" => parsed.must = conditions(value)?,
            "should" => parsed.should = conditions(value)?,
            "must_not" => parsed.must_not = conditions(value)?,
            "min_should" if value.is_null() => {}
            "min_should" => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Fields {
                    conditions: Value,
                    min_count: usize,
                }
                let fields: Fields = serde_json::from_value(value)
                    .map_err(|e| format!("min_should is {{\"conditions\": [..], \"min_count\": n}}: {e}"))?;
                parsed.min_should =
                    Some(MinShould { conditions: conditions(fields.conditions)?, min_count: fields.min_count });
            }
            other => {
                return Err(format!("unknown field `{other}`, expected one of must, should, must_not, min_should"));
            }
        }
    }
    Ok(parsed)
}

/// A clause: a list of conditions, a single one, or null (none).
fn conditions(value: Value) -> Parsed<Vec<Condition>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(list) => list.into_iter().map(condition).collect(),
        single => Ok(vec![condition(single)?]),
    }
}

fn condition(value: Value) -> Parsed<Condition> {
    let Value::Object(mut object) = value else {
        return Err(format!("a condition is a JSON object, not {value}"));
    };
    let keys: Vec<String> = object.keys().cloned().collect();
    let alone = |name: &str| -> Parsed<()> {
        if keys.len() == 1 { Ok(()) } else { Err(format!("a {name} condition has no other keys, got {keys:?}")) }
    };
    if keys.iter().any(|k| k == "key") {
        return field_condition(&mut object);
    }
    let mut take = |name: &str| object.remove(name).unwrap_or(Value::Null);
    // An empty object is an empty filter, as in Qdrant: it holds for everything.
    if keys.iter().all(|k| CLAUSES.contains(&k.as_str())) {
        return filter(object).map(Condition::Filter);
    }
    match keys.first().map(String::as_str) {
        Some("has_id") => {
            alone("has_id")?;
            let has_id = serde_json::from_value(take("has_id")).map_err(|e| format!("has_id: {e}"))?;
            Ok(Condition::HasId { has_id })
        }
        Some("has_vector") => {
            alone("has_vector")?;
            let has_vector = serde_json::from_value(take("has_vector")).map_err(|e| format!("has_vector: {e}"))?;
            Ok(Condition::HasVector { has_vector })
        }
        Some(name @ ("is_empty" | "is_null")) => {
            alone(name)?;
            let key = key_object(take(name), name)?;
            Ok(if name == "is_empty" { Condition::IsEmpty { key } } else { Condition::IsNull { key } })
        }
        Some("nested") => {
            alone("nested")?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Fields {
                key: FieldKey,
                filter: Filter,
            }
            let fields: Fields = serde_json::from_value(take("nested"))
                .map_err(|e| format!("nested is {{\"key\", \"filter\"}}: {e}"))?;
            Ok(Condition::Nested { key: fields.key, filter: Box::new(fields.filter) })
        }
        _ => Err(format!(
            "a condition is {{\"key\", \"match\" | \"range\" | \"values_count\" | \"is_empty\" | \"is_null\"}}, \
             {{\"has_id\"}}, {{\"has_vector\"}}, {{\"is_empty\"}}, {{\"is_null\"}}, {{\"nested\"}} or a filter, got keys {keys:?}"
        )),
    }
}

/// `{"key": k}`, as `is_empty` and `is_null` take it.
fn key_object(value: Value, name: &str) -> Parsed<FieldKey> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        key: FieldKey,
    }
    serde_json::from_value::<Fields>(value).map(|f| f.key).map_err(|e| format!("{name} is {{\"key\": ..}}: {e}"))
}

fn field_condition(object: &mut Map<String, Value>) -> Parsed<Condition> {
    let key: FieldKey =
        serde_json::from_value(object.remove("key").unwrap_or(Value::Null)).map_err(|e| format!("key: {e}"))?;
    // Clients send the checks they do not use as nulls.
    object.retain(|_, value| !value.is_null());
    if let Some(geo) = object.keys().find(|k| k.starts_with("geo_")) {
        return Err(format!("key {key:?}: {geo}: geo conditions are not supported"));
    }
    let mut present = object.iter();
    let (Some((check, value)), None) = (present.next(), present.next()) else {
        return Err(format!("key {key:?}: a field condition has \"key\" and one of {FIELD_CHECKS:?}"));
    };
    let check = match check.as_str() {
        "match" => FieldCheck::Match(match_of(value.clone()).map_err(|e| format!("key {key:?}: match: {e}"))?),
        "range" => range_of(value).map_err(|e| format!("key {key:?}: range: {e}"))?,
        "values_count" => match range_of(value).map_err(|e| format!("key {key:?}: values_count: {e}"))? {
            FieldCheck::Range(range) => FieldCheck::ValuesCount(range),
            _ => return Err(format!("key {key:?}: values_count bounds are numbers")),
        },
        "is_empty" | "is_null" => {
            let wanted = value.as_bool().ok_or_else(|| format!("key {key:?}: {check} is true or false"))?;
            if check == "is_empty" { FieldCheck::IsEmpty(wanted) } else { FieldCheck::IsNull(wanted) }
        }
        other => {
            return Err(format!("key {key:?}: unknown field `{other}`, expected one of {FIELD_CHECKS:?}"));
        }
    };
    Ok(Condition::Field { key, check })
}

fn match_of(value: Value) -> Parsed<Match> {
    let Value::Object(mut object) = value else {
        return Err("a match is an object".into());
    };
    object.retain(|_, value| !value.is_null());
    let mut present = object.into_iter();
    let (Some((kind, value)), None) = (present.next(), present.next()) else {
        return Err(
            "one of {\"value\": v}, {\"any\": [..]}, {\"except\": [..]}, {\"text\"}, {\"text_any\"}, {\"phrase\"}, \
             {\"prefix\"}, {\"substring\"}"
                .into(),
        );
    };
    let list = |value: Value| -> Parsed<Vec<Value>> {
        serde_json::from_value(value).map_err(|_| format!("{kind} takes a list of values"))
    };
    let string = |value: Value| -> Parsed<String> {
        serde_json::from_value(value).map_err(|_| format!("{kind} takes a string"))
    };
    Ok(match kind.as_str() {
        "value" => Match::Value(value),
        "any" => Match::Any(list(value)?),
        "except" => Match::Except(list(value)?),
        "text" => Match::Text(string(value)?),
        "text_any" => Match::TextAny(string(value)?),
        "phrase" => Match::Phrase(string(value)?),
        "prefix" => Match::Prefix(string(value)?),
        "substring" => Match::Substring(string(value)?),
        other => return Err(format!("unknown variant `{other}`")),
    })
}

/// Numeric bounds, or datetime bounds if they are strings.
fn range_of(value: &Value) -> Parsed<FieldCheck> {
    let Value::Object(object) = value else {
        return Err("bounds are an object of gt, gte, lt, lte".into());
    };
    let mut numbers = Range::default();
    let mut datetimes = DatetimeRange::default();
    let (mut any_number, mut any_datetime) = (false, false);
    for (bound, value) in object {
        let (number, datetime) = match bound.as_str() {
            "gt" => (&mut numbers.gt, &mut datetimes.gt),
            "gte" => (&mut numbers.gte, &mut datetimes.gte),
            "lt" => (&mut numbers.lt, &mut datetimes.lt),
            "lte" => (&mut numbers.lte, &mut datetimes.lte),
            other => return Err(format!("unknown field `{other}`, expected gt, gte, lt, lte")),
        };
        match value {
            Value::Null => {}
            Value::Number(n) => {
                *number = n.as_f64();
                any_number = true;
            }
            Value::String(text) => {
                *datetime = Some(Datetime::parse(text).ok_or_else(|| format!("{bound}: {text:?} is not a datetime"))?);
                any_datetime = true;
            }
            other => return Err(format!("{bound}: a bound is a number or a datetime string, not {other}")),
        }
    }
    match (any_number, any_datetime) {
        (true, true) => Err("bounds are all numbers or all datetimes".into()),
        (false, true) => Ok(FieldCheck::DatetimeRange(datetimes)),
        _ => Ok(FieldCheck::Range(numbers)),
    }
}

impl Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl Filter {
    fn to_json(&self) -> Value {
        let mut object = Map::new();
        for (name, list) in [("must", &self.must), ("should", &self.should), ("must_not", &self.must_not)] {
            if !list.is_empty() {
                object.insert(name.into(), list.iter().map(Condition::to_json).collect());
            }
        }
        if let Some(min) = &self.min_should {
            let conditions: Vec<Value> = min.conditions.iter().map(Condition::to_json).collect();
            object.insert("min_should".into(), json!({ "conditions": conditions, "min_count": min.min_count }));
        }
        Value::Object(object)
    }
}

impl Condition {
    fn to_json(&self) -> Value {
        match self {
            Condition::Field { key, check } => {
                let (name, value) = match check {
                    FieldCheck::Match(matches) => ("match", matches.to_json()),
                    FieldCheck::Range(range) => ("range", range.to_json()),
                    FieldCheck::DatetimeRange(range) => ("range", range.to_json()),
                    FieldCheck::ValuesCount(range) => ("values_count", range.to_json()),
                    FieldCheck::IsEmpty(wanted) => ("is_empty", json!(wanted)),
                    FieldCheck::IsNull(wanted) => ("is_null", json!(wanted)),
                };
                json!({ "key": key.as_str(), name: value })
            }
            Condition::IsEmpty { key } => json!({ "is_empty": { "key": key.as_str() } }),
            Condition::IsNull { key } => json!({ "is_null": { "key": key.as_str() } }),
            Condition::HasId { has_id } => json!({ "has_id": has_id }),
            Condition::HasVector { has_vector } => json!({ "has_vector": has_vector }),
            Condition::Nested { key, filter } => {
                json!({ "nested": { "key": key.as_str(), "filter": filter.to_json() } })
            }
            Condition::Filter(filter) => filter.to_json(),
        }
    }
}

impl Match {
    fn to_json(&self) -> Value {
        match self {
            Match::Value(value) => json!({ "value": value }),
            Match::Any(values) => json!({ "any": values }),
            Match::Except(values) => json!({ "except": values }),
            Match::Text(text) => json!({ "text": text }),
            Match::TextAny(text) => json!({ "text_any": text }),
            Match::Phrase(text) => json!({ "phrase": text }),
            Match::Prefix(text) => json!({ "prefix": text }),
            Match::Substring(text) => json!({ "substring": text }),
        }
    }
}

impl Range {
    fn to_json(self) -> Value {
        let bounds = [("gt", self.gt), ("gte", self.gte), ("lt", self.lt), ("lte", self.lte)];
        Value::Object(bounds.into_iter().filter_map(|(name, b)| Some((name.into(), json!(b?)))).collect())
    }
}

impl DatetimeRange {
    fn to_json(&self) -> Value {
        let bounds = [("gt", &self.gt), ("gte", &self.gte), ("lt", &self.lt), ("lte", &self.lte)];
        Value::Object(bounds.into_iter().filter_map(|(name, b)| Some((name.into(), json!(b.as_ref()?.text)))).collect())
    }
}

impl Filter {
    /// Checks the limits and the well-formedness that types cannot express:
    /// depth, size, scalar match values, bounds present and finite, `min_count` at least 1.
    pub fn validate(&self) -> Result<()> {
        let mut terms = 0;
        self.validate_at(1, &mut terms)
    }

    fn validate_at(&self, depth: usize, terms: &mut usize) -> Result<()> {
        if depth > MAX_FILTER_DEPTH {
            return Err(invalid(format!("filters nest deeper than {MAX_FILTER_DEPTH} levels")));
        }
        if let Some(min) = &self.min_should
            && min.min_count < 1
        {
            return Err(invalid("min_should: min_count is at least 1".into()));
        }
        let min_should = self.min_should.iter().flat_map(|m| &m.conditions);
        for condition in self.must.iter().chain(&self.should).chain(&self.must_not).chain(min_should) {
            *terms += 1;
            condition.validate_at(depth, terms)?;
            if *terms > MAX_FILTER_TERMS {
                return Err(invalid(format!("the filter holds more than {MAX_FILTER_TERMS} conditions and values")));
            }
        }
        Ok(())
    }
}

impl Condition {
    fn validate_at(&self, depth: usize, terms: &mut usize) -> Result<()> {
        match self {
            Condition::Field { key, check } => match check {
                FieldCheck::Match(Match::Value(value)) => check_scalars(key, std::slice::from_ref(value)),
                FieldCheck::Match(Match::Any(values) | Match::Except(values)) => {
                    *terms += values.len();
                    check_scalars(key, values)
                }
                FieldCheck::Range(range) | FieldCheck::ValuesCount(range) => {
                    let bounds = [range.gt, range.gte, range.lt, range.lte];
                    if bounds.iter().all(Option::is_none) {
                        return Err(invalid(format!("key {key:?}: bounds need at least one of gt, gte, lt, lte")));
                    }
                    if bounds.iter().flatten().any(|b| !b.is_finite()) {
                        return Err(invalid(format!("key {key:?}: bounds must be finite numbers")));
                    }
                    Ok(())
                }
                FieldCheck::DatetimeRange(range) => {
                    if [&range.gt, &range.gte, &range.lt, &range.lte].iter().all(|b| b.is_none()) {
                        return Err(invalid(format!("key {key:?}: bounds need at least one of gt, gte, lt, lte")));
                    }
                    Ok(())
                }
                FieldCheck::Match(_) | FieldCheck::IsEmpty(_) | FieldCheck::IsNull(_) => Ok(()),
            },
            Condition::HasId { has_id } => {
                *terms += has_id.len();
                Ok(())
            }
            Condition::Nested { filter, .. } => filter.validate_at(depth + 1, terms),
            Condition::Filter(filter) => filter.validate_at(depth + 1, terms),
            Condition::IsEmpty { .. } | Condition::IsNull { .. } | Condition::HasVector { .. } => Ok(()),
        }
    }
}

fn check_scalars(key: &FieldKey, values: &[Value]) -> Result<()> {
    match values.iter().find(|v| !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))) {
        Some(bad) => Err(invalid(format!("key {key:?}: match values are strings, numbers or booleans, not {bad}"))),
        None => Ok(()),
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidFilter { reason }
}

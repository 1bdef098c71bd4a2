//! Metadata filters: Qdrant's filter language, with Qdrant's meaning.
//!
//! ```json
//! {"must":     [{"key": "lang", "match": {"value": "en"}}],
//!  "should":   [{"key": "year", "range": {"gte": 2020}}, {"has_id": ["a", "b"]}],
//!  "must_not": [{"key": "tags", "match": {"any": ["draft", "spam"]}}]}
//! ```
//!
//! An item passes when every `must` condition holds, at least one `should`
//! condition holds (if there are any), no `must_not` condition holds, and at
//! least `min_count` of the `min_should` conditions hold (if given). Each
//! clause is a list of conditions or a single one. A condition is one of:
//!
//! - `{"key", "match": {"value": v}}`: a value at the key equals `v` (a
//!   string, integer, float or boolean; an integer never equals a float, as
//!   in Qdrant); `{"any": [..]}`: equals one of them; `{"except": [..]}`: a
//!   value that is not null equals none of them (an object or array counts);
//!   `{"text": t}`: a string holding every word of `t`, `{"text_any": t}`:
//!   some word of it, `{"phrase": t}`: its words in a row (words are runs of
//!   letters and digits, lowercased); `{"prefix": p}`, `{"substring": s}`:
//!   a string starting with or containing it, byte for byte;
//! - `{"key", "range": {"gt", "gte", "lt", "lte"}}`: a number within the
//!   bounds, or, with datetime bounds (`"2024-01-31T12:00:00Z"`, a date, a
//!   time without offset meaning UTC), a string that is a datetime within them;
//! - `{"key", "values_count": {..}}`: how many values the key holds;
//! - `{"is_empty": {"key"}}`: the key holds nothing, null or `[]`;
//!   `{"is_null": {"key"}}`: it holds null (or an array with a null); also
//!   as `{"key", "is_empty": bool}` and `{"key", "is_null": bool}`;
//! - `{"has_id": [id, ...]}`, `{"has_vector": ""}` (every item has the unnamed vector);
//! - `{"nested": {"key", "filter"}}`: some object in the array at the key
//!   passes the filter on its own;
//! - a filter, nested.
//!
//! Keys are Qdrant's paths ([`FieldKey`]): `a.b` goes into objects only;
//! arrays on the way need `a[].b` (every element) or `a[0].b`. An array at
//! the end of the path is looked through one level: `{"tags": ["x", "y"]}`
//! matches `{"key": "tags", "match": {"value": "y"}}`. A condition on a
//! missing key holds only for `is_empty` and a `values_count` that allows 0.

mod datetime;
pub(crate) mod field_index;
mod parse;
mod path;
mod schema;
mod text;

use serde_json::Value;

pub use field_index::FieldIndexInfo;
pub use path::FieldKey;
pub use schema::{FieldSchema, IndexedField, MAX_FIELD_KEY_BYTES};

/// Deepest nesting of filters accepted (the outer filter is depth 1).
pub const MAX_FILTER_DEPTH: usize = 8;
/// Most conditions and listed values (in `any`, `except`, `has_id`) one filter may hold.
pub const MAX_FILTER_TERMS: usize = 10_000;

/// A boolean combination of conditions on items' metadata and ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// All of these must hold.
    pub must: Vec<Condition>,
    /// At least one of these must hold, unless the list is empty.
    pub should: Vec<Condition>,
    /// None of these may hold.
    pub must_not: Vec<Condition>,
    /// At least `min_count` of these must hold.
    pub min_should: Option<MinShould>,
}

/// `min_should`: a number of conditions that must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct MinShould {
    /// The conditions.
    pub conditions: Vec<Condition>,
    /// How many of them must hold, at least 1.
    pub min_count: usize,
}

/// One condition of a [`Filter`].
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A test of the values at a key.
    Field {
        /// Where the values are.
        key: FieldKey,
        /// What they must satisfy.
        check: FieldCheck,
    },
    /// The key holds nothing, null or empty arrays.
    IsEmpty {
        /// The key.
        key: FieldKey,
    },
    /// The key holds null, or an array with a null.
    IsNull {
        /// The key.
        key: FieldKey,
    },
    /// The item's id is one of these.
    HasId {
        /// The ids.
        has_id: Vec<String>,
    },
    /// The item has the named vector (`""`: the unnamed one).
    HasVector {
        /// The vector's name.
        has_vector: String,
    },
    /// Some object of the array at `key` passes `filter` on its own.
    Nested {
        /// The array (`a` or `a[]`).
        key: FieldKey,
        /// The filter each element is checked against.
        filter: Box<Filter>,
    },
    /// A nested filter.
    Filter(Filter),
}

/// What the values at a key must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldCheck {
    /// Some value matches.
    Match(Match),
    /// Some value is a number within the bounds.
    Range(Range),
    /// Some value is a datetime string within the bounds.
    DatetimeRange(DatetimeRange),
    /// Some value's count (an array's length, 1 for anything else, 0 for null
    /// or a missing key) lies within the bounds.
    ValuesCount(Range),
    /// Whether the key is empty (as [`Condition::IsEmpty`]).
    IsEmpty(bool),
    /// Whether the key holds null (as [`Condition::IsNull`]).
    IsNull(bool),
}

/// What a value must match.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// Equal to this string, number or boolean.
    Value(Value),
    /// Equal to one of these.
    Any(Vec<Value>),
    /// Not null and equal to none of these.
    Except(Vec<Value>),
    /// A string holding every word of this.
    Text(String),
    /// A string holding some word of this.
    TextAny(String),
    /// A string holding the words of this one after another.
    Phrase(String),
    /// A string starting with this.
    Prefix(String),
    /// A string containing this.
    Substring(String),
}

/// Bounds on a number; absent bounds do not constrain.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    /// Greater than.
    pub gt: Option<f64>,
    /// Greater than or equal.
    pub gte: Option<f64>,
    /// Less than.
    pub lt: Option<f64>,
    /// Less than or equal.
    pub lte: Option<f64>,
}

/// Bounds on a datetime, in microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatetimeRange {
    /// Later than.
    pub gt: Option<Datetime>,
    /// Later than or at.
    pub gte: Option<Datetime>,
    /// Earlier than.
    pub lt: Option<Datetime>,
    /// Earlier than or at.
    pub lte: Option<Datetime>,
}

/// A datetime bound as written and as microseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Datetime {
    /// The text it was read from.
    pub text: String,
    /// Microseconds since 1970-01-01T00:00:00Z.
    pub micros: i64,
}

impl Datetime {
    /// Reads a datetime the way Qdrant does (RFC 3339 and its relaxations).
    pub fn parse(text: &str) -> Option<Self> {
        datetime::parse(text).map(|micros| Self { text: text.to_owned(), micros })
    }
}

/// What a condition is evaluated for: the item, or an element of a nested array.
#[derive(Clone, Copy)]
struct Subject<'a> {
    /// The item's id; `None` inside a nested filter (no `has_id` holds there).
    id: Option<&'a str>,
    metadata: Option<&'a Value>,
    /// Whether the item has the vector of a name (`has_vector`).
    has_vector: &'a dyn Fn(&str) -> bool,
}

/// The vectors of an item that has exactly the unnamed one.
fn only_unnamed(name: &str) -> bool {
    name.is_empty()
}

/// The vectors of an element of a nested array: none.
fn no_vector(_: &str) -> bool {
    false
}

impl Filter {
    /// Whether the filter has no condition at all (it lets everything pass).
    pub fn is_empty(&self) -> bool {
        self.must.is_empty() && self.should.is_empty() && self.must_not.is_empty() && self.min_should.is_none()
    }

    /// Whether an item with this id and metadata, and the unnamed vector only, passes the filter.
    pub fn matches(&self, id: &str, metadata: Option<&Value>) -> bool {
        self.matches_item(id, metadata, &only_unnamed)
    }

    /// Whether an item with this id and metadata, having the vectors whose
    /// names `has_vector` accepts (`""`: the unnamed one), passes the filter.
    pub fn matches_item(&self, id: &str, metadata: Option<&Value>, has_vector: &dyn Fn(&str) -> bool) -> bool {
        self.holds(Subject { id: Some(id), metadata, has_vector })
    }

    fn holds(&self, subject: Subject<'_>) -> bool {
        self.must.iter().all(|c| c.holds(subject))
            && !self.must_not.iter().any(|c| c.holds(subject))
            && (self.should.is_empty() || self.should.iter().any(|c| c.holds(subject)))
            && self
                .min_should
                .as_ref()
                .is_none_or(|min| min.conditions.iter().filter(|c| c.holds(subject)).count() >= min.min_count)
    }
}

impl Condition {
    /// Whether an item with this id and metadata, and the unnamed vector only, satisfies the condition.
    pub fn matches(&self, id: &str, metadata: Option<&Value>) -> bool {
        self.holds(Subject { id: Some(id), metadata, has_vector: &only_unnamed })
    }

    fn holds(&self, subject: Subject<'_>) -> bool {
        let values = |key: &FieldKey, flat: bool| subject.metadata.map_or_else(Vec::new, |m| key.values(m, flat));
        // The common checks stop at the first value that passes, without collecting the values.
        let any =
            |key: &FieldKey, accept: &dyn Fn(&Value) -> bool| subject.metadata.is_some_and(|m| key.any(m, accept));
        match self {
            Condition::Field { key, check } => match check {
                FieldCheck::Match(matches) => any(key, &|v| matches.holds(v)),
                FieldCheck::Range(range) => any(key, &|v| is_number_within(v, range)),
                FieldCheck::DatetimeRange(range) => any(key, &|v| range.holds(v)),
                FieldCheck::ValuesCount(range) => value_counts(&values(key, false)).any(|n| range.contains(n as f64)),
                FieldCheck::IsEmpty(wanted) => is_empty(&values(key, false)) == *wanted,
                FieldCheck::IsNull(wanted) => is_null(&values(key, false)) == *wanted,
            },
            Condition::IsEmpty { key } => is_empty(&values(key, false)),
            Condition::IsNull { key } => is_null(&values(key, false)),
            Condition::HasId { has_id } => subject.id.is_some_and(|id| has_id.iter().any(|candidate| candidate == id)),
            Condition::HasVector { has_vector } => (subject.has_vector)(has_vector),
            Condition::Nested { key, filter } => subject
                .metadata
                .map_or_else(Vec::new, |m| key.nested_values(m))
                .into_iter()
                .filter_map(Value::as_array)
                .flatten()
                .filter(|element| element.is_object())
                .any(|element| filter.holds(Subject { id: None, metadata: Some(element), has_vector: &no_vector })),
            Condition::Filter(filter) => filter.holds(subject),
        }
    }
}

impl Match {
    fn holds(&self, value: &Value) -> bool {
        let text = || value.as_str();
        match self {
            Match::Value(expected) => values_equal(value, expected),
            Match::Any(expected) => expected.iter().any(|e| values_equal(value, e)),
            Match::Except(excluded) => !value.is_null() && !excluded.iter().any(|e| values_equal(value, e)),
            Match::Text(query) => text().is_some_and(|t| text::has_all_words(t, query)),
            Match::TextAny(query) => text().is_some_and(|t| text::has_any_word(t, query)),
            Match::Phrase(phrase) => text().is_some_and(|t| text::has_phrase(t, phrase)),
            Match::Prefix(prefix) => text().is_some_and(|t| t.starts_with(prefix.as_str())),
            Match::Substring(part) => text().is_some_and(|t| t.contains(part.as_str())),
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

impl DatetimeRange {
    fn holds(&self, value: &Value) -> bool {
        let Some(at) = value.as_str().and_then(datetime::parse) else { return false };
        self.gt.as_ref().is_none_or(|b| at > b.micros)
            && self.gte.as_ref().is_none_or(|b| at >= b.micros)
            && self.lt.as_ref().is_none_or(|b| at < b.micros)
            && self.lte.as_ref().is_none_or(|b| at <= b.micros)
    }
}

/// A number (not a boolean) within the range.
fn is_number_within(value: &Value, range: &Range) -> bool {
    value.as_f64().is_some_and(|x| range.contains(x))
}

/// Per value at a key: an array's length, 0 for null, 1 otherwise; a single
/// 0 when the key holds nothing or only nulls.
fn value_counts<'a>(values: &'a [&'a Value]) -> impl Iterator<Item = usize> + 'a {
    let nothing = values.iter().all(|v| v.is_null());
    let counts = values.iter().map(|v| match v {
        Value::Null => 0,
        Value::Array(items) => items.len(),
        _ => 1,
    });
    nothing.then_some(0).into_iter().chain(counts.filter(move |_| !nothing))
}

fn is_empty(values: &[&Value]) -> bool {
    values.iter().all(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
}

fn is_null(values: &[&Value]) -> bool {
    values.iter().any(|v| v.is_null() || v.as_array().is_some_and(|items| items.iter().any(Value::is_null)))
}

/// Qdrant's equality of a payload value and a match value: booleans, integers,
/// floats and strings are four types (an integer never equals a float);
/// integers compare exactly, beyond 2^53 as well.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (false, false) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => false,
            },
            (true, true) => x.as_f64() == y.as_f64(),
            _ => false,
        },
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests;

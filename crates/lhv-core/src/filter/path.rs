//! Keys of filter conditions and field indexes: Qdrant's JSON paths.
//!
//! A key is names separated by dots, each name optionally followed by
//! brackets: `a.b` (into objects only), `a[]` (every element of an array),
//! `a[2]` (one element), `"a.b"` (a name holding a dot, quoted). The values
//! a key selects are what Qdrant's filters see: with `flat`, an array found at
//! the end of the path is replaced by its elements (one level), as Qdrant's
//! conditions read values; without, it stays one value (what `values_count`,
//! `is_empty` and `is_null` look at).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Into an object, by name.
    Key(String),
    /// Into an array, by position.
    Index(usize),
    /// Into every element of an array.
    Each,
}

/// A parsed key: the text as written and its steps.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldKey {
    text: String,
    steps: Vec<Step>,
}

impl FieldKey {
    /// Parses a key, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let steps = parse_steps(text).ok_or_else(|| {
            format!(
                "key {text:?}: a key is names separated by single dots, each optionally followed by [] or [n] \
                 (quote a name holding a dot: \"a.b\")"
            )
        })?;
        Ok(Self { text: text.to_owned(), steps })
    }

    /// A key of one name, taken as it is (no dots or brackets read).
    pub(crate) fn name(name: &str) -> Self {
        Self { text: name.to_owned(), steps: vec![Step::Key(name.to_owned())] }
    }

    /// The key as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Calls `visit` with every value the key selects below `root`.
    pub(crate) fn visit<'a>(&self, root: &'a Value, flat: bool, visit: &mut dyn FnMut(&'a Value)) {
        walk(root, &self.steps, flat, visit);
    }

    /// Whether some value the key selects below `root` (arrays at the end
    /// looked through, as conditions read them) passes `accept`.
    pub(crate) fn any(&self, root: &Value, accept: &dyn Fn(&Value) -> bool) -> bool {
        any_at(root, &self.steps, accept)
    }

    /// The values at the key as a `nested` condition reads it: `a` and `a[]`
    /// both name the array `a`, kept whole.
    pub(crate) fn nested_values<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let steps = match self.steps.split_last() {
            Some((Step::Each, rest)) if !rest.is_empty() => rest,
            _ => &self.steps,
        };
        let mut values = Vec::new();
        walk(root, steps, false, &mut |value| values.push(value));
        values
    }

    /// The values the key selects below `root`; with `flat`, an array at the
    /// end of the path gives its elements (as conditions and Qdrant's
    /// `group_by` read values), without it is one value.
    pub fn values<'a>(&self, root: &'a Value, flat: bool) -> Vec<&'a Value> {
        let mut values = Vec::new();
        self.visit(root, flat, &mut |value| values.push(value));
        values
    }
}

impl fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl Serialize for FieldKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FieldKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FieldKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn walk<'a>(value: &'a Value, steps: &[Step], flat: bool, visit: &mut dyn FnMut(&'a Value)) {
    let Some((step, rest)) = steps.split_first() else {
        match value {
            Value::Array(items) if flat => items.iter().for_each(&mut *visit),
            value => visit(value),
        }
        return;
    };
    match (step, value) {
        (Step::Key(name), Value::Object(fields)) => {
            if let Some(inner) = fields.get(name) {
                walk(inner, rest, flat, visit);
            }
        }
        (Step::Index(position), Value::Array(items)) => {
            if let Some(inner) = items.get(*position) {
                walk(inner, rest, flat, visit);
            }
        }
        (Step::Each, Value::Array(items)) => items.iter().for_each(|item| walk(item, rest, flat, visit)),
        _ => {}
    }
}

fn any_at(value: &Value, steps: &[Step], accept: &dyn Fn(&Value) -> bool) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return match value {
            Value::Array(items) => items.iter().any(accept),
            value => accept(value),
        };
    };
    match (step, value) {
        (Step::Key(name), Value::Object(fields)) => fields.get(name).is_some_and(|inner| any_at(inner, rest, accept)),
        (Step::Index(position), Value::Array(items)) => {
            items.get(*position).is_some_and(|inner| any_at(inner, rest, accept))
        }
        (Step::Each, Value::Array(items)) => items.iter().any(|item| any_at(item, rest, accept)),
        _ => false,
    }
}

/// The steps of `text`, or `None` if it is malformed.
fn parse_steps(text: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = text;
    loop {
        // A name: quoted, or up to the next dot or bracket.
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            steps.push(Step::Key(quoted[..end].to_owned()));
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(['.', '[', ']', '"']).unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
        while let Some(bracketed) = rest.strip_prefix('[') {
            let end = bracketed.find(']')?;
            let inside = &bracketed[..end];
            steps.push(match inside {
                "" => Step::Each,
                digits if digits.bytes().all(|b| b.is_ascii_digit()) => Step::Index(digits.parse().ok()?),
                _ => return None,
            });
            rest = &bracketed[end + 1..];
        }
        match rest.strip_prefix('.') {
            None if rest.is_empty() => return Some(steps),
            Some(next) if !next.is_empty() => rest = next,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(key: &str, root: &Value, flat: bool) -> Vec<Value> {
        FieldKey::parse(key).unwrap().values(root, flat).into_iter().cloned().collect()
    }

    #[test]
    fn keys_follow_objects_and_only_bracketed_arrays() {
        let root = json!({"a": {"b": [1, [2, 3]]}, "items": [{"name": "x"}, {"name": "y"}], "d.e": 5});
        assert_eq!(values("a.b", &root, true), [json!(1), json!([2, 3])]);
        assert_eq!(values("a.b", &root, false), [json!([1, [2, 3]])]);
        assert_eq!(values("items.name", &root, true), Vec::<Value>::new());
        assert_eq!(values("items[].name", &root, true), [json!("x"), json!("y")]);
        assert_eq!(values("items[1].name", &root, true), [json!("y")]);
        assert_eq!(values("items[5].name", &root, true), Vec::<Value>::new());
        assert_eq!(values("a.b[1][0]", &root, true), [json!(2)]);
        assert_eq!(values("\"d.e\"", &root, true), [json!(5)]);
        // `any` sees the values `values` lists, flat.
        for key in ["a.b", "items[].name", "a.b[1][0]", "items.name", "\"d.e\""] {
            let key = FieldKey::parse(key).unwrap();
            let listed = key.values(&root, true);
            assert_eq!(key.any(&root, &|_| true), !listed.is_empty());
            assert_eq!(key.any(&root, &|v| v == &json!("y")), listed.contains(&&json!("y")));
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", ".", "a.", ".a", "a..b", "a[", "a[x]", "a[-1]", "a]b", "\"a", "a[]b"] {
            assert!(FieldKey::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a.b", "a[]", "a[0].b[]", "\"a.b\".c", "my key", "ключ.名前", "a-b_c"] {
            assert!(FieldKey::parse(good).is_ok(), "{good:?}");
        }
    }
}

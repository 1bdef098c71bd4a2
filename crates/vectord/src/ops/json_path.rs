//! Dot-separated paths into JSON objects (`a.b.c`), as Qdrant's payload
//! keys name nested values: read, set and remove.

use serde_json::{Map, Value};

/// The value at a dot-separated path.
pub(crate) fn path_get<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let first = object.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.as_object()?.get(part))
}

/// Sets the value at a dot-separated path, making objects on the way
/// (replacing non-objects there).
pub(crate) fn path_set(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            object.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let slot = object.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                path_set(inner, rest, value);
            }
        }
    }
}

/// Removes the value at a dot-separated path, if there is one.
pub(crate) fn path_remove(object: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            object.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = object.get_mut(head) {
                path_remove(inner, rest);
            }
        }
    }
}

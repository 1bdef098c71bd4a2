//! Which points a write applies to, and the edits of a payload: plain
//! data, so that a router can send the part of a write that concerns some
//! shards to those shards' writer.

use lhv_core::Filter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::json_path::{path_get, path_remove, path_set};

/// The points a write applies to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Selection {
    /// These ids.
    Ids(Vec<String>),
    /// Those that pass.
    Filter(Filter),
}

impl Selection {
    /// The part of the selection in `shards` of `total`: the ids stored
    /// there, or the same filter.
    #[cfg(feature = "cluster")]
    pub(crate) fn within(&self, shards: &[u32], total: usize) -> Selection {
        match self {
            Selection::Ids(ids) => {
                Selection::Ids(ids.iter().filter(|id| in_shards(id, shards, total)).cloned().collect())
            }
            Selection::Filter(filter) => Selection::Filter(filter.clone()),
        }
    }
}

/// Whether `id` is stored in one of `shards` of `total`.
#[cfg(feature = "cluster")]
pub(crate) fn in_shards(id: &str, shards: &[u32], total: usize) -> bool {
    u32::try_from(lhv_core::shard_of(id, total)).is_ok_and(|shard| shards.contains(&shard))
}

/// A change to a payload (a JSON object).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub(crate) enum PayloadEdit {
    /// Puts `payload` at the top or in the object at `key`: `merge` sets its
    /// keys and keeps the others, else it replaces the whole object.
    Set {
        /// The keys and values.
        payload: Map<String, Value>,
        /// A dot-separated path to the object changed, instead of the top.
        key: Option<String>,
        /// Keep the keys `payload` does not name.
        merge: bool,
    },
    /// Removes these dot-separated paths.
    DeleteKeys {
        /// The paths.
        keys: Vec<String>,
    },
    /// Empties the payload.
    Clear,
}

impl PayloadEdit {
    /// Applies the edit to `object`.
    pub(crate) fn apply(&self, object: &mut Map<String, Value>) {
        match self {
            PayloadEdit::Set { payload, key: Some(key), merge: true } => {
                let mut merged = match path_get(object, key) {
                    Some(Value::Object(existing)) => existing.clone(),
                    _ => Map::new(),
                };
                merged.extend(payload.clone());
                path_set(object, key, Value::Object(merged));
            }
            PayloadEdit::Set { payload, key: None, merge: true } => object.extend(payload.clone()),
            PayloadEdit::Set { payload, key: Some(key), merge: false } => {
                path_set(object, key, Value::Object(payload.clone()));
            }
            PayloadEdit::Set { payload, key: None, merge: false } => *object = payload.clone(),
            PayloadEdit::DeleteKeys { keys } => keys.iter().for_each(|key| path_remove(object, key)),
            PayloadEdit::Clear => object.clear(),
        }
    }
}

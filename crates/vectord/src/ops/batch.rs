//! Several point writes as one, all or nothing: applied in order to the
//! points as they stand (each operation seeing those before it) under the
//! commit lock, and the outcome (points deleted, points written) committed
//! as one write per shard (one log record, applied whole). An operation that
//! cannot be done (a payload change or a vector change of a point that does
//! not exist) refuses the whole batch. Payload and vector updates are
//! batches of one.
//!
//! Every operation touches each point on its own, so a batch restricted to
//! some shards ([`Operation::within`]) does there exactly what the whole
//! batch does to them: a router sends each shard's writer its part.

use std::collections::BTreeMap;
use std::ops::Bound;

use axum::http::StatusCode;
use lhv_core::{Item, ShardedIndex};
use lhv_store::DurableIndex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::selection::{PayloadEdit, Selection};
use super::write::{WriteError, durably};
use crate::error::ApiError;
use crate::state::AppState;

/// One write of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub(crate) enum Operation {
    /// Inserts or replaces these items.
    Upsert {
        /// The items.
        items: Vec<Item>,
    },
    /// Deletes the selected points.
    Delete {
        /// Which.
        selection: Selection,
    },
    /// Edits the payloads of the selected points (each must exist).
    Payload {
        /// Which.
        selection: Selection,
        /// The edit.
        edit: PayloadEdit,
    },
    /// New vectors for existing points, their other vectors and payloads
    /// kept: each vector an item names replaces the point's of that name.
    UpdateVectors {
        /// The points (ids and vectors; their metadata is not read).
        items: Vec<Item>,
    },
    /// Takes the named vectors of the selected points (each must exist) away.
    DeleteVectors {
        /// Which.
        selection: Selection,
        /// The vectors' names (`""`: the unnamed one).
        #[serde(default = "unnamed_only")]
        names: Vec<String>,
    },
}

impl Operation {
    /// The part of the operation that concerns `shards` of `total`.
    #[cfg(feature = "cluster")]
    pub(crate) fn within(&self, shards: &[u32], total: usize) -> Operation {
        let items_within = |items: &[Item]| {
            items.iter().filter(|item| super::selection::in_shards(&item.id, shards, total)).cloned().collect()
        };
        match self {
            Operation::Upsert { items } => Operation::Upsert { items: items_within(items) },
            Operation::Delete { selection } => Operation::Delete { selection: selection.within(shards, total) },
            Operation::Payload { selection, edit } => {
                Operation::Payload { selection: selection.within(shards, total), edit: edit.clone() }
            }
            Operation::UpdateVectors { items } => Operation::UpdateVectors { items: items_within(items) },
            Operation::DeleteVectors { selection, names } => {
                Operation::DeleteVectors { selection: selection.within(shards, total), names: names.clone() }
            }
        }
    }
}

/// The shards of `total` that `operations` may touch: those of the ids they
/// name, or all of them when one selects by filter.
#[cfg(feature = "cluster")]
pub(crate) fn shards_touched(operations: &[Operation], total: usize) -> Vec<u32> {
    let mut ids: Vec<&str> = Vec::new();
    for operation in operations {
        match operation {
            Operation::Upsert { items } | Operation::UpdateVectors { items } => {
                ids.extend(items.iter().map(|item| item.id.as_str()));
            }
            Operation::Delete { selection }
            | Operation::Payload { selection, .. }
            | Operation::DeleteVectors { selection, .. } => match selection {
                Selection::Ids(named) => ids.extend(named.iter().map(String::as_str)),
                Selection::Filter(_) => return (0..total).filter_map(|s| u32::try_from(s).ok()).collect(),
            },
        }
    }
    let shards: std::collections::BTreeSet<u32> =
        ids.into_iter().filter_map(|id| u32::try_from(lhv_core::shard_of(id, total)).ok()).collect();
    shards.into_iter().collect()
}

/// The names of a vector deletion that names none: the unnamed vector.
fn unnamed_only() -> Vec<String> {
    vec![String::new()]
}

/// What a batch leaves: per id touched, the point as an item (its vectors
/// and payload), or `None` once deleted.
type Outcome = BTreeMap<String, Option<Item>>;

/// Applies `operations` in order to `durable`, as one durable write.
pub(crate) async fn write_batch(
    state: &AppState,
    durable: &DurableIndex,
    operations: &[Operation],
) -> Result<(), ApiError> {
    durably(state, durable.write_batch_with(|index| outcome(index, operations))).await
}

/// Whether `operations` could be applied to `durable` as it stands now
/// (checked, nothing written): a router asks every shard before it writes
/// any, so that a batch one shard refuses is not applied on the others.
#[cfg(feature = "cluster")]
pub(crate) fn check_batch(durable: &DurableIndex, operations: &[Operation]) -> Result<(), ApiError> {
    let index = durable.index();
    let (_, written) = outcome(index, operations)?;
    index.validate_upsert(&written)?;
    Ok(())
}

/// The ids deleted and the items written by `operations` over `index`.
fn outcome(index: &ShardedIndex, operations: &[Operation]) -> Result<(Vec<String>, Vec<Item>), WriteError> {
    let mut outcome = Outcome::new();
    for operation in operations {
        apply(index, &mut outcome, operation)?;
    }
    let (mut deleted, mut written) = (Vec::new(), Vec::new());
    for (id, state) in outcome {
        match state {
            None => deleted.push(id),
            Some(item) => written.push(item),
        }
    }
    Ok((deleted, written))
}

/// Applies one operation to the outcome so far.
fn apply(index: &ShardedIndex, outcome: &mut Outcome, operation: &Operation) -> Result<(), WriteError> {
    match operation {
        Operation::Upsert { items } => {
            for item in items {
                outcome.insert(item.id.clone(), Some(item.clone()));
            }
        }
        Operation::Delete { selection } => {
            for id in selected(index, outcome, selection)? {
                outcome.insert(id, None);
            }
        }
        Operation::Payload { selection, edit } => {
            for id in selected(index, outcome, selection)? {
                let mut point = current(index, outcome, &id).ok_or_else(|| no_point(&id))?;
                point.metadata = Some(edited(&id, point.metadata.take(), edit)?);
                outcome.insert(id, Some(point));
            }
        }
        Operation::UpdateVectors { items } => {
            for item in items {
                let mut point = current(index, outcome, &item.id).ok_or_else(|| no_point(&item.id))?;
                if !item.vector.is_empty() {
                    point.vector = item.vector.clone();
                }
                point.vectors.extend(item.vectors.iter().map(|(name, v)| (name.clone(), v.clone())));
                point.sparse.extend(item.sparse.iter().map(|(name, v)| (name.clone(), v.clone())));
                outcome.insert(item.id.clone(), Some(point));
            }
        }
        Operation::DeleteVectors { selection, names } => {
            for id in selected(index, outcome, selection)? {
                let mut point = current(index, outcome, &id).ok_or_else(|| no_point(&id))?;
                for name in names {
                    if name.is_empty() {
                        point.vector.clear();
                    }
                    point.vectors.remove(name);
                    point.sparse.remove(name);
                }
                outcome.insert(id, Some(point));
            }
        }
    }
    Ok(())
}

/// A point as the operations so far leave it.
fn current(index: &ShardedIndex, outcome: &Outcome, id: &str) -> Option<Item> {
    match outcome.get(id) {
        Some(state) => state.clone(),
        None => index.get(id).map(|record| record.into_item(id)),
    }
}

/// The ids a selection names, as the operations so far leave the points.
fn selected(index: &ShardedIndex, outcome: &Outcome, selection: &Selection) -> Result<Vec<String>, WriteError> {
    let filter = match selection {
        Selection::Ids(ids) => return Ok(ids.clone()),
        Selection::Filter(filter) => filter,
    };
    let mut ids: Vec<String> = index
        .ids_where(Bound::Unbounded, usize::MAX, Some(filter))?
        .into_iter()
        .filter(|id| !outcome.contains_key(id))
        .collect();
    for (id, state) in outcome {
        if let Some(point) = state
            && filter.matches_item(id, point.metadata.as_ref(), &|name| has_vector(point, name))
        {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}

/// Whether `point` has the vector `name` (`""`: the unnamed one).
fn has_vector(point: &Item, name: &str) -> bool {
    !point.dense(name).is_empty() || point.sparse.contains_key(name)
}

/// A point's payload after `edit`: its metadata must be an object (or none).
fn edited(id: &str, metadata: Option<Value>, edit: &PayloadEdit) -> Result<Value, ApiError> {
    let mut object = match metadata {
        Some(Value::Object(object)) => object,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            let message =
                format!("point {id} has metadata that is not a JSON object (written through vectord's own API)");
            return Err(ApiError::bad_request(message));
        }
    };
    edit.apply(&mut object);
    Ok(Value::Object(object))
}

/// The 404 of a write naming a point that does not exist.
pub(crate) fn no_point(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "item_not_found", format!("Not found: No point with id {id} found"))
}

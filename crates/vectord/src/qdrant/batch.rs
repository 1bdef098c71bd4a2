//! `POST /collections/{name}/points/batch`: several writes as one, all or
//! nothing. The operations are applied in order to the points as they stand
//! (each seeing the ones before it), and the outcome, the points deleted and
//! the points written, is committed as one write per shard (one log record,
//! applied whole). An operation that cannot be done (a payload change or a
//! vector update of a point that does not exist) refuses the whole batch.

use std::collections::BTreeMap;
use std::ops::Bound;

use lhv_core::{Filter, Item, Metric, ShardedIndex};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{Answer, Reply, UpdateResult};
use super::payload::{DeletePayload, PayloadChange, SetPayload, changed, no_point};
use super::points::{HARMLESS, Upsert};
use super::refuse::unknown_fields;
use super::vectors::{DeleteVectors, UpdateVectors};
use super::{Selection, Selector};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, WriteError};

/// The request.
#[derive(Debug, Deserialize)]
pub(crate) struct Batch {
    operations: Vec<Map<String, Value>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// One operation, read.
enum Operation {
    Upsert(Vec<Item>),
    Delete(Selection),
    Payload(Selection, PayloadChange),
    Vectors(Vec<Item>),
    /// Take the vector of these points away.
    DeleteVectors(Selection),
}

/// What a batch leaves: per id touched, its vector and payload, or `None` once deleted.
type Outcome = BTreeMap<String, Option<(Vec<f32>, Option<Value>)>>;

/// Applies the operations in order, as one durable write.
pub(crate) async fn batch(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<Batch>,
) -> Reply<Vec<UpdateResult>> {
    unknown_fields(&request.rest, HARMLESS)?;
    let durable = ops::index(&state, &name)?;
    let metric = durable.index().params().metric;
    let count = request.operations.len();
    let operations: Vec<Operation> =
        request.operations.into_iter().map(|op| operation(op, metric)).collect::<Result<_, _>>()?;
    let write = durable.write_batch_with(|index| {
        let mut outcome = Outcome::new();
        for op in &operations {
            apply(index, &mut outcome, op)?;
        }
        let (mut deleted, mut written) = (Vec::new(), Vec::new());
        for (id, state) in outcome {
            match state {
                None => deleted.push(id),
                Some((vector, metadata)) => written.push(Item { id, vector, metadata }),
            }
        }
        Ok::<_, WriteError>((deleted, written))
    });
    ops::durably(&state, write).await?;
    let Answer(result) = UpdateResult::of(&durable).await;
    Ok(Answer((0..count).map(|_| result.clone()).collect()))
}

/// Reads `{"kind": body}`.
fn operation(mut object: Map<String, Value>, metric: Metric) -> Result<Operation, ApiError> {
    let (Some(kind), 1) = (object.keys().next().cloned(), object.len()) else {
        return Err(ApiError::bad_request("a batch operation is an object with one key: the kind of operation"));
    };
    let body = object.remove(&kind).unwrap_or(Value::Null);
    let read = |what: &str, e: serde_json::Error| ApiError::bad_request(format!("{what}: {e}"));
    Ok(match kind.as_str() {
        "upsert" => {
            Operation::Upsert(serde_json::from_value::<Upsert>(body).map_err(|e| read("upsert", e))?.items(metric)?)
        }
        "delete" => {
            Operation::Delete(serde_json::from_value::<Selector>(body).map_err(|e| read("delete", e))?.selection()?)
        }
        "set_payload" | "overwrite_payload" => {
            let request = serde_json::from_value::<SetPayload>(body).map_err(|e| read(&kind, e))?;
            let (selected, change) = request.change(kind == "set_payload")?;
            Operation::Payload(selected, change)
        }
        "delete_payload" => {
            let (selected, change) =
                serde_json::from_value::<DeletePayload>(body).map_err(|e| read("delete_payload", e))?.change()?;
            Operation::Payload(selected, change)
        }
        "clear_payload" => {
            let selected =
                serde_json::from_value::<Selector>(body).map_err(|e| read("clear_payload", e))?.selection()?;
            Operation::Payload(selected, Box::new(Map::clear))
        }
        "update_vectors" => Operation::Vectors(
            serde_json::from_value::<UpdateVectors>(body).map_err(|e| read("update_vectors", e))?.items(metric)?,
        ),
        "delete_vectors" => {
            let request = serde_json::from_value::<DeleteVectors>(body).map_err(|e| read("delete_vectors", e))?;
            let selection = request.selection()?;
            if request.names_the_vector() {
                Operation::DeleteVectors(selection)
            } else {
                Operation::Vectors(Vec::new())
            }
        }
        other => return Err(ApiError::bad_request(format!("unknown batch operation `{other}`"))),
    })
}

/// Applies one operation to the outcome so far.
fn apply(index: &ShardedIndex, outcome: &mut Outcome, op: &Operation) -> Result<(), WriteError> {
    match op {
        Operation::Upsert(items) => {
            for item in items {
                outcome.insert(item.id.clone(), Some((item.vector.clone(), item.metadata.clone())));
            }
        }
        Operation::Delete(selection) => {
            for id in selected(index, outcome, selection)? {
                outcome.insert(id, None);
            }
        }
        Operation::Payload(selection, change) => {
            for id in selected(index, outcome, selection)? {
                let (vector, metadata) = current(index, outcome, &id).ok_or_else(|| no_point(&id))?;
                let metadata = Some(changed(&id, metadata, change)?);
                outcome.insert(id, Some((vector, metadata)));
            }
        }
        Operation::Vectors(items) => {
            for item in items {
                let (_, metadata) = current(index, outcome, &item.id).ok_or_else(|| no_point(&item.id))?;
                outcome.insert(item.id.clone(), Some((item.vector.clone(), metadata)));
            }
        }
        Operation::DeleteVectors(selection) => {
            for id in selected(index, outcome, selection)? {
                let (_, metadata) = current(index, outcome, &id).ok_or_else(|| no_point(&id))?;
                outcome.insert(id, Some((Vec::new(), metadata)));
            }
        }
    }
    Ok(())
}

/// A point as the operations so far leave it.
fn current(index: &ShardedIndex, outcome: &Outcome, id: &str) -> Option<(Vec<f32>, Option<Value>)> {
    match outcome.get(id) {
        Some(state) => state.clone(),
        None => index.get(id).map(|record| (record.vector, record.metadata)),
    }
}

/// The ids a selection names, as the operations so far leave the points.
fn selected(index: &ShardedIndex, outcome: &Outcome, selection: &Selection) -> Result<Vec<String>, WriteError> {
    let filter: &Filter = match selection {
        Selection::Ids(ids) => return Ok(ids.clone()),
        Selection::Filter(filter) => filter,
    };
    let mut ids: Vec<String> = index
        .ids_where(Bound::Unbounded, usize::MAX, Some(filter))?
        .into_iter()
        .filter(|id| !outcome.contains_key(id))
        .collect();
    for (id, state) in outcome {
        if let Some((vector, metadata)) = state
            && filter.matches_item(id, metadata.as_ref(), !vector.is_empty())
        {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}

//! `POST /collections/{name}/points/batch`: several writes as one, all or
//! nothing, read into [`crate::ops::Operation`]s and applied in order as one
//! durable write (see there).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::Selector;
use super::answers::{Answer, Reply, UpdateResult};
use super::payload::{DeletePayload, SetPayload};
use super::points::{HARMLESS, Upsert};
use super::refuse::unknown_fields;
use super::vectors::{DeleteVectors, UpdateVectors};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, Operation};

/// The request.
#[derive(Debug, Deserialize)]
pub(crate) struct Batch {
    operations: Vec<Map<String, Value>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Applies the operations in order, as one durable write.
pub(crate) async fn batch(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<Batch>,
) -> Reply<Vec<UpdateResult>> {
    unknown_fields(&request.rest, HARMLESS)?;
    let mut handle = ops::handle(&state, &name).await?;
    let params = handle.params();
    let count = request.operations.len();
    let mut operations = Vec::with_capacity(count);
    for operation in request.operations {
        operations.extend(read(operation, &params)?);
    }
    handle.write_batch(operations).await?;
    let Answer(result) = UpdateResult::of(&handle).await;
    Ok(Answer((0..count).map(|_| result.clone()).collect()))
}

/// Reads `{"kind": body}` (a `delete_vectors` of no vector of ours writes nothing).
fn read(mut object: Map<String, Value>, params: &lhv_core::IndexParams) -> Result<Option<Operation>, ApiError> {
    let (Some(kind), 1) = (object.keys().next().cloned(), object.len()) else {
        return Err(ApiError::bad_request("a batch operation is an object with one key: the kind of operation"));
    };
    let body = object.remove(&kind).unwrap_or(Value::Null);
    let read = |e: serde_json::Error| ApiError::bad_request(format!("{kind}: {e}"));
    Ok(Some(match kind.as_str() {
        "upsert" => Operation::Upsert { items: serde_json::from_value::<Upsert>(body).map_err(read)?.items(params)? },
        "delete" => {
            Operation::Delete { selection: serde_json::from_value::<Selector>(body).map_err(read)?.selection()? }
        }
        "set_payload" | "overwrite_payload" => {
            serde_json::from_value::<SetPayload>(body).map_err(read)?.operation(kind == "set_payload")?
        }
        "delete_payload" => serde_json::from_value::<DeletePayload>(body).map_err(read)?.operation()?,
        "clear_payload" => serde_json::from_value::<Selector>(body).map_err(read)?.clear_payload()?,
        "update_vectors" => Operation::UpdateVectors {
            items: serde_json::from_value::<UpdateVectors>(body).map_err(read)?.items(params)?,
        },
        "delete_vectors" => return serde_json::from_value::<DeleteVectors>(body).map_err(read)?.operation(params),
        other => return Err(ApiError::bad_request(format!("unknown batch operation `{other}`"))),
    }))
}

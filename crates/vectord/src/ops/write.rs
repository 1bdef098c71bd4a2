//! Durable writes, each timed in the durable-write metric (and counted as
//! failed when storage fails), whichever API asked for it.

use std::future::Future;
use std::time::Instant;

use lhv_core::{Filter, IndexedField, Item, UpsertOutcome};
use lhv_store::DurableIndex;

use crate::error::ApiError;
use crate::state::AppState;

/// Why a computed write did not happen: the computation refused it, or the
/// store failed (which the metric counts).
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The request asks for something that cannot be done; nothing was written.
    Refused(ApiError),
    /// The store (or the index's validation) failed.
    Store(lhv_store::Error),
}

impl From<lhv_store::Error> for WriteError {
    fn from(error: lhv_store::Error) -> Self {
        WriteError::Store(error)
    }
}

impl From<lhv_core::Error> for WriteError {
    fn from(error: lhv_core::Error) -> Self {
        WriteError::Store(error.into())
    }
}

impl From<ApiError> for WriteError {
    fn from(error: ApiError) -> Self {
        WriteError::Refused(error)
    }
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Refused(error) => error,
            WriteError::Store(error) => error.into(),
        }
    }
}

/// Inserts or replaces `items`; durable when it returns.
pub(crate) async fn upsert(
    state: &AppState,
    durable: &DurableIndex,
    items: Vec<Item>,
) -> Result<UpsertOutcome, ApiError> {
    Ok(measured(state, async { Ok(durable.upsert(items).await?) }).await?)
}

/// Deletes `ids`; durable when it returns; how many existed.
pub(crate) async fn delete(state: &AppState, durable: &DurableIndex, ids: Vec<String>) -> Result<usize, ApiError> {
    Ok(measured(state, async { Ok(durable.delete(ids).await?) }).await?)
}

/// Deletes the items that pass `filter`, selected and deleted with no other
/// write in between; durable when it returns; how many there were.
pub(crate) async fn delete_where(state: &AppState, durable: &DurableIndex, filter: &Filter) -> Result<usize, ApiError> {
    let select = |index: &lhv_core::ShardedIndex| -> Result<Vec<String>, WriteError> {
        Ok(index.ids_where(std::ops::Bound::Unbounded, usize::MAX, Some(filter))?)
    };
    Ok(measured(state, durable.delete_with(select)).await?)
}

/// Builds (or replaces) a field index; durable when it returns; whether one
/// of its key existed.
pub(crate) async fn create_field_index(
    state: &AppState,
    durable: &DurableIndex,
    field: IndexedField,
) -> Result<bool, ApiError> {
    Ok(measured(state, async { Ok(durable.create_field_index(field).await?) }).await?)
}

/// Drops the field index of `key`; durable when it returns; whether there was one.
pub(crate) async fn drop_field_index(state: &AppState, durable: &DurableIndex, key: &str) -> Result<bool, ApiError> {
    Ok(measured(state, async { Ok(durable.drop_field_index(key).await?) }).await?)
}

/// Builds later insertions with out-degree `m` and candidate list
/// `ef_construction`; durable when it returns.
pub(crate) async fn set_build_params(
    state: &AppState,
    durable: &DurableIndex,
    m: usize,
    ef_construction: usize,
) -> Result<(), ApiError> {
    Ok(measured(state, async { Ok(durable.set_build_params(m, ef_construction).await?) }).await?)
}

/// Runs a durable write of another shape (a read-modify-write through
/// `DurableIndex::upsert_with` or `delete_with`) with the same accounting.
pub(crate) async fn durably<T>(
    state: &AppState,
    write: impl Future<Output = Result<T, WriteError>>,
) -> Result<T, ApiError> {
    Ok(measured(state, write).await?)
}

/// Runs a write and records it in the durable-write metric.
async fn measured<T>(state: &AppState, write: impl Future<Output = Result<T, WriteError>>) -> Result<T, WriteError> {
    let started = Instant::now();
    let result = write.await;
    let failed = matches!(result, Err(WriteError::Store(lhv_store::Error::Storage { .. })));
    state.metrics.observe_persist(started.elapsed(), !failed);
    result
}

//! The operations both APIs are made of: find an index, write to it
//! durably, search it, page through it, snapshot it. The native and the
//! Qdrant handlers translate their requests into these and the results into
//! their answers; what must hold for every caller (the durable-write metric,
//! which searches leave the async workers) holds here, once.

mod batch;
mod handle;
mod indexes;
pub(crate) mod json_path;
mod scoring;
mod scroll;
mod search;
mod selection;
mod write;

pub(crate) use self::batch::{Operation, no_point, write_batch};
#[cfg(feature = "cluster")]
pub(crate) use self::batch::{check_batch, shards_touched};
pub(crate) use self::handle::{Freshness, IndexHandle, Overview, handle};
#[cfg(feature = "cluster")]
pub(crate) use self::handle::{blocking, ordered_in, value_counts_in};
pub(crate) use self::indexes::{create_index, drop_index, index_names, is_clustered};
pub(crate) use self::scoring::{Scan, Scored, Scoring, dense_of};
#[cfg(feature = "cluster")]
pub(crate) use self::scoring::{best as best_scored, scan as scoring_scan};
pub(crate) use self::scroll::{check_scroll_limit, scroll_page};
pub(crate) use self::search::{Query, search};
pub(crate) use self::selection::{PayloadEdit, Selection};
pub(crate) use self::write::{create_field_index, delete, delete_where, drop_field_index, set_build_params, upsert};
use crate::error::ApiError;
use crate::state::AppState;

/// The index as an LHV1 snapshot frame: everything acknowledged before the
/// call, nothing half-applied (in a cluster: per shard, each read at its writer).
pub(crate) async fn export_snapshot(state: &AppState, name: &str) -> Result<Vec<u8>, ApiError> {
    handle(state, name).await?.export_snapshot().await
}

/// A new index from an LHV1 snapshot frame, durable when it returns (in a
/// cluster: of one shard, which `reshard` doubles, and the cluster's
/// replication; the index exists only once every shard is written).
pub(crate) async fn import_snapshot(
    state: &AppState,
    name: &str,
    frame: axum::body::Bytes,
) -> Result<IndexHandle, ApiError> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        routing.create_from_snapshot(name, frame).await?;
        return handle(state, name).await;
    }
    let durable = state.catalog.create_from_snapshot(name, frame).await?;
    Ok(IndexHandle::Local(state.clone(), durable))
}

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

use std::sync::Arc;

use lhv_store::DurableIndex;

pub(crate) use self::batch::{Operation, no_point, write_batch};
#[cfg(feature = "cluster")]
pub(crate) use self::batch::{check_batch, shards_touched};
pub(crate) use self::handle::{Freshness, IndexHandle, Overview, handle};
#[cfg(feature = "cluster")]
pub(crate) use self::handle::{blocking, ordered_in, value_counts_in};
pub(crate) use self::indexes::{create_index, drop_index, index_names, is_clustered};
pub(crate) use self::scoring::{Scan, Scored, Scoring};
#[cfg(feature = "cluster")]
pub(crate) use self::scoring::{best as best_scored, scan as scoring_scan};
pub(crate) use self::scroll::{check_scroll_limit, scroll_page};
pub(crate) use self::search::{Query, search};
pub(crate) use self::selection::{PayloadEdit, Selection};
pub(crate) use self::write::{create_field_index, delete, delete_where, drop_field_index, set_build_params, upsert};
use crate::error::ApiError;
use crate::state::AppState;

/// The index called `name`, if it exists and is loaded.
/// In an etcd cluster, where indexes are spread over the members, the
/// operations not yet routed there (see docs/OPERATIONS.md) answer 501.
pub(crate) fn index(state: &AppState, name: &str) -> Result<Arc<DurableIndex>, ApiError> {
    #[cfg(feature = "cluster")]
    if state.routing.is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "not_in_cluster",
            "this operation is not available in an etcd cluster yet (docs/OPERATIONS.md lists those that are)",
        ));
    }
    Ok(state.catalog.get(name)?)
}

/// The index as an LHV1 snapshot frame: everything acknowledged before the
/// call, nothing half-applied.
pub(crate) async fn export_snapshot(state: &AppState, name: &str) -> Result<Vec<u8>, ApiError> {
    Ok(index(state, name)?.export_snapshot().await?)
}

/// A new index from an LHV1 snapshot frame, durable when it returns.
pub(crate) async fn import_snapshot(
    state: &AppState,
    name: &str,
    frame: axum::body::Bytes,
) -> Result<Arc<DurableIndex>, ApiError> {
    Ok(state.catalog.create_from_snapshot(name, frame).await?)
}

//! The internal route: another member's call on shards held here.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::execute::execute;
use super::wire::{ShardCall, ShardReply};
use crate::error::ApiError;
use crate::http::extract::JsonBody;
use crate::state::AppState;

/// `POST /internal/v1/shards`: runs the call on the shards it names, all
/// held here (503 if one moved, 404 if the incarnation is gone); a strong
/// call first catches this process's replicas of the index up.
pub(crate) async fn shards(
    State(state): State<AppState>,
    JsonBody(call): JsonBody<ShardCall>,
) -> Result<Json<ShardReply>, ApiError> {
    let Some(routing) = state.routing.clone() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "this process is not in an etcd cluster"));
    };
    let node = routing.node();
    // The caller saw this incarnation; a member that does not know it has
    // not seen it yet (its watch lags) or saw it dropped: the caller looks again.
    let lagging = |error: lhv_store::Error| match error {
        lhv_store::Error::IndexNotFound { name } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster_changed",
            format!(
                "this member does not know incarnation {} of index {name:?} (yet, or any more); retry",
                call.incarnation
            ),
        ),
        other => other.into(),
    };
    // Catch up first: a replica reloaded by the catch-up replaces the shard
    // in the held map, and the part must be made of the caught-up one.
    if call.strong {
        node.sync(&call.index).await.map_err(lagging)?;
    }
    let part = node.part(&call.index, &call.incarnation, &call.shards).map_err(lagging)?;
    Ok(Json(execute(&state, Arc::new(part), call.op).await?))
}

//! `GET /v1/cluster`: who writes what.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Reply;
use crate::state::AppState;

/// This member and, per index, its writer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterAnswer {
    /// Whether this process is a cluster member.
    pub clustered: bool,
    /// The URL the other members reach this one at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Each index's writer, as its lease says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexes: Option<Vec<IndexWriterInfo>>,
}

/// An index's writer.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexWriterInfo {
    /// The index.
    pub name: String,
    /// The address in its lease, if it has an unexpired one.
    pub writer: Option<String>,
    /// The lease's epoch (0: no lease yet).
    pub epoch: u64,
    /// Whether this process is the writer.
    pub local: bool,
    /// The last sequence number this process has applied, summed over the shards.
    pub sequence: u64,
}

/// `GET /v1/cluster`: this member, and for each index its writer as the lease says.
#[utoipa::path(get, path = "/v1/cluster", operation_id = "cluster_status", responses((status = 200, description = "`{\"clustered\": false}` outside a cluster; else this member's `address` and, per index, its `writer`, lease `epoch`, whether it is `local`, and the `sequence` applied here", body = ClusterAnswer)))]
pub(crate) async fn status(State(state): State<AppState>) -> Reply<ClusterAnswer> {
    let Some(cluster) = &state.config.cluster else {
        return Ok(Json(ClusterAnswer { clustered: false, address: None, indexes: None }));
    };
    let indexes = state
        .catalog
        .writers()
        .await?
        .into_iter()
        .map(|index| IndexWriterInfo {
            local: index.writer.as_deref() == Some(cluster.address.as_str()),
            name: index.name,
            writer: index.writer,
            epoch: index.epoch,
            sequence: index.sequence,
        })
        .collect();
    Ok(Json(ClusterAnswer { clustered: true, address: Some(cluster.address.clone()), indexes: Some(indexes) }))
}

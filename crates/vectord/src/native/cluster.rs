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
    /// Each index's writer, as its lease says (a cluster over S3 leases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexes: Option<Vec<IndexWriterInfo>>,
    /// This member's name (a cluster on etcd).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The member acting as controller (a cluster on etcd).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// The live members, as this one sees them (a cluster on etcd).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberInfo>>,
    /// Where each shard of each index is (a cluster on etcd).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<ShardInfo>>,
}

/// A member of a cluster on etcd.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberInfo {
    /// Its name.
    pub name: String,
    /// Where it answers.
    pub address: String,
    /// Bytes of shards the controller may place on it.
    pub memory_budget: u64,
    /// Bytes its loaded shards take, as it last reported.
    pub held_bytes: u64,
    /// How many shards it holds, as it last reported.
    pub held_shards: usize,
}

/// One shard of an index of a cluster on etcd.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShardInfo {
    /// The index.
    pub index: String,
    /// The shard's number.
    pub shard: u32,
    /// The member that writes it.
    pub writer: String,
    /// The members that follow it.
    pub replicas: Vec<String>,
    /// The writer's token (the placement's etcd revision).
    pub token: i64,
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
        return Ok(Json(ClusterAnswer { clustered: false, ..ClusterAnswer::none() }));
    };
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        return Ok(Json(on_etcd(routing.node(), &cluster.address)));
    }
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
    Ok(Json(ClusterAnswer {
        clustered: true,
        address: Some(cluster.address.clone()),
        indexes: Some(indexes),
        ..ClusterAnswer::none()
    }))
}

impl ClusterAnswer {
    fn none() -> Self {
        Self {
            clustered: false,
            address: None,
            indexes: None,
            node: None,
            controller: None,
            members: None,
            shards: None,
        }
    }
}

/// A member of a cluster on etcd: the members and the placement as its view has them.
#[cfg(feature = "cluster")]
fn on_etcd(node: &lhv_store::node::Node, address: &str) -> ClusterAnswer {
    let view = node.view();
    let members = view
        .members
        .iter()
        .map(|(name, member)| {
            let load = view.loads.get(name);
            MemberInfo {
                name: name.clone(),
                address: member.address.clone(),
                memory_budget: member.memory_budget,
                held_bytes: load.map_or(0, |load| load.shards.values().map(|shard| shard.bytes).sum()),
                held_shards: load.map_or(0, |load| load.shards.len()),
            }
        })
        .collect();
    let mut shards = Vec::new();
    for (name, (record, _)) in &view.indexes {
        for shard in 0..record.shards {
            if let Some((placement, token)) = view.placements.get(&(record.incarnation.clone(), shard)) {
                shards.push(ShardInfo {
                    index: name.clone(),
                    shard,
                    writer: placement.writer.clone(),
                    replicas: placement.replicas.clone(),
                    token: *token,
                });
            }
        }
    }
    ClusterAnswer {
        clustered: true,
        address: Some(address.to_owned()),
        node: Some(node.name().to_owned()),
        controller: view.controller.clone(),
        members: Some(members),
        shards: Some(shards),
        indexes: None,
    }
}

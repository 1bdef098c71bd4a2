//! `GET /v1/cluster`: the members of an etcd cluster and who writes what.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Reply;
use crate::state::AppState;

/// This member, the members it sees and, per shard, its writer and replicas.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterAnswer {
    /// Whether this process is a cluster member.
    pub clustered: bool,
    /// The URL the other members reach this one at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
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

/// `GET /v1/cluster`: this member, the members it sees, and where each shard of each index is.
#[utoipa::path(get, path = "/v1/cluster", operation_id = "cluster_status", responses((status = 200, description = "`{\"clustered\": false}` outside a cluster; on a member of a cluster on etcd, its `address` and `node` name, the `controller`, the live `members` (address, memory budget, bytes and shards held) and each shard's `writer`, `replicas` and `token`", body = ClusterAnswer)))]
pub(crate) async fn status(State(state): State<AppState>) -> Reply<ClusterAnswer> {
    #[cfg(feature = "cluster")]
    if let (Some(routing), Some(cluster)) = (&state.routing, &state.config.cluster) {
        return Ok(Json(on_etcd(routing.node(), &cluster.address)));
    }
    #[cfg(not(feature = "cluster"))]
    let _ = state;
    Ok(Json(ClusterAnswer {
        clustered: false,
        address: None,
        node: None,
        controller: None,
        members: None,
        shards: None,
    }))
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
    }
}

//! The set of indexes: created, dropped and listed in the catalog, or, in
//! an etcd cluster, through the control plane (every member sees the change).

use lhv_core::IndexParams;

use crate::error::ApiError;
use crate::state::AppState;

/// Whether this process is a member of an etcd cluster.
pub(crate) fn is_clustered(state: &AppState) -> bool {
    #[cfg(feature = "cluster")]
    if state.routing.is_some() {
        return true;
    }
    let _ = state;
    false
}

/// Creates index `name` of `shards` shards (in a cluster, of `replication`
/// copies each, the cluster's default if None).
pub(crate) async fn create_index(
    state: &AppState,
    name: &str,
    params: IndexParams,
    shards: usize,
    replication: Option<u32>,
) -> Result<(), ApiError> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        routing.create(name, params, shards, replication).await?;
        return Ok(());
    }
    let _ = replication;
    state.catalog.create_sharded(name, params, shards).await?;
    Ok(())
}

/// Drops index `name`.
pub(crate) async fn drop_index(state: &AppState, name: &str) -> lhv_store::Result<()> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        return routing.drop_index(name).await;
    }
    state.catalog.drop_index(name).await
}

/// The indexes' names, in order (loading and unavailable ones included).
pub(crate) async fn index_names(state: &AppState) -> Vec<String> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        return routing.names().await;
    }
    state.catalog.list().into_iter().map(|status| status.name).collect()
}

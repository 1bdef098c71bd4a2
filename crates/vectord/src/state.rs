//! What every request handler shares.

use std::sync::Arc;

use lhv_store::Catalog;

use crate::config::Config;
use crate::metrics::Metrics;

/// The service's shared state.
#[derive(Clone)]
pub struct AppState {
    /// The durable indexes.
    pub catalog: Arc<Catalog>,
    /// The effective settings.
    pub config: Arc<Config>,
    /// Counters for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// This process's part in an etcd cluster (`--etcd`): indexes are
    /// routed to their shards' holders instead of the catalog.
    #[cfg(feature = "cluster")]
    pub routing: Option<Arc<crate::routing::Routing>>,
}

impl AppState {
    /// The index `name` stands for: the one an alias `name` names, else
    /// `name` itself (in a cluster, as this member's view of etcd has them).
    pub(crate) fn resolve_alias(&self, name: &str) -> String {
        #[cfg(feature = "cluster")]
        if let Some(routing) = &self.routing {
            return routing.node().resolve(name);
        }
        self.catalog.resolve(name)
    }
}

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

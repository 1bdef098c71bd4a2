//! A cluster coordinated by etcd (`--etcd`): this process is a
//! [`Node`] holding the shards placed on it, and routes every request on an
//! index to its shards' holders, wherever they are.
//!
//! - A read goes to one holder of each shard (this process for the shards it
//!   holds), one call per holder covering all its shards; the parts are
//!   merged as `ShardedIndex` merges its shards in one process (hits by
//!   distance then id, ids in id order, counts added up). A holder that does
//!   not answer, or no longer holds a shard, is replaced by another holder
//!   of it, and the read goes on.
//! - A write is checked whole here, split by shard, and each part sent to
//!   its shard's writer; a part whose writer changed (failover, rebalancing)
//!   is sent again to the new writer once the placement says who it is.
//! - A strong read makes each holder catch its replicas up to their
//!   writers' committed heads first (one head read per shard).
//!
//! Members call each other on one internal route, [`wire::SHARDS_PATH`],
//! which takes the cluster's secret and no API key.

mod call;
mod dispatch;
mod execute;
mod hedge;
mod index;
mod serve;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use lhv_core::IndexParams;
use lhv_store::Store;
use lhv_store::control::{ControlPlane, IndexRecord};
use lhv_store::member::ShardOptions;
use lhv_store::node::{Node, NodeOptions};

pub(crate) use self::index::RoutedIndex;
pub(crate) use self::serve::shards as serve_shards;
use crate::config::{ClusterConfig, EtcdConfig, Secret};
use crate::error::ApiError;
use crate::state::AppState;

/// This process's part in an etcd cluster.
#[derive(Debug)]
pub(crate) struct Routing {
    node: Arc<Node>,
    client: reqwest::Client,
    secret: Secret,
    replication: u32,
}

impl Routing {
    /// Joins the cluster `etcd` describes over `store`.
    pub(crate) async fn start(
        cluster: &ClusterConfig,
        etcd: &EtcdConfig,
        store: Arc<dyn Store>,
        snapshot_log_bytes: u64,
        client: reqwest::Client,
    ) -> Result<Arc<Self>, String> {
        let control = ControlPlane::connect(&etcd.endpoints, &etcd.prefix)
            .await
            .map_err(|e| format!("cannot reach etcd at {:?}: {e}", etcd.endpoints))?;
        let lease_ttl = Duration::from_millis(cluster.lease_ttl_ms);
        let options = NodeOptions {
            name: etcd.node_name.clone(),
            address: cluster.address.clone(),
            memory_budget: etcd.memory_budget,
            lease_ttl,
            // A write starts only while the membership holds for a third of its length more.
            shards: ShardOptions { snapshot_log_bytes, write_margin: lease_ttl / 3, ..ShardOptions::default() },
            tick: Duration::from_millis(200),
            max_moves: 2,
        };
        let node = Node::start(control, store, options).await.map_err(|e| format!("cannot join the cluster: {e}"))?;
        tracing::info!(node = %etcd.node_name, endpoints = ?etcd.endpoints, "joined the cluster");
        Ok(Arc::new(Self { node, client, secret: etcd.secret.clone(), replication: etcd.replication }))
    }

    /// The node.
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Index `name` as routing sees it now; one this member has not seen
    /// yet (created through another a moment ago) is looked up in etcd and
    /// waited for.
    pub(crate) async fn index(self: &Arc<Self>, state: &AppState, name: &str) -> Result<RoutedIndex, ApiError> {
        match RoutedIndex::new(state.clone(), Arc::clone(self), name) {
            Err(error) if error.code == "index_not_found" => {
                self.node.await_index(name, Duration::from_secs(2)).await?;
                RoutedIndex::new(state.clone(), Arc::clone(self), name)
            }
            other => other,
        }
    }

    /// Creates index `name` with `shards` shards of `replication` copies
    /// (the cluster's default if None).
    pub(crate) async fn create(
        &self,
        name: &str,
        params: IndexParams,
        shards: usize,
        replication: Option<u32>,
    ) -> Result<IndexRecord, ApiError> {
        let shards = u32::try_from(shards).map_err(|_| ApiError::bad_request("too many shards"))?;
        let record = self.node.create_index(name, params, shards, replication.unwrap_or(self.replication)).await?;
        self.until_seen(|node| node.route(name).is_ok_and(|(seen, _)| seen.incarnation == record.incarnation)).await;
        Ok(record)
    }

    /// Creates index `name` from an LHV1 frame, of one shard (`reshard`
    /// doubles it) and the cluster's replication; waits until this node sees it.
    pub(crate) async fn create_from_snapshot(&self, name: &str, frame: axum::body::Bytes) -> lhv_store::Result<()> {
        let record = self.node.create_index_from_snapshot(name, frame, 1, self.replication).await?;
        self.until_seen(|node| node.route(name).is_ok_and(|(seen, _)| seen.incarnation == record.incarnation)).await;
        Ok(())
    }

    /// Drops index `name`.
    pub(crate) async fn drop_index(&self, name: &str) -> lhv_store::Result<()> {
        self.node.drop_index(name).await?;
        self.until_seen(|node| node.route(name).is_err()).await;
        Ok(())
    }

    /// Doubles the shards of index `name` and waits until this node's view
    /// shows the new incarnation: its record.
    pub(crate) async fn reshard(&self, name: &str) -> lhv_store::Result<lhv_store::control::IndexRecord> {
        let record = self.node.reshard(name).await?;
        self.until_seen(|node| node.route(name).is_ok_and(|(seen, _)| seen.incarnation == record.incarnation)).await;
        Ok(record)
    }

    /// Applies alias changes in order, all or none, and waits until this
    /// node's view shows them.
    pub(crate) async fn change_aliases(&self, changes: &[lhv_store::AliasChange]) -> lhv_store::Result<()> {
        let revision = self.node.change_aliases(changes).await?;
        self.until_seen(|node| node.revision() >= revision).await;
        Ok(())
    }

    /// Waits (briefly: the watch brings etcd's changes within milliseconds)
    /// until this node's view shows what it just changed, so that the
    /// client's next request here sees it.
    async fn until_seen(&self, seen: impl Fn(&Node) -> bool) {
        let started = std::time::Instant::now();
        while !seen(&self.node) && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The live indexes' names, in order (as etcd has them).
    pub(crate) async fn names(&self) -> Vec<String> {
        self.node.index_names().await
    }

    /// Leaves the cluster (the controller moves this process's shards at once).
    pub(crate) async fn leave(&self) {
        if let Err(error) = self.node.stop().await {
            tracing::warn!(%error, "could not leave the cluster; its lease will expire");
        }
    }
}

//! A process of a cluster: a member of the control plane that loads the
//! shards placed on it, follows or writes them, reports what it holds, and
//! takes its turn as controller.
//!
//! Four background loops, each driven by the watch on the cluster's keys
//! (and a tick, to retry what failed):
//! - **watch**: keeps the [`ClusterView`] current; a shard head moved by its
//!   writer makes the replicas here catch up (no polling of object storage);
//!   a broken watch lists everything again.
//! - **reconcile**: opens the shards newly placed here, unloads those placed
//!   elsewhere, and hands each its writer token (a new writer claims the head
//!   at once, which fences its predecessor).
//! - **report**: publishes the held shards' sizes and log positions (the
//!   controller's input) and each written shard's committed head.
//! - **control**: if this member is (or becomes) the controller, applies the
//!   [`plan`](crate::controller::plan) for the current view.
//! - **membership**: a membership lost for good (etcd away longer than the
//!   lease, or the process paused) is joined anew, and every shard is
//!   loaded again under it: whatever was placed here meanwhile moved, and
//!   the controller places shards on the member again as on any new one.
//!
//! Without etcd a node goes on serving reads from what it holds; its writes
//! stop once its membership lease may have expired (answered with
//! [`Error::NotWriter`]) and resume when it is back.

mod aliases;
mod import;
mod loops;
mod reshard;
mod view;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lhv_core::{IndexParams, MAX_SHARDS};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::view::ClusterView;
use crate::control::{ControlPlane, IndexRecord, MemberRecord, Membership};
use crate::controller::ShardKey;
use crate::durable::DurableIndex;
use crate::error::{Error, Result};
use crate::layout::validate_name;
use crate::member::{
    ClusterShard, Followed, ShardOptions, create_incarnation, fence_incarnation, member_index, remove_incarnation,
};
use crate::store::Store;

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Its name in the cluster (unique among live members).
    pub name: String,
    /// Where its HTTP API answers, for the others to route to.
    pub address: String,
    /// How many bytes of shards the controller places on it.
    pub memory_budget: u64,
    /// Its membership lease (etcd expires it this long after the last keep-alive).
    pub lease_ttl: Duration,
    /// How its shards are kept.
    pub shards: ShardOptions,
    /// How often it reports, plans (as controller) and retries what failed.
    pub tick: Duration,
    /// Most placement changes per planning round (rebalancing moves).
    pub max_moves: usize,
}

/// One shard of an index as routing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRoute {
    /// The writer's node name and address (None while unplaced or its member is gone).
    pub writer: Option<(String, String)>,
    /// Live replicas' node names and addresses.
    pub replicas: Vec<(String, String)>,
    /// The placement's token.
    pub token: i64,
}

/// The shards loaded here, shared with the tasks that reload them.
type Held = Arc<parking_lot::RwLock<BTreeMap<ShardKey, Arc<ClusterShard>>>>;

/// A running node.
#[derive(Debug)]
pub struct Node {
    options: NodeOptions,
    control: ControlPlane,
    store: Arc<dyn Store>,
    /// The current membership; replaced when a lost one is joined anew.
    membership: parking_lot::RwLock<Arc<Membership>>,
    view: parking_lot::RwLock<ClusterView>,
    held: Held,
    /// Bumped whenever the view changes.
    changes: watch::Sender<u64>,
    tasks: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

impl Node {
    /// Joins the cluster behind `control` over `store` and starts the loops.
    pub async fn start(control: ControlPlane, store: Arc<dyn Store>, options: NodeOptions) -> Result<Arc<Self>> {
        let record = MemberRecord { address: options.address.clone(), memory_budget: options.memory_budget };
        let membership = Arc::new(control.join(&options.name, &record, options.lease_ttl).await?);
        let (changes, revision) = control.everything().await?;
        let view = ClusterView::from_listing(&changes, revision)?;
        let node = Arc::new(Self {
            options,
            control,
            store,
            membership: parking_lot::RwLock::new(membership),
            view: parking_lot::RwLock::new(view),
            held: Arc::new(parking_lot::RwLock::new(BTreeMap::new())),
            changes: watch::channel(0).0,
            tasks: parking_lot::Mutex::new(Vec::new()),
        });
        let tasks = vec![
            tokio::spawn(Arc::clone(&node).watch_loop()),
            tokio::spawn(Arc::clone(&node).reconcile_loop()),
            tokio::spawn(Arc::clone(&node).report_loop()),
            tokio::spawn(Arc::clone(&node).control_loop()),
            tokio::spawn(Arc::clone(&node).membership_loop()),
        ];
        *node.tasks.lock() = tasks;
        Ok(node)
    }

    /// The membership now (a lost one is replaced by the membership loop).
    fn membership(&self) -> Arc<Membership> {
        Arc::clone(&self.membership.read())
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.options.name
    }

    /// The cluster as this node sees it now.
    pub fn view(&self) -> ClusterView {
        self.view.read().clone()
    }

    /// The shards loaded here: each with the token it writes under, if it is the writer.
    pub fn held(&self) -> BTreeMap<ShardKey, Option<u64>> {
        self.held.read().iter().map(|(key, shard)| (key.clone(), shard.writer_token())).collect()
    }

    /// Leaves the cluster: the loops stop, the membership lease is revoked
    /// (the controller moves this node's shards at once) and writes stop.
    pub async fn stop(&self) -> Result<()> {
        self.halt();
        let membership = self.membership();
        membership.leave().await
    }

    /// Stops everything without leaving, as a crash does: the membership
    /// expires on etcd's clock and writes stop here at once.
    pub fn halt(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        self.membership().stop();
    }

    /// Creates index `name`: its empty shards in object storage under a
    /// fresh incarnation first (keys no other incarnation has, so a losing
    /// racer harms nobody), then the catalog record in one etcd
    /// transaction, which only one of any number of racers wins
    /// ([`Error::IndexExists`] for the others, whose objects are removed).
    pub async fn create_index(
        &self,
        name: &str,
        params: IndexParams,
        shards: u32,
        replication: u32,
    ) -> Result<IndexRecord> {
        validate_name(name)?;
        params.validate()?;
        check_shape(shards, replication)?;
        let record = IndexRecord::new(params.clone(), shards, replication);
        create_incarnation(self.store.as_ref(), &record.incarnation, params, shards).await?;
        if let Err(error) = self.control.create_index(name, &record).await {
            if let Err(cleanup) = remove_incarnation(self.store.as_ref(), &record.incarnation).await {
                tracing::warn!(incarnation = %record.incarnation, %cleanup, "could not remove a losing create's objects");
            }
            return Err(error);
        }
        Ok(record)
    }

    /// Drops index `name`: marks it (a revision larger than every token it
    /// had), fences every shard head with that revision (no writer of it can
    /// commit after this), removes its record and placement, then its objects.
    pub async fn drop_index(&self, name: &str) -> Result<()> {
        let Some((record, _)) = self.control.index(name).await? else {
            return Err(Error::IndexNotFound { name: name.to_owned() });
        };
        let token = self.control.mark_dropping(name, &record.incarnation).await?;
        fence_incarnation(self.store.as_ref(), &record.incarnation, record.shards, token.unsigned_abs()).await?;
        self.control.remove_index(name, &record.incarnation).await?;
        // Its aliases go with it (listings leave out any that a failure here
        // leaves behind, naming no live index).
        if let Err(error) = self.control.drop_aliases_of(name).await {
            tracing::warn!(%error, index = name, "could not remove the aliases of a dropped index");
        }
        remove_incarnation(self.store.as_ref(), &record.incarnation).await
    }

    /// Brings every shard of index `name` held here up to what its writer
    /// has committed (one head read per shard), for a read that must see
    /// every acknowledged write: the head, not a clock, says what that is.
    pub async fn sync(&self, name: &str) -> Result<()> {
        let incarnation = match self.view.read().live_index(name) {
            Some((record, _)) => record.incarnation.clone(),
            None => return Err(Error::IndexNotFound { name: name.to_owned() }),
        };
        // Every held shard, writers included: a writer the controller has
        // just demoted (this node's reconcile has not taken its token yet)
        // would otherwise answer from before its successor's commits. For
        // the current writer the head read finds nothing new.
        let held: Vec<(ShardKey, Arc<ClusterShard>)> = self
            .held
            .read()
            .iter()
            .filter(|((inc, _), _)| *inc == incarnation)
            .map(|(key, shard)| (key.clone(), Arc::clone(shard)))
            .collect();
        for (key, shard) in held {
            follow(&self.held, Arc::clone(&self.store), self.membership(), &self.options.shards, key, &shard).await?;
        }
        Ok(())
    }

    /// The live indexes' names, in order, as etcd has them now (one created
    /// through another node a moment ago included); without etcd, as this
    /// node's view last had them.
    pub async fn index_names(&self) -> Vec<String> {
        match self.control.indexes().await {
            Ok((records, _)) => records
                .into_iter()
                .filter(|(_, record, _)| record.state != crate::control::IndexState::Dropping)
                .map(|(name, _, _)| name)
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "listing the indexes from this node's view: etcd does not answer");
                let view = self.view.read();
                view.indexes.keys().filter(|name| view.live_index(name).is_some()).cloned().collect()
            }
        }
    }

    /// Waits (up to `patience`) until this node's view holds index `name`
    /// as etcd has it now: a request through this node just after another
    /// created the index would otherwise find none here (the watch takes
    /// milliseconds). [`Error::IndexNotFound`] if etcd has no such index.
    pub async fn await_index(&self, name: &str, patience: Duration) -> Result<()> {
        let Some((record, _)) = self.control.index(name).await? else {
            return Err(Error::IndexNotFound { name: name.to_owned() });
        };
        let started = std::time::Instant::now();
        loop {
            let seen = self.view.read().live_index(name).is_some_and(|(r, _)| r.incarnation == record.incarnation);
            if seen || started.elapsed() > patience {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Index `name`'s record and where each of its shards is.
    pub fn route(&self, name: &str) -> Result<(IndexRecord, Vec<ShardRoute>)> {
        let view = self.view.read();
        let Some((record, _)) = view.live_index(name) else {
            return Err(Error::IndexNotFound { name: name.to_owned() });
        };
        let address = |node: &String| view.members.get(node).map(|m| (node.clone(), m.address.clone()));
        let routes = (0..record.shards)
            .map(|shard| match view.placements.get(&(record.incarnation.clone(), shard)) {
                Some((placement, token)) => ShardRoute {
                    writer: address(&placement.writer),
                    replicas: placement.replicas.iter().filter_map(address).collect(),
                    token: *token,
                },
                None => ShardRoute { writer: None, replicas: Vec::new(), token: 0 },
            })
            .collect();
        Ok((record.clone(), routes))
    }

    /// The part of index `name` loaded here (its shards placed on this
    /// node), as one index answering for them; None if none is loaded.
    pub fn local(&self, name: &str) -> Result<Option<DurableIndex>> {
        let record = match self.view.read().live_index(name) {
            Some((record, _)) => record.clone(),
            None => return Err(Error::IndexNotFound { name: name.to_owned() }),
        };
        let held = self.held.read();
        let shards: Vec<&ClusterShard> =
            held.iter().filter(|((inc, _), _)| *inc == record.incarnation).map(|(_, shard)| shard.as_ref()).collect();
        if shards.is_empty() {
            return Ok(None);
        }
        member_index(name, record.shards, &shards).map(Some)
    }

    /// Shards `numbers` of incarnation `incarnation` of index `name`, all
    /// loaded here, as one index answering for them (what a router asks of
    /// this node). [`Error::IndexNotFound`] if the index is gone or is now
    /// another incarnation; [`Error::Unavailable`] if a shard is not held
    /// here (it moved: the router looks again).
    pub fn part(&self, name: &str, incarnation: &str, numbers: &[u32]) -> Result<DurableIndex> {
        let record = match self.view.read().live_index(name) {
            Some((record, _)) if record.incarnation == incarnation => record.clone(),
            _ => return Err(Error::IndexNotFound { name: name.to_owned() }),
        };
        // The caller may name the shards in any order; the part is built in
        // shard order (a repeated number is still refused by `member_index`).
        let mut numbers = numbers.to_vec();
        numbers.sort_unstable();
        let held = self.held.read();
        let mut shards: Vec<&ClusterShard> = Vec::with_capacity(numbers.len());
        for number in &numbers {
            match held.get(&(record.incarnation.clone(), *number)) {
                Some(shard) => shards.push(shard.as_ref()),
                None => {
                    return Err(Error::Unavailable {
                        name: name.to_owned(),
                        reason: format!("shard {number} is not held by node {}: it moved; retry", self.name()),
                    });
                }
            }
        }
        member_index(name, record.shards, &shards)
    }

    fn bump(&self) {
        self.changes.send_modify(|count| *count += 1);
    }

    async fn watch_loop(self: Arc<Self>) {
        loop {
            let from = self.view.read().revision + 1;
            match self.control.watch(from).await {
                Ok(mut watch) => loop {
                    match watch.next().await {
                        Ok(changes) if changes.is_empty() => {}
                        Ok(changes) => self.take(&changes),
                        Err(error) => {
                            tracing::warn!(%error, "the cluster watch broke; listing again");
                            break;
                        }
                    }
                },
                Err(error) => tracing::warn!(%error, "cannot watch the cluster"),
            }
            tokio::time::sleep(self.options.tick).await;
            match self.control.everything().await.and_then(|(all, rev)| ClusterView::from_listing(&all, rev)) {
                Ok(view) => {
                    *self.view.write() = view;
                    self.bump();
                    self.catch_up(self.held.read().keys().cloned().collect());
                }
                Err(error) => tracing::warn!(%error, "cannot list the cluster"),
            }
        }
    }

    /// Applies watched changes to the view; replicas of a shard whose head moved catch up.
    fn take(&self, changes: &[crate::control::Change]) {
        let mut moved = Vec::new();
        {
            let mut view = self.view.write();
            for change in changes {
                if let Err(error) = view.apply(change) {
                    tracing::warn!(%error, "a control-plane record does not decode; left out of the view");
                }
                if let Some((incarnation, shard)) =
                    change.key.strip_prefix("heads/").and_then(|rest| rest.split_once('/'))
                    && let Ok(shard) = shard.parse()
                {
                    moved.push((incarnation.to_owned(), shard));
                }
            }
        }
        self.bump();
        self.catch_up(moved);
    }

    /// Replicas among `keys` read their logs forward, in the background; one
    /// a snapshot overtook is opened again.
    fn catch_up(&self, keys: Vec<ShardKey>) {
        let held = self.held.read();
        for key in keys {
            let Some(shard) = held.get(&key).filter(|s| s.writer_token().is_none()).cloned() else { continue };
            let (store, membership, options) =
                (Arc::clone(&self.store), self.membership(), self.options.shards.clone());
            let map = Arc::clone(&self.held);
            tokio::spawn(async move {
                if let Err(error) = follow(&map, store, membership, &options, key.clone(), &shard).await {
                    tracing::warn!(%error, incarnation = %key.0, shard = key.1, "a replica could not catch up");
                }
            });
        }
    }
}

/// Brings replica `shard` (held at `key`) up to its writer's head; one a
/// snapshot overtook is loaded again and takes its place, unless the shard
/// was unloaded or replaced meanwhile.
async fn follow(
    held: &Held,
    store: Arc<dyn Store>,
    membership: Arc<Membership>,
    options: &ShardOptions,
    key: ShardKey,
    shard: &Arc<ClusterShard>,
) -> Result<()> {
    let Followed::Reload(reason) = shard.catch_up().await? else { return Ok(()) };
    tracing::info!(incarnation = %key.0, shard = key.1, %reason, "loading a replica again");
    let fresh = Arc::new(ClusterShard::open(store, &key.0, key.1, membership, options).await?);
    let mut held = held.write();
    // Only in place of the shard it reloads: if the membership was joined
    // anew meanwhile, that one was unloaded, and `membership` is the lost one.
    if held.get(&key).is_some_and(|current| Arc::ptr_eq(current, shard)) {
        held.insert(key, fresh);
    }
    Ok(())
}

/// Refuses a shard count or replication an index cannot have.
fn check_shape(shards: u32, replication: u32) -> Result<()> {
    if shards == 0 || shards as usize > MAX_SHARDS || replication == 0 {
        return Err(Error::Index(lhv_core::Error::InvalidParameter {
            name: "shards",
            value: format!("{shards} shards, replication {replication}"),
            allowed: "1..=64 shards, replication at least 1",
        }));
    }
    Ok(())
}

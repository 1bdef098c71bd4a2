//! Several processes over one bucket: the bucket is the system of record,
//! each index has one writer at a time (the holder of its lease), and every
//! other process serves it as a replica that follows its log objects.
//!
//! Objects (besides the indexes' own, see `layout.rs`):
//!
//! | key | content |
//! |---|---|
//! | `_cluster/leases/<index>` | the index's [`Lease`] record: its writer's address, epoch, expiry |
//! | `_cluster/members/<hash of address>` | `{"address", "seen_at_ms"}`, rewritten at every lease round |
//!
//! A process holds at most its share of the indexes (their number over the
//! live members, rounded up), so that writers spread over the processes: it
//! takes free leases up to its share and hands back one lease per round
//! above it. A lease that expires (its holder died) is taken by another
//! process at its next round, which reads the log to its end before it writes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::fence::Fence;
use crate::follow::CaughtUp;
use crate::lease::{Attempt, Lease, LeaseRecord};

const LEASES: &str = "_cluster/leases";
const MEMBERS: &str = "_cluster/members";

/// Milliseconds since the Unix epoch, from a clock the caller chooses (tests
/// move time by hand).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system's wall clock. Lease expiries compare wall-clock times of
    /// different processes, so their clocks must agree to well within
    /// [`ClusterOptions::lease_margin_ms`] (NTP does).
    pub fn system() -> Self {
        Self(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        }))
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The time now.
    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// How a [`Catalog`] takes part in a cluster of processes sharing its bucket.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// How the other processes reach this one (`http://host:port`): its name
    /// in leases and in the member list.
    pub address: String,
    /// How long a lease holds without renewal: the longest a dead writer's
    /// indexes go without one.
    pub lease_ttl_ms: u64,
    /// A write starts only if the lease holds at least this much longer, and
    /// leases are renewed this long before they expire.
    pub lease_margin_ms: u64,
    /// The clock leases are measured with.
    pub clock: Clock,
}

impl ClusterOptions {
    /// A member reached at `address`, with a 3 s lease renewed every ~0.75 s.
    pub fn new(address: impl Into<String>) -> Self {
        Self { address: address.into(), lease_ttl_ms: 3_000, lease_margin_ms: 1_000, clock: Clock::system() }
    }
}

/// Where a write to an index goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This process is the writer.
    Local,
    /// The process at this address is.
    Remote(String),
}

/// Who writes an index, as [`Catalog::writers`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexWriter {
    /// The index.
    pub name: String,
    /// The address in its lease, if it has an unexpired one.
    pub writer: Option<String>,
    /// The lease's epoch (0: no lease yet).
    pub epoch: u64,
    /// The last sequence number this process has applied, summed over the shards.
    pub sequence: u64,
}

/// A member's entry in the bucket.
#[derive(Debug, Serialize, Deserialize)]
struct Member {
    address: String,
    seen_at_ms: u64,
    /// How many leases it held at that time.
    #[serde(default)]
    holding: usize,
}

/// The cluster side of a catalog: its options and one fence per index.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) options: ClusterOptions,
    fences: parking_lot::Mutex<BTreeMap<String, Arc<Fence>>>,
}

impl Cluster {
    pub(crate) fn new(options: ClusterOptions) -> Self {
        Self { options, fences: parking_lot::Mutex::new(BTreeMap::new()) }
    }

    /// The fence of index `name` (one per index, shared by its shards).
    pub(crate) fn fence(&self, name: &str) -> Arc<Fence> {
        let mut fences = self.fences.lock();
        let fence = fences
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Fence::new(name.to_owned(), lease_key(name), self.options.address.clone())));
        Arc::clone(fence)
    }

    pub(crate) fn forget(&self, name: &str) {
        self.fences.lock().remove(name);
    }

    fn held(&self) -> Vec<(String, Arc<Fence>)> {
        self.fences.lock().iter().map(|(n, f)| (n.clone(), Arc::clone(f))).collect()
    }
}

/// The lease object of index `name`.
pub(crate) fn lease_key(name: &str) -> String {
    format!("{LEASES}/{}", crate::layout::key_name(name))
}

impl Catalog {
    /// Whether this catalog is a member of a cluster.
    pub fn is_clustered(&self) -> bool {
        self.cluster.is_some()
    }

    /// Where writes to index `name` go: this process, or the writer's
    /// address. If the lease is free or has expired, this process takes it
    /// now (and reads the log to its end first). Without a cluster: always local.
    pub async fn route(&self, name: &str) -> Result<Route> {
        let Some(cluster) = &self.cluster else { return Ok(Route::Local) };
        let durable = self.get(name)?;
        let fence = cluster.fence(name);
        let options = &cluster.options;
        if fence.writable_epoch(options.clock.now_ms(), options.lease_margin_ms).is_ok() {
            return Ok(Route::Local);
        }
        match Lease::read(self.store.as_ref(), fence.key()).await? {
            Some(record) if record.holder != options.address && options.clock.now_ms() < record.expires_at_ms => {
                Ok(Route::Remote(record.holder))
            }
            _ => match self.take_lease(&durable, &fence).await? {
                None => Ok(Route::Local),
                Some(holder) => Ok(Route::Remote(holder)),
            },
        }
    }

    /// Tries to become the writer of `durable`; `Some(holder)` if another
    /// process is. On success every shard reads the log to its end before
    /// its next write.
    async fn take_lease(&self, durable: &crate::DurableIndex, fence: &Arc<Fence>) -> Result<Option<String>> {
        let Some(cluster) = &self.cluster else { return Ok(None) };
        let options = &cluster.options;
        let attempt = Lease::acquire(
            self.store.as_ref(),
            fence.key(),
            fence.holder(),
            options.clock.now_ms(),
            options.lease_ttl_ms,
        )
        .await?;
        match attempt {
            Attempt::HeldBy(record) => Ok(Some(record.holder)),
            Attempt::Acquired(lease) => {
                tracing::info!(index = %durable.name(), epoch = lease.epoch(), "took the lease: this process writes the index");
                fence.set(Some(lease));
                // Read to the end and claim every shard's head now rather than at the first write.
                let mut reload = false;
                for shard in durable.shards() {
                    let mut state = shard.commit.lock().await;
                    if let Err(error) = shard.prepare_write(&mut state).await {
                        tracing::warn!(index = %durable.name(), %error, "could not claim the log yet");
                    }
                    reload |= shard.needs_reload.load(std::sync::atomic::Ordering::Acquire);
                }
                if reload {
                    self.reload(durable.name()).await?;
                }
                Ok(None)
            }
        }
    }

    /// One round of lease upkeep: registers this member, renews the leases it
    /// holds (dropping any another process took over), and takes free or
    /// expired ones up to its share. Run it every quarter lease or so.
    pub async fn maintain_leases(&self) -> Result<()> {
        let Some(cluster) = &self.cluster else { return Ok(()) };
        let options = &cluster.options;
        let now = options.clock.now_ms();
        let ready = self.ready_indexes();
        let mut holding = 0;
        for (name, fence) in cluster.held() {
            let Some(mut lease) = fence.lease() else { continue };
            if !ready.iter().any(|d| d.name() == name) {
                continue;
            }
            match lease.renew(self.store.as_ref(), now, options.lease_ttl_ms).await {
                Ok(()) => {
                    fence.set(Some(lease));
                    holding += 1;
                }
                Err(Error::LeaseLost { .. }) => {
                    tracing::warn!(index = %name, "lost the lease: another process writes the index now");
                    fence.set(None);
                }
                Err(other) => return Err(other),
            }
        }
        let member = Member { address: options.address.clone(), seen_at_ms: now, holding };
        let body = serde_json::to_vec(&member).map_err(|e| Error::storage("encode", MEMBERS, e))?;
        self.store.put(&member_key(&options.address), Bytes::from(body)).await?;
        let members = self.live_members(now).await?;
        let share = ready.len().div_ceil(members.len().max(1));
        // More than its share while another member has less (it joined):
        // hand one lease back per round, for that member to take.
        let waiting = members.iter().any(|m| m.address != options.address && m.holding < share);
        if holding > share
            && waiting
            && let Some((name, fence)) = cluster.held().into_iter().rev().find(|(_, f)| f.lease().is_some())
            && let Some(lease) = fence.lease()
        {
            tracing::info!(index = %name, share, "handing a lease back to spread the writers");
            fence.set(None);
            match lease.release(self.store.as_ref(), now).await {
                Ok(()) | Err(Error::LeaseLost { .. }) => {}
                Err(other) => return Err(other),
            }
            return Ok(());
        }
        for durable in ready {
            if holding >= share {
                break;
            }
            let fence = cluster.fence(durable.name());
            if fence.lease().is_some() {
                continue;
            }
            let free = match Lease::read(self.store.as_ref(), fence.key()).await? {
                None => true,
                Some(LeaseRecord { expires_at_ms, .. }) => now >= expires_at_ms,
            };
            if free && self.take_lease(&durable, &fence).await?.is_none() {
                holding += 1;
            }
        }
        Ok(())
    }

    /// Members seen within two lease periods.
    async fn live_members(&self, now: u64) -> Result<Vec<Member>> {
        let Some(cluster) = &self.cluster else { return Ok(Vec::new()) };
        let mut live = Vec::new();
        for key in self.store.list(MEMBERS).await? {
            let Some(bytes) = self.store.get(&key).await? else { continue };
            match serde_json::from_slice::<Member>(&bytes) {
                Ok(member) if member.seen_at_ms.saturating_add(2 * cluster.options.lease_ttl_ms) >= now => {
                    live.push(member)
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%key, %error, "ignoring a damaged member entry"),
            }
        }
        Ok(live)
    }

    /// One whole round of following: indexes created or dropped by other
    /// processes appear or go (a listing of the store), then [`follow`](Self::follow).
    pub async fn sync(&self) -> Result<()> {
        if self.cluster.is_none() {
            return Ok(());
        }
        self.discover_changes().await?;
        self.follow().await
    }

    /// Every index this process does not write applies the log records
    /// committed since the last round (one small read per shard when nothing
    /// changed), or is loaded again if a snapshot has overtaken it. Run it
    /// every few hundred milliseconds: the interval bounds how stale a
    /// replica's answers are. New and dropped indexes need [`sync`](Self::sync).
    pub async fn follow(&self) -> Result<()> {
        let Some(cluster) = &self.cluster else { return Ok(()) };
        for durable in self.ready_indexes() {
            let fence = cluster.fence(durable.name());
            if durable.shards().iter().any(|s| s.needs_reload.load(std::sync::atomic::Ordering::Acquire)) {
                self.reload(durable.name()).await?;
                continue;
            }
            if fence.lease().is_some() {
                continue;
            }
            for shard in durable.shards() {
                if let CaughtUp::Reload(reason) = shard.catch_up().await? {
                    tracing::info!(index = %durable.name(), %reason, "loading the index again");
                    self.reload(durable.name()).await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Every serving index with its writer (read from the leases now) and
    /// how far this process has applied its log.
    pub async fn writers(&self) -> Result<Vec<IndexWriter>> {
        let mut out = Vec::new();
        for durable in self.ready_indexes() {
            let lease = Lease::read(self.store.as_ref(), &lease_key(durable.name())).await?;
            let now = self.cluster.as_ref().map_or(0, |c| c.options.clock.now_ms());
            let (writer, epoch) = match lease {
                Some(record) if now < record.expires_at_ms => (Some(record.holder), record.epoch),
                Some(record) => (None, record.epoch),
                None => (None, 0),
            };
            let sequence = durable.last_sequence().await;
            out.push(IndexWriter { name: durable.name().to_owned(), writer, epoch, sequence });
        }
        Ok(out)
    }

    /// Gives up every lease this process holds, so that others take over at
    /// once instead of after expiry (a clean shutdown).
    pub(crate) async fn release_leases(&self) {
        let Some(cluster) = &self.cluster else { return };
        for (name, fence) in cluster.held() {
            if let Some(lease) = fence.lease() {
                fence.set(None);
                if let Err(error) = lease.release(self.store.as_ref(), cluster.options.clock.now_ms()).await {
                    tracing::warn!(index = %name, %error, "could not release the lease");
                }
            }
        }
    }
}

fn member_key(address: &str) -> String {
    // FNV-1a: a stable, key-safe name for any address.
    let hash = address.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{MEMBERS}/{hash:016x}")
}

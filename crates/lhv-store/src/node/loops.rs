//! The node's reconcile, report and control loops (the watch loop is in
//! `mod.rs`, beside the view it keeps).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Node;
use crate::control::{Load, MemberRecord, Membership, ShardLoad};
use crate::controller::{ShardKey, plan};
use crate::error::{Error, Result};
use crate::member::ClusterShard;

impl Node {
    /// Waits for the next change to the view, or a tick.
    async fn next_round(&self, changes: &mut tokio::sync::watch::Receiver<u64>) {
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep(self.options.tick) => {}
        }
    }

    pub(super) async fn reconcile_loop(self: Arc<Self>) {
        let mut changes = self.changes.subscribe();
        loop {
            self.reconcile().await;
            self.next_round(&mut changes).await;
        }
    }

    /// What the view places here: each shard, with the token if this node writes it.
    fn placed_here(&self) -> BTreeMap<ShardKey, Option<u64>> {
        let view = self.view.read();
        let mut wanted = BTreeMap::new();
        for (record, _) in view.indexes.values().filter(|(r, _)| r.state != crate::control::IndexState::Dropping) {
            for shard in 0..record.shards {
                let key = (record.incarnation.clone(), shard);
                let Some((placement, token)) = view.placements.get(&key) else { continue };
                if placement.holds(self.name()) {
                    wanted.insert(key, (placement.writer == self.name()).then_some(token.unsigned_abs()));
                }
            }
        }
        wanted
    }

    /// Keeps `shard`, opened under `membership`, at `key`, unless that
    /// membership was lost meanwhile (false). A shard's fence checks the
    /// membership it was opened under for as long as it is held, and the
    /// membership loop unloads every shard when it joins anew; a shard whose
    /// opening straddled that would otherwise stay held under the lost
    /// membership and refuse every write as its writer. The check and the
    /// insertion are one step under the lock the membership loop clears.
    fn hold(&self, key: ShardKey, shard: Arc<ClusterShard>, membership: &Arc<Membership>) -> bool {
        let mut held = self.held.write();
        let current = Arc::ptr_eq(membership, &self.membership.read());
        if current {
            held.insert(key, shard);
        }
        current
    }

    /// Loads the shards placed here, unloads the others, hands out tokens.
    async fn reconcile(&self) {
        let wanted = self.placed_here();
        let gone: Vec<Arc<ClusterShard>> = {
            let mut held = self.held.write();
            let stale: Vec<ShardKey> = held.keys().filter(|k| !wanted.contains_key(*k)).cloned().collect();
            stale.iter().filter_map(|key| held.remove(key)).collect()
        };
        for shard in gone {
            shard.set_writer(None);
            tracing::info!(incarnation = %shard.incarnation(), shard = shard.number(), "unloaded a shard placed elsewhere");
        }
        for (key, token) in wanted {
            let existing = self.held.read().get(&key).cloned();
            let mut opened_now = false;
            let shard = match existing {
                Some(shard) => shard,
                None => {
                    opened_now = true;
                    let membership = self.membership();
                    let opened = ClusterShard::open(
                        Arc::clone(&self.store),
                        &key.0,
                        key.1,
                        Arc::clone(&membership),
                        &self.options.shards,
                    )
                    .await;
                    match opened {
                        Ok(shard) => {
                            let shard = Arc::new(shard);
                            if !self.hold(key.clone(), Arc::clone(&shard), &membership) {
                                tracing::debug!(incarnation = %key.0, shard = key.1, "a shard opened under a lost membership is opened again");
                                continue;
                            }
                            shard
                        }
                        Err(error) => {
                            tracing::warn!(%error, incarnation = %key.0, shard = key.1, "could not load a shard placed here");
                            continue;
                        }
                    }
                }
            };
            if shard.writer_token() != token {
                shard.set_writer(token);
                if token.is_some() {
                    // Claim at once: the predecessor's commits fail from now on.
                    if let Err(error) = shard.claim().await {
                        tracing::warn!(%error, incarnation = %key.0, shard = key.1, "could not claim a shard's head");
                    }
                }
            }
            // A replica loaded now reads what was committed while it loaded;
            // after that the watched heads say when to read (no polling).
            if opened_now && token.is_none() {
                let _ = shard.catch_up().await;
            }
        }
    }

    pub(super) async fn report_loop(self: Arc<Self>) {
        let mut changes = self.changes.subscribe();
        let mut reported = Load::default();
        let mut heads: BTreeMap<ShardKey, u64> = BTreeMap::new();
        loop {
            if let Err(error) = self.report(&mut reported, &mut heads).await {
                tracing::debug!(%error, "could not report to the control plane");
            }
            self.next_round(&mut changes).await;
        }
    }

    /// Publishes what changed since the last report: the load, and the
    /// committed head of each shard written here.
    async fn report(&self, reported: &mut Load, heads: &mut BTreeMap<ShardKey, u64>) -> Result<()> {
        let held: Vec<(ShardKey, Arc<ClusterShard>)> =
            self.held.read().iter().map(|(k, s)| (k.clone(), Arc::clone(s))).collect();
        let mut load = Load::default();
        for (key, shard) in &held {
            let last = shard.last_sequence().await;
            let bytes = shard.index().stats().memory_bytes as u64;
            load.shards.insert(format!("{}/{}", key.0, key.1), ShardLoad { bytes, last });
            if shard.writer_token().is_some() && heads.get(key) != Some(&last) {
                self.control.report_head(&key.0, key.1, last).await?;
                heads.insert(key.clone(), last);
            }
        }
        heads.retain(|key, _| held.iter().any(|(k, _)| k == key));
        if load != *reported {
            self.control.report_load(&self.membership(), &load).await?;
            *reported = load;
        }
        Ok(())
    }

    pub(super) async fn control_loop(self: Arc<Self>) {
        let mut changes = self.changes.subscribe();
        loop {
            if let Err(error) = self.control_round().await {
                tracing::debug!(%error, "a controller round failed");
            }
            self.next_round(&mut changes).await;
        }
    }

    /// Leads if nobody does, and as the controller applies the plan.
    async fn control_round(&self) -> Result<()> {
        let controller = self.view.read().controller.clone();
        if controller.as_deref().is_some_and(|c| c != self.name()) {
            return Ok(());
        }
        let Some(term) = self.control.try_lead(&self.membership()).await? else { return Ok(()) };
        let state = self.view.read().controller_state();
        for change in plan(&state, self.options.max_moves) {
            let index = (change.index.0.as_str(), change.shard.0.as_str(), change.index.1);
            match self.control.place(&term, index, change.shard.1, &change.placement, change.expected).await {
                // Planned from a view the watch has not brought up to date yet: the next round replans.
                Ok(_) | Err(Error::RecordChanged { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

impl Node {
    pub(super) async fn membership_loop(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.options.tick).await;
            if self.membership().held_until().is_some() {
                continue;
            }
            let record =
                MemberRecord { address: self.options.address.clone(), memory_budget: self.options.memory_budget };
            match self.control.join(&self.options.name, &record, self.options.lease_ttl).await {
                Ok(membership) => {
                    tracing::info!(node = %self.options.name, "joined the cluster again after losing the membership");
                    *self.membership.write() = Arc::new(membership);
                    // Shards held under the lost membership can no longer write: load them anew
                    // (one being opened under it now is not kept either: see `hold`).
                    let dropped: Vec<Arc<ClusterShard>> =
                        std::mem::take(&mut *self.held.write()).into_values().collect();
                    for shard in dropped {
                        shard.set_writer(None);
                    }
                    self.bump();
                }
                Err(error) => tracing::debug!(%error, "cannot join the cluster again yet"),
            }
        }
    }
}

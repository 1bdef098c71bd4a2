//! How a routed operation reaches the shards: grouped by holder, one call
//! per holder, all at once; parts that fail in passing are sent again where
//! the placement says; reads of a member slow to answer are hedged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::call::CallFailure;
use super::execute::execute;
use super::hedge::{HEDGE_AFTER, hedged};
use super::index::{RoutedIndex, unplaced_error};
use super::wire::{ShardCall, ShardOp, ShardReply};
use crate::error::ApiError;
use crate::ops::Freshness;

/// How long a read looks for holders that answer (one failing over included).
const READ_PATIENCE: Duration = Duration::from_secs(10);
/// How long a write waits for its shards' writers (a failover takes about a lease).
const WRITE_PATIENCE: Duration = Duration::from_secs(20);

/// Spreads reads over the replicas: each read starts at the next one.
static NEXT_REPLICA: AtomicUsize = AtomicUsize::new(0);

/// Who answers for some shards: this process, or the member at an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Holder {
    Here,
    There { node: String, address: String },
}

/// Whether an operation reads (any holder) or writes (the writer only).
#[derive(Debug, Clone, Copy)]
pub(super) enum Reach {
    Read(Freshness),
    Write,
}

impl RoutedIndex {
    pub(super) async fn run(
        &mut self,
        shards: Vec<u32>,
        reach: Reach,
        op: &(dyn Fn(&[u32]) -> ShardOp + Sync),
    ) -> Result<Vec<ShardReply>, ApiError> {
        Ok(self.run_grouped(shards, reach, op).await?.into_iter().map(|(_, reply)| reply).collect())
    }

    /// Runs `op` on `shards`: grouped by holder, one call per holder, all at
    /// once; the shards of a call that failed in passing are tried again (on
    /// another holder for reads, at the writer the placement names next for
    /// writes) until the patience runs out. Each reply with its shards.
    pub(super) async fn run_grouped(
        &mut self,
        mut pending: Vec<u32>,
        reach: Reach,
        op: &(dyn Fn(&[u32]) -> ShardOp + Sync),
    ) -> Result<Vec<(Vec<u32>, ShardReply)>, ApiError> {
        let patience = if matches!(reach, Reach::Write) { WRITE_PATIENCE } else { READ_PATIENCE };
        let started = Instant::now();
        let spread = NEXT_REPLICA.fetch_add(1, Ordering::Relaxed);
        let mut avoid: BTreeSet<String> = BTreeSet::new();
        let mut done = Vec::new();
        let mut last_failure: Option<ApiError> = None;
        for attempt in 0usize.. {
            let mut groups: BTreeMap<Holder, Vec<u32>> = BTreeMap::new();
            let mut unplaced = Vec::new();
            // A retried part comes back after others: keep each call's shard
            // numbers increasing, as a member's part of an index requires.
            pending.sort_unstable();
            pending.dedup();
            for shard in pending.drain(..) {
                match self.holder(shard, reach, &avoid, spread + attempt) {
                    Some(holder) => groups.entry(holder).or_default().push(shard),
                    None => unplaced.push(shard),
                }
            }
            let (this, failed_before) = (&*self, &avoid);
            let calls = groups.into_iter().map(|(holder, group)| async move {
                let result = this.send_hedged(&holder, &group, reach, op, failed_before, spread + attempt).await;
                (holder, group, result)
            });
            for (holder, group, result) in futures::future::join_all(calls).await {
                match result {
                    Ok(replies) => done.extend(replies),
                    Err(CallFailure::Final(error)) => return Err(error),
                    Err(CallFailure::Retry(error)) => {
                        tracing::debug!(index = %self.name, ?holder, %error.message, "a part is tried again");
                        if let Holder::There { node, .. } = holder {
                            avoid.insert(node);
                        }
                        pending.extend(group);
                        last_failure = Some(error);
                    }
                }
            }
            if !unplaced.is_empty() {
                last_failure.get_or_insert_with(|| unplaced_error(&self.name, &unplaced));
                pending.extend(unplaced);
            }
            if pending.is_empty() {
                return Ok(done);
            }
            if started.elapsed() > patience {
                return Err(last_failure.unwrap_or_else(|| unplaced_error(&self.name, &pending)));
            }
            // Give the placement time to change, then look at it again.
            let pause = Duration::from_millis(50 << attempt.min(4));
            tokio::time::sleep(pause).await;
            self.refresh()?;
            if attempt % 4 == 3 {
                // Every holder may have failed in passing: give them another chance.
                avoid.clear();
            }
        }
        Err(unplaced_error(&self.name, &pending))
    }

    /// Who answers for `shard`: for a write its writer; for a read that
    /// must see every acknowledged write ([`Freshness::Writer`]) its writer
    /// too, unless it failed; otherwise this process if it holds the shard,
    /// else a holder not failed yet, taken in turn (`turn`) so that reads
    /// spread over the replicas.
    fn holder(&self, shard: u32, reach: Reach, avoid: &BTreeSet<String>, turn: usize) -> Option<Holder> {
        let route = self.routes.get(shard as usize)?;
        let here = self.routing.node.name();
        let as_holder = |(node, address): &(String, String)| {
            if node == here { Holder::Here } else { Holder::There { node: node.clone(), address: address.clone() } }
        };
        match reach {
            Reach::Write => route.writer.as_ref().map(as_holder),
            Reach::Read(freshness) => {
                // The writer has applied every acknowledged write: a read
                // that must see them goes there while it answers.
                if freshness == Freshness::Writer
                    && let Some(writer) = route.writer.as_ref().filter(|(node, _)| !avoid.contains(node))
                {
                    return Some(as_holder(writer));
                }
                let holders: Vec<&(String, String)> = route.writer.iter().chain(&route.replicas).collect();
                if holders.iter().any(|(node, _)| node == here) {
                    return Some(Holder::Here);
                }
                let fresh: Vec<&&(String, String)> = holders.iter().filter(|(node, _)| !avoid.contains(node)).collect();
                let pick = if fresh.is_empty() {
                    holders.get(turn % holders.len().max(1)).copied()
                } else {
                    fresh.get(turn % fresh.len()).map(|h| **h)
                };
                pick.map(as_holder)
            }
        }
    }

    /// One call, and for a read a member does not answer promptly, the
    /// same read of its shards from their other holders (see [`hedged`]);
    /// each reply with its shards.
    async fn send_hedged(
        &self,
        holder: &Holder,
        group: &[u32],
        reach: Reach,
        op: &(dyn Fn(&[u32]) -> ShardOp + Sync),
        failed_before: &BTreeSet<String>,
        turn: usize,
    ) -> Result<Vec<(Vec<u32>, ShardReply)>, CallFailure> {
        let primary = async { Ok(vec![(group.to_vec(), self.send(holder, group, reach, op(group)).await?)]) };
        let (Reach::Read { .. }, Holder::There { node, .. }) = (reach, holder) else { return primary.await };
        let hedge = || {
            let mut avoid = failed_before.clone();
            avoid.insert(node.clone());
            let mut others: BTreeMap<Holder, Vec<u32>> = BTreeMap::new();
            for &shard in group {
                let other = self.holder(shard, reach, &avoid, turn + 1).filter(|other| other != holder)?;
                others.entry(other).or_default().push(shard);
            }
            tracing::debug!(index = %self.name, %node, shards = ?group, "a slow read is hedged");
            Some(futures::future::try_join_all(others.into_iter().map(|(other, shards)| async move {
                let reply = self.send(&other, &shards, reach, op(&shards)).await?;
                Ok((shards, reply))
            })))
        };
        hedged(primary, HEDGE_AFTER, hedge).await
    }

    /// One call: run here, or sent to the member.
    async fn send(
        &self,
        holder: &Holder,
        shards: &[u32],
        reach: Reach,
        op: ShardOp,
    ) -> Result<ShardReply, CallFailure> {
        let strong = matches!(reach, Reach::Read(Freshness::Strong));
        match holder {
            Holder::Here => {
                let node = self.routing.node();
                if strong {
                    node.sync(&self.name).await.map_err(|e| CallFailure::of(e.into()))?;
                }
                let part =
                    node.part(&self.name, &self.record.incarnation, shards).map_err(|e| CallFailure::of(e.into()))?;
                execute(&self.state, Arc::new(part), op).await.map_err(CallFailure::of)
            }
            Holder::There { address, .. } => {
                let call = ShardCall {
                    index: self.name.clone(),
                    incarnation: self.record.incarnation.clone(),
                    shards: shards.to_vec(),
                    strong,
                    op,
                };
                // A member that stopped answering (paused, partitioned) holds
                // the call until its timeout; once the placement of one of
                // these shards changes (the controller moved them off it), the
                // call is given up and the part sent where they are now. A
                // write given up may still have committed: sent again, it is
                // applied again, as idempotent writes are.
                tokio::select! {
                    answer = self.routing.call(address, &call) => answer,
                    () = self.placement_changes(shards) => Err(CallFailure::Retry(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "shard_moved",
                        format!("the shards {shards:?} moved off {address} while it did not answer; retry"),
                    ))),
                }
            }
        }
    }

    /// Returns once the placement of one of `shards` differs from the one
    /// this request routes by (checked every 100 ms; never while it holds).
    async fn placement_changes(&self, shards: &[u32]) {
        let tokens: Vec<i64> =
            shards.iter().map(|shard| self.routes.get(*shard as usize).map_or(0, |route| route.token)).collect();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Ok((record, routes)) = self.routing.node.route(&self.name) else { return };
            if record.incarnation != self.record.incarnation {
                return;
            }
            let moved = shards
                .iter()
                .zip(&tokens)
                .any(|(shard, token)| routes.get(*shard as usize).is_none_or(|route| route.token != *token));
            if moved {
                return;
            }
        }
    }

    /// Takes the placement as it is now; the index must still be the same incarnation.
    fn refresh(&mut self) -> Result<(), ApiError> {
        let (record, routes) = self.routing.node.route(&self.name)?;
        if record.incarnation != self.record.incarnation {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster_changed",
                format!("index {:?} was dropped and created again during the request; retry", self.name),
            ));
        }
        self.routes = routes;
        Ok(())
    }
}

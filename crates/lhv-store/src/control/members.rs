//! Membership: each process's entry lives on an etcd lease that the
//! process keeps alive; when it stops (crash, pause, partition) etcd's
//! leader lets the lease expire and removes the entry, measured on the
//! leader's clock, so no two machines' clocks are ever compared.
//!
//! The process itself counts its lease as held only until the send time of
//! the last keep-alive that etcd answered, plus the TTL it granted: that is
//! never later than when the leader expires it (the leader received the
//! keep-alive after it was sent), so a writer that stops writing when its own
//! count runs out stops before anyone may be promoted over it. The log
//! heads in storage are the fence that holds even if it does not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};
use serde::{Deserialize, Serialize};

use super::{ControlPlane, control, decode, encode};
use crate::error::{Error, Result};

/// A member as the others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRecord {
    /// Where its HTTP API answers (`host:port`).
    pub address: String,
    /// How many bytes of shards it may load.
    pub memory_budget: u64,
}

/// This process's membership: its entry, on a lease kept alive in the
/// background until [`leave`](Self::leave) (or drop, which lets it expire).
#[derive(Debug)]
pub struct Membership {
    node: String,
    lease: i64,
    held_until: Arc<parking_lot::Mutex<Option<Instant>>>,
    keeper: tokio::task::JoinHandle<()>,
    control: ControlPlane,
}

fn member_key(node: &str) -> String {
    format!("members/{node}")
}

impl ControlPlane {
    /// Joins the cluster as `node` with a lease of `ttl` (whole seconds, at
    /// least 2: etcd's minimum). A previous entry of the same name (a
    /// process that died) is waited out until its lease expires, up to
    /// twice `ttl`; then [`Error::RecordChanged`].
    pub async fn join(&self, node: &str, record: &MemberRecord, ttl: Duration) -> Result<Membership> {
        let seconds = i64::try_from(ttl.as_secs().max(2)).unwrap_or(i64::MAX);
        let key = self.key(&member_key(node));
        let value = encode(&key, record)?;
        let mut leases = self.client.lease_client();
        let started = Instant::now();
        loop {
            let sent = Instant::now();
            let granted = leases.grant(seconds, None).await.map_err(|e| control("join", e))?;
            let lease = granted.id();
            let txn = Txn::new()
                .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key.clone(), value.clone(), Some(PutOptions::new().with_lease(lease)))]);
            let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("join", e))?;
            if answer.succeeded() {
                let held_until = Arc::new(parking_lot::Mutex::new(Some(sent + secs(granted.ttl()))));
                let keeper = tokio::spawn(keep_alive(self.clone(), lease, Arc::clone(&held_until)));
                return Ok(Membership { node: node.to_owned(), lease, held_until, keeper, control: self.clone() });
            }
            let _ = leases.revoke(lease).await;
            if started.elapsed() > 2 * Duration::from_secs(seconds.unsigned_abs()) {
                return Err(Error::RecordChanged { key });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every member now: node name and record.
    pub async fn members(&self) -> Result<Vec<(String, MemberRecord)>> {
        let (kvs, _) = self.list("members/").await?;
        let mut out = Vec::with_capacity(kvs.len());
        for kv in &kvs {
            let key = String::from_utf8_lossy(kv.key());
            let Some(node) = self.strip(&key).and_then(|k| k.strip_prefix("members/")) else { continue };
            out.push((node.to_owned(), decode(kv)?));
        }
        Ok(out)
    }
}

fn secs(ttl: i64) -> Duration {
    Duration::from_secs(ttl.max(0).unsigned_abs())
}

/// Keeps `lease` alive, a third of its TTL apart, recording how long it is
/// known to hold; forgets it (None) once etcd says it expired or the known
/// time runs out without an answer.
async fn keep_alive(control: ControlPlane, lease: i64, held_until: Arc<parking_lot::Mutex<Option<Instant>>>) {
    let mut leases = control.client.lease_client();
    let mut stream = None;
    loop {
        let Some(until) = *held_until.lock() else { return };
        let now = Instant::now();
        if now >= until {
            tracing::warn!(lease, "membership lease ran out without a keep-alive answer");
            *held_until.lock() = None;
            return;
        }
        if stream.is_none() {
            stream = leases.keep_alive(lease).await.ok();
        }
        let mut answered = None;
        if let Some((keeper, answers)) = stream.as_mut() {
            let sent = Instant::now();
            let reply = tokio::time::timeout(until - now, async {
                keeper.keep_alive().await?;
                answers.message().await
            })
            .await;
            match reply {
                Ok(Ok(Some(reply))) => answered = Some((sent, reply.ttl())),
                _ => stream = None,
            }
        }
        match answered {
            Some((_, ttl)) if ttl <= 0 => {
                tracing::warn!(lease, "membership lease expired");
                *held_until.lock() = None;
                return;
            }
            Some((sent, ttl)) => {
                let ttl = secs(ttl);
                *held_until.lock() = Some(sent + ttl);
                tokio::time::sleep(ttl / 3).await;
            }
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

impl Membership {
    /// The node name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The etcd lease the entry (and the controller's key, when this member
    /// leads) lives on.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// Until when this process knows its lease holds (None: lost for good;
    /// join again).
    pub fn held_until(&self) -> Option<Instant> {
        *self.held_until.lock()
    }

    /// Whether the lease is known to hold for at least `margin` more.
    pub fn holds_for(&self, margin: Duration) -> bool {
        self.held_until().is_some_and(|until| Instant::now() + margin < until)
    }

    /// Leaves at once: the lease is revoked, so the entry and everything on
    /// the lease go now rather than at expiry.
    pub async fn leave(&self) -> Result<()> {
        self.stop();
        self.control.client.lease_client().revoke(self.lease).await.map_err(|e| control("leave", e))?;
        Ok(())
    }

    /// Stops keeping the lease alive and counts it as lost from now on; the
    /// entry goes when etcd expires the lease (as if the process had died).
    pub fn stop(&self) {
        self.keeper.abort();
        *self.held_until.lock() = None;
    }
}

impl Drop for Membership {
    /// Stops the keep-alives (the entry then expires, as if the process had died).
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

//! Several vectord processes over one bucket (`--cluster-address`): any
//! process takes any request. Writes to an index, and searches that ask for
//! `"consistency": "strong"`, go to the index's writer (the holder of its
//! lease, whose address the lease names): here if this process holds it,
//! else forwarded over HTTP. Other reads are answered by this process's
//! replica, at most about one follow interval behind the writer.
//!
//! The lease and follow rounds run in the background ([`spawn_rounds`]):
//! leases every quarter lease, log heads every follow interval, a listing of
//! the store (indexes other members created or dropped) about once a second;
//! `GET /v1/cluster` ([`crate::native::cluster`]) shows who writes what.

use std::time::Duration;

use crate::state::AppState;

/// The background rounds of a cluster member: lease upkeep every quarter
/// lease, and following every `follow_interval`. Abort them before closing
/// the catalog.
pub(crate) fn spawn_rounds(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(cluster) = state.config.cluster.clone() else { return Vec::new() };
    let leases = {
        let catalog = std::sync::Arc::clone(&state.catalog);
        let every = Duration::from_millis((cluster.lease_ttl_ms / 4).max(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = catalog.maintain_leases().await {
                    tracing::warn!(%error, "lease round failed");
                }
            }
        })
    };
    let follow = {
        let catalog = std::sync::Arc::clone(&state.catalog);
        let every = cluster.follow_interval;
        // A listing of the store (new and dropped indexes) about once a second;
        // between them only each shard's log head is read.
        let listing_every = (Duration::from_secs(1).as_millis() / every.as_millis().max(1)).max(1);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for round in 0u128.. {
                ticks.tick().await;
                let done = if round % listing_every == 0 { catalog.sync().await } else { catalog.follow().await };
                if let Err(error) = done {
                    tracing::warn!(%error, "follow round failed");
                }
            }
        })
    };
    vec![leases, follow]
}

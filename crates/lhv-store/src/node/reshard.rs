//! Resharding by doubling: an index of `n` shards becomes one of `2n`,
//! as a new incarnation. FNV-1a modulo `2n` is `s` or `s + n` exactly when
//! modulo `n` it is `s`, so old shard `s` splits into new shards `s` and
//! `s + n` and no item crosses to any other.
//!
//! The record is marked `resharding` (a revision above every token of the
//! old incarnation), the old heads are fenced with it (writes stop: 503 and
//! retry; reads go on from the old shards), each old shard is read at its
//! head and split into the two new shards' snapshots, then one transaction
//! makes the new incarnation the index's. Cut short, the record stays
//! marked and writes wait: running it again finishes it (the old shards are
//! untouched; a new attempt writes a new incarnation).

use std::sync::Arc;

use bytes::Bytes;
use lhv_core::{Item, MAX_SHARDS, shard_of};

use super::Node;
use crate::control::{IndexRecord, IndexState};
use crate::error::{Error, Result};
use crate::layout::{cluster_shard_name, snapshot_key};
use crate::member::{ClusterShard, fence_incarnation, remove_incarnation};

impl Node {
    /// Doubles the shards of index `name`: the new record.
    pub async fn reshard(&self, name: &str) -> Result<IndexRecord> {
        let Some((old, _)) = self.control.index(name).await? else {
            return Err(Error::IndexNotFound { name: name.to_owned() });
        };
        if old.state == IndexState::Dropping {
            return Err(Error::IndexNotFound { name: name.to_owned() });
        }
        let shards = old.shards * 2;
        if shards as usize > MAX_SHARDS {
            return Err(Error::Index(lhv_core::Error::InvalidParameter {
                name: "shards",
                value: shards.to_string(),
                allowed: "at most 64 shards",
            }));
        }
        let marked = self.control.mark_resharding(name, &old.incarnation).await?;
        fence_incarnation(self.store.as_ref(), &old.incarnation, old.shards, marked.unsigned_abs()).await?;
        let mut next = IndexRecord::new(old.params.clone(), shards, old.replication);
        match self.split(&old, &mut next).await {
            Ok(()) => {}
            Err(error) => {
                if let Err(cleanup) = remove_incarnation(self.store.as_ref(), &next.incarnation).await {
                    tracing::warn!(%cleanup, "could not remove a cut-short resharding's objects");
                }
                return Err(error);
            }
        }
        self.control.finish_resharding(name, marked, &old.incarnation, &next).await?;
        remove_incarnation(self.store.as_ref(), &old.incarnation).await?;
        Ok(next)
    }

    /// Writes the new incarnation's shards from the old ones, each read at
    /// its (fenced) head: everything acknowledged before the fence.
    async fn split(&self, old: &IndexRecord, next: &mut IndexRecord) -> Result<()> {
        let total = next.shards as usize;
        for number in 0..old.shards {
            let shard = ClusterShard::open(
                Arc::clone(&self.store),
                &old.incarnation,
                number,
                self.membership(),
                &self.options.shards,
            )
            .await?;
            let index = Arc::clone(shard.index());
            let halves = [number, number + old.shards];
            let snapshots = tokio::task::spawn_blocking(move || -> Result<Vec<Bytes>> {
                // Field indexes and graph parameters as the shard has them now.
                let params = index.params();
                let ids = index.ids_where(std::ops::Bound::Unbounded, usize::MAX, None)?;
                let mut parts = Vec::with_capacity(2);
                for half in halves {
                    let items: Vec<Item> = ids
                        .iter()
                        .filter(|id| shard_of(id, total) == half as usize)
                        .filter_map(|id| Some(index.get(id)?.into_item(id.clone())))
                        .collect();
                    parts.push(super::import::shard_snapshot(&params, items)?);
                }
                Ok(parts)
            })
            .await
            .map_err(|e| Error::storage("reshard", &old.incarnation, e))??;
            for (half, snapshot) in halves.into_iter().zip(snapshots) {
                let key = snapshot_key(&cluster_shard_name(&next.incarnation, half));
                self.store.put_new(&key, snapshot).await?;
            }
            if number == 0 {
                next.params = shard.index().params();
            }
        }
        Ok(())
    }
}

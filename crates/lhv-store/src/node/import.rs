//! An index of the cluster made from an LHV1 frame (a snapshot exported by
//! any vectord): the frame's items are split by shard into the snapshots of
//! a fresh incarnation, written to the bucket first; one etcd transaction
//! then makes the index exist. Cut short, no index exists and the
//! incarnation's objects are removed (or, after a crash, never referenced).

use bytes::Bytes;
use lhv_core::{Index, IndexParams, Item, shard_of};
use lhv_format::{decode_snapshot, encode_snapshot};

use super::Node;
use crate::control::IndexRecord;
use crate::error::{Error, Result};
use crate::layout::{cluster_shard_name, snapshot_key, validate_name};
use crate::member::remove_incarnation;

impl Node {
    /// Creates index `name` from `frame`, its items spread over `shards`
    /// shards of `replication` copies each.
    pub async fn create_index_from_snapshot(
        &self,
        name: &str,
        frame: Bytes,
        shards: u32,
        replication: u32,
    ) -> Result<IndexRecord> {
        validate_name(name)?;
        super::check_shape(shards, replication)?;
        let decoded = tokio::task::spawn_blocking(move || decode_snapshot(&frame))
            .await
            .map_err(|e| Error::storage("decode", name, e))?
            .map_err(|e| Error::InvalidSnapshot { reason: e.to_string() })?;
        let index = decoded.index;
        let record = IndexRecord::new(index.params(), shards, replication);
        let incarnation = record.incarnation.clone();
        let snapshots = tokio::task::spawn_blocking(move || -> Result<Vec<Bytes>> {
            let params = index.params();
            let ids = index.ids_where(std::ops::Bound::Unbounded, usize::MAX, None)?;
            let total = shards as usize;
            let mut by_shard: Vec<Vec<Item>> = vec![Vec::new(); total];
            for id in ids {
                if let Some(stored) = index.get(&id) {
                    let shard = shard_of(&id, total);
                    by_shard[shard].push(stored.into_item(id));
                }
            }
            by_shard.into_iter().map(|items| shard_snapshot(&params, items)).collect()
        })
        .await
        .map_err(|e| Error::storage("import", name, e))??;
        let written = async {
            for (number, snapshot) in (0..shards).zip(snapshots) {
                self.store.put_new(&snapshot_key(&cluster_shard_name(&incarnation, number)), snapshot).await?;
            }
            self.control.create_index(name, &record).await
        };
        if let Err(error) = written.await {
            if let Err(cleanup) = remove_incarnation(self.store.as_ref(), &incarnation).await {
                tracing::warn!(%incarnation, %cleanup, "could not remove a failed import's objects");
            }
            return Err(error);
        }
        Ok(record)
    }
}

/// The snapshot of a shard holding `items` (field indexes and graph
/// parameters as `params` has them).
pub(super) fn shard_snapshot(params: &IndexParams, items: Vec<Item>) -> Result<Bytes> {
    let fresh = Index::new(params.clone())?;
    if !items.is_empty() {
        fresh.upsert(items)?;
    }
    Ok(Bytes::from(encode_snapshot(&fresh.to_parts(), 0)?))
}

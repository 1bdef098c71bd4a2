//! What members report for the controller and each other: the shards each
//! holds (their size in memory and how far each has read its log), on the
//! member's lease so a dead member's report goes with it; and each shard's
//! committed head, which replicas watch to catch up without polling
//! object storage.

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};
use serde::{Deserialize, Serialize};

use super::members::Membership;
use super::{ControlPlane, control, encode};
use crate::error::Result;

/// One held shard, as its member reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardLoad {
    /// Bytes it takes in memory.
    pub bytes: u64,
    /// The last sequence number applied.
    pub last: u64,
}

/// Everything a member holds, by `<incarnation>/<shard>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Each held shard.
    pub shards: BTreeMap<String, ShardLoad>,
}

impl ControlPlane {
    /// Publishes `member`'s load (replacing its last report), on its lease.
    pub async fn report_load(&self, member: &Membership, load: &Load) -> Result<()> {
        let key = self.key(&format!("loads/{}", member.node()));
        let value = encode(&key, load)?;
        let options = PutOptions::new().with_lease(member.lease());
        self.client.kv_client().put(key, value, Some(options)).await.map_err(|e| control("report load", e))?;
        Ok(())
    }

    /// Publishes the last committed sequence number of a shard (its writer
    /// does), while the shard is placed: once a drop removed its placement
    /// (and its head), a late report writes nothing.
    pub async fn report_head(&self, incarnation: &str, shard: u32, last: u64) -> Result<()> {
        let key = self.key(&format!("heads/{incarnation}/{shard}"));
        let placement = self.key(&format!("placement/{incarnation}/{shard}"));
        let txn = Txn::new().when([Compare::create_revision(placement, CompareOp::Greater, 0)]).and_then([TxnOp::put(
            key,
            last.to_string(),
            None,
        )]);
        self.client.kv_client().txn(txn).await.map_err(|e| control("report head", e))?;
        Ok(())
    }
}

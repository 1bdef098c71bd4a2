//! Placement: for each shard of each incarnation, the member that writes it
//! and the members that hold replicas. Only the controller changes it, in
//! transactions that also check it still leads and the index is still the
//! same incarnation, live.
//!
//! The revision at which a shard's placement last changed is the writer's
//! fencing token: etcd never hands out a revision twice, so every new writer
//! of a shard holds a larger token than all before it, and claims the shard's
//! log head in storage under it (a head is only ever replaced by a larger
//! or equal token), which makes every commit of an earlier writer fail.

use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use serde::{Deserialize, Serialize};

use super::election::{Leadership, controller_key};
use super::indexes::index_key;
use super::{ControlPlane, Revision, control, decode, encode};
use crate::error::{Error, Result};

/// Who holds one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardPlacement {
    /// The member that commits its writes.
    pub writer: String,
    /// Members that follow its log and answer searches (the writer not among them).
    pub replicas: Vec<String>,
}

impl ShardPlacement {
    /// Whether `node` holds the shard at all (writer or replica).
    pub fn holds(&self, node: &str) -> bool {
        self.writer == node || self.replicas.iter().any(|r| r == node)
    }
}

/// A shard's placement with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedShard {
    /// The incarnation whose shard it is.
    pub incarnation: String,
    /// The shard number.
    pub shard: u32,
    /// Writer and replicas.
    pub placement: ShardPlacement,
    /// The revision it last changed at: the writer's fencing token.
    pub token: Revision,
}

fn placement_key(incarnation: &str, shard: u32) -> String {
    format!("placement/{incarnation}/{shard}")
}

impl ControlPlane {
    /// Every shard placement of the cluster, and the revision of the listing.
    pub async fn placements(&self) -> Result<(Vec<PlacedShard>, Revision)> {
        let (kvs, revision) = self.list("placement/").await?;
        let mut out = Vec::with_capacity(kvs.len());
        for kv in &kvs {
            let key = String::from_utf8_lossy(kv.key());
            let Some(rest) = self.strip(&key).and_then(|k| k.strip_prefix("placement/")) else { continue };
            let parsed = rest.split_once('/').and_then(|(inc, shard)| Some((inc, shard.parse::<u32>().ok()?)));
            let Some((incarnation, shard)) = parsed else {
                return Err(Error::DamagedRecord { key: key.into_owned(), reason: "not <incarnation>/<shard>".into() });
            };
            let placement = decode(kv)?;
            out.push(PlacedShard { incarnation: incarnation.to_owned(), shard, placement, token: kv.mod_revision() });
        }
        Ok((out, revision))
    }

    /// Places shard `shard` of index `name`'s incarnation `incarnation`
    /// (whose record is at `index_revision`), replacing the placement at
    /// token `expected` (None: there is none yet): the new token. Fails with
    /// [`Error::RecordChanged`] if the placement, the index record or the
    /// leadership changed meanwhile.
    pub async fn place(
        &self,
        leadership: &Leadership,
        (name, incarnation, index_revision): (&str, &str, Revision),
        shard: u32,
        placement: &ShardPlacement,
        expected: Option<Revision>,
    ) -> Result<Revision> {
        let key = self.key(&placement_key(incarnation, shard));
        let value = encode(&key, placement)?;
        let unchanged = match expected {
            Some(token) => Compare::mod_revision(key.clone(), CompareOp::Equal, token),
            None => Compare::create_revision(key.clone(), CompareOp::Equal, 0),
        };
        let txn = Txn::new()
            .when([
                unchanged,
                Compare::mod_revision(self.key(&index_key(name)), CompareOp::Equal, index_revision),
                Compare::create_revision(self.key(controller_key()), CompareOp::Equal, leadership.revision()),
            ])
            .and_then([TxnOp::put(key.clone(), value, None)]);
        let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("place shard", e))?;
        if !answer.succeeded() {
            return Err(Error::RecordChanged { key });
        }
        Ok(answer.header().map_or(0, |h| h.revision()))
    }
}

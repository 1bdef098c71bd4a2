//! The aliases of a cluster: one record, the whole map (alias to index),
//! changed only in transactions. A change reads the map and the indexes,
//! applies its alias changes (the same rules as in one process: an alias
//! names a live index, no index is called like an alias, renaming needs the
//! old alias), and commits only if neither the map nor any index it names
//! (nor an index called like an alias it makes) changed since: two racing
//! changes cannot both win, the loser reads again and applies on top.

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, Txn, TxnOp};

use super::indexes::index_key;
use super::{ControlPlane, Revision, control, decode, encode};
use crate::aliases::{AliasChange, apply};
use crate::error::{Error, Result};

/// The alias record's key.
pub(crate) const ALIASES_KEY: &str = "aliases";

/// How many times a change is applied again on top of another's.
const ATTEMPTS: u32 = 32;

impl ControlPlane {
    /// The alias map and the revision it last changed at (0: none yet).
    pub async fn aliases(&self) -> Result<(BTreeMap<String, String>, Revision)> {
        let mut answer =
            self.client.kv_client().get(self.key(ALIASES_KEY), None).await.map_err(|e| control("read aliases", e))?;
        match answer.take_kvs().first() {
            Some(kv) => Ok((decode(kv)?, kv.mod_revision())),
            None => Ok((BTreeMap::new(), 0)),
        }
    }

    /// Applies `changes` in order, all or none, in one transaction; once
    /// this returns every member's view sees them as its watch brings them.
    /// The revision they were made at (that of the map if nothing changed).
    pub async fn change_aliases(&self, changes: &[AliasChange]) -> Result<Revision> {
        self.rewrite_aliases(|map, live| apply(map, changes, |name| live.contains_key(name)), changes).await
    }

    /// Removes every alias of index `name` (once it is dropped).
    pub async fn drop_aliases_of(&self, name: &str) -> Result<Revision> {
        self.rewrite_aliases(
            |mut map, _| {
                map.retain(|_, index| index != name);
                Ok(map)
            },
            &[],
        )
        .await
    }

    /// Rewrites the map with `change` of the map and the live indexes (with
    /// the revisions of their records), guarded as the module says.
    async fn rewrite_aliases(
        &self,
        change: impl Fn(BTreeMap<String, String>, &BTreeMap<String, Revision>) -> Result<BTreeMap<String, String>>,
        changes: &[AliasChange],
    ) -> Result<Revision> {
        let key = self.key(ALIASES_KEY);
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt.min(6))).await;
            }
            let (map, revision) = self.aliases().await?;
            let (indexes, _) = self.indexes().await?;
            let live: BTreeMap<String, Revision> = indexes
                .into_iter()
                .filter(|(_, record, _)| record.state == super::IndexState::Live)
                .map(|(name, _, revision)| (name, revision))
                .collect();
            let new = change(map.clone(), &live)?;
            if new == map {
                return Ok(revision);
            }
            let mut guards = vec![Compare::mod_revision(key.clone(), CompareOp::Equal, revision)];
            for named in changes {
                match named {
                    AliasChange::Create { alias, index } => {
                        let at = live.get(index).copied().unwrap_or(0);
                        guards.push(Compare::mod_revision(self.key(&index_key(index)), CompareOp::Equal, at));
                        guards.push(Compare::create_revision(self.key(&index_key(alias)), CompareOp::Equal, 0));
                    }
                    AliasChange::Rename { to, .. } => {
                        guards.push(Compare::create_revision(self.key(&index_key(to)), CompareOp::Equal, 0));
                    }
                    AliasChange::Delete { .. } => {}
                }
            }
            let txn = Txn::new().when(guards).and_then([TxnOp::put(key.clone(), encode(&key, &new)?, None)]);
            let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("change aliases", e))?;
            if answer.succeeded() {
                return Ok(answer.header().map_or(revision, |h| h.revision()));
            }
        }
        Err(Error::AliasesBusy)
    }
}

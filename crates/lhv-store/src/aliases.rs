//! Aliases: other names for indexes, changed several at a time, all or
//! nothing (the zero-downtime re-index: build `docs-v2`, then move the alias
//! `docs` from `docs-v1` to it in one change).
//!
//! Every change writes the whole map as a new object
//! `_aliases/<version>.json` (the version zero-padded, so keys sort in
//! version order), created only if no object has that version yet: two
//! processes changing aliases at once cannot both win one version, the loser
//! reads the winner's map and applies its change on top. The newest object
//! is the map; older ones are removed after a change, the one before it
//! kept. A writer whose view was so old that its version had been removed
//! already finds a newer one after writing: its object is shadowed, so it
//! removes it and applies its change on top of the newest. Versions only
//! grow, so nothing acknowledged is lost. A newest object that does not decode is reported, left as it is,
//! and alias changes are refused until someone looks at it.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::layout::validate_name;
use crate::store::Store;

/// The directory of the alias objects.
const DIR: &str = "_aliases";
const SUFFIX: &str = ".json";
/// How many times a change is applied again on top of another process's.
const ATTEMPTS: u32 = 32;

/// One change to the aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasChange {
    /// `alias` names `index` from now on (whatever it named before). The
    /// index must exist, and no index may be called `alias`.
    Create {
        /// The alias.
        alias: String,
        /// The index it names.
        index: String,
    },
    /// `alias` names nothing any more (nothing happens if it named nothing).
    Delete {
        /// The alias.
        alias: String,
    },
    /// The alias `from` is called `to` from now on; `from` must exist.
    Rename {
        /// The alias as it is called now.
        from: String,
        /// Its new name.
        to: String,
    },
}

/// The aliases as this process knows them.
#[derive(Debug, Clone)]
pub(crate) enum AliasState {
    /// The map (alias to index) and the version of its object (0: none yet).
    Ready { version: u64, map: BTreeMap<String, String> },
    /// The newest alias object cannot be read: why.
    Damaged(String),
}

impl Default for AliasState {
    fn default() -> Self {
        AliasState::Ready { version: 0, map: BTreeMap::new() }
    }
}

/// The map as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    aliases: BTreeMap<String, String>,
}

fn key(version: u64) -> String {
    format!("{DIR}/{version:020}{SUFFIX}")
}

/// The versions of the alias objects in storage, oldest first.
async fn versions(store: &dyn Store) -> Result<Vec<u64>> {
    let mut versions: Vec<u64> = store
        .list(DIR)
        .await?
        .iter()
        .filter_map(|k| k.strip_prefix(DIR)?.strip_prefix('/')?.strip_suffix(SUFFIX))
        .filter(|v| v.len() == 20)
        .filter_map(|v| v.parse().ok())
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

/// A pause after losing a version to another process, growing and jittered so
/// that two processes changing aliases in a loop do not keep colliding.
async fn backoff(attempt: u32) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| u64::from(t.subsec_nanos()) % 1000);
    let micros = (u64::from(attempt.min(10)) * 1000 + jitter).min(20_000);
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}

/// The aliases in storage (a storage error is an error; a damaged object is
/// [`AliasState::Damaged`]).
pub(crate) async fn load(store: &dyn Store) -> Result<AliasState> {
    for _ in 0..ATTEMPTS {
        let Some(&version) = versions(store).await?.last() else { return Ok(AliasState::default()) };
        let key = key(version);
        // Gone since the listing: another process wrote newer versions and
        // removed this one. List again.
        let Some(bytes) = store.get(&key).await? else { continue };
        return Ok(match serde_json::from_slice::<Stored>(&bytes) {
            Ok(stored) => AliasState::Ready { version, map: stored.aliases },
            Err(e) => {
                tracing::error!(object = %key, error = %e, "the aliases cannot be read; alias changes are refused");
                AliasState::Damaged(format!("{key} does not decode: {e}"))
            }
        });
    }
    Err(Error::AliasesBusy)
}

/// `map` after `changes`, each checked against the indexes (`is_index`).
pub(crate) fn apply(
    mut map: BTreeMap<String, String>,
    changes: &[AliasChange],
    is_index: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, String>> {
    let free = |alias: &str| {
        validate_name(alias)?;
        if is_index(alias) {
            return Err(Error::IndexExists { name: alias.to_owned() });
        }
        Ok(())
    };
    for change in changes {
        match change {
            AliasChange::Create { alias, index } => {
                if !is_index(index) {
                    return Err(Error::IndexNotFound { name: index.clone() });
                }
                free(alias)?;
                map.insert(alias.clone(), index.clone());
            }
            AliasChange::Delete { alias } => {
                map.remove(alias);
            }
            AliasChange::Rename { from, to } => {
                let index = map.remove(from).ok_or_else(|| Error::AliasNotFound { alias: from.clone() })?;
                free(to)?;
                map.insert(to.clone(), index);
            }
        }
    }
    Ok(map)
}

impl Catalog {
    /// The index `name` stands for: the one an alias `name` names, else `name` itself.
    pub fn resolve(&self, name: &str) -> String {
        match &*self.aliases.read() {
            AliasState::Ready { map, .. } => map.get(name).cloned().unwrap_or_else(|| name.to_owned()),
            AliasState::Damaged(_) => name.to_owned(),
        }
    }

    /// Every alias with the index it names, by alias.
    pub fn aliases(&self) -> Result<Vec<(String, String)>> {
        match &*self.aliases.read() {
            AliasState::Ready { map, .. } => Ok(map.iter().map(|(a, i)| (a.clone(), i.clone())).collect()),
            AliasState::Damaged(reason) => Err(Error::AliasesUnavailable { reason: reason.clone() }),
        }
    }

    /// Applies `changes` in order, all or none: once this returns they are
    /// durable and every later [`resolve`](Self::resolve) sees them; if one
    /// cannot be made (an index that does not exist, an alias named like an
    /// index, renaming an alias that does not exist), none is.
    pub async fn change_aliases(&self, changes: &[AliasChange]) -> Result<()> {
        let _admin = self.admin.lock().await;
        self.change_aliases_locked(changes).await
    }

    /// [`change_aliases`](Self::change_aliases) under the admin lock.
    pub(crate) async fn change_aliases_locked(&self, changes: &[AliasChange]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let (version, map) = match self.aliases.read().clone() {
                AliasState::Ready { version, map } => (version, map),
                AliasState::Damaged(reason) => return Err(Error::AliasesUnavailable { reason }),
            };
            let changed = apply(map.clone(), changes, |name| self.has_index(name))?;
            if changed == map {
                return Ok(());
            }
            let next = version + 1;
            let stored = serde_json::to_vec(&Stored { aliases: changed.clone() })
                .map_err(|e| Error::storage("encode", &key(next), e))?;
            match self.store.put_new(&key(next), Bytes::from(stored)).await {
                Ok(()) => {}
                Err(Error::AlreadyExists { .. }) => {
                    // Another process took this version: start again from its map.
                    *self.aliases.write() = load(self.store.as_ref()).await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
            let stored = versions(self.store.as_ref()).await?;
            if stored.last().is_some_and(|&newest| newest > next) {
                // This version had been written and removed already (a newer
                // one exists): ours is shadowed, as if it had lost. Remove it
                // and start again from the newest map.
                self.store.delete(&key(next)).await?;
                *self.aliases.write() = load(self.store.as_ref()).await?;
                continue;
            }
            *self.aliases.write() = AliasState::Ready { version: next, map: changed };
            for old in stored.into_iter().filter(|v| v + 1 < next) {
                if let Err(error) = self.store.delete(&key(old)).await {
                    tracing::warn!(%error, "could not remove an old alias object; the next change tries again");
                }
            }
            return Ok(());
        }
        Err(Error::AliasesBusy)
    }

    /// Whether an alias is called `name`.
    pub(crate) fn is_alias(&self, name: &str) -> bool {
        matches!(&*self.aliases.read(), AliasState::Ready { map, .. } if map.contains_key(name))
    }

    /// The aliases of index `name`, as changes that delete them.
    pub(crate) fn alias_deletions(&self, name: &str) -> Vec<AliasChange> {
        match &*self.aliases.read() {
            AliasState::Ready { map, .. } => map
                .iter()
                .filter(|(_, index)| *index == name)
                .map(|(alias, _)| AliasChange::Delete { alias: alias.clone() })
                .collect(),
            AliasState::Damaged(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(alias: &str, index: &str) -> AliasChange {
        AliasChange::Create { alias: alias.into(), index: index.into() }
    }

    #[test]
    fn changes_apply_in_order_or_not_at_all() {
        let is_index = |name: &str| matches!(name, "v1" | "v2");
        let map = apply(BTreeMap::new(), &[create("docs", "v1"), create("old", "v1")], is_index).unwrap();
        let switched = apply(
            map.clone(),
            &[
                AliasChange::Delete { alias: "docs".into() },
                create("docs", "v2"),
                AliasChange::Rename { from: "old".into(), to: "previous".into() },
            ],
            is_index,
        )
        .unwrap();
        assert_eq!(switched, BTreeMap::from([("docs".into(), "v2".into()), ("previous".into(), "v1".into())]));
        for bad in [
            vec![create("x", "v3")],
            vec![create("v2", "v1")],
            vec![create("a/b", "v1")],
            vec![AliasChange::Rename { from: "nope".into(), to: "x".into() }],
            vec![AliasChange::Rename { from: "docs".into(), to: "v1".into() }],
            vec![create("fine", "v1"), create("x", "missing")],
        ] {
            assert!(apply(map.clone(), &bad, is_index).is_err(), "{bad:?}");
        }
        assert_eq!(apply(map.clone(), &[AliasChange::Delete { alias: "nope".into() }], is_index).unwrap(), map);
    }
}

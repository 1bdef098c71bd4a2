//! Finding the indexes under a store from a listing of its objects: which
//! can be loaded (and from which snapshots and log objects), which are
//! damaged (and why), and which objects are leftovers of an interrupted
//! create or drop.

use std::collections::{BTreeMap, BTreeSet};

use lhv_core::MAX_SHARDS;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layout::{DIR, Object, classify, manifest_key, shard_name, snapshot_key, storage_name};
use crate::store::Store;

/// Where an index's objects are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The storage names of its shards, in shard order (an unsharded index: its own name).
    pub(crate) storage_names: Vec<String>,
    /// Whether it has a manifest (more than one shard).
    pub(crate) sharded: bool,
}

impl Layout {
    pub(crate) fn new(name: &str, shards: usize) -> Self {
        if shards == 1 {
            Self { storage_names: vec![storage_name(name)], sharded: false }
        } else {
            Self { storage_names: (0..shards).map(|s| shard_name(name, s)).collect(), sharded: true }
        }
    }
}

/// The manifest of a sharded index, as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub(crate) shards: usize,
}

/// An index found in the listing.
#[derive(Debug, Clone)]
pub(crate) enum Found {
    /// Every shard has its snapshot; `logs[s]` are the first sequence numbers
    /// of shard `s`'s log objects, sorted.
    Loadable { layout: Layout, logs: Vec<Vec<u64>> },
    /// Something is missing or unreadable: why. Its objects are left alone.
    Damaged { layout: Layout, reason: String },
}

/// What a listing holds.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub(crate) indexes: BTreeMap<String, Found>,
    /// Storage names whose objects belong to no index: a drop or a create
    /// that was cut short. Safe to remove: no write to them was acknowledged.
    pub(crate) leftovers: Vec<String>,
}

/// Lists the store's index objects and reads the manifests.
pub(crate) async fn discover(store: &dyn Store) -> Result<Discovered> {
    let mut snapshots: BTreeSet<(String, Option<usize>)> = BTreeSet::new();
    let mut logs: BTreeMap<(String, Option<usize>), Vec<u64>> = BTreeMap::new();
    let mut manifests = Vec::new();
    for key in store.list(DIR).await? {
        match classify(&key) {
            Object::Snapshot { name, shard } => {
                snapshots.insert((name, shard));
            }
            Object::Log { name, shard, first_sequence } => logs.entry((name, shard)).or_default().push(first_sequence),
            Object::Manifest { name } => manifests.push(name),
            Object::Unknown => tracing::debug!(%key, "ignoring an object that is not an index's"),
        }
    }
    for firsts in logs.values_mut() {
        firsts.sort_unstable();
    }
    let mut found = Discovered::default();
    for name in manifests {
        let shards = read_manifest(store, &name).await?;
        let entry = match shards {
            Err(reason) => {
                let storage_names = snapshots
                    .iter()
                    .chain(logs.keys())
                    .filter(|(n, s)| *n == name && s.is_some())
                    .filter_map(|(_, s)| s.map(|s| shard_name(&name, s)))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                Found::Damaged { layout: Layout { storage_names, sharded: true }, reason }
            }
            Ok(count) => {
                let layout = Layout::new(&name, count);
                let missing = (0..count).find(|&s| !snapshots.contains(&(name.clone(), Some(s))));
                match missing {
                    Some(shard) => Found::Damaged {
                        layout,
                        reason: format!(
                            "shard {shard} of {count} has no snapshot {}",
                            snapshot_key(&shard_name(&name, shard))
                        ),
                    },
                    None => {
                        let logs = (0..count).map(|s| logs.remove(&(name.clone(), Some(s))).unwrap_or_default());
                        Found::Loadable { layout, logs: logs.collect() }
                    }
                }
            }
        };
        if snapshots.contains(&(name.clone(), None)) {
            let layout = Layout::new(&name, 1);
            let reason = format!(
                "both a snapshot {} and a shard manifest {}",
                snapshot_key(&storage_name(&name)),
                manifest_key(&name)
            );
            found.indexes.insert(name.clone(), Found::Damaged { layout, reason });
            continue;
        }
        found.indexes.insert(name, entry);
    }
    for (name, shard) in &snapshots {
        match shard {
            None if !found.indexes.contains_key(name) => {
                let logs = logs.remove(&(name.clone(), None)).unwrap_or_default();
                found.indexes.insert(name.clone(), Found::Loadable { layout: Layout::new(name, 1), logs: vec![logs] });
            }
            Some(shard) if !found.indexes.contains_key(name) => found.leftovers.push(shard_name(name, *shard)),
            _ => {}
        }
    }
    // Logs of no snapshot: an unsharded index whose drop was interrupted, or a
    // shard of an index without a manifest. A manifest's own shards stay.
    for ((name, shard), _) in logs {
        let storage = shard.map_or_else(|| storage_name(&name), |s| shard_name(&name, s));
        let claimed = found.indexes.get(&name).is_some_and(|f| match f {
            Found::Loadable { layout, .. } | Found::Damaged { layout, .. } => layout.storage_names.contains(&storage),
        });
        let has_snapshot = snapshots.contains(&(name.clone(), shard));
        if !claimed && !has_snapshot && !found.leftovers.contains(&storage) {
            found.leftovers.push(storage);
        }
    }
    Ok(found)
}

/// The shard count in a manifest, or why it cannot be used.
async fn read_manifest(store: &dyn Store, name: &str) -> Result<std::result::Result<usize, String>> {
    let key = manifest_key(name);
    let Some(bytes) = store.get(&key).await? else {
        return Ok(Err(format!("{key} disappeared while loading")));
    };
    Ok(match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(Manifest { shards }) if (2..=MAX_SHARDS).contains(&shards) => Ok(shards),
        Ok(Manifest { shards }) => Err(format!("{key}: {shards} shards, not in 2..={MAX_SHARDS}")),
        Err(e) => Err(format!("{key}: {e}")),
    })
}

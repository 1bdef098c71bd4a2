//! All durable indexes under one storage URL.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use lhv_core::{Index, IndexParams, ShardedIndex};

use lhv_format::{decode_snapshot, encode_snapshot};
use parking_lot::RwLock;
use tokio::sync::Mutex;

use crate::aliases::AliasState;
use crate::discover::{Found, Layout, Manifest, discover};
use crate::durable::DurableIndex;
use crate::error::{Error, Result};
use crate::layout::{log_dir, manifest_key, snapshot_key, storage_name, validate_name};
use crate::lock::DirLock;
use crate::recovery::load;
use crate::shard::{CommitState, DurableShard};
use crate::store::Store;
use crate::url::open_url;

/// Settings of a [`Catalog`].
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    /// A snapshot is written in the background once an index's log objects
    /// hold this many bytes (then the log they cover is removed).
    pub snapshot_log_bytes: u64,
    /// Extra S3 settings for `s3://` URLs (see [`open_url`](crate::open_url)).
    pub s3_options: Vec<(String, String)>,
    /// A local directory for copies of a remote store's snapshots
    /// ([`SnapshotCache`](crate::SnapshotCache)): they are mapped like a
    /// `file://` store's (vectors kept on disk stay out of memory, restarts
    /// read the local disk). Unused for `file://` stores.
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        Self { snapshot_log_bytes: 64 << 20, s3_options: Vec::new(), cache_dir: None }
    }
}

/// How an index is doing, as [`Catalog::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStatus {
    /// The index's name.
    pub name: String,
    /// Its state.
    pub state: IndexState,
}

/// Where an index is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexState {
    /// Found in storage, not loaded yet (see [`Catalog::open_unloaded`]).
    Loading,
    /// Serving.
    Ready,
    /// Its objects failed their checks (or could not be read) while loading:
    /// why. The objects are left untouched.
    Unavailable(String),
}

#[derive(Debug, Clone)]
enum Entry {
    /// Per shard, the first sequence numbers of its log objects.
    Loading(Layout, Vec<Vec<u64>>),
    Ready(Arc<DurableIndex>),
    Unavailable(Layout, String),
}

/// The durable indexes under one storage URL.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use lhv_core::{IndexParams, Item, Metric, SearchOptions};
/// use lhv_store::{Catalog, CatalogOptions};
///
/// let dir = tempfile::tempdir()?;
/// let url = format!("file://{}", dir.path().display());
/// let catalog = Catalog::open(&url, CatalogOptions::default()).await?;
/// let docs = catalog.create("docs", IndexParams::new(2, Metric::Cosine)).await?;
/// docs.upsert(vec![Item::new("a", vec![1.0, 0.0])]).await?;
/// catalog.close().await?;
/// drop(catalog); // releases the directory lock
///
/// let reopened = Catalog::open(&url, CatalogOptions::default()).await?;
/// assert_eq!(reopened.get("docs")?.index().search(&[1.0, 0.1], 1, &SearchOptions::default())?[0].id, "a");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Catalog {
    pub(crate) store: Arc<dyn Store>,
    options: CatalogOptions,
    indexes: RwLock<BTreeMap<String, Entry>>,
    /// Other names of indexes (see [`crate::aliases`]).
    pub(crate) aliases: RwLock<AliasState>,
    /// Serialises create and drop.
    pub(crate) admin: Mutex<()>,
    _lock: Option<DirLock>,
}

impl Catalog {
    /// Opens the store `url` names (see [`open_url`](crate::open_url)) and
    /// loads every index in it.
    pub async fn open(url: &str, options: CatalogOptions) -> Result<Self> {
        let catalog = Self::open_unloaded(url, options).await?;
        catalog.load_all().await?;
        Ok(catalog)
    }

    /// Opens the store `url` names and finds its indexes without loading
    /// them: they are [`IndexState::Loading`] until [`load_all`](Self::load_all)
    /// has run, so that a server can answer health checks meanwhile.
    pub async fn open_unloaded(url: &str, options: CatalogOptions) -> Result<Self> {
        let opened = open_url(url, &options.s3_options)?;
        let store = match &options.cache_dir {
            Some(dir) if opened.lock.is_none() => Arc::new(crate::SnapshotCache::new(opened.store, dir)?),
            _ => opened.store,
        };
        let mut catalog = Self::open_store_unloaded(store, options).await?;
        catalog._lock = opened.lock;
        Ok(catalog)
    }

    /// [`open`](Self::open) on a store built by the caller.
    pub async fn open_store(store: Arc<dyn Store>, options: CatalogOptions) -> Result<Self> {
        let catalog = Self::open_store_unloaded(store, options).await?;
        catalog.load_all().await?;
        Ok(catalog)
    }

    /// [`open_unloaded`](Self::open_unloaded) on a store built by the caller.
    pub async fn open_store_unloaded(store: Arc<dyn Store>, options: CatalogOptions) -> Result<Self> {
        let found = discover(store.as_ref()).await?;
        for storage in &found.leftovers {
            tracing::info!(objects = %storage, "removing the objects of an interrupted drop or create");
            remove_storage(store.as_ref(), storage).await?;
        }
        let indexes = found
            .indexes
            .into_iter()
            .map(|(name, found)| {
                let entry = match found {
                    Found::Loadable { layout, logs } => Entry::Loading(layout, logs),
                    Found::Damaged { layout, reason } => {
                        tracing::error!(index = %name, %reason, "index unavailable");
                        Entry::Unavailable(layout, reason)
                    }
                };
                (name, entry)
            })
            .collect();
        let aliases = RwLock::new(crate::aliases::load(store.as_ref()).await?);
        Ok(Self { store, options, indexes: RwLock::new(indexes), aliases, admin: Mutex::new(()), _lock: None })
    }

    /// Loads every index still [`IndexState::Loading`]. An index whose
    /// objects fail their checks, or cannot be read, becomes
    /// [`IndexState::Unavailable`] with the reason; its objects are left untouched.
    pub async fn load_all(&self) -> Result<()> {
        let loading: Vec<(String, Layout, Vec<Vec<u64>>)> = self
            .indexes
            .read()
            .iter()
            .filter_map(|(name, entry)| match entry {
                Entry::Loading(layout, logs) => Some((name.clone(), layout.clone(), logs.clone())),
                _ => None,
            })
            .collect();
        for (name, layout, logs) in loading {
            let entry = match self.load_index(&name, &layout, &logs).await {
                Ok(durable) => Entry::Ready(Arc::new(durable)),
                Err(reason) => {
                    tracing::error!(index = %name, %reason, "index unavailable");
                    Entry::Unavailable(layout, reason)
                }
            };
            self.indexes.write().insert(name, entry);
        }
        Ok(())
    }

    /// Loads every shard of an index, or says why it cannot be served.
    async fn load_index(
        &self,
        name: &str,
        layout: &Layout,
        logs: &[Vec<u64>],
    ) -> std::result::Result<DurableIndex, String> {
        let mut shards = Vec::with_capacity(layout.storage_names.len());
        for (storage, firsts) in layout.storage_names.iter().zip(logs) {
            let (index, state, covered) = match load(self.store.as_ref(), storage, firsts, false).await {
                Ok(Ok(loaded)) => loaded,
                Ok(Err(reason)) => return Err(reason),
                Err(error) => return Err(format!("could not be read (restart to retry): {error}")),
            };
            for key in covered {
                if let Err(error) = self.store.delete(&key).await {
                    tracing::warn!(%key, %error, "could not remove a log object the snapshot covers");
                }
            }
            shards.push(self.shard(storage, index, state));
        }
        DurableIndex::new(name.to_owned(), shards).map_err(|e| e.to_string())
    }

    fn shard(&self, storage: &str, index: Index, state: CommitState) -> Arc<DurableShard> {
        let store = Arc::clone(&self.store);
        let snapshot_log_bytes = self.options.snapshot_log_bytes;
        Arc::new(DurableShard::new(storage.to_owned(), Arc::new(index), store, snapshot_log_bytes, None, state))
    }

    /// Every index that is serving.
    pub(crate) fn ready_indexes(&self) -> Vec<Arc<DurableIndex>> {
        self.indexes
            .read()
            .values()
            .filter_map(|e| match e {
                Entry::Ready(d) => Some(Arc::clone(d)),
                Entry::Loading(..) | Entry::Unavailable(..) => None,
            })
            .collect()
    }

    /// Whether no index is still loading.
    pub fn is_loaded(&self) -> bool {
        !self.indexes.read().values().any(|e| matches!(e, Entry::Loading(..)))
    }

    /// Creates an empty index; it survives a restart from the moment this returns.
    pub async fn create(&self, name: &str, params: IndexParams) -> Result<Arc<DurableIndex>> {
        self.create_sharded(name, params, 1).await
    }

    /// Creates an empty index of `shards` shards (1 to
    /// [`MAX_SHARDS`](lhv_core::MAX_SHARDS)), each with its own log and
    /// snapshot; it survives a restart from the moment this returns.
    pub async fn create_sharded(&self, name: &str, params: IndexParams, shards: usize) -> Result<Arc<DurableIndex>> {
        validate_name(name)?;
        // Checks the shard count and the parameters.
        ShardedIndex::new(params.clone(), shards)?;
        let mut created = Vec::with_capacity(shards);
        for _ in 0..shards {
            let index = Index::new(params.clone())?;
            let snapshot = Bytes::from(encode_snapshot(&index.to_parts(), 0)?);
            created.push((index, snapshot));
        }
        self.install(name, created, 0).await
    }

    /// Creates an index from an LHV1 snapshot frame (as
    /// [`DurableIndex::export_snapshot`] writes it), checked as thoroughly as
    /// a file read at start; a bad frame is [`Error::InvalidSnapshot`] and
    /// changes nothing. It survives a restart from the moment this returns.
    pub async fn create_from_snapshot(&self, name: &str, snapshot: Bytes) -> Result<Arc<DurableIndex>> {
        validate_name(name)?;
        if self.indexes.read().contains_key(name) {
            return Err(Error::IndexExists { name: name.to_owned() });
        }
        let frame = snapshot.clone();
        let decoded = tokio::task::spawn_blocking(move || decode_snapshot(&frame))
            .await
            .map_err(|e| Error::storage("decode", name, e))?
            .map_err(|e| Error::InvalidSnapshot { reason: e.to_string() })?;
        self.install(name, vec![(decoded.index, snapshot)], decoded.last_lsn).await
    }

    /// Stores each shard's snapshot (the frame of its index) as its only
    /// object, then the manifest of a sharded index (the moment it exists),
    /// and serves it; each shard's log continues after `last_sequence`.
    async fn install(&self, name: &str, shards: Vec<(Index, Bytes)>, last_sequence: u64) -> Result<Arc<DurableIndex>> {
        let _admin = self.admin.lock().await;
        if self.indexes.read().contains_key(name) {
            return Err(Error::IndexExists { name: name.to_owned() });
        }
        if self.is_alias(name) {
            return Err(Error::AliasExists { name: name.to_owned() });
        }
        let layout = Layout::new(name, shards.len());
        let exists = |e| match e {
            Error::AlreadyExists { .. } => Error::IndexExists { name: name.to_owned() },
            other => other,
        };
        let mut durable_shards = Vec::with_capacity(shards.len());
        for (storage, (index, snapshot)) in layout.storage_names.iter().zip(shards) {
            remove_all(self.store.as_ref(), &log_dir(storage)).await?;
            if layout.sharded {
                // Without the manifest a shard is a leftover: overwrite what a cut-short create left.
                self.store.put(&snapshot_key(storage), snapshot).await?;
            } else {
                self.store.put_new(&snapshot_key(storage), snapshot).await.map_err(exists)?;
            }
            let state = CommitState::after(last_sequence, Vec::new(), None, None);
            durable_shards.push(self.shard(storage, index, state));
        }
        if layout.sharded {
            let manifest = serde_json::to_vec(&Manifest { shards: layout.storage_names.len() })
                .map_err(|e| Error::storage("encode", &manifest_key(name), e))?;
            self.store.put_new(&manifest_key(name), Bytes::from(manifest)).await.map_err(exists)?;
        }
        let durable = Arc::new(DurableIndex::new(name.to_owned(), durable_shards)?);
        self.indexes.write().insert(name.to_owned(), Entry::Ready(Arc::clone(&durable)));
        Ok(durable)
    }

    /// Deletes an index and every object of it (an unavailable one too). Once
    /// this returns it never comes back; if it fails part-way, the index is
    /// gone already and the next open removes what is left.
    pub async fn drop_index(&self, name: &str) -> Result<()> {
        let _admin = self.admin.lock().await;
        let entry = self.indexes.read().get(name).cloned();
        let (layout, ready) = match &entry {
            None => return Err(Error::IndexNotFound { name: name.to_owned() }),
            Some(Entry::Loading(..)) => return Err(Error::Loading { name: name.to_owned() }),
            Some(Entry::Ready(durable)) => {
                let storage_names = durable.shards().iter().map(|s| s.name().to_owned()).collect();
                (Layout { storage_names, sharded: durable.shard_count() > 1 }, Some(durable))
            }
            Some(Entry::Unavailable(layout, _)) => (layout.clone(), None),
        };
        // Its aliases go first (as in Qdrant): a crash after this leaves the
        // index without aliases, never an alias naming a dropped index.
        self.change_aliases_locked(&self.alias_deletions(name)).await?;
        if let Some(durable) = ready {
            durable.retire().await;
        }
        // The manifest (or the only snapshot) first: without it the index does not exist.
        if layout.sharded {
            self.store.delete(&manifest_key(name)).await?;
        } else {
            self.store.delete(&snapshot_key(&storage_name(name))).await?;
        }
        self.indexes.write().remove(name);
        for storage in &layout.storage_names {
            remove_storage(self.store.as_ref(), storage).await?;
        }
        Ok(())
    }

    /// Whether an index (in any state) is called `name`.
    pub(crate) fn has_index(&self, name: &str) -> bool {
        self.indexes.read().contains_key(name)
    }

    /// The index called `name`.
    pub fn get(&self, name: &str) -> Result<Arc<DurableIndex>> {
        match self.indexes.read().get(name) {
            Some(Entry::Ready(durable)) => Ok(Arc::clone(durable)),
            Some(Entry::Unavailable(_, reason)) => {
                Err(Error::Unavailable { name: name.to_owned(), reason: reason.clone() })
            }
            Some(Entry::Loading(..)) => Err(Error::Loading { name: name.to_owned() }),
            None => Err(Error::IndexNotFound { name: name.to_owned() }),
        }
    }

    /// Every index, by name.
    pub fn list(&self) -> Vec<IndexStatus> {
        self.indexes
            .read()
            .iter()
            .map(|(name, entry)| IndexStatus {
                name: name.clone(),
                state: match entry {
                    Entry::Loading(..) => IndexState::Loading,
                    Entry::Ready(_) => IndexState::Ready,
                    Entry::Unavailable(_, reason) => IndexState::Unavailable(reason.clone()),
                },
            })
            .collect()
    }

    /// Snapshots every index with log records since its last snapshot, so the
    /// next open has nothing to replay. Dropping a catalog without closing it
    /// loses nothing either: the next open replays the log.
    pub async fn close(&self) -> Result<()> {
        let mut first_error = None;
        for durable in self.ready_indexes() {
            if let Err(e) = durable.snapshot().await {
                first_error.get_or_insert(e);
            }
            durable.retire().await;
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Deletes the snapshot and the log of a storage name (an index or a shard).
async fn remove_storage(store: &dyn Store, storage: &str) -> Result<()> {
    store.delete(&snapshot_key(storage)).await?;
    remove_all(store, &log_dir(storage)).await
}

/// Deletes every object under `prefix`.
async fn remove_all(store: &dyn Store, prefix: &str) -> Result<()> {
    for key in store.list(prefix).await? {
        store.delete(&key).await?;
    }
    Ok(())
}

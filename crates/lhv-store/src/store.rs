//! One small interface over every storage backend.

use std::fmt::Debug;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::{Error, Result};

/// Which state of an object a conditional write expects (its ETag, or the
/// backend's version id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    e_tag: Option<String>,
    version: Option<String>,
}

impl ObjectVersion {
    /// A file-name-safe identifier of this version (hex of its ETag and
    /// version id), or `None` when the backend reported neither.
    pub(crate) fn tag(&self) -> Option<String> {
        if self.e_tag.is_none() && self.version.is_none() {
            return None;
        }
        let hex = |part: &Option<String>| {
            part.as_deref().unwrap_or("").bytes().map(|b| format!("{b:02x}")).collect::<String>()
        };
        Some(format!("{}-{}", hex(&self.e_tag), hex(&self.version)))
    }
}

/// An object opened for reading as a stream, so that a large one (a
/// snapshot) can be read into its final place without being held whole.
pub struct ObjectReader {
    /// Its bytes. Reading blocks: read on a blocking thread
    /// (`tokio::task::spawn_blocking`), never on the async runtime.
    pub body: ObjectBody,
    /// Its length in bytes.
    pub length: u64,
    /// Its version, as [`Store::get_versioned`] returns it.
    pub version: ObjectVersion,
}

/// Where an opened object's bytes come from.
pub enum ObjectBody {
    /// A local file holding the object and nothing else, positioned at its start (it may be mapped).
    File(std::fs::File),
    /// A stream of bytes.
    Stream(Box<dyn Read + Send>),
}

impl Read for ObjectBody {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ObjectBody::File(file) => file.read(buffer),
            ObjectBody::Stream(stream) => stream.read(buffer),
        }
    }
}

impl Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader").field("length", &self.length).field("version", &self.version).finish()
    }
}

/// What every [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Objects addressed by `/`-separated keys such as `_vectors/docs.lhv1`.
///
/// Every write is atomic (readers see the old or the new object, never a
/// part) and durable when it returns: fsynced on local disk, a completed PUT
/// on object stores.
pub trait Store: Send + Sync + Debug {
    /// The object at `key`, or `None` if there is none.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Bytes>>;
    /// Writes `bytes` at `key`, replacing any object there.
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()>;
    /// Writes `bytes` at `key` only if no object is there; otherwise
    /// [`Error::AlreadyExists`] and nothing changes.
    fn put_new<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()>;
    /// Deletes the object at `key`; deleting a missing object is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
    /// Every key under the directory-like `prefix` (`""` for all), sorted.
    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>>;
    /// The object at `key` and its version, or `None` if there is none.
    fn get_versioned<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<(Bytes, ObjectVersion)>>;
    /// Writes `bytes` at `key` only if no object is there (as
    /// [`put_new`](Self::put_new)), and returns the new object's version.
    fn put_new_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ObjectVersion>;
    /// Replaces the object at `key` only if it is still at `version`
    /// (`If-Match`); otherwise [`Error::VersionChanged`] and nothing changes.
    /// Backends without conditional updates (local directories, WebDAV)
    /// answer [`Error::Unsupported`].
    fn put_if_version<'a>(
        &'a self,
        key: &'a str,
        bytes: Bytes,
        version: &'a ObjectVersion,
    ) -> StoreFuture<'a, ObjectVersion>;
    /// Writes `bytes` at `key` as [`put`](Self::put) does, and returns the new
    /// object's version where the backend reports one.
    fn put_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, Option<ObjectVersion>> {
        Box::pin(async move { self.put(key, bytes).await.map(|()| None) })
    }
    /// Forgets any local copy of `key` (a cache's), so that the next
    /// [`open`](Self::open) reads the object itself; whether there was one.
    fn evict<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let _ = key;
        Box::pin(async { Ok(false) })
    }
    /// The object at `key` opened for reading as a stream, with its length
    /// and version, or `None` if there is none. Backends that can stream
    /// (local files, object stores) do not hold the object in memory; the
    /// default reads it whole with [`get_versioned`](Self::get_versioned).
    fn open<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<ObjectReader>> {
        Box::pin(async move {
            Ok(self.get_versioned(key).await?.map(|(bytes, version)| ObjectReader {
                length: bytes.len() as u64,
                body: ObjectBody::Stream(Box::new(std::io::Cursor::new(bytes))),
                version,
            }))
        })
    }
}

/// A [`Store`] on an [`ObjectStore`] of the `object_store` crate.
#[derive(Debug)]
pub struct ObjectStoreBackend {
    inner: Arc<dyn ObjectStore>,
    root: Path,
    /// Whether the backend does conditional creates itself (`PutMode::Create`);
    /// the HTTP/WebDAV store does not.
    conditional_put: bool,
}

impl ObjectStoreBackend {
    /// Keys live under `root` inside `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, root: Path, conditional_put: bool) -> Self {
        Self { inner, root, conditional_put }
    }

    fn path(&self, key: &str) -> Result<Path> {
        let joined = if self.root.as_ref().is_empty() { key.to_owned() } else { format!("{}/{key}", self.root) };
        Path::parse(&joined).map_err(|e| Error::storage("address", key, e))
    }

    /// `key` relative to the root.
    fn key_of(&self, path: &Path) -> String {
        let full = path.as_ref();
        let root = self.root.as_ref();
        if root.is_empty() {
            full.to_owned()
        } else {
            full.strip_prefix(root).map_or(full, |k| k.trim_start_matches('/')).to_owned()
        }
    }
}

impl Store for ObjectStoreBackend {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Bytes>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match self.inner.get(&path).await {
                Ok(result) => Ok(Some(result.bytes().await.map_err(|e| Error::from_backend("get", key, &e))?)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Error::from_backend("get", key, &e)),
            }
        })
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.put_versioned(key, bytes).await.map(drop) })
    }

    fn put_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, Option<ObjectVersion>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let put = self
                .inner
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(|e| Error::from_backend("put", key, &e))?;
            Ok(Some(ObjectVersion { e_tag: put.e_tag, version: put.version }))
        })
    }

    fn put_new<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path(key)?;
            if !self.conditional_put {
                // Not atomic against another writer between the check and the
                // put; one process per store is the rule on such backends.
                if self.get(key).await?.is_some() {
                    return Err(Error::AlreadyExists { key: key.to_owned() });
                }
                return self.put(key, bytes).await;
            }
            let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
            match self.inner.put_opts(&path, PutPayload::from(bytes), options).await {
                Ok(_) => Ok(()),
                Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                    Err(Error::AlreadyExists { key: key.to_owned() })
                }
                Err(e) => Err(Error::from_backend("put_new", key, &e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path(key)?;
            match self.inner.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(Error::from_backend("delete", key, &e)),
            }
        })
    }

    fn get_versioned<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<(Bytes, ObjectVersion)>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match self.inner.get(&path).await {
                Ok(result) => {
                    let version =
                        ObjectVersion { e_tag: result.meta.e_tag.clone(), version: result.meta.version.clone() };
                    let bytes = result.bytes().await.map_err(|e| Error::from_backend("get", key, &e))?;
                    Ok(Some((bytes, version)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Error::from_backend("get", key, &e)),
            }
        })
    }

    fn put_new_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(async move {
            let path = self.path(key)?;
            if !self.conditional_put {
                return Err(Error::Unsupported { operation: "put_new_versioned", key: key.to_owned() });
            }
            let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
            match self.inner.put_opts(&path, PutPayload::from(bytes), options).await {
                Ok(put) => Ok(ObjectVersion { e_tag: put.e_tag, version: put.version }),
                Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                    Err(Error::AlreadyExists { key: key.to_owned() })
                }
                Err(e) => Err(Error::from_backend("put_new", key, &e)),
            }
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<ObjectReader>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let result = match self.inner.get(&path).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(Error::from_backend("get", key, &e)),
            };
            let version = ObjectVersion { e_tag: result.meta.e_tag.clone(), version: result.meta.version.clone() };
            let length = result.range.end - result.range.start;
            let body = match result.payload {
                // The whole file (a plain get): it may be mapped.
                GetResultPayload::File(file, _) if result.range.start == 0 => ObjectBody::File(file),
                GetResultPayload::File(mut file, _) => {
                    file.seek(SeekFrom::Start(result.range.start)).map_err(|e| Error::storage("get", key, e))?;
                    ObjectBody::Stream(Box::new(file.take(length)))
                }
                // Pulled chunk by chunk from the runtime by the blocking reader.
                GetResultPayload::Stream(stream) => {
                    let stream = stream.map_err(std::io::Error::other);
                    ObjectBody::Stream(Box::new(SyncIoBridge::new(StreamReader::new(stream))))
                }
            };
            Ok(Some(ObjectReader { body, length, version }))
        })
    }

    fn put_if_version<'a>(
        &'a self,
        key: &'a str,
        bytes: Bytes,
        version: &'a ObjectVersion,
    ) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(async move {
            let path = self.path(key)?;
            if !self.conditional_put || (version.e_tag.is_none() && version.version.is_none()) {
                return Err(Error::Unsupported { operation: "put_if_version", key: key.to_owned() });
            }
            let expected = UpdateVersion { e_tag: version.e_tag.clone(), version: version.version.clone() };
            let options = PutOptions { mode: PutMode::Update(expected), ..PutOptions::default() };
            match self.inner.put_opts(&path, PutPayload::from(bytes), options).await {
                Ok(put) => Ok(ObjectVersion { e_tag: put.e_tag, version: put.version }),
                Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
                    Err(Error::VersionChanged { key: key.to_owned() })
                }
                Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => {
                    Err(Error::Unsupported { operation: "put_if_version", key: key.to_owned() })
                }
                Err(e) => Err(Error::from_backend("put_if_version", key, &e)),
            }
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let path = if prefix.is_empty() { self.root.clone() } else { self.path(prefix)? };
            let listed: Vec<_> = match self.inner.list(Some(&path)).try_collect().await {
                Ok(listed) => listed,
                // Some backends (WebDAV) answer 404 for a prefix with nothing under it.
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(Error::from_backend("list", prefix, &e)),
            };
            let mut keys: Vec<String> = listed
                .iter()
                .map(|meta| self.key_of(&meta.location))
                // The data directory's lock file is not an object.
                .filter(|key| key != crate::lock::LOCK_FILE)
                .collect();
            keys.sort_unstable();
            Ok(keys)
        })
    }
}

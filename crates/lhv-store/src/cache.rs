//! A local copy of every snapshot of a remote store (S3, WebDAV, memory), so
//! that a snapshot is mapped from local disk like one of a `file://` store:
//! the exact rows of vectors kept on disk stay out of memory, and a restart
//! whose copies are current reads the local disk instead of the bucket.
//!
//! The bucket stays the truth. A copy is named after its object's version
//! (ETag or version id) and used only while the bucket reports that version
//! on opening the object; otherwise (or when it is missing) the object is
//! downloaded into a new copy. A snapshot this process writes is copied as it
//! is uploaded, under the version the upload returned. Copies are written to
//! a temporary file, fsynced and renamed into place, never changed in place
//! and only ever unlinked, so a mapped copy cannot shrink under its mapping
//! (see `mapped.rs`); a copy found damaged when loaded is dropped and the
//! object downloaded again ([`Store::evict`]). The directory is locked
//! against a second process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::lock::DirLock;
use crate::store::{ObjectBody, ObjectReader, ObjectVersion, Store, StoreFuture};

/// Suffix of the objects copied: snapshots (`layout::SNAPSHOT_SUFFIX`).
const COPIED_SUFFIX: &str = ".lhv1";
/// Suffix of a copy being written.
const PARTIAL_SUFFIX: &str = ".partial";

/// A [`Store`] that keeps local copies of `inner`'s snapshots in a directory.
#[derive(Debug)]
pub struct SnapshotCache {
    inner: Arc<dyn Store>,
    dir: PathBuf,
    next_partial: AtomicU64,
    _lock: DirLock,
}

impl SnapshotCache {
    /// Copies `inner`'s snapshots into `dir` (created if missing, locked
    /// against another process; copies left half-written by a crash removed).
    pub fn new(inner: Arc<dyn Store>, dir: &Path) -> Result<Self> {
        let failed = |e: std::io::Error| Error::storage("cache", &dir.display().to_string(), e);
        std::fs::create_dir_all(dir).map_err(failed)?;
        let lock = DirLock::acquire(dir)?;
        for entry in std::fs::read_dir(dir).map_err(failed)? {
            let path = entry.map_err(failed)?.path();
            if path.to_string_lossy().ends_with(PARTIAL_SUFFIX) {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(Self { inner, dir: dir.to_owned(), next_partial: AtomicU64::new(0), _lock: lock })
    }

    fn copied(key: &str) -> bool {
        key.ends_with(COPIED_SUFFIX)
    }

    /// The copies of `key` start with this (`/` and `%` escaped).
    fn prefix(key: &str) -> String {
        format!("{}@", key.replace('%', "%25").replace('/', "%2F"))
    }

    /// Where a new copy of `key` at `version` goes, if the version is known.
    fn target(&self, key: &str, version: &ObjectVersion) -> Option<CopyTarget> {
        let prefix = Self::prefix(key);
        let path = self.dir.join(format!("{prefix}{}", version.tag()?));
        let partial = self.next_partial.fetch_add(1, Ordering::Relaxed);
        let partial = self.dir.join(format!("{prefix}{partial}{PARTIAL_SUFFIX}"));
        Some(CopyTarget { dir: self.dir.clone(), prefix, path, partial })
    }

    /// Copies `source` into place as the copy of `key` at `version`, on a blocking thread.
    async fn write_copy(
        &self,
        key: &str,
        version: &ObjectVersion,
        mut source: Box<dyn std::io::Read + Send>,
    ) -> Result<std::fs::File> {
        let Some(target) = self.target(key, version) else {
            return Err(Error::storage("cache", key, "the store reports no version to name a copy after"));
        };
        tokio::task::spawn_blocking(move || target.write(&mut source))
            .await
            .map_err(|e| Error::storage("cache", key, e))?
            .map_err(|e| Error::storage("cache", key, e))
    }

    /// After `key` was written at `version` (or at an unknown one): its copy.
    async fn copy_written(&self, key: &str, bytes: Bytes, version: Option<&ObjectVersion>) {
        let result = match version {
            Some(version) => self.write_copy(key, version, Box::new(std::io::Cursor::new(bytes))).await.map(drop),
            None => {
                remove_copies(&self.dir, &Self::prefix(key), None);
                Ok(())
            }
        };
        if let Err(error) = result {
            // The next load downloads it.
            tracing::warn!(%key, %error, "no local copy of the snapshot");
        }
    }
}

/// Where a copy is written, then renamed to.
struct CopyTarget {
    dir: PathBuf,
    prefix: String,
    path: PathBuf,
    partial: PathBuf,
}

impl CopyTarget {
    /// Writes `source` to the partial file, fsyncs it, renames it into place
    /// (removing older copies) and returns it opened.
    fn write(&self, source: &mut dyn std::io::Read) -> std::io::Result<std::fs::File> {
        let written = (|| {
            let mut file = std::fs::File::create(&self.partial)?;
            std::io::copy(source, &mut file)?;
            file.flush()?;
            file.sync_all()
        })();
        if let Err(error) = written {
            let _ = std::fs::remove_file(&self.partial);
            return Err(error);
        }
        remove_copies(&self.dir, &self.prefix, Some(&self.path));
        std::fs::rename(&self.partial, &self.path)?;
        // The rename is durable once the directory is.
        std::fs::File::open(&self.dir)?.sync_all()?;
        std::fs::File::open(&self.path)
    }
}

/// Unlinks every copy in `dir` named with `prefix` but `keep` (a mapped copy
/// stays readable until unmapped); whether any was removed.
fn remove_copies(dir: &Path, prefix: &str, keep: Option<&Path>) -> bool {
    let mut removed = false;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let ours = name.to_str().is_some_and(|n| n.starts_with(prefix) && !n.ends_with(PARTIAL_SUFFIX));
        if ours && Some(path.as_path()) != keep {
            removed |= std::fs::remove_file(&path).is_ok();
        }
    }
    removed
}

impl Store for SnapshotCache {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Bytes>> {
        self.inner.get(key)
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.put_versioned(key, bytes).await.map(drop) })
    }

    fn put_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, Option<ObjectVersion>> {
        Box::pin(async move {
            if !Self::copied(key) {
                return self.inner.put_versioned(key, bytes).await;
            }
            let version = self.inner.put_versioned(key, bytes.clone()).await?;
            self.copy_written(key, bytes, version.as_ref()).await;
            Ok(version)
        })
    }

    fn put_new<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.inner.put_new(key, bytes).await?;
            if Self::copied(key) {
                remove_copies(&self.dir, &Self::prefix(key), None);
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.inner.delete(key).await?;
            if Self::copied(key) {
                remove_copies(&self.dir, &Self::prefix(key), None);
            }
            Ok(())
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        self.inner.list(prefix)
    }

    fn get_versioned<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<(Bytes, ObjectVersion)>> {
        self.inner.get_versioned(key)
    }

    fn put_new_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(async move {
            let version = self.inner.put_new_versioned(key, bytes.clone()).await?;
            if Self::copied(key) {
                self.copy_written(key, bytes, Some(&version)).await;
            }
            Ok(version)
        })
    }

    fn put_if_version<'a>(
        &'a self,
        key: &'a str,
        bytes: Bytes,
        version: &'a ObjectVersion,
    ) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(async move {
            let written = self.inner.put_if_version(key, bytes.clone(), version).await?;
            if Self::copied(key) {
                self.copy_written(key, bytes, Some(&written)).await;
            }
            Ok(written)
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<ObjectReader>> {
        Box::pin(async move {
            let Some(opened) = self.inner.open(key).await? else { return Ok(None) };
            let ObjectReader { body: ObjectBody::Stream(stream), length, version } = opened else {
                // Already a local file.
                return Ok(Some(opened));
            };
            if !Self::copied(key) || version.tag().is_none() {
                // Nothing to name a copy after: read the object itself.
                return Ok(Some(ObjectReader { body: ObjectBody::Stream(stream), length, version }));
            }
            let current = self.target(key, &version).and_then(|target| std::fs::File::open(target.path).ok());
            if let Some(file) = current.filter(|f| f.metadata().is_ok_and(|m| m.len() == length)) {
                // Dropping the stream ends the download.
                return Ok(Some(ObjectReader { body: ObjectBody::File(file), length, version }));
            }
            // Read on a blocking thread as the runtime pulls the download.
            let file = self.write_copy(key, &version, stream).await?;
            Ok(Some(ObjectReader { body: ObjectBody::File(file), length, version }))
        })
    }

    fn evict<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move { Ok(Self::copied(key) && remove_copies(&self.dir, &Self::prefix(key), None)) })
    }
}

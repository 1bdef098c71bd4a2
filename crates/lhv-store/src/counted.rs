//! A store that counts the requests it passes on, by kind: what object
//! storage is asked (and billed) for, shown in `/metrics` and measured by
//! the cluster scenarios.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::store::{ObjectReader, ObjectVersion, Store, StoreFuture};

/// Requests made so far, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreRequests {
    /// GETs (plain and versioned).
    pub reads: u64,
    /// PUTs (plain, create-only and conditional).
    pub writes: u64,
    /// LISTs.
    pub lists: u64,
    /// DELETEs.
    pub deletes: u64,
}

impl StoreRequests {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.reads + self.writes + self.lists + self.deletes
    }
}

/// Passes every request to `inner`, counting it.
#[derive(Debug)]
pub struct CountedStore {
    inner: Arc<dyn Store>,
    reads: AtomicU64,
    writes: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
}

impl CountedStore {
    /// Counts the requests made of `inner` from now on.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
        }
    }

    /// The requests made so far.
    pub fn requests(&self) -> StoreRequests {
        StoreRequests {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            lists: self.lists.load(Ordering::Relaxed),
            deletes: self.deletes.load(Ordering::Relaxed),
        }
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Store for CountedStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Bytes>> {
        count(&self.reads);
        self.inner.get(key)
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        count(&self.writes);
        self.inner.put(key, bytes)
    }

    fn put_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, Option<ObjectVersion>> {
        count(&self.writes);
        self.inner.put_versioned(key, bytes)
    }

    fn evict<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        self.inner.evict(key)
    }

    fn put_new<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        count(&self.writes);
        self.inner.put_new(key, bytes)
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        count(&self.deletes);
        self.inner.delete(key)
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        count(&self.lists);
        self.inner.list(prefix)
    }

    fn get_versioned<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<(Bytes, ObjectVersion)>> {
        count(&self.reads);
        self.inner.get_versioned(key)
    }

    fn open<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<ObjectReader>> {
        count(&self.reads);
        self.inner.open(key)
    }

    fn put_new_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ObjectVersion> {
        count(&self.writes);
        self.inner.put_new_versioned(key, bytes)
    }

    fn put_if_version<'a>(
        &'a self,
        key: &'a str,
        bytes: Bytes,
        version: &'a ObjectVersion,
    ) -> StoreFuture<'a, ObjectVersion> {
        count(&self.writes);
        self.inner.put_if_version(key, bytes, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_request_is_counted_by_kind() -> crate::Result<()> {
        let counted = CountedStore::new(crate::open_url("memory://", &[])?.store);
        counted.put("a", Bytes::from_static(b"1")).await?;
        counted.put_new("b", Bytes::from_static(b"2")).await?;
        let (_, version) =
            counted.get_versioned("a").await?.ok_or_else(|| crate::Error::storage("get", "a", "missing"))?;
        counted.put_if_version("a", Bytes::from_static(b"3"), &version).await?;
        assert_eq!(counted.get("b").await?, Some(Bytes::from_static(b"2")));
        assert_eq!(counted.list("").await?.len(), 2);
        counted.delete("b").await?;
        let requests = counted.requests();
        assert_eq!(requests, StoreRequests { reads: 2, writes: 3, lists: 1, deletes: 1 });
        assert_eq!(requests.total(), 7);
        Ok(())
    }
}

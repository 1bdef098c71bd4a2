//! A [`Store`] that fails on purpose, for fault and crash tests (ours and
//! those of code built on this crate).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::store::{ObjectVersion, Store, StoreFuture};

/// What a [`FaultyStore`] does to the operations it sees, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every operation reaches the inner store.
    None,
    /// Operation `n` fails without reaching the inner store; later ones work
    /// (a transient error: disk full, a network blip).
    Fail(usize),
    /// Operation `n` and every later one fail without reaching the inner
    /// store: the process died just before operation `n`.
    CrashBefore(usize),
    /// Operation `n` reaches the inner store but reports failure, and every
    /// later one fails: the process died while operation `n` completed.
    CrashDuring(usize),
    /// Every write (`put`, `put_new`, `delete`) fails; reads work.
    ReadOnly,
    /// Every write fails as on a full disk (`Error::Storage { full: true }`).
    DiskFull,
    /// Every write waits this long before it reaches the inner store (a
    /// stalled disk or network); reads are not delayed.
    StallWrites(std::time::Duration),
}

/// Wraps a store and injects [`Fault`]s.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    operations: AtomicUsize,
    fault: parking_lot::Mutex<Fault>,
}

impl FaultyStore {
    /// A store that passes everything to `inner` until told otherwise.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner, operations: AtomicUsize::new(0), fault: parking_lot::Mutex::new(Fault::None) }
    }

    /// Replaces the fault plan and restarts the operation count.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock() = fault;
        self.operations.store(0, Ordering::SeqCst);
    }

    /// Operations seen since the last [`set`](Self::set).
    pub fn operations(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }

    /// Whether operation `name` on `key` passes through, and whether it must
    /// then report failure anyway.
    fn decide(&self, operation: &'static str, key: &str, write: bool) -> Result<bool> {
        let n = self.operations.fetch_add(1, Ordering::SeqCst) + 1;
        let injected = || Err(Error::storage(operation, key, format!("injected failure at operation {n}")));
        match *self.fault.lock() {
            Fault::Fail(at) if n == at => injected(),
            Fault::CrashBefore(at) if n >= at => injected(),
            Fault::CrashDuring(at) if n > at => injected(),
            Fault::CrashDuring(at) if n == at => Ok(true),
            Fault::ReadOnly if write => injected(),
            Fault::DiskFull if write => Err(Error::Storage {
                operation,
                key: key.to_owned(),
                message: format!("injected: no space left on device (operation {n})"),
                full: true,
            }),
            _ => Ok(false),
        }
    }

    async fn run<T>(
        &self,
        operation: &'static str,
        key: &str,
        write: bool,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let fail_after = self.decide(operation, key, write)?;
        let stall = match *self.fault.lock() {
            Fault::StallWrites(duration) if write => Some(duration),
            _ => None,
        };
        if let Some(duration) = stall {
            tokio::time::sleep(duration).await;
        }
        let result = call.await;
        if fail_after {
            return Err(Error::storage(operation, key, "injected failure after the operation completed"));
        }
        result
    }
}

impl Store for FaultyStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Bytes>> {
        Box::pin(self.run("get", key, false, self.inner.get(key)))
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(self.run("put", key, true, self.inner.put(key, bytes)))
    }

    fn put_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, Option<ObjectVersion>> {
        Box::pin(self.run("put", key, true, self.inner.put_versioned(key, bytes)))
    }

    fn evict<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        self.inner.evict(key)
    }

    fn put_new<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(self.run("put_new", key, true, self.inner.put_new(key, bytes)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.run("delete", key, true, self.inner.delete(key)))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(self.run("list", prefix, false, self.inner.list(prefix)))
    }

    fn get_versioned<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<(Bytes, ObjectVersion)>> {
        Box::pin(self.run("get", key, false, self.inner.get_versioned(key)))
    }

    fn put_new_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(self.run("put_new", key, true, self.inner.put_new_versioned(key, bytes)))
    }

    fn put_if_version<'a>(
        &'a self,
        key: &'a str,
        bytes: Bytes,
        version: &'a ObjectVersion,
    ) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(self.run("put_if_version", key, true, self.inner.put_if_version(key, bytes, version)))
    }
}

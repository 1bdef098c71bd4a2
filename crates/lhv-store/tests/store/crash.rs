//! Crashes and storage failures at every step: after any of them, reopening
//! finds every acknowledged batch and no part of an unacknowledged one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use lhv_core::{IndexParams, Item, Metric};
use lhv_store::testing::{Fault, FaultyStore};
use lhv_store::{Catalog, CatalogOptions, Store};

/// Batch `b` upserts ids `b{b}-0..4`; deletes remove whole earlier batches.
#[derive(Debug, Clone)]
enum Step {
    Upsert(u32),
    Delete(u32),
    Snapshot,
}

const SCRIPT: &[Step] = &[
    Step::Upsert(0),
    Step::Upsert(1),
    Step::Delete(0),
    Step::Snapshot,
    Step::Upsert(2),
    Step::Upsert(3),
    Step::Snapshot,
    Step::Delete(2),
    Step::Upsert(4),
];

fn batch(b: u32) -> Vec<Item> {
    (0..4)
        .map(|i| Item {
            id: format!("b{b}-{i}"),
            vector: vec![b as f32, i as f32 + 1.0],
            metadata: None,
            ..Default::default()
        })
        .collect()
}

fn ids(b: u32) -> Vec<String> {
    batch(b).into_iter().map(|item| item.id).collect()
}

/// What a reader must find for each batch, given what was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Present,
    Absent,
    /// Its write (or delete) was not acknowledged: either state, but whole.
    Either,
}

/// Runs the script until the store fails; returns what each batch must be.
async fn run_until_failure(store: Arc<dyn Store>) -> BTreeMap<u32, Expect> {
    let mut expect = BTreeMap::new();
    let options = CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() };
    let Ok(catalog) = Catalog::open_store(store, options).await else { return expect };
    let Ok(index) = catalog.create("docs", IndexParams::new(2, Metric::L2)).await else { return expect };
    for step in SCRIPT {
        let acknowledged = match step {
            Step::Upsert(b) => index.upsert(batch(*b)).await.is_ok(),
            Step::Delete(b) => index.delete(ids(*b)).await.is_ok(),
            Step::Snapshot => index.snapshot().await.is_ok(),
        };
        match (step, acknowledged) {
            (Step::Upsert(b), true) => expect.insert(*b, Expect::Present),
            (Step::Delete(b), true) => expect.insert(*b, Expect::Absent),
            (Step::Upsert(b), false) => expect.insert(*b, Expect::Either),
            (Step::Delete(b), false) => expect.insert(*b, Expect::Either),
            (Step::Snapshot, _) => None,
        };
        if !acknowledged {
            break;
        }
    }
    expect
}

async fn check(inner: &Arc<dyn Store>, expect: &BTreeMap<u32, Expect>, case: &str) {
    let options = CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() };
    let catalog =
        Catalog::open_store(Arc::clone(inner), options).await.unwrap_or_else(|e| panic!("{case}: reopen failed: {e}"));
    let Ok(index) = catalog.get("docs") else {
        assert!(expect.is_empty(), "{case}: the index is gone but batches were acknowledged: {expect:?}");
        return;
    };
    for b in 0..5 {
        let present: Vec<bool> = ids(b).iter().map(|id| index.index().contains(id)).collect();
        let all = present.iter().all(|&p| p);
        let none = present.iter().all(|&p| !p);
        assert!(all || none, "{case}: batch {b} is partially present: {present:?}");
        match expect.get(&b).copied().unwrap_or(Expect::Absent) {
            Expect::Present => assert!(all, "{case}: acknowledged batch {b} is missing"),
            Expect::Absent => assert!(none, "{case}: batch {b} is present but was deleted or never written"),
            Expect::Either => {}
        }
    }
    // After recovery the index takes writes again.
    index.upsert(batch(9)).await.unwrap_or_else(|e| panic!("{case}: write after recovery failed: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_storage_operation_loses_nothing_acknowledged() {
    // Count the operations of a clean run first.
    let clean: Arc<dyn Store> = crate::support::backend("memory").store;
    let counting = Arc::new(FaultyStore::new(Arc::clone(&clean)));
    let full = run_until_failure(counting.clone()).await;
    assert!(full.values().all(|&e| e != Expect::Either));
    let operations = counting.operations();
    assert!(operations > 10, "{operations} operations");

    for at in 1..=operations + 1 {
        for (mode, fault) in [("crash before", Fault::CrashBefore(at)), ("crash during", Fault::CrashDuring(at))] {
            let inner: Arc<dyn Store> = crate::support::backend("memory").store;
            let faulty = Arc::new(FaultyStore::new(Arc::clone(&inner)));
            faulty.set(fault);
            let expect = run_until_failure(faulty).await;
            check(&inner, &expect, &format!("{mode} operation {at}")).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_storage_failure_fails_the_write_and_then_heals() {
    let inner: Arc<dyn Store> = crate::support::backend("memory").store;
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&inner)));
    let options = CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() };
    let catalog = Catalog::open_store(faulty.clone(), options).await.unwrap();
    let index = catalog.create("docs", IndexParams::new(2, Metric::L2)).await.unwrap();
    index.upsert(batch(0)).await.unwrap();

    faulty.set(Fault::ReadOnly);
    assert!(index.upsert(batch(1)).await.is_err());
    assert!(index.delete(ids(0)).await.is_err());
    assert!(index.snapshot().await.is_err());
    assert_eq!(index.index().len(), 4, "a failed write changed memory");
    assert!(!index.index().contains("b1-0"));

    faulty.set(Fault::None);
    index.upsert(batch(2)).await.unwrap();
    index.snapshot().await.unwrap();
    index.upsert(batch(3)).await.unwrap();
    drop(catalog);
    let expect =
        BTreeMap::from([(0, Expect::Present), (1, Expect::Absent), (2, Expect::Present), (3, Expect::Present)]);
    check(&inner, &expect, "after healing").await;
}

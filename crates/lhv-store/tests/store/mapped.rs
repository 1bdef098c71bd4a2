//! Snapshots on local disk large enough to be mapped: the index reads its
//! rows in place after a restart, keeps taking writes, snapshots again from
//! rows partly mapped and partly owned, and comes back equal each time, in
//! every storage. A damaged or truncated mapped file makes its index
//! unavailable and is left as it is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use lhv_core::{IndexParams, Item, Metric, SearchOptions, Storage};
use lhv_store::{Catalog, CatalogOptions, Error, Store};

const DIM: usize = 96;

fn vector(i: u32) -> Vec<f32> {
    (0..DIM).map(|d| ((i as f32 * 0.37 + d as f32 * 1.3).sin() * 3.0).round() / 4.0 + 0.1).collect()
}

fn items(range: std::ops::Range<u32>) -> Vec<Item> {
    range.map(|i| Item::new(format!("p{i}"), vector(i))).collect()
}

fn options() -> CatalogOptions {
    CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() }
}

async fn reopen(store: &Arc<dyn Store>) -> Catalog {
    Catalog::open_store(Arc::clone(store), options()).await.unwrap()
}

/// Every item's vector as the index returns it, and the top 10 of a few queries.
fn contents(catalog: &Catalog) -> (BTreeMap<String, Vec<f32>>, Vec<Vec<String>>) {
    let index = catalog.get("big").unwrap();
    let index = index.index();
    let mut vectors = BTreeMap::new();
    let mut after = None;
    loop {
        let page = index.scroll(after.as_deref(), 10_000).unwrap();
        for id in &page.ids {
            vectors.insert(id.clone(), index.get(id).unwrap().vector);
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let searches = (0..5)
        .map(|q| {
            let hits = index.search(&vector(q * 1000 + 7), 10, &SearchOptions::default()).unwrap();
            hits.into_iter().map(|hit| hit.id).collect()
        })
        .collect();
    (vectors, searches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_snapshots_come_back_equal_and_keep_taking_writes() {
    for storage in [Storage::F32, Storage::F16, Storage::Int8] {
        let backend = crate::support::backend("file");
        let catalog = reopen(&backend.store).await;
        let params = IndexParams::new(DIM, Metric::Cosine).with_storage(storage).with_m(8).with_ef_construction(32);
        let index = catalog.create("big", params).await.unwrap();
        for batch in 0..8 {
            index.upsert(items(batch * 1000..batch * 1000 + 1000)).await.unwrap();
        }
        index.snapshot().await.unwrap();
        let size = backend.store.get("_vectors/big.lhv1").await.unwrap().unwrap().len();
        assert!(size > 1 << 20, "{storage:?}: a snapshot of {size} bytes is not mapped");
        let expected = contents(&catalog);
        catalog.close().await.unwrap();

        // Mapped: the same items, the same answers.
        let catalog = reopen(&backend.store).await;
        assert_eq!(contents(&catalog), expected, "{storage:?} after the first restart");
        // Writes after the mapped rows, a delete and a replaced vector, then a
        // snapshot written from mapped and owned rows together.
        let index = catalog.get("big").unwrap();
        index.upsert(items(8000..8300)).await.unwrap();
        index.delete(vec!["p5".into(), "p7000".into()]).await.unwrap();
        index.upsert(vec![Item::new("p9", vector(424_242))]).await.unwrap();
        let expected = contents(&catalog);
        index.snapshot().await.unwrap();
        catalog.close().await.unwrap();

        let catalog = reopen(&backend.store).await;
        assert_eq!(contents(&catalog), expected, "{storage:?} after the second restart");
        assert_eq!(catalog.get("big").unwrap().index().len(), 8298);
        catalog.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_truncated_mapped_file_makes_its_index_unavailable_and_stays_untouched() {
    let backend = crate::support::backend("file");
    let catalog = reopen(&backend.store).await;
    for name in ["good", "flipped", "truncated"] {
        let params = IndexParams::new(DIM, Metric::L2).with_m(8).with_ef_construction(32);
        let index = catalog.create(name, params).await.unwrap();
        index.upsert(items(0..3000)).await.unwrap();
        index.snapshot().await.unwrap();
    }
    catalog.close().await.unwrap();
    drop(catalog);

    let mut damaged = Vec::new();
    for (name, cut) in [("flipped", false), ("truncated", true)] {
        let key = format!("_vectors/{name}.lhv1");
        let mut bytes = backend.store.get(&key).await.unwrap().unwrap().to_vec();
        if cut {
            bytes.truncate(bytes.len() - 4096);
        } else {
            // Inside the vectors, which are read in place.
            let at = bytes.len() / 3;
            bytes[at] ^= 0x08;
        }
        backend.store.put(&key, bytes.clone().into()).await.unwrap();
        damaged.push((key, bytes));
    }
    let catalog = reopen(&backend.store).await;
    assert_eq!(catalog.get("good").unwrap().index().len(), 3000);
    for name in ["flipped", "truncated"] {
        match catalog.get(name) {
            Err(Error::Unavailable { reason, .. }) => assert!(reason.contains(name), "{reason}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    catalog.close().await.unwrap();
    for (key, bytes) in damaged {
        assert_eq!(backend.store.get(&key).await.unwrap().unwrap().to_vec(), bytes, "{key} was modified");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_kept_on_disk_are_folded_into_each_new_snapshot() {
    let backend = crate::support::backend("file");
    let catalog = reopen(&backend.store).await;
    let params = IndexParams::new(DIM, Metric::Cosine).with_on_disk(true).with_m(8).with_ef_construction(32);
    let index = catalog.create("big", params).await.unwrap();
    index.upsert(items(0..3000)).await.unwrap();
    assert_eq!(index.index().stats().disk_bytes, 0, "nothing on disk before a snapshot");
    index.snapshot().await.unwrap();
    let row_bytes = DIM * 4;
    // The snapshot just written holds every row: they are read from it now.
    assert_eq!(index.index().stats().disk_bytes, 3000 * row_bytes);
    let expected = contents(&catalog);
    catalog.close().await.unwrap();

    let catalog = reopen(&backend.store).await;
    let index = catalog.get("big").unwrap();
    assert_eq!(index.index().stats().disk_bytes, 3000 * row_bytes);
    assert_eq!(contents(&catalog), expected);
    index.upsert(items(3000..3500)).await.unwrap();
    let before = index.index().stats();
    index.snapshot().await.unwrap();
    let after = index.index().stats();
    assert_eq!(after.disk_bytes, 3500 * row_bytes);
    assert!(after.memory_bytes + 500 * row_bytes <= before.memory_bytes, "{before:?} then {after:?}");
    let expected = contents(&catalog);
    catalog.close().await.unwrap();

    let catalog = reopen(&backend.store).await;
    assert_eq!(contents(&catalog), expected);
    assert_eq!(catalog.get("big").unwrap().index().stats().disk_bytes, 3500 * row_bytes);
    catalog.close().await.unwrap();
}

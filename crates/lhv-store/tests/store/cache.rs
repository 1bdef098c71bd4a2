//! Local copies of a remote store's snapshots (`SnapshotCache`): an index
//! kept on disk over S3, WebDAV or memory reads its rows from a mapped local
//! copy; a missing, damaged or outdated copy is replaced from the bucket,
//! whose objects are never changed by it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::sync::Arc;

use lhv_core::{IndexParams, Item, Metric, SearchOptions};
use lhv_store::{Catalog, CatalogOptions, SnapshotCache, Store};

const DIM: usize = 64;
const KEY: &str = "_vectors/big.lhv1";

fn vector(i: u32) -> Vec<f32> {
    (0..DIM).map(|d| ((i as f32 * 0.41 + d as f32 * 1.7).sin() * 3.0).round() / 4.0 + 0.1).collect()
}

fn items(range: std::ops::Range<u32>) -> Vec<Item> {
    range.map(|i| Item::new(format!("p{i}"), vector(i))).collect()
}

async fn open(bucket: &Arc<dyn Store>, copies: &Path) -> Catalog {
    let cached: Arc<dyn Store> = Arc::new(SnapshotCache::new(Arc::clone(bucket), copies).unwrap());
    let options = CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() };
    Catalog::open_store(cached, options).await.unwrap()
}

/// The count, the bytes read from disk and the top 10 of a few queries.
fn state(catalog: &Catalog) -> (usize, usize, Vec<Vec<String>>) {
    let index = catalog.get("big").unwrap();
    let index = index.index();
    let searches = (0..4)
        .map(|q| {
            let hits = index.search(&vector(q * 500 + 3), 10, &SearchOptions::default()).unwrap();
            hits.into_iter().map(|hit| hit.id).collect()
        })
        .collect();
    (index.len(), index.stats().disk_bytes, searches)
}

/// The copies in `dir` (the lock file is not one).
fn copies(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("_vectors"))
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_snapshots_are_read_from_local_copies_replaced_from_the_bucket_when_wrong() {
    for kind in ["memory", "s3", "http"] {
        let backend = crate::support::backend(kind);
        let dir = tempfile::tempdir().unwrap();
        let row_bytes = DIM * 4;
        let catalog = open(&backend.store, dir.path()).await;
        let params = IndexParams::new(DIM, Metric::Cosine).with_on_disk(true).with_m(8).with_ef_construction(32);
        let index = catalog.create("big", params).await.unwrap();
        index.upsert(items(0..3000)).await.unwrap();
        index.snapshot().await.unwrap();
        // The snapshot written was copied and its rows are read from the copy.
        let expected = state(&catalog);
        assert_eq!(expected.1, 3000 * row_bytes, "{kind}: rows still in memory after the snapshot");
        catalog.close().await.unwrap();
        // The index's handle holds the cache (and its directory's lock) too.
        drop((index, catalog));
        let written = copies(dir.path());
        assert_eq!(written.len(), 1, "{kind}: {written:?}");
        let bucket_bytes = backend.store.get(KEY).await.unwrap().unwrap();
        assert_eq!(std::fs::read(&written[0]).unwrap(), bucket_bytes.to_vec(), "{kind}: the copy differs");

        // A restart maps the copy.
        let catalog = open(&backend.store, dir.path()).await;
        assert_eq!(state(&catalog), expected, "{kind}: from the copy");
        catalog.close().await.unwrap();
        drop(catalog);

        // A missing copy is downloaded again.
        std::fs::remove_file(&written[0]).unwrap();
        let catalog = open(&backend.store, dir.path()).await;
        assert_eq!(state(&catalog), expected, "{kind}: after the copy was removed");
        catalog.close().await.unwrap();
        drop(catalog);
        assert_eq!(copies(dir.path()), written, "{kind}: the copy was not rebuilt");

        // A damaged copy is dropped and downloaded again; the bucket is untouched.
        let mut damaged = std::fs::read(&written[0]).unwrap();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x10;
        std::fs::remove_file(&written[0]).unwrap();
        std::fs::write(&written[0], &damaged).unwrap();
        let catalog = open(&backend.store, dir.path()).await;
        assert_eq!(state(&catalog), expected, "{kind}: after the copy was damaged");
        catalog.close().await.unwrap();
        drop(catalog);
        assert_eq!(std::fs::read(&written[0]).unwrap(), bucket_bytes.to_vec(), "{kind}: the copy was not replaced");
        assert_eq!(backend.store.get(KEY).await.unwrap().unwrap(), bucket_bytes, "{kind}: the bucket changed");

        // A snapshot written by another process (without this cache) outdates the copy.
        let options = CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() };
        let other = Catalog::open_store(Arc::clone(&backend.store), options).await.unwrap();
        let index = other.get("big").unwrap();
        index.upsert(items(3000..3400)).await.unwrap();
        index.snapshot().await.unwrap();
        other.close().await.unwrap();
        drop(other);
        let catalog = open(&backend.store, dir.path()).await;
        let (count, disk_bytes, _) = state(&catalog);
        assert_eq!((count, disk_bytes), (3400, 3400 * row_bytes), "{kind}: the outdated copy was read");
        catalog.close().await.unwrap();
        drop(catalog);
        assert_eq!(copies(dir.path()).len(), 1, "{kind}: the outdated copy was kept");
    }
}

//! The durable catalog on every backend: what is acknowledged comes back
//! after a close or a crash, drops are final, damage is reported and left alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use bytes::Bytes;
use lhv_core::{IndexParams, Item, Metric};
use lhv_format::{LogOp, LogRecord};
use lhv_store::{Catalog, CatalogOptions, Error, IndexState, Store};

fn items(prefix: &str, range: std::ops::Range<u32>) -> Vec<Item> {
    range
        .map(|i| Item {
            id: format!("{prefix}{i}"),
            vector: vec![i as f32 + 1.0, (i % 7) as f32, 1.0],
            metadata: (i % 2 == 0).then(|| serde_json::json!({ "i": i })),
            ..Default::default()
        })
        .collect()
}

fn params() -> IndexParams {
    IndexParams::new(3, Metric::L2).with_m(4).with_ef_construction(16)
}

fn options(snapshot_log_bytes: u64) -> CatalogOptions {
    CatalogOptions { snapshot_log_bytes, ..CatalogOptions::default() }
}

async fn reopen(store: &Arc<dyn Store>) -> Catalog {
    Catalog::open_store(Arc::clone(store), options(u64::MAX)).await.unwrap()
}

/// Writes, closes or crashes, reopens: the content is what was acknowledged.
async fn round_trip(kind: &str) {
    let backend = crate::support::backend(kind);
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    let docs = catalog.create("docs", params()).await.unwrap();
    catalog.create("empty", params()).await.unwrap();
    // A name as Qdrant allows it (spaces, `:`, non-ASCII): stored under its escaped key name.
    // (Short: the S3 test server keeps a whole key in one file name; long names are tested on disk.)
    let odd = "Été: docs ✓ v2".to_owned();
    catalog.create_sharded(&odd, params(), 2).await.unwrap().upsert(items("o", 0..7)).await.unwrap();
    for batch in 0..6 {
        docs.upsert(items("d", batch * 10..batch * 10 + 10)).await.unwrap();
    }
    assert_eq!(docs.delete(vec!["d3".into(), "d4".into(), "nope".into()]).await.unwrap(), 2);
    docs.upsert(vec![Item { id: "d5".into(), vector: vec![9.0, 9.0, 9.0], metadata: None, ..Default::default() }])
        .await
        .unwrap();
    assert!(matches!(catalog.create("docs", params()).await, Err(Error::IndexExists { .. })));
    let expected = docs.index().scroll(None, 1000).unwrap();
    drop(catalog); // a crash: no final snapshot

    let catalog = reopen(&backend.store).await;
    let names: Vec<String> = catalog.list().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["docs".to_owned(), "empty".to_owned(), odd.clone()]);
    assert_eq!(catalog.get(&odd).unwrap().index().len(), 7);
    catalog.drop_index(&odd).await.unwrap();
    let docs = catalog.get("docs").unwrap();
    assert_eq!(docs.index().scroll(None, 1000).unwrap(), expected);
    assert_eq!(docs.index().get("d5").unwrap().vector, vec![9.0, 9.0, 9.0]);
    assert_eq!(docs.index().get("d8").unwrap().metadata, Some(serde_json::json!({ "i": 8 })));
    assert!(catalog.get("empty").unwrap().index().is_empty());
    docs.upsert(items("e", 0..3)).await.unwrap();
    catalog.close().await.unwrap();

    let catalog = reopen(&backend.store).await;
    assert_eq!(catalog.get("docs").unwrap().index().len(), expected.ids.len() + 3);
    let log_objects = backend.store.list("_vectors/docs.wal").await.unwrap();
    assert!(log_objects.is_empty(), "close snapshots and removes the log: {log_objects:?}");
    catalog.drop_index("docs").await.unwrap();
    assert!(matches!(catalog.get("docs"), Err(Error::IndexNotFound { .. })));
    drop(catalog);
    let catalog = reopen(&backend.store).await;
    assert!(matches!(catalog.get("docs"), Err(Error::IndexNotFound { .. })), "a dropped index came back");
    let left: Vec<String> = backend.store.list("_vectors").await.unwrap();
    assert_eq!(left, ["_vectors/empty.lhv1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_round_trip() {
    round_trip("memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_directory_round_trip() {
    round_trip("file").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trip() {
    round_trip("s3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_round_trip() {
    round_trip("http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_index_leaves_no_file_or_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let catalog = Catalog::open(&url, options(u64::MAX)).await.unwrap();
    let docs = catalog.create("docs", params()).await.unwrap();
    docs.upsert(items("d", 0..10)).await.unwrap();
    catalog.drop_index("docs").await.unwrap();
    let mut left: Vec<String> = walk(dir.path());
    left.retain(|p| !p.ends_with(".vectord.lock"));
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push(path.display().to_string());
        if path.is_dir() {
            found.extend(walk(&path));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_log_writes() {
    let backend = crate::support::backend("file");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    let docs = catalog.create("docs", params()).await.unwrap();
    let writers: Vec<_> = (0..16u32)
        .map(|w| {
            let docs = Arc::clone(&docs);
            tokio::spawn(async move {
                for b in 0..5 {
                    docs.upsert(items(&format!("w{w}-{b}-"), 0..4)).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(docs.index().len(), 16 * 5 * 4);
    assert_eq!(docs.last_sequence().await, 80);
    let objects = backend.store.list("_vectors/docs.wal").await.unwrap().len();
    assert!(objects < 80, "80 batches took {objects} log writes: no group commit");
    drop(catalog);
    assert_eq!(reopen(&backend.store).await.get("docs").unwrap().index().len(), 320);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_objects_make_only_their_index_unavailable_and_stay_untouched() {
    let backend = crate::support::backend("memory");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    for name in ["good", "bad-snapshot", "bad-log"] {
        let index = catalog.create(name, params()).await.unwrap();
        index.upsert(items("x", 0..5)).await.unwrap();
    }
    catalog.get("bad-snapshot").unwrap().snapshot().await.unwrap();
    drop(catalog);

    let mut damaged = Vec::new();
    for key in ["_vectors/bad-snapshot.lhv1", "_vectors/bad-log.wal/00000000000000000001"] {
        let mut bytes = backend.store.get(key).await.unwrap().unwrap().to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        backend.store.put(key, Bytes::from(bytes.clone())).await.unwrap();
        damaged.push((key, bytes));
    }
    let catalog = reopen(&backend.store).await;
    assert_eq!(catalog.get("good").unwrap().index().len(), 5);
    for name in ["bad-snapshot", "bad-log"] {
        match catalog.get(name) {
            Err(Error::Unavailable { reason, .. }) => assert!(reason.contains(name), "{reason}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    let statuses = catalog.list();
    assert_eq!(statuses.iter().filter(|s| matches!(s.state, IndexState::Unavailable(_))).count(), 2);
    catalog.close().await.unwrap();
    for (key, bytes) in damaged {
        assert_eq!(backend.store.get(key).await.unwrap().unwrap().to_vec(), bytes, "{key} was modified");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_in_the_background_remove_the_log_they_cover() {
    let backend = crate::support::backend("memory");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(1)).await.unwrap();
    let docs = catalog.create("docs", params()).await.unwrap();
    for batch in 0..20 {
        docs.upsert(items("d", batch * 5..batch * 5 + 5)).await.unwrap();
    }
    // Wait for the last background snapshot, then check the log was trimmed.
    docs.snapshot().await.unwrap();
    assert!(backend.store.list("_vectors/docs.wal").await.unwrap().is_empty());
    drop(catalog);
    assert_eq!(reopen(&backend.store).await.get("docs").unwrap().index().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_change_nothing() {
    let backend = crate::support::backend("memory");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    assert!(matches!(catalog.create("bad/name", params()).await, Err(Error::InvalidName { .. })));
    assert!(matches!(catalog.create(&"x".repeat(256), params()).await, Err(Error::InvalidName { .. })));
    assert!(matches!(catalog.create("x", IndexParams::new(0, Metric::L2)).await, Err(Error::Index(_))));
    let docs = catalog.create("docs", params()).await.unwrap();
    let bad = vec![Item { id: "a".into(), vector: vec![1.0], metadata: None, ..Default::default() }];
    assert!(matches!(docs.upsert(bad).await, Err(Error::Index(_))));
    assert_eq!(docs.last_sequence().await, 0, "a rejected batch was logged");
    assert!(backend.store.list("_vectors/docs.wal").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_dots_never_touch_each_others_objects() {
    let backend = crate::support::backend("file");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    for name in ["x", "x.wal", "x.lhv1", "x.wal.wal"] {
        let index = catalog.create(name, params()).await.unwrap();
        index.upsert(items(name, 0..3)).await.unwrap();
    }
    catalog.drop_index("x").await.unwrap();
    drop(catalog);
    let catalog = reopen(&backend.store).await;
    let names: Vec<String> = catalog.list().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["x.lhv1", "x.wal", "x.wal.wal"]);
    for name in &names {
        let index = catalog.get(name).unwrap();
        assert_eq!(index.index().len(), 3, "{name}");
        assert!(index.index().contains(&format!("{name}0")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_can_be_loaded_after_the_catalog_opens() {
    let backend = crate::support::backend("memory");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    catalog.create("docs", params()).await.unwrap().upsert(items("d", 0..5)).await.unwrap();
    drop(catalog);
    let catalog = Catalog::open_store_unloaded(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    assert!(!catalog.is_loaded());
    assert_eq!(catalog.list()[0].state, IndexState::Loading);
    assert!(matches!(catalog.get("docs"), Err(Error::Loading { .. })));
    assert!(matches!(catalog.create("docs", params()).await, Err(Error::IndexExists { .. })));
    catalog.load_all().await.unwrap();
    assert!(catalog.is_loaded());
    assert_eq!(catalog.get("docs").unwrap().index().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_snapshots_become_new_indexes_that_keep_writing() {
    let store = crate::support::backend("memory").store;
    let catalog = reopen(&store).await;
    let docs = catalog.create("docs", params()).await.unwrap();
    docs.upsert(items("d", 0..40)).await.unwrap();
    docs.delete(vec!["d7".into()]).await.unwrap();
    let frame = docs.export_snapshot().await.unwrap();

    let copy = catalog.create_from_snapshot("copy", Bytes::from(frame.clone())).await.unwrap();
    assert_eq!(copy.index().scroll(None, 1000).unwrap(), docs.index().scroll(None, 1000).unwrap());
    assert_eq!(copy.index().get("d8").unwrap().metadata, Some(serde_json::json!({ "i": 8 })));
    copy.upsert(items("e", 0..5)).await.unwrap();
    assert!(matches!(
        catalog.create_from_snapshot("docs", Bytes::from(frame.clone())).await,
        Err(Error::IndexExists { .. })
    ));
    let mut damaged = frame.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    for bad in [damaged, frame[..frame.len() - 1].to_vec(), b"not a snapshot".to_vec()] {
        assert!(matches!(
            catalog.create_from_snapshot("bad", Bytes::from(bad)).await,
            Err(Error::InvalidSnapshot { .. })
        ));
    }
    assert!(matches!(catalog.get("bad"), Err(Error::IndexNotFound { .. })));
    drop(catalog); // a crash: the copy and its later write come back

    let catalog = reopen(&store).await;
    let copy = catalog.get("copy").unwrap();
    assert_eq!(copy.index().len(), 39 + 5);
    assert!(copy.index().contains("e4") && !copy.index().contains("d7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_are_split_into_path_segments_on_disk() {
    let backend = crate::support::backend("file");
    let catalog = Catalog::open_store(Arc::clone(&backend.store), options(u64::MAX)).await.unwrap();
    let long = format!("Été: docs ✓ {}", "x".repeat(240));
    assert_eq!(long.chars().count(), 252);
    catalog.create_sharded(&long, params(), 2).await.unwrap().upsert(items("o", 0..7)).await.unwrap();
    catalog.create(&long[..20], params()).await.unwrap();
    drop(catalog);
    let catalog = reopen(&backend.store).await;
    assert_eq!(catalog.get(&long).unwrap().index().len(), 7);
    assert_eq!(catalog.list().len(), 2);
    catalog.drop_index(&long).await.unwrap();
    drop(catalog);
    let left: Vec<String> = backend.store.list("_vectors").await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// A bucket the former cluster over S3 leases wrote has a log head per
/// shard, and may have a log object past it (a write whose head update never
/// landed, never acknowledged). Opened by one process, the committed records
/// load, the object past the head and the head itself go, and the log goes
/// on as an ordinary one.
#[tokio::test]
async fn a_log_head_left_by_the_s3_lease_cluster_is_read_then_removed() {
    let store = crate::support::backend("memory").store;
    let catalog = reopen(&store).await;
    catalog.create("docs", params()).await.unwrap().upsert(items("d", 0..5)).await.unwrap();
    drop(catalog);
    let head = r#"{"epoch":1,"last":1,"snapshot":0}"#;
    store.put("_vectors/docs.wal/head", Bytes::from_static(head.as_bytes())).await.unwrap();
    let mut past = Vec::new();
    for (sequence, op) in [(2, LogOp::Epoch(1)), (3, LogOp::Upsert(items("past", 0..1)))] {
        lhv_format::encode_record(&LogRecord { sequence, op }, &mut past).unwrap();
    }
    let past_key = "_vectors/docs.wal/00000000000000000002";
    store.put(past_key, Bytes::from(past)).await.unwrap();

    let catalog = reopen(&store).await;
    let docs = catalog.get("docs").unwrap();
    assert_eq!(docs.index().len(), 5);
    assert!(!docs.index().contains("past0"), "a record past the head was applied");
    let left = store.list("_vectors/docs.wal").await.unwrap();
    assert_eq!(left, ["_vectors/docs.wal/00000000000000000001"], "{left:?}");
    docs.upsert(items("e", 0..2)).await.unwrap();
    drop(catalog);
    assert_eq!(reopen(&store).await.get("docs").unwrap().index().len(), 7);
}

//! Writes computed from the index as it stands (`upsert_with`, `delete_with`):
//! concurrent read-modify-writes lose no update, and they are as durable as
//! plain writes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use lhv_core::{IndexParams, Item, Metric};
use lhv_store::{Catalog, CatalogOptions, Store};
use serde_json::json;

fn counter_item(value: u64) -> Item {
    Item { id: "counter".into(), vector: vec![1.0, 0.0], metadata: Some(json!({ "n": value })), ..Item::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_modify_writes_lose_no_update() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let index = catalog.create("c", IndexParams::new(2, Metric::L2)).await.unwrap();
    index.upsert(vec![counter_item(0)]).await.unwrap();
    let mut writers = Vec::new();
    for writer in 0..8u64 {
        let index = Arc::clone(&index);
        writers.push(tokio::spawn(async move {
            for step in 0..25u64 {
                index
                    .upsert_with(|current| {
                        let n = current.get("counter").and_then(|r| r.metadata?.get("n")?.as_u64()).unwrap_or(0);
                        Ok::<_, lhv_store::Error>(vec![counter_item(n + 1)])
                    })
                    .await
                    .unwrap();
                // Plain writes of other ids go on at the same time, in the same groups.
                let other = Item {
                    id: format!("w{writer}-{step}"),
                    vector: vec![0.0, 1.0],
                    metadata: None,
                    ..Default::default()
                };
                index.upsert(vec![other]).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let n =
        |catalog: &Catalog| catalog.get("c").unwrap().index().get("counter").unwrap().metadata.unwrap()["n"].clone();
    assert_eq!(n(&catalog), json!(200));
    assert_eq!(index.index().len(), 201);

    // Deleting what a filter picks, then reopening: both kinds of write were logged.
    let filter: lhv_core::Filter =
        serde_json::from_value(json!({"must": [{"has_id": ["w0-0", "w1-1", "nope"]}]})).unwrap();
    let deleted = index
        .delete_with(|current| {
            Ok::<_, lhv_store::Error>(current.ids_where(std::ops::Bound::Unbounded, usize::MAX, Some(&filter))?)
        })
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    drop(index);
    drop(catalog);
    let reopened = Catalog::open_store(store, CatalogOptions::default()).await.unwrap();
    assert_eq!(n(&reopened), json!(200));
    assert_eq!(reopened.get("c").unwrap().index().len(), 199);
}

#[tokio::test]
async fn a_failed_computation_writes_nothing() {
    let catalog = Catalog::open("memory://", CatalogOptions::default()).await.unwrap();
    let index = catalog.create("c", IndexParams::new(2, Metric::L2)).await.unwrap();
    let bad = index
        .upsert_with(|_| {
            Ok::<_, lhv_store::Error>(vec![Item {
                id: "x".into(),
                vector: vec![1.0],
                metadata: None,
                ..Default::default()
            }])
        })
        .await;
    assert!(matches!(bad, Err(lhv_store::Error::Index(lhv_core::Error::DimensionMismatch { .. }))), "{bad:?}");
    assert_eq!(index.last_sequence().await, 0);
    assert!(index.index().is_empty());
}

#[tokio::test]
async fn a_batch_of_deletes_and_upserts_is_one_write_across_shards() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let index = catalog.create_sharded("b", IndexParams::new(2, Metric::L2), 3).await.unwrap();
    let item = |id: &str, x: f32| Item {
        id: id.into(),
        vector: vec![x, 1.0],
        metadata: Some(json!({ "x": x })),
        ..Default::default()
    };
    index.upsert((0..10).map(|i| item(&format!("p{i}"), i as f32)).collect()).await.unwrap();
    let before = index.last_sequence().await;
    index
        .write_batch_with(|current| {
            assert_eq!(current.len(), 10);
            let deleted = (0..5).map(|i| format!("p{i}")).collect();
            Ok::<_, lhv_store::Error>((deleted, vec![item("p7", 70.0), item("new", 1.5)]))
        })
        .await
        .unwrap();
    // One record per shard that has a part.
    assert!(index.last_sequence().await - before <= 3);
    // Refused by the computation: nothing is written.
    let refused = index
        .write_batch_with(|_| Err::<(Vec<String>, Vec<Item>), _>(lhv_store::Error::IndexNotFound { name: "x".into() }))
        .await;
    assert!(refused.is_err());
    let check = |index: &lhv_store::DurableIndex| {
        let view = index.index();
        assert_eq!(view.len(), 6);
        assert!(!view.contains("p0") && view.contains("new"));
        assert_eq!(view.get("p7").unwrap().metadata, Some(json!({ "x": 70.0 })));
    };
    check(&index);
    drop(index);
    drop(catalog);
    let reopened = Catalog::open_store(store, CatalogOptions::default()).await.unwrap();
    check(&reopened.get("b").unwrap());
}

//! Sharded durable indexes: every shard's log replays after a crash, the
//! shards load back as one index, a create or drop cut short leaves nothing
//! behind, and a damaged or missing shard makes its index unavailable with
//! its objects left as they are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use lhv_core::{IndexParams, Item, Metric, SearchOptions};
use lhv_store::{Catalog, CatalogOptions, DurableIndex, IndexState, Store};
use serde_json::{Value, json};

type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

fn item(i: usize) -> Item {
    let vector = vec![(i % 7) as f32 + 1.0, (i % 11) as f32, (i / 13) as f32];
    Item {
        id: format!("id-{i}"),
        vector,
        metadata: Some(json!({ "n": i, "even": i.is_multiple_of(2) })),
        ..Item::default()
    }
}

async fn open(store: &Arc<dyn Store>) -> Catalog {
    // No background snapshot: a dropped catalog's task would race the reopened one
    // (in a real crash the process is gone), and every write must come back by replay.
    Catalog::open_store(Arc::clone(store), CatalogOptions::default()).await.unwrap()
}

fn assert_holds(index: &DurableIndex, model: &Model) {
    let view = index.index();
    assert_eq!(view.len(), model.len());
    let ids = view.ids_where(Bound::Unbounded, usize::MAX, None).unwrap();
    assert_eq!(ids, model.keys().cloned().collect::<Vec<_>>());
    for (id, (vector, metadata)) in model {
        let record = view.get(id).unwrap_or_else(|| panic!("{id} is missing"));
        assert_eq!((&record.vector, &record.metadata), (vector, metadata), "{id}");
    }
    let query = [3.0, 4.0, 2.0];
    let exact = SearchOptions { exact: true, ..SearchOptions::default() };
    let hits = view.search(&query, 10, &exact).unwrap();
    let mut want: Vec<(f32, &String)> =
        model.iter().map(|(id, (v, _))| (Metric::L2.distance(&query, v).unwrap(), id)).collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let got: Vec<(f32, &String)> = hits.iter().map(|h| (h.distance, &h.id)).collect();
    assert_eq!(got, want.into_iter().take(10).collect::<Vec<_>>());
}

async fn keys(store: &Arc<dyn Store>) -> Vec<String> {
    let mut keys = store.list("_vectors").await.unwrap();
    keys.sort();
    keys
}

/// A sharded index with some of every kind of write, and the model of it.
async fn written(catalog: &Catalog) -> (Arc<DurableIndex>, Model) {
    let index = catalog.create_sharded("s", IndexParams::new(3, Metric::L2), 3).await.unwrap();
    assert_eq!(index.shard_count(), 3);
    let mut model = Model::new();
    for batch in 0..6 {
        let items: Vec<Item> = (batch * 50..batch * 50 + 50).map(item).collect();
        for it in &items {
            model.insert(it.id.clone(), (it.vector.clone(), it.metadata.clone()));
        }
        index.upsert(items).await.unwrap();
    }
    let gone: Vec<String> = (0..300).step_by(7).map(|i| format!("id-{i}")).collect();
    assert_eq!(index.delete(gone.clone()).await.unwrap(), gone.len());
    gone.iter().for_each(|id| {
        model.remove(id);
    });
    // A read-modify-write across shards, and a delete by filter.
    index
        .upsert_with(|view| {
            let items = ["id-1", "id-2", "id-3"].iter().map(|id| {
                let record = view.get(id).unwrap();
                Item {
                    id: (*id).into(),
                    vector: record.vector,
                    metadata: Some(json!({ "touched": true })),
                    ..Default::default()
                }
            });
            Ok::<_, lhv_store::Error>(items.collect())
        })
        .await
        .unwrap();
    for id in ["id-1", "id-2", "id-3"] {
        model.get_mut(id).unwrap().1 = Some(json!({ "touched": true }));
    }
    let over: lhv_core::Filter =
        serde_json::from_value(json!({"must": [{"key": "n", "range": {"gte": 280}}]})).unwrap();
    let deleted = index
        .delete_with(|view| view.ids_where(Bound::Unbounded, usize::MAX, Some(&over)).map_err(lhv_store::Error::from))
        .await
        .unwrap();
    let over_ids: Vec<String> = model
        .iter()
        .filter(|(_, (_, m))| m.as_ref().and_then(|m| m["n"].as_u64()).is_some_and(|n| n >= 280))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(deleted, over_ids.len());
    over_ids.iter().for_each(|id| {
        model.remove(id);
    });
    (index, model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shard_replays_its_log_and_the_shards_load_back_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = lhv_store::open_url(&format!("file://{}", dir.path().display()), &[]).unwrap().store;
    let catalog = open(&store).await;
    let (index, model) = written(&catalog).await;
    assert_holds(&index, &model);
    // Every shard has items, and only its own (the load checks it).
    assert!(index.index().shards().iter().all(|s| !s.is_empty()));
    drop(index);
    drop(catalog); // no close: the logs are replayed
    let catalog = open(&store).await;
    assert_holds(&catalog.get("s").unwrap(), &model);
    catalog.close().await.unwrap();
    drop(catalog);
    let all = keys(&store).await;
    for key in ["_vectors/s.shards", "_vectors/s@0.lhv1", "_vectors/s@1.lhv1", "_vectors/s@2.lhv1"] {
        assert!(all.contains(&key.to_owned()), "{key} in {all:?}");
    }
    let catalog = open(&store).await;
    let index = catalog.get("s").unwrap();
    assert_holds(&index, &model);

    // Its snapshot export is one unsharded index with the same items.
    let frame = index.export_snapshot().await.unwrap();
    let copy = catalog.create_from_snapshot("copy", Bytes::from(frame)).await.unwrap();
    assert_eq!(copy.shard_count(), 1);
    assert_holds(&copy, &model);

    catalog.drop_index("s").await.unwrap();
    assert!(keys(&store).await.iter().all(|k| !k.starts_with("_vectors/s")), "{:?}", keys(&store).await);
}

#[tokio::test]
async fn a_create_or_drop_cut_short_leaves_nothing() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = open(&store).await;
    let (_, _) = written(&catalog).await;
    catalog.create("plain", IndexParams::new(3, Metric::L2)).await.unwrap();
    drop(catalog);
    // The manifest is written last at create and removed first at drop.
    store.delete("_vectors/s.shards").await.unwrap();
    let catalog = open(&store).await;
    assert!(catalog.get("s").is_err());
    assert_eq!(catalog.list().len(), 1);
    assert_eq!(keys(&store).await, ["_vectors/plain.lhv1"]);
    // The name is free again.
    let again = catalog.create_sharded("s", IndexParams::new(3, Metric::L2), 2).await.unwrap();
    assert_eq!(again.index().len(), 0);
}

#[tokio::test]
async fn a_damaged_or_missing_shard_makes_the_index_unavailable_and_stays_as_it_is() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = open(&store).await;
    written(&catalog).await;
    catalog.create("plain", IndexParams::new(3, Metric::L2)).await.unwrap();
    catalog.close().await.unwrap();
    drop(catalog);

    let garbage = Bytes::from_static(b"LHV1 but not really");
    store.put("_vectors/s@1.lhv1", garbage.clone()).await.unwrap();
    let before = keys(&store).await;
    let catalog = open(&store).await;
    let state = |catalog: &Catalog| catalog.list().into_iter().find(|s| s.name == "s").unwrap().state;
    assert!(matches!(state(&catalog), IndexState::Unavailable(reason) if reason.contains("s@1")));
    assert!(catalog.get("plain").is_ok());
    assert_eq!(keys(&store).await, before);
    assert_eq!(store.get("_vectors/s@1.lhv1").await.unwrap(), Some(garbage));
    drop(catalog);

    store.delete("_vectors/s@1.lhv1").await.unwrap();
    let catalog = open(&store).await;
    assert!(matches!(state(&catalog), IndexState::Unavailable(reason) if reason.contains("shard 1 of 3")));
    // An unavailable index can still be dropped, all of it.
    catalog.drop_index("s").await.unwrap();
    assert_eq!(keys(&store).await, ["_vectors/plain.lhv1"]);
}

#[tokio::test]
async fn bad_shard_counts_and_taken_names_are_refused() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = open(&store).await;
    let params = IndexParams::new(3, Metric::L2);
    assert!(catalog.create_sharded("s", params.clone(), 0).await.is_err());
    assert!(catalog.create_sharded("s", params.clone(), 65).await.is_err());
    catalog.create("taken", params.clone()).await.unwrap();
    assert!(matches!(catalog.create_sharded("taken", params, 4).await, Err(lhv_store::Error::IndexExists { .. })));
    assert_eq!(keys(&store).await, ["_vectors/taken.lhv1"]);
}

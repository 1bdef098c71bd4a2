//! Field indexes added to a live durable index: built while writers go on
//! without missing a write, logged, kept in snapshots, dropped durably.

use std::sync::Arc;

use lhv_core::{FieldSchema, Filter, IndexedField, Item, Metric, SearchOptions};
use lhv_store::{Catalog, CatalogOptions, Store};
use serde_json::json;

const WRITERS: usize = 4;
const PER_WRITER: usize = 300;

fn item(writer: usize, step: usize) -> Item {
    let n = writer * PER_WRITER + step;
    let tag = ["red", "green", "blue"][n % 3];
    Item {
        id: format!("w{writer}-{step}"),
        vector: vec![n as f32, 1.0],
        metadata: Some(json!({ "tag": tag, "n": n })),
        ..Item::default()
    }
}

/// (key, schema, points) of every field index.
fn fields(index: &lhv_store::DurableIndex) -> Vec<(String, FieldSchema, usize)> {
    index.index().field_indexes().into_iter().map(|info| (info.field.key, info.field.schema, info.points)).collect()
}

fn red_count(index: &lhv_store::DurableIndex) -> usize {
    let red: Filter = serde_json::from_value(json!({"must": [{"key": "tag", "match": {"value": "red"}}]})).unwrap();
    index.index().count_where(Some(&red)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_field_index_built_under_writers_misses_no_write_and_survives_restarts() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let index = catalog.create_sharded("docs", lhv_core::IndexParams::new(2, Metric::L2), 3).await.unwrap();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let index = Arc::clone(&index);
        writers.push(tokio::spawn(async move {
            for step in 0..PER_WRITER {
                index.upsert(vec![item(writer, step)]).await.unwrap();
            }
        }));
    }
    // Created while the writers run: every write lands before or after the build, none is missed.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let existed = index.create_field_index(IndexedField::new("tag", FieldSchema::Keyword)).await.unwrap();
    assert!(!existed);
    index.create_field_index(IndexedField::new("n", FieldSchema::Integer)).await.unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let total = WRITERS * PER_WRITER;
    let want = vec![("tag".to_owned(), FieldSchema::Keyword, total), ("n".to_owned(), FieldSchema::Integer, total)];
    assert_eq!(fields(&index), want);
    assert_eq!(red_count(&index), total / 3);
    // The index answers filtered searches exactly, through the field index.
    let red: Filter = serde_json::from_value(json!({"must": [{"key": "tag", "match": {"value": "red"}}]})).unwrap();
    let hits = index.index().search(&[3.0, 1.0], 2, &SearchOptions::default().with_filter(&red)).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.metadata.as_ref().unwrap()["n"].clone()).collect::<Vec<_>>(),
        [json!(3), json!(0)]
    );

    // From the log alone.
    drop(index);
    drop(catalog);
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let index = catalog.get("docs").unwrap();
    assert_eq!(fields(&index), want);
    // From snapshots, after a drop that is logged too.
    assert!(index.drop_field_index("n").await.unwrap());
    assert!(!index.drop_field_index("n").await.unwrap());
    index.snapshot().await.unwrap();
    index.upsert(vec![item(WRITERS, 0)]).await.unwrap();
    drop(index);
    drop(catalog);
    let catalog = Catalog::open_store(store, CatalogOptions::default()).await.unwrap();
    let index = catalog.get("docs").unwrap();
    assert_eq!(fields(&index), [("tag".to_owned(), FieldSchema::Keyword, total + 1)]);
    // The item added last (n = total) is red: total is a multiple of 3.
    assert_eq!(red_count(&index), total / 3 + 1);
}

#[tokio::test]
async fn a_malformed_key_or_a_field_too_many_is_refused_and_not_logged() {
    let catalog = Catalog::open("memory://", CatalogOptions::default()).await.unwrap();
    let index = catalog.create("c", lhv_core::IndexParams::new(2, Metric::L2)).await.unwrap();
    for bad in ["", "a..b", "."] {
        assert!(index.create_field_index(IndexedField::new(bad, FieldSchema::Keyword)).await.is_err(), "{bad:?}");
    }
    for n in 0..lhv_core::MAX_INDEXED_FIELDS {
        index.create_field_index(IndexedField::new(format!("k{n}"), FieldSchema::Float)).await.unwrap();
    }
    let sequence = index.last_sequence().await;
    assert!(index.create_field_index(IndexedField::new("one-more", FieldSchema::Float)).await.is_err());
    // Replacing one that exists is still allowed.
    assert!(index.create_field_index(IndexedField::new("k0", FieldSchema::Keyword)).await.unwrap());
    assert_eq!(index.last_sequence().await, sequence + 1);
}

//! Items without a vector: logged (record version 4) and kept in snapshots
//! (version 4), so they survive a restart either way, still never found.

use std::sync::Arc;

use lhv_core::{IndexParams, Item, Metric, SearchOptions};
use lhv_store::{Catalog, CatalogOptions, Store};
use serde_json::json;

fn state(catalog: &Catalog) -> (usize, Vec<usize>, Vec<String>) {
    let docs = catalog.get("docs").unwrap();
    let index = docs.index();
    let lengths = ["a", "b", "c"].iter().map(|id| index.get(id).unwrap().vector.len()).collect();
    let hits = index.search(&[1.0, 0.0], 10, &SearchOptions::default()).unwrap().into_iter().map(|h| h.id).collect();
    (index.len(), lengths, hits)
}

#[tokio::test]
async fn items_without_a_vector_survive_restarts_from_the_log_and_from_a_snapshot() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let docs = catalog.create_sharded("docs", IndexParams::new(2, Metric::Cosine), 2).await.unwrap();
    let item = |id: &str, vector: Vec<f32>| Item {
        id: id.into(),
        vector,
        metadata: Some(json!({"id": id})),
        ..Default::default()
    };
    docs.upsert(vec![item("a", vec![1.0, 0.0]), item("b", Vec::new()), item("c", vec![0.0, 1.0])]).await.unwrap();
    docs.upsert(vec![item("c", Vec::new())]).await.unwrap();
    let want = (3, vec![2, 0, 0], vec!["a".to_owned()]);
    assert_eq!(state(&catalog), want);
    drop((docs, catalog));

    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert_eq!(state(&catalog), want, "from the log");
    catalog.close().await.unwrap();
    drop(catalog);
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert_eq!(state(&catalog), want, "from the snapshot");
}

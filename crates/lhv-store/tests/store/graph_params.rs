//! New graph parameters for later insertions: logged, so they survive a
//! restart whether recovery reads them from the log or from a snapshot.

use std::sync::Arc;

use lhv_core::{IndexParams, Item, Metric};
use lhv_store::{Catalog, CatalogOptions, Store};

fn items(range: std::ops::Range<usize>) -> Vec<Item> {
    range
        .map(|i| Item { id: format!("i{i}"), vector: vec![i as f32, 1.0], metadata: None, ..Default::default() })
        .collect()
}

fn graph_params(catalog: &Catalog) -> (usize, usize) {
    let params = catalog.get("docs").unwrap().index().params();
    (params.m, params.ef_construction)
}

#[tokio::test]
async fn graph_parameters_survive_restarts_from_the_log_and_from_a_snapshot() {
    let store: Arc<dyn Store> = lhv_store::open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let docs = catalog.create_sharded("docs", IndexParams::new(2, Metric::L2).with_m(16), 2).await.unwrap();
    docs.upsert(items(0..50)).await.unwrap();
    docs.set_build_params(8, 40).await.unwrap();
    docs.upsert(items(50..80)).await.unwrap();
    // Out of range: refused, nothing logged.
    assert!(docs.set_build_params(1, 40).await.is_err());
    assert_eq!(graph_params(&catalog), (8, 40));
    drop((docs, catalog));

    // From the log.
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert_eq!(graph_params(&catalog), (8, 40));
    assert_eq!(catalog.get("docs").unwrap().index().len(), 80);
    catalog.get("docs").unwrap().set_build_params(24, 100).await.unwrap();
    catalog.close().await.unwrap();
    drop(catalog);

    // From the snapshot `close` wrote.
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert_eq!(graph_params(&catalog), (24, 100));
    for shard in catalog.get("docs").unwrap().index().shards() {
        assert_eq!((shard.params().m, shard.params().ef_construction), (24, 100));
    }
}

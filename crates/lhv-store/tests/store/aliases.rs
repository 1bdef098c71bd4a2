//! Aliases: durable, changed all or nothing, gone with their index, raced
//! by two catalogs over one store without losing a change, and a damaged
//! alias object reported and left untouched.

use std::sync::Arc;

use bytes::Bytes;
use lhv_core::{IndexParams, Metric};
use lhv_store::{AliasChange, Catalog, CatalogOptions, Error, Store};

fn create(alias: &str, index: &str) -> AliasChange {
    AliasChange::Create { alias: alias.into(), index: index.into() }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, i)| ((*a).to_owned(), (*i).to_owned())).collect()
}

async fn with_indexes(store: &Arc<dyn Store>, names: &[&str]) -> Catalog {
    let catalog = Catalog::open_store(Arc::clone(store), CatalogOptions::default()).await.unwrap();
    for name in names {
        catalog.create(name, IndexParams::new(2, Metric::L2)).await.unwrap();
    }
    catalog
}

fn memory() -> Arc<dyn Store> {
    lhv_store::open_url("memory://", &[]).unwrap().store
}

#[tokio::test]
async fn aliases_switch_atomically_and_survive_a_restart() {
    let store = memory();
    let catalog = with_indexes(&store, &["docs-v1", "docs-v2"]).await;
    catalog.change_aliases(&[create("docs", "docs-v1"), create("stable", "docs-v1")]).await.unwrap();
    assert_eq!(catalog.resolve("docs"), "docs-v1");
    assert_eq!(catalog.resolve("docs-v2"), "docs-v2");
    assert_eq!(catalog.resolve("unknown"), "unknown");

    // The re-index switch: one change, both actions.
    let switch = [AliasChange::Delete { alias: "docs".into() }, create("docs", "docs-v2")];
    catalog.change_aliases(&switch).await.unwrap();
    assert_eq!(catalog.aliases().unwrap(), pairs(&[("docs", "docs-v2"), ("stable", "docs-v1")]));

    // A change with one impossible action changes nothing.
    let before = store.list("_aliases").await.unwrap();
    for bad in [
        vec![create("new", "docs-v1"), create("other", "missing")],
        vec![AliasChange::Rename { from: "stable".into(), to: "renamed".into() }, create("docs-v1", "docs-v2")],
        vec![AliasChange::Rename { from: "missing".into(), to: "x".into() }],
        vec![create("a/b", "docs-v1")],
    ] {
        let refused = catalog.change_aliases(&bad).await.unwrap_err();
        assert!(
            matches!(refused, Error::IndexNotFound { .. } | Error::IndexExists { .. } | Error::AliasNotFound { .. })
                || matches!(refused, Error::InvalidName { .. }),
            "{refused}"
        );
    }
    assert_eq!(catalog.aliases().unwrap(), pairs(&[("docs", "docs-v2"), ("stable", "docs-v1")]));
    assert_eq!(store.list("_aliases").await.unwrap(), before);

    // An index cannot take an alias's name.
    let taken = catalog.create("docs", IndexParams::new(2, Metric::L2)).await.unwrap_err();
    assert!(matches!(taken, Error::AliasExists { .. }), "{taken}");

    drop(catalog);
    let reopened = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert_eq!(reopened.aliases().unwrap(), pairs(&[("docs", "docs-v2"), ("stable", "docs-v1")]));
    assert_eq!(reopened.resolve("stable"), "docs-v1");
    // Only the newest object and the one before it are kept.
    assert!(store.list("_aliases").await.unwrap().len() <= 2);
}

#[tokio::test]
async fn dropping_an_index_drops_its_aliases() {
    let store = memory();
    let catalog = with_indexes(&store, &["a", "b"]).await;
    catalog.change_aliases(&[create("x", "a"), create("y", "a"), create("z", "b")]).await.unwrap();
    catalog.drop_index("a").await.unwrap();
    assert_eq!(catalog.aliases().unwrap(), pairs(&[("z", "b")]));
    // The name is free again, for an index as for an alias.
    catalog.create("x", IndexParams::new(2, Metric::L2)).await.unwrap();
    drop(catalog);
    let reopened = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert_eq!(reopened.aliases().unwrap(), pairs(&[("z", "b")]));
    assert_eq!(reopened.resolve("x"), "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_catalogs_changing_aliases_at_once_lose_no_change() {
    let store = memory();
    let first = Arc::new(with_indexes(&store, &["target"]).await);
    let second = Arc::new(Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap());
    let mut tasks = Vec::new();
    for (who, catalog) in [("first", &first), ("second", &second)] {
        for n in 0..20 {
            let catalog = Arc::clone(catalog);
            tasks.push(tokio::spawn(async move {
                catalog.change_aliases(&[create(&format!("{who}-{n}"), "target")]).await
            }));
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let reopened = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let aliases = reopened.aliases().unwrap();
    assert_eq!(aliases.len(), 40, "{aliases:?}");
}

#[tokio::test]
async fn a_damaged_alias_object_is_reported_and_left_alone() {
    let store = memory();
    let catalog = with_indexes(&store, &["docs"]).await;
    catalog.change_aliases(&[create("alias", "docs")]).await.unwrap();
    drop(catalog);
    let damaged = Bytes::from_static(b"{\"aliases\": {\"alias\": ");
    store.put("_aliases/00000000000000000009.json", damaged.clone()).await.unwrap();

    let reopened = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert!(matches!(reopened.aliases(), Err(Error::AliasesUnavailable { .. })));
    assert_eq!(reopened.resolve("alias"), "alias");
    let refused = reopened.change_aliases(&[create("other", "docs")]).await.unwrap_err();
    assert!(matches!(refused, Error::AliasesUnavailable { .. }), "{refused}");
    // The index itself serves, and the damaged object is as it was.
    assert!(reopened.get("docs").is_ok());
    assert_eq!(store.get("_aliases/00000000000000000009.json").await.unwrap(), Some(damaged));
}

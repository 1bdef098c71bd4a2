//! Sharded indexes over HTTP: created with `shards` (or the server's
//! `default_shards`, or Qdrant's `shard_number`), they answer every read as
//! an unsharded index with the same items does, before and after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use crate::support::{Server, assert_error, memory};
use lhv_store::{Catalog, CatalogOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn items(range: std::ops::Range<usize>) -> Value {
    let items: Vec<Value> = range
        .map(|i| {
            json!({
                "id": format!("doc-{i}"),
                "vector": [1.0 + (i % 5) as f32, (i % 9) as f32, (i / 10) as f32],
                "metadata": { "lang": if i % 3 == 0 { "en" } else { "fr" } },
            })
        })
        .collect();
    json!({ "items": items })
}

/// Every read that must not tell a sharded index from an unsharded one.
async fn answers(server: &Server, name: &str) -> Vec<(StatusCode, Value)> {
    let base = format!("/v1/vectors/index/{name}");
    let mut out = Vec::new();
    for (q, filter) in [(0.0, None), (3.0, Some("en")), (7.5, Some("fr"))] {
        let mut search = json!({ "vector": [2.0, q, 3.0], "k": 7 });
        if let Some(lang) = filter {
            search["filter"] = json!({ "must": [{ "key": "lang", "match": { "value": lang } }] });
        }
        out.push(server.call(Method::POST, &format!("{base}/search"), Some(search.clone())).await);
        let batch = json!({ "vectors": [search["vector"], [1.0, 1.0, 1.0]], "k": 5 });
        out.push(server.call(Method::POST, &format!("{base}/search/batch"), Some(batch)).await);
    }
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(after) => format!("{base}/items?limit=13&after={after}"),
            None => format!("{base}/items?limit=13"),
        };
        let page = server.call(Method::GET, &path, None).await;
        after = page.1["next"].as_str().map(str::to_owned);
        out.push(page);
        if after.is_none() {
            break;
        }
    }
    out.push(server.call(Method::GET, &format!("{base}/items/doc-17"), None).await);
    out.push(server.call(Method::GET, &format!("{base}/items/nope"), None).await);
    out
}

/// The same answers, but for the index's name in error messages.
fn assert_same(got: &[(StatusCode, Value)], want: &[(StatusCode, Value)]) {
    assert_eq!(got.len(), want.len());
    for (position, (got, want)) in got.iter().zip(want).enumerate() {
        let unnamed = |answer: &(StatusCode, Value)| answer.1.to_string().replace("three", "one");
        assert_eq!((got.0, unnamed(got)), (want.0, unnamed(want)), "answer {position}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_index_answers_as_an_unsharded_one() {
    let store = memory();
    let server = Server::on(Arc::clone(&store)).await;
    for (name, shards) in [("one", None), ("three", Some(3))] {
        let mut create = json!({ "name": name, "dim": 3, "distance": "l2" });
        if let Some(shards) = shards {
            create["shards"] = json!(shards);
        }
        let (status, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
        assert_eq!((status, info["shards"].as_u64()), (StatusCode::CREATED, Some(shards.unwrap_or(1))), "{info}");
        for batch in 0..3 {
            let (status, _) = server
                .call(Method::POST, &format!("/v1/vectors/index/{name}/add"), Some(items(batch * 40..batch * 40 + 40)))
                .await;
            assert_eq!(status, StatusCode::OK);
        }
        for id in ["doc-3", "doc-50", "doc-99"] {
            server.call(Method::DELETE, &format!("/v1/vectors/index/{name}/items/{id}"), None).await;
        }
    }
    let reference = answers(&server, "one").await;
    assert!(reference.iter().any(|(_, v)| v["results"].as_array().is_some_and(|h| h.len() == 7)), "{reference:?}");
    assert_same(&answers(&server, "three").await, &reference);
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/three", None).await;
    assert_eq!((info["count"].as_u64(), info["shards"].as_u64()), (Some(117), Some(3)));

    // A bad item in a batch changes no shard.
    let mut bad = items(200..230);
    bad["items"][17]["vector"] = json!([0.0, "x", 1.0]);
    let (status, _) = server.call(Method::POST, "/v1/vectors/index/three/add", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for count in [0, 65] {
        let create = json!({ "name": "bad", "dim": 3, "distance": "l2", "shards": count });
        let answer = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_parameter");
    }
    server.stop().await;

    let server = Server::on(store).await;
    assert_same(&answers(&server, "three").await, &reference);
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/three", None).await;
    assert_eq!((info["count"].as_u64(), info["shards"].as_u64()), (Some(117), Some(3)));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shard_count_comes_from_the_request_the_server_or_qdrant() {
    let catalog = Catalog::open_store(memory(), CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| config.default_shards = 2).await;
    let create = json!({ "name": "defaulted", "dim": 3, "distance": "cosine" });
    let (_, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!(info["shards"].as_u64(), Some(2));
    let qdrant = json!({ "vectors": { "size": 3, "distance": "Cosine" }, "shard_number": 4 });
    let (status, _) = server.call(Method::PUT, "/collections/q", Some(qdrant)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, info) = server.call(Method::GET, "/collections/q", None).await;
    assert_eq!(info["result"]["config"]["params"]["shard_number"].as_u64(), Some(4), "{info}");
    let points: Vec<Value> = (0..40).map(|i| json!({ "id": i, "vector": [1.0, i as f32, 2.0] })).collect();
    let (status, _) = server.call(Method::PUT, "/collections/q/points", Some(json!({ "points": points }))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, count) = server.call(Method::POST, "/collections/q/points/count", Some(json!({}))).await;
    assert_eq!(count["result"]["count"].as_u64(), Some(40), "{count}");
    server.stop().await;
}

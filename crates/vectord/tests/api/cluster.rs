//! Two vectord servers in one process over one (memory) store, as cluster
//! members: either takes any request; writes and strong searches reach the
//! index's writer, replicas catch up within the follow interval, and when
//! the writer leaves the other takes over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Server, assert_error, memory};
use lhv_store::{Catalog, CatalogOptions, ClusterOptions, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vectord::config::ClusterConfig;

const TTL_MS: u64 = 3_000;

pub(crate) async fn member(store: Arc<dyn Store>) -> (Server, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let cluster = ClusterOptions { lease_ttl_ms: TTL_MS, lease_margin_ms: TTL_MS / 3, ..ClusterOptions::new(&address) };
    let options = CatalogOptions { cluster: Some(cluster), ..CatalogOptions::default() };
    let catalog = Catalog::open_store(store, options).await.unwrap();
    let config = ClusterConfig {
        address: address.clone(),
        lease_ttl_ms: TTL_MS,
        follow_interval: Duration::from_millis(50),
        etcd: None,
    };
    let server = Server::start_on(listener, catalog, |c| c.cluster = Some(config)).await;
    (server, address)
}

fn items(ids: std::ops::Range<usize>) -> Value {
    let items: Vec<Value> = ids.map(|i| json!({ "id": format!("d{i}"), "vector": [1.0, i as f32] })).collect();
    json!({ "items": items })
}

async fn count(server: &Server, consistency: &str) -> usize {
    let search = json!({ "vector": [1.0, 0.0], "k": 1000, "consistency": consistency });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_member_takes_any_request_and_the_writer_answers_writes_and_strong_searches() {
    let store = memory();
    let (a, a_address) = member(Arc::clone(&store)).await;
    let (b, _) = member(Arc::clone(&store)).await;
    let create = json!({ "name": "docs", "dim": 2, "distance": "l2" });
    assert_eq!(a.call(Method::POST, "/v1/vectors/index", Some(create)).await.0, StatusCode::CREATED);

    // B never saw the index created, yet takes a write to it: forwarded to A, the writer.
    let (status, body) = b.call(Method::POST, "/v1/vectors/index/docs/add", Some(items(0..10))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, cluster) = b.call(Method::GET, "/v1/cluster", None).await;
    assert_eq!(cluster["indexes"][0]["writer"], json!(a_address), "{cluster}");
    assert_eq!(cluster["indexes"][0]["local"], json!(false));

    // A strong search through B sees every acknowledged write at once; an
    // eventual one does within a few follow intervals.
    b.call(Method::POST, "/v1/vectors/index/docs/add", Some(items(10..20))).await;
    assert_eq!(count(&b, "strong").await, 20);
    let started = Instant::now();
    while count(&b, "eventual").await < 20 {
        assert!(started.elapsed() < Duration::from_secs(5), "the replica did not catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let bad = json!({ "vector": [1.0, 0.0], "k": 1, "consistency": "sometimes" });
    assert_error(
        &b.call(Method::POST, "/v1/vectors/index/docs/search", Some(bad)).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // Qdrant's routes are forwarded too.
    let points = json!({ "points": [{ "id": 7, "vector": [2.0, 2.0] }] });
    let (status, body) = b.call(Method::PUT, "/collections/docs/points?wait=true", Some(points)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(count(&a, "eventual").await, 21);

    // The writer leaves (a clean stop hands its lease back): B writes from now on.
    a.stop().await;
    let (status, body) = b.call(Method::POST, "/v1/vectors/index/docs/add", Some(items(20..25))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(count(&b, "strong").await, 26);
    let (_, cluster) = b.call(Method::GET, "/v1/cluster", None).await;
    assert_eq!(cluster["indexes"][0]["local"], json!(true), "{cluster}");

    // A new member sees it all; a drop through it reaches the writer, and every member forgets the index.
    let (c, _) = member(Arc::clone(&store)).await;
    assert_eq!(count(&c, "eventual").await, 26);
    assert_eq!(c.call(Method::DELETE, "/v1/vectors/index/docs", None).await.0, StatusCode::OK);
    let started = Instant::now();
    while c.call(Method::GET, "/v1/vectors/index/docs", None).await.0 != StatusCode::NOT_FOUND {
        assert!(started.elapsed() < Duration::from_secs(5), "the drop did not reach the replica");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.stop().await;
    c.stop().await;
}

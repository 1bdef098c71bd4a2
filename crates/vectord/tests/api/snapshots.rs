//! Snapshots over HTTP: export an index, import it under another name (and
//! after a restart), and refuse what is not a valid frame.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use crate::support::{Server, assert_error, memory};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn put_snapshot(server: &Server, name: &str, body: Vec<u8>, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = server.client.put(format!("{}/v1/vectors/index/{name}/snapshot", server.base)).body(body);
    if let Some(key) = key {
        request = request.header("api-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_export_and_import_indexes() {
    let store = memory();
    let server = Server::on(Arc::clone(&store)).await;
    let create = json!({ "name": "docs", "dim": 3, "distance": "cosine", "indexed_fields": ["lang"] });
    server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    let items: Vec<Value> = (0..30)
        .map(|i| json!({ "id": format!("d/{i}"), "vector": [1.0, i as f32, 0.5], "metadata": { "lang": if i % 2 == 0 { "en" } else { "fr" } } }))
        .collect();
    server.call(Method::POST, "/v1/vectors/index/docs/add", Some(json!({ "items": items }))).await;

    let response = server.client.get(format!("{}/v1/vectors/index/docs/snapshot", server.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let frame = response.bytes().await.unwrap().to_vec();
    assert_eq!(&frame[..4], b"LHV1");

    let (status, info) = put_snapshot(&server, "copy", frame.clone(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    assert_eq!((info["count"].as_u64(), &info["indexed_fields"]), (Some(30), &json!(["lang"])));
    let search = json!({ "vector": [1.0, 3.0, 0.5], "k": 3, "filter": { "must": [{ "key": "lang", "match": { "value": "fr" } }] } });
    let original = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search.clone())).await;
    let copied = server.call(Method::POST, "/v1/vectors/index/copy/search", Some(search.clone())).await;
    assert_eq!(original, copied);

    assert_error(&put_snapshot(&server, "docs", frame.clone(), None).await, StatusCode::CONFLICT, "index_exists");
    let mut flipped = frame.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    for bad in [flipped, frame[..frame.len() / 2].to_vec(), b"{\"items\": []}".to_vec(), Vec::new()] {
        assert_error(&put_snapshot(&server, "bad", bad, None).await, StatusCode::BAD_REQUEST, "invalid_snapshot");
    }
    let too_long = "x".repeat(256);
    assert_error(&put_snapshot(&server, &too_long, frame.clone(), None).await, StatusCode::BAD_REQUEST, "invalid_name");
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/bad", None).await,
        StatusCode::NOT_FOUND,
        "index_not_found",
    );
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/nope/snapshot", None).await,
        StatusCode::NOT_FOUND,
        "index_not_found",
    );
    server.stop().await;

    let server = Server::on(store).await;
    assert_eq!(server.call(Method::POST, "/v1/vectors/index/copy/search", Some(search)).await, copied);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_uploads_need_the_write_key_and_respect_their_limit() {
    let catalog = lhv_store::Catalog::open_store(memory(), lhv_store::CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| {
        config.api_key = Some("writer".into());
        config.read_only_api_key = Some("reader".into());
        config.max_snapshot_bytes = 1000;
    })
    .await;
    assert_error(&put_snapshot(&server, "x", vec![0; 10], Some("reader")).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&put_snapshot(&server, "x", vec![0; 10], None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = put_snapshot(&server, "x", vec![0; 5000], Some("writer")).await;
    assert_error(&(status, body), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coded_storage_serves_and_survives_restarts_and_snapshots() {
    let store = memory();
    let server = Server::on(Arc::clone(&store)).await;
    for storage in ["f16", "int8"] {
        let create = json!({ "name": storage, "dim": 4, "distance": "l2", "storage": storage });
        let (_, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
        assert_eq!(info["storage"], storage, "{info}");
        let items: Vec<Value> =
            (0..50).map(|i| json!({ "id": format!("v{i}"), "vector": [i as f32, 1.0, -2.0, 0.5] })).collect();
        server.call(Method::POST, &format!("/v1/vectors/index/{storage}/add"), Some(json!({ "items": items }))).await;
    }
    let search = json!({ "vector": [10.2, 1.0, -2.0, 0.5], "k": 2 });
    let mut answers = Vec::new();
    for storage in ["f16", "int8"] {
        let (_, body) =
            server.call(Method::POST, &format!("/v1/vectors/index/{storage}/search"), Some(search.clone())).await;
        assert_eq!(body["results"][0]["id"], "v10", "{storage}: {body}");
        answers.push(body);
    }
    let coarse = json!({ "vector": [10.2, 1.0, -2.0, 0.5], "k": 2, "rescore": false });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/int8/search", Some(coarse)).await;
    assert_eq!((status, &body["results"][0]["id"]), (StatusCode::OK, &json!("v10")), "{body}");
    let frame = server.client.get(format!("{}/v1/vectors/index/int8/snapshot", server.base)).send().await.unwrap();
    let frame = frame.bytes().await.unwrap().to_vec();
    assert_eq!(put_snapshot(&server, "int8-copy", frame, None).await.0, StatusCode::CREATED);
    server.stop().await; // writes version 2 snapshots

    let server = Server::on(store).await;
    for (storage, answer) in [("f16", &answers[0]), ("int8", &answers[1]), ("int8-copy", &answers[1])] {
        let (_, info) = server.call(Method::GET, &format!("/v1/vectors/index/{storage}"), None).await;
        assert_eq!(info["count"], 50, "{info}");
        let (_, body) =
            server.call(Method::POST, &format!("/v1/vectors/index/{storage}/search"), Some(search.clone())).await;
        assert_eq!(&body, answer, "{storage}");
    }
    server.stop().await;
}

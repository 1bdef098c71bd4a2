//! Values an index cannot store are refused on every path that puts vectors
//! into one: the native API, the Qdrant routes and snapshot uploads. The
//! regression of float16 storing infinities (`[70000, 1]`) and zero vectors
//! (`[1e-8, 1e-8]`) and ranking their NaN distances first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use crate::support::{Server, assert_error, memory};
use lhv_core::{Index, IndexParams, Item, Metric, Storage, StoredRows};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float16_refuses_values_it_cannot_hold_natively() {
    let server = Server::on(memory()).await;
    let create = json!({ "name": "h", "dim": 2, "distance": "cosine", "storage": "f16" });
    assert_eq!(server.call(Method::POST, "/v1/vectors/index", Some(create)).await.0, StatusCode::CREATED);
    let add = |items: Value| server.call(Method::POST, "/v1/vectors/index/h/add", Some(json!({ "items": items })));

    let beyond = add(json!([{ "id": "x", "vector": [70000, 1] }, { "id": "a", "vector": [1, 0] }])).await;
    assert_error(&beyond, StatusCode::BAD_REQUEST, "value_out_of_range");
    assert_eq!(beyond.1["error"]["item"], 0, "{}", beyond.1);
    let underflowing = add(json!([{ "id": "a", "vector": [1, 0] }, { "id": "y", "vector": [1e-8, 1e-8] }])).await;
    assert_error(&underflowing, StatusCode::BAD_REQUEST, "zero_vector");
    assert_eq!(underflowing.1["error"]["item"], 1, "{}", underflowing.1);
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/h", None).await;
    assert_eq!(info["count"], 0, "a refused batch was partly applied");

    let accepted = add(json!([{ "id": "a", "vector": [1, 0] }, { "id": "b", "vector": [65504, 1] }])).await;
    assert_eq!(accepted.0, StatusCode::OK, "{}", accepted.1);
    let (_, item) = server.call(Method::GET, "/v1/vectors/index/h/items/b", None).await;
    assert_eq!(item["vector"], json!([65504.0, 1.0]));
    let search = json!({ "vector": [1, 0], "k": 3 });
    let (status, found) = server.call(Method::POST, "/v1/vectors/index/h/search", Some(search)).await;
    assert_eq!(status, StatusCode::OK);
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{found}");
    assert!(results.iter().all(|hit| hit["distance"].is_f64()), "a distance is not a number: {found}");
    let batch = json!({ "vectors": [[1, 0], [0, 1]], "k": 3 });
    let (_, found) = server.call(Method::POST, "/v1/vectors/index/h/search/batch", Some(batch)).await;
    let distances = found["results"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().clone());
    assert!(distances.into_iter().all(|hit| hit["distance"].is_f64()), "{found}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float16_refuses_values_it_cannot_hold_on_qdrant_routes() {
    let server = Server::on(memory()).await;
    let create = json!({ "vectors": { "size": 2, "distance": "Euclid", "datatype": "float16" } });
    assert_eq!(server.call(Method::PUT, "/collections/h", Some(create)).await.0, StatusCode::OK);
    let upsert = json!({ "points": [{ "id": 1, "vector": [70000, 1] }] });
    let (status, body) = server.call(Method::PUT, "/collections/h/points?wait=true", Some(upsert)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["status"]["error"].as_str().unwrap_or_default();
    assert!(message.contains("65504"), "{body}");
    let (_, count) = server.call(Method::POST, "/collections/h/points/count", Some(json!({}))).await;
    assert_eq!(count["result"]["count"], 0, "{count}");

    // Qdrant normalises cosine vectors before storing them, so the same
    // vector fits a float16 cosine collection and reads back finite.
    let create = json!({ "vectors": { "size": 2, "distance": "Cosine", "datatype": "float16" } });
    assert_eq!(server.call(Method::PUT, "/collections/c", Some(create)).await.0, StatusCode::OK);
    let upsert = json!({ "points": [{ "id": 1, "vector": [70000, 1] }] });
    let (status, body) = server.call(Method::PUT, "/collections/c/points?wait=true", Some(upsert)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, point) = server.call(Method::GET, "/collections/c/points/1", None).await;
    let stored = point["result"]["vector"].as_array().unwrap();
    assert!(stored.iter().all(Value::is_f64), "{point}");
    assert!((stored[0].as_f64().unwrap() - 1.0).abs() < 1e-3, "{point}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_holding_non_finite_stored_values_are_refused() {
    let index = Index::new(IndexParams::new(2, Metric::L2).with_storage(Storage::F16)).unwrap();
    let item = |id: &str, vector: Vec<f32>| Item { id: id.into(), vector, metadata: None, ..Default::default() };
    index.upsert(vec![item("a", vec![1.0, 0.0]), item("b", vec![0.0, 1.0])]).unwrap();
    let mut parts = index.to_parts();
    if let StoredRows::F16(rows) = &mut parts.vectors {
        let mut bits = rows.to_vec();
        bits[0] = 0x7c00; // float16 +infinity, with valid checksums around it
        *rows = bits.into();
    }
    let frame = lhv_format::encode_snapshot(&parts, 0).unwrap();

    let server = Server::on(memory()).await;
    let response =
        server.client.put(format!("{}/v1/vectors/index/h/snapshot", server.base)).body(frame).send().await.unwrap();
    let status = response.status();
    assert_error(&(status, response.json().await.unwrap()), StatusCode::BAD_REQUEST, "invalid_snapshot");
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/h", None).await,
        StatusCode::NOT_FOUND,
        "index_not_found",
    );
    server.stop().await;
}

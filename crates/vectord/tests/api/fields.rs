//! Field indexes added to and dropped from live indexes over HTTP, through
//! vectord's API and Qdrant's, kept across a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use crate::support::{Server, assert_error, memory};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn ids(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["results"].as_array().unwrap().iter().map(|h| h["id"].to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_field_indexes_are_built_live_and_kept() {
    let store = memory();
    let server = Server::on(Arc::clone(&store)).await;
    let create = json!({ "name": "docs", "dim": 2, "distance": "l2", "indexed_fields": ["lang"] });
    server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    let items: Vec<Value> = (0..40)
        .map(|i| json!({ "id": format!("d{i}"), "vector": [i as f32, 1.0], "metadata": { "lang": if i % 4 == 0 { "en" } else { "fr" }, "n": i } }))
        .collect();
    server.call(Method::POST, "/v1/vectors/index/docs/add", Some(json!({ "items": items }))).await;
    let search =
        json!({ "vector": [0.0, 1.0], "k": 100, "filter": { "must": [{ "key": "n", "range": { "lt": 8 } }] } });
    let before = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search.clone())).await;

    let (status, built) =
        server.call(Method::PUT, "/v1/vectors/index/docs/fields/n", Some(json!({ "schema": "float" }))).await;
    assert_eq!(status, StatusCode::OK, "{built}");
    assert_eq!(built, json!({ "key": "n", "schema": "float", "points": 40, "existed": false }));
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(info["indexed_fields"], json!(["lang", { "key": "n", "schema": "float" }]));
    assert_eq!(info["indexed_points"], json!({ "lang": 40, "n": 40 }));
    let after = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search.clone())).await;
    assert_eq!(ids(&after.1), ids(&before.1));
    assert_eq!(ids(&after.1).len(), 8);

    let answer = server.call(Method::PUT, "/v1/vectors/index/docs/fields/a..b", Some(json!({}))).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_parameter");
    let answer = server.call(Method::PUT, "/v1/vectors/index/docs/fields/x", Some(json!({ "schema": "vector" }))).await;
    assert_eq!(answer.0, StatusCode::BAD_REQUEST);
    let answer = server.call(Method::PUT, "/v1/vectors/index/nope/fields/x", Some(json!({}))).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "index_not_found");
    let (status, _) = server.call(Method::DELETE, "/v1/vectors/index/docs/fields/lang", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &server.call(Method::DELETE, "/v1/vectors/index/docs/fields/lang", None).await,
        StatusCode::NOT_FOUND,
        "field_not_found",
    );
    server.stop().await;

    let server = Server::on(store).await;
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(info["indexed_fields"], json!([{ "key": "n", "schema": "float" }]));
    let again = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search)).await;
    assert_eq!(ids(&again.1), ids(&before.1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_payload_indexes_show_in_the_payload_schema() {
    let server = Server::on(memory()).await;
    let create = json!({ "vectors": { "size": 2, "distance": "Dot" } });
    server.call(Method::PUT, "/collections/c", Some(create)).await;
    let points: Vec<Value> = (0..10)
        .map(|i| json!({ "id": i, "vector": [1.0, i as f32], "payload": { "doc_id": format!("doc-{}", i % 3), "n": i } }))
        .collect();
    server.call(Method::PUT, "/collections/c/points", Some(json!({ "points": points }))).await;
    let index = json!({ "field_name": "doc_id", "field_schema": "keyword" });
    let (status, answer) = server.call(Method::PUT, "/collections/c/index?wait=true", Some(index)).await;
    assert_eq!((status, &answer["result"]["status"]), (StatusCode::OK, &json!("completed")), "{answer}");
    let index = json!({ "field_name": "n", "field_schema": { "type": "integer", "lookup": true, "range": true } });
    server.call(Method::PUT, "/collections/c/index", Some(index)).await;
    let (_, info) = server.call(Method::GET, "/collections/c", None).await;
    let want =
        json!({ "doc_id": { "data_type": "keyword", "points": 10 }, "n": { "data_type": "integer", "points": 10 } });
    assert_eq!(info["result"]["payload_schema"], want);

    let refused = server
        .call(Method::PUT, "/collections/c/index", Some(json!({ "field_name": "t", "field_schema": "geo" })))
        .await;
    assert_eq!(refused.0, StatusCode::BAD_REQUEST);
    assert!(refused.1["status"]["error"].as_str().unwrap().starts_with("not supported by vectord"), "{}", refused.1);
    let (status, _) = server.call(Method::DELETE, "/collections/c/index/n", None).await;
    assert_eq!(status, StatusCode::OK);
    // Dropping what is not there is no error, as in Qdrant.
    let (status, _) = server.call(Method::DELETE, "/collections/c/index/n", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, info) = server.call(Method::GET, "/collections/c", None).await;
    assert_eq!(info["result"]["payload_schema"], json!({ "doc_id": { "data_type": "keyword", "points": 10 } }));
}

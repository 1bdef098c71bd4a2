//! The Qdrant-shaped routes in-process: Qdrant's envelopes and error bodies
//! from every layer, writes that are all or nothing, the read-only key, and
//! the same data seen through both APIs. (The official clients' suites are
//! in smokes/qdrant, run by `cargo xtask qdrant-clients`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use lhv_store::{Catalog, CatalogOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, memory};

/// Asserts a Qdrant error answer: the status, and a message containing `text`.
fn assert_qdrant_error(answer: &(StatusCode, Value), status: StatusCode, text: &str) {
    assert_eq!(answer.0, status, "{answer:?}");
    let message = answer.1["status"]["error"].as_str().unwrap_or_else(|| panic!("not a Qdrant error: {answer:?}"));
    assert!(message.contains(text), "{message:?} lacks {text:?}");
    assert!(answer.1["time"].is_number(), "{answer:?}");
}

async fn collection(server: &Server, name: &str) {
    let create = json!({"vectors": {"size": 2, "distance": "Euclid"}});
    let (status, body) = server.call(Method::PUT, &format!("/collections/{name}"), Some(create)).await;
    assert_eq!((status, &body["result"], &body["status"]), (StatusCode::OK, &json!(true), &json!("ok")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_qdrants_body_whoever_answers() {
    let server = Server::on(memory()).await;
    let (status, root) = server.call(Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(root["version"], json!(vectord::QDRANT_API_VERSION));

    assert_qdrant_error(&server.call(Method::GET, "/collections/nope", None).await, StatusCode::NOT_FOUND, "nope");
    assert_qdrant_error(
        &server.call(Method::GET, "/collections/c/snapshots", None).await,
        StatusCode::NOT_FOUND,
        "not supported by vectord",
    );
    assert_qdrant_error(
        &server.call(Method::DELETE, "/collections/c/points", Some(json!({}))).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method",
    );
    collection(&server, "c").await;
    assert_qdrant_error(
        &server.call(Method::PUT, "/collections/c", Some(json!({"vectors": {"size": 2, "distance": "Dot"}}))).await,
        StatusCode::CONFLICT,
        "c",
    );
    let (status, text) = {
        let response = server
            .client
            .put(format!("{}/collections/c/points", server.base))
            .body("{\"points\": [")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_qdrant_error(&(status, text), StatusCode::BAD_REQUEST, "");
    let unsupported = json!({"vectors": {"size": 2, "distance": "Euclid"}, "init_from": {"collection": "c"}});
    assert_qdrant_error(
        &server.call(Method::PUT, "/collections/d", Some(unsupported)).await,
        StatusCode::BAD_REQUEST,
        "not supported by vectord: the field `init_from`",
    );
    // vectord's own API keeps its own error body.
    let (status, body) = server.call(Method::GET, "/v1/vectors/index/nope", None).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("index_not_found")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_all_or_nothing_and_both_apis_see_them() {
    let server = Server::on(memory()).await;
    collection(&server, "c").await;
    let points = json!({"points": [
        {"id": 1, "vector": [1.0, 0.0], "payload": {"k": "a"}},
        {"id": "550E8400-E29B-41D4-A716-446655440000", "vector": [0.0, 1.0]},
        {"id": 1, "vector": [3.0, 4.0], "payload": {"k": "b"}},
    ]});
    let (status, body) = server.call(Method::PUT, "/collections/c/points?wait=true", Some(points)).await;
    assert_eq!((status, &body["result"]["status"]), (StatusCode::OK, &json!("completed")), "{body}");
    // A later point with the same id wins, as in Qdrant; ids are kept as canonical strings.
    let (_, item) = server.call(Method::GET, "/v1/vectors/index/c/items/1", None).await;
    assert_eq!((&item["vector"], &item["metadata"]), (&json!([3.0, 4.0]), &json!({"k": "b"})));
    let (status, _) =
        server.call(Method::GET, "/v1/vectors/index/c/items/550e8400-e29b-41d4-a716-446655440000", None).await;
    assert_eq!(status, StatusCode::OK);

    // One bad point: nothing is written, and the error names its position in the request.
    let bad = json!({"points": [{"id": 9, "vector": [1.0, 1.0]}, {"id": 2, "vector": [1.0, 1.0]}, {"id": 3, "vector": [1.0]}]});
    assert_qdrant_error(
        &server.call(Method::PUT, "/collections/c/points", Some(bad)).await,
        StatusCode::BAD_REQUEST,
        "item 2:",
    );
    let bad_id = json!({"points": [{"id": 4, "vector": [1.0, 1.0]}, {"id": "doc-5", "vector": [1.0, 1.0]}]});
    assert_qdrant_error(
        &server.call(Method::PUT, "/collections/c/points", Some(bad_id)).await,
        StatusCode::BAD_REQUEST,
        "point id",
    );
    // A payload write naming a missing point changes no point.
    let set = json!({"payload": {"x": 1}, "points": [1, 99]});
    assert_qdrant_error(
        &server.call(Method::POST, "/collections/c/points/payload", Some(set)).await,
        StatusCode::NOT_FOUND,
        "99",
    );
    let (_, count) = server.call(Method::POST, "/collections/c/points/count", Some(json!({}))).await;
    assert_eq!(count["result"]["count"], json!(2));
    let (_, point) = server.call(Method::GET, "/collections/c/points/1", None).await;
    assert_eq!((&point["result"]["id"], &point["result"]["payload"]), (&json!(1), &json!({"k": "b"})));

    // Items written through vectord's API show their ids as they are.
    server
        .call(Method::POST, "/v1/vectors/index/c/add", Some(json!({"items": [{"id": "doc/7", "vector": [0.0, 0.0]}]})))
        .await;
    let (_, found) = server
        .call(
            Method::POST,
            "/collections/c/points/search",
            Some(json!({"vector": [0.0, 0.0], "limit": 1, "with_payload": true})),
        )
        .await;
    assert_eq!(found["result"][0]["id"], json!("doc/7"));
    assert_eq!((&found["result"][0]["score"], &found["result"][0]["payload"]), (&json!(0.0), &json!({})));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_key_reads_but_cannot_write() {
    let catalog = Catalog::open_store(memory(), CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| {
        config.api_key = Some("writer".into());
        config.read_only_api_key = Some("reader".into());
    })
    .await;
    let call = |key: &'static str, method: Method, path: &'static str, body: Value| {
        let request =
            server.client.request(method, format!("{}{path}", server.base)).header("api-key", key).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let create = json!({"vectors": {"size": 2, "distance": "Cosine"}});
    assert_qdrant_error(
        &call("reader", Method::PUT, "/collections/c", create.clone()).await,
        StatusCode::FORBIDDEN,
        "read-only",
    );
    assert_eq!(call("writer", Method::PUT, "/collections/c", create).await.0, StatusCode::OK);
    assert_qdrant_error(
        &call("nobody", Method::GET, "/collections", json!({})).await,
        StatusCode::UNAUTHORIZED,
        "API key",
    );
    let upsert = json!({"points": [{"id": 1, "vector": [1.0, 0.0]}]});
    assert_eq!(call("writer", Method::PUT, "/collections/c/points", upsert).await.0, StatusCode::OK);
    for (method, path, body) in [
        (Method::POST, "/collections/c/points/delete", json!({"points": [1]})),
        (Method::POST, "/collections/c/points/payload", json!({"payload": {}, "points": [1]})),
        (Method::POST, "/collections/c/points/payload/clear", json!({"points": [1]})),
        (Method::DELETE, "/collections/c", json!({})),
    ] {
        assert_qdrant_error(&call("reader", method, path, body).await, StatusCode::FORBIDDEN, "read-only");
    }
    for (path, body) in [
        ("/collections/c/points/search", json!({"vector": [1.0, 0.0], "limit": 1})),
        ("/collections/c/points/query", json!({"query": [1.0, 0.0]})),
        ("/collections/c/points/scroll", json!({})),
        ("/collections/c/points/count", json!({})),
        ("/collections/c/points", json!({"ids": [1]})),
    ] {
        let (status, body) = call("reader", Method::POST, path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (_, query) = call("reader", Method::POST, "/collections/c/points/query", json!({"query": [2.0, 0.0]})).await;
    assert_eq!(query["result"]["points"][0]["score"], json!(1.0));
    server.stop().await;
}

/// `vectord_persist_duration_seconds_count`: durable writes so far.
async fn durable_writes(server: &Server) -> u64 {
    let text = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("vectord_persist_duration_seconds_count")).unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_writes_are_measured_as_durable_writes() {
    let server = Server::on(memory()).await;
    collection(&server, "m").await;
    let writes: [(Method, &str, Value); 5] = [
        (Method::PUT, "/collections/m/points", json!({"points": [{"id": 1, "vector": [1.0, 0.0]}]})),
        (Method::PUT, "/collections/m/points/vectors", json!({"points": [{"id": 1, "vector": [0.0, 3.0]}]})),
        (Method::POST, "/collections/m/points/payload", json!({"payload": {"a": 1}, "points": [1]})),
        (Method::POST, "/collections/m/points/payload/clear", json!({"points": [1]})),
        (Method::POST, "/collections/m/points/delete", json!({"points": [1]})),
    ];
    for (method, path, body) in writes {
        let before = durable_writes(&server).await;
        let (status, answer) = server.call(method, path, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_eq!(durable_writes(&server).await, before + 1, "{path} was not measured");
    }
    // The vector is replaced, the payload kept.
    let point = json!({"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"k": 1}}]});
    server.call(Method::PUT, "/collections/m/points", Some(point)).await;
    let vectors = json!({"points": [{"id": 1, "vector": [0.0, 3.0]}]});
    server.call(Method::PUT, "/collections/m/points/vectors", Some(vectors)).await;
    let (_, point) = server.call(Method::GET, "/collections/m/points/1", None).await;
    assert_eq!((&point["result"]["vector"], &point["result"]["payload"]), (&json!([0.0, 3.0]), &json!({"k": 1})));
    let unknown = json!({"points": [{"id": 1, "vector": [1.0, 0.0]}, {"id": 99, "vector": [1.0, 0.0]}]});
    let answer = server.call(Method::PUT, "/collections/m/points/vectors", Some(unknown)).await;
    assert_qdrant_error(&answer, StatusCode::NOT_FOUND, "No point with id 99");
    let (_, point) = server.call(Method::GET, "/collections/m/points/1", None).await;
    assert_eq!(point["result"]["vector"], json!([0.0, 3.0]), "an update with an unknown id changed nothing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_vectord_lacks_is_refused_by_name_in_qdrants_body() {
    let server = Server::on(memory()).await;
    collection(&server, "c").await;
    for (method, path, status) in [
        (Method::POST, "/collections/c/points/search/matrix/pairs", StatusCode::NOT_FOUND),
        (Method::GET, "/cluster", StatusCode::NOT_FOUND),
        (Method::POST, "/collections/c/snapshots", StatusCode::NOT_FOUND),
    ] {
        let answer = server.call(method.clone(), path, Some(json!({}))).await;
        assert_qdrant_error(&answer, status, &format!("not supported by vectord: {method} {path}"));
    }
    // A point without an embedding (Haystack sends `{}`) is a point without a vector, as in Qdrant.
    for vector in [json!({}), Value::Null] {
        let points = json!({ "points": [{ "id": 1, "vector": vector }] });
        assert_eq!(server.call(Method::PUT, "/collections/c/points", Some(points)).await.0, StatusCode::OK);
        let (status, point) = server.call(Method::GET, "/collections/c/points/1", None).await;
        assert_eq!((status, &point["result"]["vector"]), (StatusCode::OK, &json!({})), "{point}");
    }
    server.stop().await;
}

/// `path` with `name` percent-encoded as its one path segment.
fn collection_path(name: &str, rest: &str) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("/collections/{encoded}{rest}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_as_qdrant_allows_and_aliases_survive_a_restart() {
    let store = memory();
    let server = Server::on(std::sync::Arc::clone(&store)).await;
    let name = "Été: docs ✓ v1";
    let create = json!({"vectors": {"size": 2, "distance": "Dot"}});
    let (status, body) = server.call(Method::PUT, &collection_path(name, ""), Some(create)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let points = json!({"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"n": 1}}]});
    assert_eq!(server.call(Method::PUT, &collection_path(name, "/points"), Some(points)).await.0, StatusCode::OK);
    let aliases = json!({"actions": [{"create_alias": {"collection_name": name, "alias_name": "docs"}}]});
    let (status, body) = server.call(Method::POST, "/collections/aliases", Some(aliases)).await;
    assert_eq!((status, &body["result"]), (StatusCode::OK, &json!(true)), "{body}");
    // A bad action refuses the whole change.
    let bad = json!({"actions": [
        {"delete_alias": {"alias_name": "docs"}},
        {"create_alias": {"collection_name": "missing", "alias_name": "docs"}}]});
    assert_qdrant_error(
        &server.call(Method::POST, "/collections/aliases", Some(bad)).await,
        StatusCode::NOT_FOUND,
        "missing",
    );
    let patch = json!({"hnsw_config": {"m": 8, "ef_construct": 50}, "optimizers_config": {"indexing_threshold": 0}});
    assert_eq!(server.call(Method::PATCH, "/collections/docs", Some(patch)).await.0, StatusCode::OK);
    server.stop().await;

    let server = Server::on(store).await;
    let (_, list) = server.call(Method::GET, "/collections", None).await;
    assert_eq!(list["result"]["collections"], json!([{"name": name}]));
    let (_, aliases) = server.call(Method::GET, "/aliases", None).await;
    assert_eq!(aliases["result"]["aliases"], json!([{"alias_name": "docs", "collection_name": name}]));
    let (status, info) = server.call(Method::GET, "/collections/docs", None).await;
    assert_eq!((status, &info["result"]["points_count"]), (StatusCode::OK, &json!(1)), "{info}");
    assert_eq!(info["result"]["config"]["hnsw_config"]["m"], json!(8));
    assert_eq!(info["result"]["config"]["hnsw_config"]["ef_construct"], json!(50));
    let (_, point) = server.call(Method::GET, "/collections/docs/points/1", None).await;
    assert_eq!(point["result"]["payload"], json!({"n": 1}));
    // Names Qdrant refuses: too long, or with `/` (encoded, so that it reaches the route).
    for bad in ["x".repeat(256), "a/b".to_owned()] {
        let create = json!({"vectors": {"size": 2, "distance": "Dot"}});
        let answer = server.call(Method::PUT, &collection_path(&bad, ""), Some(create)).await;
        assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{answer:?}");
    }
    server.stop().await;
}

//! The HTTP API end to end, in-process on port 0: every route, every error status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use lhv_store::testing::{Fault, FaultyStore};
use lhv_store::{Catalog, CatalogOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, assert_error, memory};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_works() {
    let server = Server::on(memory()).await;
    let (status, body) = server.call(Method::GET, "/healthz", None).await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
    assert_eq!(server.call(Method::GET, "/readyz", None).await.0, StatusCode::OK);

    let create =
        json!({ "name": "docs.v1", "dim": 3, "distance": "l2", "m": 8, "ef_construction": 50, "ef_search": 20 });
    let (status, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (info["name"].clone(), info["dim"].clone(), info["count"].clone()),
        (json!("docs.v1"), json!(3), json!(0))
    );
    assert_eq!(
        (info["distance"].clone(), info["m"].clone(), info["ef_search"].clone()),
        (json!("l2"), json!(8), json!(20))
    );
    server.call(Method::POST, "/v1/vectors/index", Some(json!({ "name": "a", "dim": 2, "distance": "dot" }))).await;

    let items = json!({ "items": [
        { "id": "x/1", "vector": [1.0, 0.0, 0.0], "metadata": { "tag": "first" } },
        { "id": "y", "vector": [0.0, 1.0, 0.0] },
        { "id": "z", "vector": [0.0, 0.0, 1.0] },
    ]});
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/docs.v1/add", Some(items)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "upserted": 3 })));

    let (status, body) = server
        .call(Method::POST, "/v1/vectors/index/docs.v1/search", Some(json!({ "vector": [1.0, 0.1, 0.0], "k": 2 })))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"][0]["id"], "x/1");
    assert_eq!(body["results"][0]["metadata"], json!({ "tag": "first" }));
    assert_eq!(body["results"].as_array().unwrap().len(), 2);

    let batch = json!({ "vectors": [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "k": 1, "ef": 10 });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/docs.v1/search/batch", Some(batch)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["results"][0][0]["id"].clone(), body["results"][1][0]["id"].clone()), (json!("y"), json!("z")));

    let (status, body) = server.call(Method::GET, "/v1/vectors/index/docs.v1/items/x%2F1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": "x/1", "vector": [1.0, 0.0, 0.0], "metadata": { "tag": "first" } }));
    let (_, body) = server.call(Method::GET, "/v1/vectors/index/docs.v1/items?limit=2", None).await;
    assert_eq!(
        body["items"],
        json!([{ "id": "x/1", "metadata": { "tag": "first" } }, { "id": "y", "metadata": null }])
    );
    let (_, body) = server.call(Method::GET, "/v1/vectors/index/docs.v1/items?limit=2&after=y", None).await;
    assert_eq!((body["items"][0]["id"].clone(), body["next"].clone()), (json!("z"), Value::Null));

    let (status, _) = server.call(Method::DELETE, "/v1/vectors/index/docs.v1/items/y", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs.v1", None).await;
    assert_eq!(info["count"], 2);
    let (_, list) = server.call(Method::GET, "/v1/vectors/index", None).await;
    let names: Vec<&str> = list["indexes"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "docs.v1"]);

    let (status, document) = server.call(Method::GET, "/openapi.json", None).await;
    assert_eq!((status, document["openapi"].as_str().is_some()), (StatusCode::OK, true));
    // Resharding is a cluster's (one process says so, and how to do without).
    let resharded = server.call(Method::POST, "/v1/vectors/index/docs.v1/reshard", None).await;
    assert_error(&resharded, StatusCode::CONFLICT, "not_in_cluster");
    let (status, _) = server.call(Method::DELETE, "/v1/vectors/index/docs.v1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/docs.v1", None).await,
        StatusCode::NOT_FOUND,
        "index_not_found",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_json_with_stable_codes() {
    let server = Server::on(memory()).await;
    let create = |body: Value| server.call(Method::POST, "/v1/vectors/index", Some(body));
    assert_eq!(create(json!({ "name": "docs", "dim": 2, "distance": "cosine" })).await.0, StatusCode::CREATED);
    assert_error(
        &create(json!({ "name": "docs", "dim": 2, "distance": "cosine" })).await,
        StatusCode::CONFLICT,
        "index_exists",
    );
    for bad_name in ["a/b", "tab\there", "", &"x".repeat(256)] {
        let answer = create(json!({ "name": bad_name, "dim": 2, "distance": "cosine" })).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_name");
    }
    for dim in [0, 4097] {
        assert_error(
            &create(json!({ "name": "d", "dim": dim, "distance": "l2" })).await,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        );
    }
    assert_error(
        &create(json!({ "name": "d", "dim": 2, "distance": "hamming" })).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    let add = |body: Value| server.call(Method::POST, "/v1/vectors/index/docs/add", Some(body));
    let answer = add(json!({ "items": [{ "id": "a", "vector": [1.0, 0.0] }, { "id": "b", "vector": [1.0] }] })).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "dimension_mismatch");
    assert_eq!(answer.1["error"]["item"], 1);
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(info["count"], 0, "a rejected batch was partly applied");
    assert_error(
        &add(json!({ "items": [{ "id": "a", "vector": [0.0, 0.0] }] })).await,
        StatusCode::BAD_REQUEST,
        "zero_vector",
    );
    assert_error(
        &add(json!({ "items": [{ "id": "", "vector": [1.0, 0.0] }] })).await,
        StatusCode::BAD_REQUEST,
        "empty_id",
    );
    assert_error(&add(json!({ "wrong": [] })).await, StatusCode::BAD_REQUEST, "invalid_request");

    let search = |body: Value| server.call(Method::POST, "/v1/vectors/index/docs/search", Some(body));
    assert_error(&search(json!({ "vector": [1.0, 0.0], "k": 0 })).await, StatusCode::BAD_REQUEST, "invalid_parameter");
    assert_error(&search(json!({ "vector": [1.0], "k": 1 })).await, StatusCode::BAD_REQUEST, "dimension_mismatch");

    let missing = "/v1/vectors/index/nope/search";
    assert_error(
        &server.call(Method::POST, missing, Some(json!({ "vector": [1.0], "k": 1 }))).await,
        StatusCode::NOT_FOUND,
        "index_not_found",
    );
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/docs/items/none", None).await,
        StatusCode::NOT_FOUND,
        "item_not_found",
    );
    assert_error(
        &server.call(Method::DELETE, "/v1/vectors/index/docs/items/none", None).await,
        StatusCode::NOT_FOUND,
        "item_not_found",
    );
    assert_error(&server.call(Method::GET, "/no/such/route", None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &server.call(Method::PUT, "/v1/vectors/index", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    let raw = |content_type: &'static str, body: &'static str| {
        server
            .client
            .post(format!("{}/v1/vectors/index/docs/add", server.base))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = raw("text/plain", "{}").await.unwrap();
    let status = response.status();
    assert_error(
        &(status, response.json().await.unwrap()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let response = raw("application/json", "{not json").await.unwrap();
    let status = response.status();
    assert_error(&(status, response.json().await.unwrap()), StatusCode::BAD_REQUEST, "invalid_json");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let catalog = Catalog::open_store(memory(), CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| config.max_body_bytes = 1024).await;
    server.call(Method::POST, "/v1/vectors/index", Some(json!({ "name": "docs", "dim": 2, "distance": "l2" }))).await;
    let items: Vec<Value> = (0..100).map(|i| json!({ "id": format!("item-{i}"), "vector": [1.0, 2.0] })).collect();
    let answer = server.call(Method::POST, "/v1/vectors/index/docs/add", Some(json!({ "items": items }))).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_guards_the_api_but_not_health() {
    let catalog = Catalog::open_store(memory(), CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| {
        config.api_key = Some("s3cret".into());
        config.read_only_api_key = Some("reader".into());
    })
    .await;
    assert_eq!(server.call(Method::GET, "/healthz", None).await.0, StatusCode::OK);
    assert_eq!(server.call(Method::GET, "/readyz", None).await.0, StatusCode::OK);
    assert_error(&server.call(Method::GET, "/v1/vectors/index", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    let url = format!("{}/v1/vectors/index", server.base);
    // Same length but one byte off, a prefix, and one byte more are all wrong.
    let wrong = [("authorization", "Bearer wrong"), ("api-key", "wrong"), ("authorization", "s3cret")];
    let near = [("api-key", "s3creT"), ("api-key", "s3cre"), ("api-key", "s3cret2")];
    for (header, value) in wrong.into_iter().chain(near) {
        let status = server.client.get(&url).header(header, value).send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}: {value}");
    }
    for (header, value) in [("authorization", "Bearer s3cret"), ("api-key", "s3cret"), ("api-key", "reader")] {
        let status = server.client.get(&url).header(header, value).send().await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "{header}: {value}");
    }
    // The read-only key reads (a search is a POST) but cannot write.
    let create = json!({ "name": "docs", "dim": 2, "distance": "l2" });
    let response = server.client.post(&url).header("api-key", "reader").json(&create).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(!body.to_string().contains("reader") && !body.to_string().contains("s3cret"), "a key leaked: {body}");
    let response = server.client.post(&url).header("api-key", "s3cret").json(&create).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let search = format!("{url}/docs/search");
    let response = server
        .client
        .post(&search)
        .header("api-key", "reader")
        .json(&json!({ "vector": [1.0, 0.0], "k": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let add = format!("{url}/docs/add");
    let response =
        server.client.post(&add).header("api-key", "reader").json(&json!({ "items": [] })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server.client.delete(format!("{url}/docs")).header("api-key", "reader").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_unavailable_and_full_storage_are_reported() {
    // An index that is still loading: readiness and its requests answer 503.
    let store = memory();
    let catalog = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    catalog.create("docs", lhv_core::IndexParams::new(2, lhv_core::Metric::L2)).await.unwrap();
    catalog.create("broken", lhv_core::IndexParams::new(2, lhv_core::Metric::L2)).await.unwrap();
    drop(catalog);
    let unloaded = Catalog::open_store_unloaded(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    let server = Server::start(unloaded, |_| {}).await;
    assert_error(&server.call(Method::GET, "/readyz", None).await, StatusCode::SERVICE_UNAVAILABLE, "loading");
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/docs", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "index_loading",
    );
    server.stop().await;

    // A damaged snapshot: the index is listed and answers 503 with the reason.
    let mut bytes = store.get("_vectors/broken.lhv1").await.unwrap().unwrap().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    store.put("_vectors/broken.lhv1", bytes.into()).await.unwrap();
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&store)));
    let server = Server::on(faulty.clone()).await;
    assert_error(
        &server.call(Method::GET, "/v1/vectors/index/broken", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "index_unavailable",
    );
    let (_, list) = server.call(Method::GET, "/v1/vectors/index", None).await;
    assert_eq!(list["indexes"][0]["status"], "unavailable");

    // A full disk: 507, and nothing applied.
    faulty.set(Fault::DiskFull);
    let add = json!({ "items": [{ "id": "a", "vector": [1.0, 2.0] }] });
    assert_error(
        &server.call(Method::POST, "/v1/vectors/index/docs/add", Some(add.clone())).await,
        StatusCode::INSUFFICIENT_STORAGE,
        "storage_full",
    );
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(info["count"], 0);
    faulty.set(Fault::None);
    assert_eq!(server.call(Method::POST, "/v1/vectors/index/docs/add", Some(add)).await.0, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_request_ids() {
    let server = Server::on(memory()).await;
    server.call(Method::POST, "/v1/vectors/index", Some(json!({ "name": "docs", "dim": 2, "distance": "l2" }))).await;
    server
        .call(
            Method::POST,
            "/v1/vectors/index/docs/add",
            Some(json!({ "items": [{ "id": "a", "vector": [1.0, 2.0] }] })),
        )
        .await;
    server.call(Method::GET, "/v1/vectors/index/nope", None).await;

    let response =
        server.client.get(format!("{}/healthz", server.base)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123", "a given request id is echoed");
    let response = server.client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert!(!response.headers()["x-request-id"].is_empty(), "a request id is generated");

    let text = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    for expected in [
        "vectord_http_request_duration_seconds_count{route=\"/v1/vectors/index/{name}/add\",method=\"POST\",status=\"200\"} 1",
        "vectord_http_request_duration_seconds_count{route=\"/v1/vectors/index/{name}\",method=\"GET\",status=\"404\"} 1",
        "vectord_persist_duration_seconds_count 1",
        "vectord_persist_failures_total 0",
        "vectord_indexes{state=\"ready\"} 1",
        "vectord_index_vectors{index=\"docs\"} 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // Outside a cluster, `GET /v1/cluster` says so and nothing more.
    assert_eq!(server.call(Method::GET, "/v1/cluster", None).await, (StatusCode::OK, json!({ "clustered": false })));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_on_while_storage_stalls() {
    let faulty = Arc::new(FaultyStore::new(memory()));
    let server = Server::on(faulty.clone()).await;
    server.call(Method::POST, "/v1/vectors/index", Some(json!({ "name": "docs", "dim": 2, "distance": "l2" }))).await;
    let seed = json!({ "items": [{ "id": "a", "vector": [1.0, 2.0] }] });
    server.call(Method::POST, "/v1/vectors/index/docs/add", Some(seed)).await;

    faulty.set(Fault::StallWrites(std::time::Duration::from_secs(5)));
    let (client, url) = (server.client.clone(), format!("{}/v1/vectors/index/docs/add", server.base));
    let started = std::time::Instant::now();
    let write = tokio::spawn(async move {
        let body = json!({ "items": [{ "id": "b", "vector": [2.0, 1.0] }] });
        client.post(url).json(&body).send().await.unwrap().status()
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for _ in 0..20 {
        let (status, body) = server
            .call(Method::POST, "/v1/vectors/index/docs/search", Some(json!({ "vector": [1.0, 2.0], "k": 1 })))
            .await;
        assert_eq!((status, &body["results"][0]["id"]), (StatusCode::OK, &json!("a")));
    }
    // The reads were answered while the write was still waiting for storage.
    assert!(!write.is_finished(), "the reads waited for the stalled write");
    assert_eq!(write.await.unwrap(), StatusCode::OK, "the stalled write completes once storage answers");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5));
    faulty.set(Fault::None);
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(info["count"], 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_search_and_field_indexes_survive_a_restart() {
    let store = memory();
    let server = Server::on(Arc::clone(&store)).await;
    let create = json!({ "name": "docs", "dim": 2, "distance": "l2", "indexed_fields": ["lang"] });
    let (status, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!((status, &info["indexed_fields"]), (StatusCode::CREATED, &json!(["lang"])));
    let items: Vec<Value> = (0..40)
        .map(|i| {
            let lang = ["en", "fr", "de", "es"][i % 4];
            json!({ "id": format!("d{i}"), "vector": [i as f32, 1.0], "metadata": { "lang": lang, "year": 2000 + i } })
        })
        .collect();
    server.call(Method::POST, "/v1/vectors/index/docs/add", Some(json!({ "items": items }))).await;

    let french = json!({ "must": [{ "key": "lang", "match": { "value": "fr" } }], "must_not": [{ "key": "year", "range": { "lt": 2010 } }] });
    let search = json!({ "vector": [0.0, 1.0], "k": 3, "filter": french });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["d13", "d17", "d21"]);
    let batch = json!({ "vectors": [[0.0, 1.0], [39.0, 1.0]], "k": 2, "filter": { "must": [{ "has_id": ["d5", "d6", "d7"] }] } });
    let (_, body) = server.call(Method::POST, "/v1/vectors/index/docs/search/batch", Some(batch)).await;
    assert_eq!(body["results"][0][0]["id"], "d5");
    assert_eq!(body["results"][1][0]["id"], "d7");
    server.stop().await;

    let server = Server::on(store).await;
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(info["indexed_fields"], json!(["lang"]));
    let (_, body) = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search)).await;
    assert_eq!(body["results"].as_array().map(Vec::len), Some(3), "{body}");

    let bad_filters = [
        (json!({ "must": [{ "key": "lang", "range": {} }] }), "invalid_filter"),
        (json!({ "must": [{ "key": "lang", "equals": "fr" }] }), "invalid_request"),
        (json!({ "must": "lang" }), "invalid_request"),
    ];
    for (filter, code) in bad_filters {
        let body = json!({ "vector": [0.0, 1.0], "k": 3, "filter": filter });
        let answer = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code);
    }
    let bad_fields = json!({ "name": "other", "dim": 2, "distance": "l2", "indexed_fields": ["a..b"] });
    assert_error(
        &server.call(Method::POST, "/v1/vectors/index", Some(bad_fields)).await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    );
    server.stop().await;
}

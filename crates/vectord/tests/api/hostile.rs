//! Hostile input: a table of malformed, extreme and malicious requests. Each
//! must get a 4xx with the error envelope (never a 5xx, never a dropped
//! connection), and the index must be unchanged afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use lhv_store::{Catalog, CatalogOptions, open_url};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use vectord::config::{Config, Settings};

const DIM: usize = 4;

/// A request: method, path, content type, body.
type Case = (Method, String, &'static str, Vec<u8>);

fn json_case(method: Method, path: &str, body: &str) -> Case {
    (method, path.to_owned(), "application/json", body.as_bytes().to_vec())
}

fn cases() -> Vec<Case> {
    let add = "/v1/vectors/index/docs/add";
    let search = "/v1/vectors/index/docs/search";
    let mut cases: Vec<Case> = Vec::new();
    // Malformed and truncated JSON.
    let valid = r#"{"items":[{"id":"new","vector":[1,2,3,4],"metadata":{"a":1}}]}"#;
    for cut in 0..valid.len() {
        cases.push(json_case(Method::POST, add, &valid[..cut]));
    }
    let valid_search = r#"{"vector":[1,2,3,4],"k":3,"ef":16}"#;
    for cut in 0..valid_search.len() {
        cases.push(json_case(Method::POST, search, &valid_search[..cut]));
    }
    let valid_create = r#"{"name":"other","dim":4,"distance":"cosine"}"#;
    for cut in 0..valid_create.len() {
        cases.push(json_case(Method::POST, "/v1/vectors/index", &valid_create[..cut]));
    }
    for body in
        ["", "null", "[]", "{}", "\"x\"", "{\"items\":null}", "{\"items\":{}}", "{\"items\":[null]}", "{\"items\":[1]}"]
    {
        cases.push(json_case(Method::POST, add, body));
    }
    // Structs written as arrays of their fields (a derived parser would take them).
    for (path, body) in [
        (add, r#"[[["a",[1,2,3,4],null]]]"#),
        (add, r#"{"items":[["a",[1,2,3,4],null]]}"#),
        (search, r#"[[1,2,3,4],3,16]"#),
        (search, r#"{"vector":[1,2,3,4],"k":3,"filter":[]}"#),
        (search, r#"{"vector":[1,2,3,4],"k":3,"filter":{"must":[["a",{"value":1}]]}}"#),
        ("/v1/vectors/index/docs/search/batch", r#"{"vectors":[],"k":1,"filter":[]}"#),
        ("/v1/vectors/index", r#"["other",4,"cosine"]"#),
    ] {
        cases.push(json_case(Method::POST, path, body));
    }
    // Wrong types.
    for item in [
        r#"{"id":1,"vector":[1,2,3,4]}"#,
        r#"{"id":"a","vector":"1,2,3,4"}"#,
        r#"{"id":"a","vector":[1,2,3,"4"]}"#,
        r#"{"id":"a","vector":[1,2,3,null]}"#,
        r#"{"id":"a","vector":[[1],[2],[3],[4]]}"#,
        r#"{"id":"a"}"#,
        r#"{"vector":[1,2,3,4]}"#,
        r#"{"id":null,"vector":[1,2,3,4]}"#,
    ] {
        cases.push(json_case(Method::POST, add, &format!("{{\"items\":[{item}]}}")));
    }
    // Extreme numbers: NaN and Infinity literals are not JSON; 1e39 overflows f32.
    for component in ["NaN", "Infinity", "-Infinity", "1e39", "-1e39", "1e400", "0x10", "1_0", ".5", "+1"] {
        let body = format!(r#"{{"items":[{{"id":"n","vector":[{component},1,1,1]}}]}}"#);
        cases.push(json_case(Method::POST, add, &body));
    }
    cases.push(json_case(Method::POST, add, r#"{"items":[{"id":"z","vector":[0,0,0,0]}]}"#));
    cases.push(json_case(Method::POST, add, r#"{"items":[{"id":"big","vector":[3e38,3e38,3e38,3e38]}]}"#));
    cases.push(json_case(Method::POST, add, r#"{"items":[{"id":"short","vector":[1,2,3]}]}"#));
    cases.push(json_case(Method::POST, add, r#"{"items":[{"id":"long","vector":[1,2,3,4,5]}]}"#));
    cases.push(json_case(
        Method::POST,
        add,
        r#"{"items":[{"id":"d","vector":[1,2,3,4]},{"id":"d","vector":[1,2,3,4]}]}"#,
    ));
    // Ids: empty, 1 MB, and a valid batch with one bad id (nothing may be applied).
    cases.push(json_case(Method::POST, add, r#"{"items":[{"id":"","vector":[1,2,3,4]}]}"#));
    let huge_id = "x".repeat(1 << 20);
    cases.push(json_case(Method::POST, add, &format!(r#"{{"items":[{{"id":"{huge_id}","vector":[1,2,3,4]}}]}}"#)));
    cases.push(json_case(
        Method::POST,
        add,
        r#"{"items":[{"id":"ok-1","vector":[1,2,3,4]},{"id":"","vector":[1,2,3,4]}]}"#,
    ));
    // Deeply nested metadata: the JSON parser stops at depth 128.
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    cases.push(json_case(
        Method::POST,
        add,
        &format!(r#"{{"items":[{{"id":"deep","vector":[1,2,3,4],"metadata":{deep}}}]}}"#),
    ));
    // Searches: k and ef out of range, wrong types.
    for body in [
        r#"{"vector":[1,2,3,4],"k":0}"#,
        r#"{"vector":[1,2,3,4],"k":-1}"#,
        r#"{"vector":[1,2,3,4],"k":1e9}"#,
        r#"{"vector":[1,2,3,4],"k":1000000000}"#,
        r#"{"vector":[1,2,3,4],"k":18446744073709551616}"#,
        r#"{"vector":[1,2,3,4],"k":1,"ef":0}"#,
        r#"{"vector":[1,2,3,4],"k":1,"ef":100000000}"#,
        r#"{"vector":[1,2,3,4],"k":1.5}"#,
        r#"{"vector":[1,2,3],"k":1}"#,
        r#"{"vector":[],"k":1}"#,
        r#"{"vector":[1,2,3,1e39],"k":1}"#,
        r#"{"k":1}"#,
    ] {
        cases.push(json_case(Method::POST, search, body));
    }
    cases.push(json_case(
        Method::POST,
        "/v1/vectors/index/docs/search/batch",
        r#"{"vectors":[[1,2,3,4],[1,2]],"k":1}"#,
    ));
    cases.push(json_case(Method::POST, "/v1/vectors/index/docs/search/batch", r#"{"vectors":[[1,2,3,4]],"k":0}"#));
    // Index names: traversal, too long, bad characters; creation parameters out of range.
    for name in ["../docs", "..%2Fdocs", "a%2Fb", "%00", "a%09b", "a%0Ab", &"n".repeat(256), &"%C3%A9".repeat(200)] {
        cases.push(json_case(Method::GET, &format!("/v1/vectors/index/{name}"), ""));
    }
    for name in ["../docs", "a/b", "\\u0000", "a\\tb", "a\\nb", &"n".repeat(256), &"é".repeat(200)] {
        let body = format!(r#"{{"name":"{name}","dim":4,"distance":"l2"}}"#);
        cases.push(json_case(Method::POST, "/v1/vectors/index", &body));
    }
    for body in [
        r#"{"name":"x","dim":0,"distance":"l2"}"#,
        r#"{"name":"x","dim":4097,"distance":"l2"}"#,
        r#"{"name":"x","dim":-4,"distance":"l2"}"#,
        r#"{"name":"x","dim":4,"distance":"L2 "}"#,
        r#"{"name":"x","dim":4,"distance":"l2","m":0}"#,
        r#"{"name":"x","dim":4,"distance":"l2","m":100000}"#,
        r#"{"name":"x","dim":4,"distance":"l2","ef_construction":0}"#,
        r#"{"name":"docs","dim":4,"distance":"l2"}"#,
    ] {
        cases.push(json_case(Method::POST, "/v1/vectors/index", body));
    }
    // Items: unknown ids of every shape, bad list queries.
    for id in ["nope", "%2F", "a%2F..%2F..%2Fetc", "%E2%9C%93", "%FF%FE", &"y".repeat(2000)] {
        cases.push(json_case(Method::GET, &format!("/v1/vectors/index/docs/items/{id}"), ""));
        cases.push(json_case(Method::DELETE, &format!("/v1/vectors/index/docs/items/{id}"), ""));
    }
    for query in ["limit=0", "limit=-1", "limit=abc", "limit=10001", "limit=99999999999999999999"] {
        cases.push(json_case(Method::GET, &format!("/v1/vectors/index/docs/items?{query}"), ""));
    }
    // Content types and methods.
    cases.push((Method::POST, add.to_owned(), "text/plain", valid.as_bytes().to_vec()));
    cases.push((Method::POST, add.to_owned(), "application/x-www-form-urlencoded", b"items=1".to_vec()));
    cases.push((Method::POST, add.to_owned(), "application/json", vec![0xFF, 0xFE, 0x00]));
    cases.push(json_case(Method::PATCH, "/v1/vectors/index/docs", "{}"));
    cases.push(json_case(Method::GET, "/v1/vectors/index/docs/add", ""));
    cases.push(json_case(Method::GET, "/../../etc/passwd", ""));
    // Over the body limit (1 MiB in this test).
    let big: Vec<String> = (0..40_000).map(|i| format!(r#"{{"id":"b{i}","vector":[1,2,3,4]}}"#)).collect();
    cases.push(json_case(Method::POST, add, &format!(r#"{{"items":[{}]}}"#, big.join(","))));
    cases
}

/// Every item of the test index, with its metadata.
async fn items(client: &Client, base: &str) -> Value {
    let url = format!("{base}/v1/vectors/index/docs/items?limit=10000");
    client.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_a_4xx_envelope_and_change_nothing() {
    let catalog =
        Catalog::open_store(open_url("memory://", &[]).unwrap().store, CatalogOptions::default()).await.unwrap();
    let mut config =
        Config::resolve(&Settings { storage_url: Some("memory://".into()), ..Settings::default() }).unwrap();
    config.max_body_bytes = 1 << 20;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vectord::serve_catalog(listener, Arc::new(catalog), config, async {
        let _ = stopped.await;
    }));
    lhv_store::install_crypto_provider();
    let client = Client::new();
    let create = json!({ "name": "docs", "dim": DIM, "distance": "cosine" });
    client.post(format!("{base}/v1/vectors/index")).json(&create).send().await.unwrap();
    let seed = json!({ "items": [{ "id": "keep", "vector": [1.0, 0.0, 0.0, 0.0], "metadata": { "k": 1 } }] });
    client.post(format!("{base}/v1/vectors/index/docs/add")).json(&seed).send().await.unwrap();
    let before = items(&client, &base).await;

    let cases = cases();
    assert!(cases.len() >= 200, "{} cases", cases.len());
    for (method, path, content_type, body) in &cases {
        let shown = format!(
            "{method} {} ({} bytes: {})",
            &path[..path.len().min(80)],
            body.len(),
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
        let response = client
            .request(method.clone(), format!("{base}{path}"))
            .header("content-type", *content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{shown}: connection failed: {e}"));
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_else(|e| panic!("{shown}: not JSON: {e}"));
        assert!(status.is_client_error(), "{shown}: {status} {answer}");
        assert!(answer["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{shown}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some(), "{shown}: {answer}");
    }
    let after = items(&client, &base).await;
    assert_eq!(after, before, "a rejected request changed the index");
    let (_, list) = (
        StatusCode::OK,
        client.get(format!("{base}/v1/vectors/index")).send().await.unwrap().json::<Value>().await.unwrap(),
    );
    assert_eq!(list["indexes"].as_array().unwrap().len(), 1, "a rejected create left an index: {list}");
    println!("{} hostile requests, all 4xx with the error envelope, index unchanged", cases.len());
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

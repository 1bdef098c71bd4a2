//! Tests generated from the route table, not from a hand list: whatever a
//! route declares, the service does. A route added later is covered here
//! without anyone remembering to add it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vectord::{Access, Dialect, Route, route_table};

use crate::support::{Server, memory};

/// The route's path with its parameters filled in: the index `docs`, the item `1`.
fn concrete(route: &Route) -> String {
    route.path.replace("{name}", "docs").replace("{*id}", "1").replace("{id}", "1")
}

/// The error message of an error answer in the route's dialect.
fn error_message(route: &Route, body: &Value) -> Option<String> {
    let message = match route.dialect {
        Dialect::Native => &body["error"]["message"],
        Dialect::Qdrant => &body["status"]["error"],
    };
    message.as_str().map(str::to_owned)
}

async fn call(server: &Server, route: &Route, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = server.client.request(route.method.clone(), format!("{}{}", server.base, concrete(route)));
    if let Some(key) = key {
        request = request.header("api-key", key);
    }
    if route.method != Method::GET && route.method != Method::DELETE {
        request = request.json(&json!({}));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn every_route_is_declared_once_with_a_routable_method() {
    let routes = route_table();
    assert!(routes.len() >= 30, "{} routes", routes.len());
    for (position, route) in routes.iter().enumerate() {
        assert!(
            [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH].contains(&route.method),
            "{route:?}"
        );
        let again = routes.iter().skip(position + 1).find(|r| r.method == route.method && r.path == route.path);
        assert!(again.is_none(), "{route:?} is declared twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_takes_the_keys_its_access_kind_says() {
    let store = memory();
    let catalog = lhv_store::Catalog::open_store(store, lhv_store::CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| {
        config.api_key = Some("full-key".into());
        config.read_only_api_key = Some("read-key".into());
    })
    .await;
    let mut checked = [0usize; 4];
    for route in route_table() {
        let without = call(&server, &route, None).await;
        let read_only = call(&server, &route, Some("read-key")).await;
        let shown = format!("{} {}", route.method, route.path);
        match route.access {
            Access::Open => {
                assert_ne!(without.0, StatusCode::UNAUTHORIZED, "{shown}: {without:?}");
                checked[0] += 1;
            }
            Access::Read => {
                assert_eq!(without.0, StatusCode::UNAUTHORIZED, "{shown}: {without:?}");
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&read_only.0),
                    "{shown}: {read_only:?}"
                );
                checked[1] += 1;
            }
            Access::Write | Access::Admin => {
                assert_eq!(without.0, StatusCode::UNAUTHORIZED, "{shown}: {without:?}");
                assert_eq!(read_only.0, StatusCode::FORBIDDEN, "{shown}: {read_only:?}");
                let message = error_message(&route, &read_only.1).unwrap_or_default();
                assert!(message.contains("read-only"), "{shown}: {read_only:?}");
                checked[if route.access == Access::Write { 2 } else { 3 }] += 1;
            }
            // Between cluster members: the cluster's secret, never an API key.
            Access::Member => {
                let full = call(&server, &route, Some("full-key")).await;
                for answer in [&without, &read_only, &full] {
                    assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{shown}: {answer:?}");
                }
            }
        }
        if route.access != Access::Open {
            assert!(error_message(&route, &without.1).is_some(), "{shown}: not in its dialect: {without:?}");
        }
    }
    assert!(checked.iter().all(|&n| n > 0), "every access kind is exercised: {checked:?}");
    server.stop().await;
}

//! g1p: persistence. Add, `kill -9`, restart: everything is back; DELETE removes the files.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::g1::{DIM, items, vector};
use crate::harness::{Steps, Vectord, expect};

pub async fn run(binary: &Path, data: &Path) -> Result<(), String> {
    let mut server = Vectord::start(binary, data).await?;
    let mut steps = Steps::default();
    let create = json!({ "name": "persist", "dim": DIM, "distance": "l2" });
    server.call(Method::POST, "/v1/vectors/index", Some(&create)).await?;
    for batch in 0..3 {
        let answer = server
            .call(Method::POST, "/v1/vectors/index/persist/add", Some(&items(batch * 50..batch * 50 + 50)))
            .await?;
        steps.check(&format!("add batch {batch}"), expect("status", answer.0, StatusCode::OK));
    }

    server.kill_and_restart().await?;
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/persist", None).await?;
    steps.check("after kill -9: count", expect("count", &info["count"], &json!(150)));
    let (_, item) = server.call(Method::GET, "/v1/vectors/index/persist/items/item-120", None).await?;
    steps.check("after kill -9: metadata", expect("metadata", &item["metadata"], &json!({ "n": 120 })));
    let query = json!({ "vector": vector(77), "k": 1 });
    let (_, found) = server.call(Method::POST, "/v1/vectors/index/persist/search", Some(&query)).await?;
    let top = &found["results"][0];
    steps.check(
        "after kill -9: self-search at distance 0",
        expect("id", &top["id"], &json!("item-77")).and(expect("distance", top["distance"].as_f64(), Some(0.0))),
    );

    let (status, _) = server.call(Method::DELETE, "/v1/vectors/index/persist", None).await?;
    let leftovers: Vec<String> = walk(data).into_iter().filter(|p| p.contains("persist")).collect();
    steps.check(
        "DELETE removes the files",
        expect("status", status, StatusCode::OK).and(expect("files left", leftovers, vec![])),
    );
    server.kill_and_restart().await?;
    let (status, _) = server.call(Method::GET, "/v1/vectors/index/persist", None).await?;
    steps.check("a restart after DELETE shows no such index", expect("status", status, StatusCode::NOT_FOUND));
    steps.finish("g1p")
}

fn walk(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        found.push(path.display().to_string());
        if path.is_dir() {
            found.extend(walk(&path));
        }
    }
    found
}

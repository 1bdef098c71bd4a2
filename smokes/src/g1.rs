//! g1: the API. Create, batch add 200 vectors, self-search, errors, upsert, item delete.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Steps, Vectord, expect};

pub const DIM: usize = 16;

/// A deterministic vector per item number; never zero.
pub fn vector(i: usize) -> Vec<f32> {
    (0..DIM).map(|c| ((i * 31 + c * 17) % 97) as f32 / 97.0 + if c == i % DIM { 1.0 } else { 0.0 }).collect()
}

pub fn items(range: std::ops::Range<usize>) -> Value {
    let items: Vec<Value> =
        range.map(|i| json!({ "id": format!("item-{i}"), "vector": vector(i), "metadata": { "n": i } })).collect();
    json!({ "items": items })
}

pub async fn run(binary: &Path, data: &Path) -> Result<(), String> {
    let mut server = Vectord::start(binary, data).await?;
    let mut steps = Steps::default();
    let create = json!({ "name": "smoke", "dim": DIM, "distance": "cosine" });
    let answer = server.call(Method::POST, "/v1/vectors/index", Some(&create)).await?;
    steps.check("create index", expect("status", answer.0, StatusCode::CREATED));

    let answer = server.call(Method::POST, "/v1/vectors/index/smoke/add", Some(&items(0..200))).await?;
    steps.check("add 200 vectors", expect("answer", answer, (StatusCode::OK, json!({ "upserted": 200 }))));

    let query = json!({ "vector": vector(42), "k": 3 });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/smoke/search", Some(&query)).await?;
    let top = &body["results"][0];
    steps.check(
        "self-search finds the item at distance ~0 with its metadata",
        expect("status", status, StatusCode::OK)
            .and(expect("id", &top["id"], &json!("item-42")))
            .and(expect("metadata", &top["metadata"], &json!({ "n": 42 })))
            .and(if top["distance"].as_f64().is_some_and(|d| d.abs() < 1e-5) {
                Ok(())
            } else {
                Err(format!("distance {}", top["distance"]))
            }),
    );

    let bad = json!({ "items": [{ "id": "short", "vector": [1.0, 2.0] }] });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/smoke/add", Some(&bad)).await?;
    steps.check(
        "dimension mismatch is 400",
        expect("status", status, StatusCode::BAD_REQUEST).and(expect(
            "code",
            &body["error"]["code"],
            &json!("dimension_mismatch"),
        )),
    );
    let (status, _) = server.call(Method::POST, "/v1/vectors/index/none/search", Some(&query)).await?;
    steps.check("unknown index is 404", expect("status", status, StatusCode::NOT_FOUND));
    let (status, _) = server.call(Method::POST, "/v1/vectors/index", Some(&create)).await?;
    steps.check("duplicate create is 409", expect("status", status, StatusCode::CONFLICT));

    let replace = json!({ "items": [{ "id": "item-7", "vector": vector(1007), "metadata": { "n": "replaced" } }] });
    server.call(Method::POST, "/v1/vectors/index/smoke/add", Some(&replace)).await?;
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/smoke", None).await?;
    let (_, item) = server.call(Method::GET, "/v1/vectors/index/smoke/items/item-7", None).await?;
    steps.check(
        "upsert replaces: same count, new metadata",
        expect("count", &info["count"], &json!(200)).and(expect(
            "metadata",
            &item["metadata"],
            &json!({ "n": "replaced" }),
        )),
    );

    let (status, _) = server.call(Method::DELETE, "/v1/vectors/index/smoke/items/item-9", None).await?;
    let (after, _) = server.call(Method::GET, "/v1/vectors/index/smoke/items/item-9", None).await?;
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/smoke", None).await?;
    steps.check(
        "item delete",
        expect("delete", status, StatusCode::OK).and(expect("get after", after, StatusCode::NOT_FOUND)).and(expect(
            "count",
            &info["count"],
            &json!(199),
        )),
    );

    let exited_cleanly = server.terminate()?;
    let snapshot = data.join("_vectors").join("smoke.lhv1").exists();
    let log_left = std::fs::read_dir(data.join("_vectors").join("smoke.wal")).map_or(0, |d| d.count());
    steps.check(
        "SIGTERM: exit 0 after writing the snapshot (no log left to replay)",
        expect("exit 0", exited_cleanly, true).and(expect("snapshot", snapshot, true)).and(expect(
            "log objects",
            log_left,
            0,
        )),
    );
    steps.finish("g1")
}

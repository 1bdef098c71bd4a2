//! Qdrant's read-modify-writes through an etcd cluster: payload edits,
//! vector changes, batches and payload indexes, each shard's part made by
//! that shard's writer under its commit lock, whichever member is asked.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::etcd_cluster::{member, qdrant, vector};
use crate::support::Server;

const SHARDS: usize = 3;

/// Point `id` as `server` shows it, once its eventual reads (replicas may
/// lag their writer by a moment) satisfy `done`.
async fn point_until(server: &Server, id: u64, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, answer) = server.call(Method::GET, &format!("/collections/docs/points/{id}"), None).await;
        if status == StatusCode::OK && done(&answer["result"]) {
            return answer["result"].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "point {id}: {status} {answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many points pass `filter`, once `server` counts `expected`.
async fn count_until(server: &Server, filter: Value, expected: u64) {
    let started = Instant::now();
    loop {
        let body = json!({ "filter": filter });
        let count = qdrant(server, Method::POST, "/collections/docs/points/count", Some(body)).await["count"].clone();
        if count == json!(expected) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{filter}: {count}, not {expected}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An id of `ids` whose shard another member writes than `than`'s, once
/// `server` sees the writers spread over the members (the controller hands
/// writes over to caught-up replicas when one member writes them all).
async fn written_elsewhere(server: &Server, than: u64, ids: std::ops::Range<u64>) -> u64 {
    let started = Instant::now();
    loop {
        let (status, cluster) = server.call(Method::GET, "/v1/cluster", None).await;
        assert_eq!(status, StatusCode::OK, "{cluster}");
        let writer = |id: u64| {
            let shard = lhv_core::shard_of(&id.to_string(), SHARDS);
            let shards = cluster["shards"].as_array().into_iter().flatten();
            shards
                .filter(|info| info["index"] == "docs" && info["shard"] == json!(shard))
                .map(|info| info["writer"].clone())
                .next()
        };
        if let Some(id) = ids.clone().find(|id| writer(*id) != writer(than)) {
            return id;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the writers are not spread: {cluster}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_read_modify_writes_run_at_each_shards_writer() {
    let cluster = format!("qdrant-rmw-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let members = [member(&cluster, "w1").await, member(&cluster, "w2").await];
    let (first, second) = (&members[0], &members[1]);
    let create =
        json!({ "vectors": { "size": 8, "distance": "Euclid" }, "shard_number": SHARDS, "replication_factor": 2 });
    assert_eq!(qdrant(first, Method::PUT, "/collections/docs", Some(create)).await, json!(true));
    let points: Vec<Value> =
        (0..30).map(|i| json!({ "id": i, "vector": vector(i), "payload": { "group": i % 3, "tag": "a" } })).collect();
    qdrant(second, Method::PUT, "/collections/docs/points", Some(json!({ "points": points }))).await;

    // Payload edits: by filter over every shard, and by ids.
    let group_one = json!({ "must": [{ "key": "group", "match": { "value": 1 } }] });
    let red = json!({ "must": [{ "key": "color", "match": { "value": "red" } }] });
    let set = json!({ "payload": { "color": "red" }, "filter": group_one });
    qdrant(first, Method::POST, "/collections/docs/points/payload", Some(set)).await;
    count_until(second, red.clone(), 10).await;
    let overwrite = json!({ "payload": { "only": true }, "points": [3, 4] });
    qdrant(second, Method::PUT, "/collections/docs/points/payload", Some(overwrite)).await;
    point_until(first, 4, |p| p["payload"] == json!({ "only": true })).await;
    let delete_keys = json!({ "keys": ["tag"], "points": [5] });
    qdrant(first, Method::POST, "/collections/docs/points/payload/delete", Some(delete_keys)).await;
    point_until(second, 5, |p| p["payload"] == json!({ "group": 2 })).await;
    qdrant(second, Method::POST, "/collections/docs/points/payload/clear", Some(json!({ "points": [6] }))).await;
    point_until(first, 6, |p| p["payload"] == json!({})).await;

    // Vectors: replaced (the payload kept), taken away.
    let update = json!({ "points": [{ "id": 7, "vector": vector(100) }] });
    qdrant(first, Method::PUT, "/collections/docs/points/vectors", Some(update)).await;
    let as_stored = |p: &Value| serde_json::from_value::<Vec<f32>>(p["vector"].clone()).ok();
    let seven = point_until(second, 7, |p| as_stored(p) == Some(vector(100))).await;
    assert_eq!(seven["payload"], json!({ "group": 1, "tag": "a", "color": "red" }));
    let take = json!({ "points": [8], "vector": [""] });
    qdrant(second, Method::POST, "/collections/docs/points/vectors/delete", Some(take)).await;
    point_until(first, 8, |p| p["vector"] == json!({})).await;

    // A batch over several shards, each operation seeing those before it.
    let batch = json!({ "operations": [
        { "upsert": { "points": [{ "id": 100, "vector": vector(100), "payload": { "group": 0 } }] } },
        { "set_payload": { "payload": { "batched": true }, "points": [100, 9] } },
        { "delete": { "points": [10] } },
    ] });
    let answers = qdrant(first, Method::POST, "/collections/docs/points/batch", Some(batch)).await;
    assert_eq!(answers.as_array().unwrap().len(), 3, "{answers}");
    point_until(second, 100, |p| p["payload"] == json!({ "group": 0, "batched": true })).await;
    point_until(second, 9, |p| p["payload"]["batched"] == json!(true)).await;
    count_until(second, json!({ "must": [{ "has_id": [10] }] }), 0).await;

    // A batch one shard refuses (a point that does not exist) is written on none.
    let missing = 999_999;
    let new = written_elsewhere(first, missing, 200..300).await;
    let refused = json!({ "operations": [
        { "upsert": { "points": [{ "id": new, "vector": vector(1), "payload": {} }] } },
        { "set_payload": { "payload": { "x": 1 }, "points": [missing] } },
    ] });
    let (status, answer) = second.call(Method::POST, "/collections/docs/points/batch", Some(refused)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    for member in &members {
        // A strong read (each shard's holder catches up with its writer first) of every point.
        let everything = json!({ "vector": vector(1), "k": 100, "ef": 1000, "consistency": "strong" });
        let (status, found) = member.call(Method::POST, "/v1/vectors/index/docs/search", Some(everything)).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let ids: Vec<&str> =
            found["results"].as_array().unwrap().iter().map(|hit| hit["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 29, "{ids:?}");
        assert!(!ids.contains(&new.to_string().as_str()), "point {new} of a refused batch was written");
    }
    let (status, answer) = first
        .call(Method::POST, "/collections/docs/points/payload", Some(json!({ "payload": {}, "points": [missing] })))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    // Payload indexes on every shard, shown (and gone) through either member.
    let index = json!({ "field_name": "group", "field_schema": "integer" });
    qdrant(second, Method::PUT, "/collections/docs/index", Some(index)).await;
    let info = qdrant(first, Method::GET, "/collections/docs", None).await;
    assert_eq!(info["payload_schema"]["group"]["data_type"], json!("integer"), "{info}");
    qdrant(first, Method::DELETE, "/collections/docs/index/group", None).await;
    let info = qdrant(second, Method::GET, "/collections/docs", None).await;
    assert_eq!(info["payload_schema"], json!({}), "{info}");

    assert_eq!(qdrant(first, Method::DELETE, "/collections/docs", None).await, json!(true));
    let [first, second] = members;
    first.stop().await;
    second.stop().await;
}

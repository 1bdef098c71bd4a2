//! Vectors kept on disk through both APIs: created with `on_disk`, items
//! come back exact, searches rank by exact distances, and after a restart
//! over a local directory the exact rows are read in place from the
//! snapshot file, which the index description and `/metrics` report.

use std::sync::Arc;

use lhv_store::open_url;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, assert_error};

const DIM: usize = 64;

/// Values no 8-bit code holds exactly.
fn vector(i: usize) -> Vec<f32> {
    (0..DIM).map(|d| ((i * 31 + d * 7) % 97) as f32 / 9.7 + 0.012_345_6).collect()
}

fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    1.0 - dot / (norm(a) * norm(b))
}

async fn exact_answers(server: &Server, count: usize) {
    let (status, item) = server.call(Method::GET, "/v1/vectors/index/docs/items/i17", None).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let stored: Vec<f32> = serde_json::from_value(item["vector"].clone()).unwrap();
    assert_eq!(stored, vector(17), "the exact input comes back");
    let query = vector(4242);
    let search = json!({ "vector": query, "k": 5, "ef": 200 });
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(search)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut truth: Vec<(f64, usize)> = (0..count).map(|i| (cosine_distance(&query, &vector(i)), i)).collect();
    truth.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (rank, hit) in body["results"].as_array().unwrap().iter().enumerate() {
        let id: usize = hit["id"].as_str().unwrap()[1..].parse().unwrap();
        let reported = hit["distance"].as_f64().unwrap();
        let exact = cosine_distance(&query, &vector(id));
        assert!((reported - exact).abs() < 1e-5, "{id}: reported {reported}, exact {exact}");
        assert!((exact - truth[rank].0).abs() < 1e-5, "rank {rank}: {id} is not among the nearest");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_disk_vectors_are_exact_and_read_in_place_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let store = open_url(&url, &[]).unwrap().store;
    let server = Server::on(Arc::clone(&store)).await;
    let create = json!({ "name": "docs", "dim": DIM, "distance": "cosine", "on_disk": true });
    let (status, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    assert_eq!((info["on_disk"].clone(), info["disk_bytes"].clone()), (json!(true), json!(0)));
    let count = 5_000;
    for start in (0..count).step_by(1_000) {
        let items: Vec<Value> =
            (start..start + 1_000).map(|i| json!({ "id": format!("i{i}"), "vector": vector(i) })).collect();
        let (status, body) =
            server.call(Method::POST, "/v1/vectors/index/docs/add", Some(json!({ "items": items }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    exact_answers(&server, count).await;
    let (_, before) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    server.stop().await;

    let server = Server::on(store).await;
    let (_, after) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(after["disk_bytes"], json!(count * DIM * 4), "{after}");
    let (memory_before, memory_after) =
        (before["memory_bytes"].as_u64().unwrap(), after["memory_bytes"].as_u64().unwrap());
    assert!(
        memory_after + (count * DIM * 4) as u64 / 2 < memory_before,
        "the exact rows left memory: {memory_before} bytes before, {memory_after} after"
    );
    exact_answers(&server, count).await;
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("vectord_index_disk_bytes{{index=\"docs\"}} {}", count * DIM * 4)), "{metrics}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_collections_map_on_disk() {
    let server = Server::on(crate::support::memory()).await;
    let create = json!({
        "vectors": {
            "": { "size": 4, "distance": "Cosine", "on_disk": true },
            "small": { "size": 2, "distance": "Euclid", "on_disk": true },
            "plain": { "size": 2, "distance": "Dot", "on_disk": false }
        },
        "quantization_config": { "scalar": { "type": "int8", "always_ram": false } },
        "on_disk_payload": true
    });
    let (status, body) = server.call(Method::PUT, "/collections/q", Some(create)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, info) = server.call(Method::GET, "/collections/q", None).await;
    let vectors = &info["result"]["config"]["params"]["vectors"];
    assert_eq!(vectors[""]["on_disk"], json!(true), "{info}");
    assert_eq!(vectors["small"]["on_disk"], json!(true));
    assert!(vectors["plain"].get("on_disk").is_none());
    // The codes are in memory, whatever was asked.
    assert_eq!(vectors[""]["quantization_config"]["scalar"]["always_ram"], json!(true), "{info}");
    let point = json!({ "points": [{ "id": 1, "vector": { "": [0.1234567, 1.0, 2.0, 3.0], "small": [1.5, 2.25], "plain": [1.0, 1.0] } }] });
    let (status, body) = server.call(Method::PUT, "/collections/q/points?wait=true", Some(point)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, got) = server.call(Method::GET, "/collections/q/points/1", None).await;
    // (Cosine vectors are normalized on the way in, as Qdrant does.)
    assert_eq!(got["result"]["vector"]["small"], json!([1.5, 2.25]), "{got}");

    let patch = json!({ "vectors": { "": { "on_disk": false } } });
    let answer = server.call(Method::PATCH, "/collections/q", Some(patch)).await;
    assert!(answer.0.is_client_error(), "{answer:?}");
    let bad = json!({ "vectors": { "size": 4, "distance": "Cosine", "on_disk": "yes" } });
    let answer = server.call(Method::PUT, "/collections/bad", Some(bad)).await;
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{answer:?}");
    let native = json!({ "name": "n", "dim": 2, "distance": "l2", "on_disk": "yes" });
    assert_error(
        &server.call(Method::POST, "/v1/vectors/index", Some(native)).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    server.stop().await;
}

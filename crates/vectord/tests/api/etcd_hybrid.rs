//! Sparse and hybrid searches of an index spread over two members of an etcd
//! cluster answer exactly as the same index in one process: a sparse
//! vector with `modifier: "idf"` weighs each query with counts added up over
//! every shard, whichever members hold them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::etcd_cluster::member;
use crate::support::{Server, memory};

/// Items whose words overlap often, some without the sparse vector.
fn items() -> Value {
    let items: Vec<Value> = (0..60u32)
        .map(|i| {
            let mut item =
                json!({ "id": format!("d{i}"), "vectors": { "title": [1.0, (i % 7) as f32, (i % 3) as f32] } });
            if i % 5 != 0 {
                let words = json!({ "indices": [i % 4, 10 + i % 9, 100 + i], "values": [1.0, 2.0, 0.5] });
                item["sparse"] = json!({ "words": words });
            }
            item
        })
        .collect();
    json!({ "items": items })
}

async fn create(server: &Server, shards: usize) {
    let create = json!({
        "name": "h", "shards": shards, "replication": 1,
        "vectors": { "title": { "dim": 3, "distance": "cosine" } },
        "sparse_vectors": { "words": { "modifier": "idf" } }
    });
    let (status, answer) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = server.call(Method::POST, "/v1/vectors/index/h/add", Some(items())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

fn queries() -> Vec<(&'static str, Value)> {
    let sparse = json!({ "sparse_vector": { "indices": [1, 12, 105], "values": [1, 1, 1] }, "using": "words", "k": 8, "consistency": "strong" });
    let hybrid = json!({ "searches": [
        { "vector": [1, 2, 1], "using": "title", "k": 20, "consistency": "strong" },
        { "sparse_vector": { "indices": [3, 10], "values": [1, 2] }, "using": "words", "k": 20, "consistency": "strong" }
    ], "k": 8 });
    let mut dbsf = hybrid.clone();
    dbsf["fusion"] = json!("dbsf");
    vec![("search", sparse), ("search/hybrid", hybrid), ("search/hybrid", dbsf)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_and_hybrid_searches_through_a_cluster_equal_one_process() {
    let cluster = format!("hybrid-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let members = [member(&cluster, "s1").await, member(&cluster, "s2").await];
    create(&members[0], 4).await;
    let alone = Server::on(memory()).await;
    create(&alone, 1).await;
    assert_answers_alike(&members, &alone, "h").await;
    // Resharding carries every vector of every item over (named and sparse ones too).
    let (status, answer) = members[1].call(Method::POST, "/v1/vectors/index/h/reshard", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_answers_alike(&members, &alone, "h").await;
    // So does a snapshot out of the cluster, into the cluster and into one process.
    let exported = members[0].client.get(format!("{}/v1/vectors/index/h/snapshot", members[0].base)).send();
    let frame = exported.await.unwrap().bytes().await.unwrap().to_vec();
    for server in [&members[1], &alone] {
        let imported = server.client.put(format!("{}/v1/vectors/index/copy/snapshot", server.base)).body(frame.clone());
        assert_eq!(imported.send().await.unwrap().status(), StatusCode::CREATED);
    }
    assert_answers_alike(&members, &alone, "copy").await;
    alone.stop().await;
}

/// Every query through every member answers what `alone` answers of `index`
/// (the same items in one process), bit for bit.
async fn assert_answers_alike(members: &[Server], alone: &Server, index: &str) {
    for (route, body) in queries() {
        let (status, expected) =
            alone.call(Method::POST, &format!("/v1/vectors/index/h/{route}"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::OK, "{expected}");
        assert!(expected["results"].as_array().is_some_and(|r| r.len() == 8), "{expected}");
        for member in members {
            let path = format!("/v1/vectors/index/{index}/{route}");
            let (status, found) = member.call(Method::POST, &path, Some(body.clone())).await;
            assert_eq!(status, StatusCode::OK, "{found}");
            assert_eq!(found, expected, "{route} of {index} through a member differs from one process");
        }
        let (_, copied) = alone.call(Method::POST, &format!("/v1/vectors/index/{index}/{route}"), Some(body)).await;
        assert_eq!(copied, expected, "{route} of {index} in one process differs");
    }
}

//! Named dense vectors, sparse vectors and hybrid search through vectord's
//! own API, against answers worked out by hand; and a restart that brings
//! them back (snapshot and log version 5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use crate::support::{Server, assert_error, memory};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn ids(found: &Value) -> Vec<String> {
    found["results"].as_array().unwrap().iter().map(|hit| hit["id"].as_str().unwrap().to_owned()).collect()
}

async fn index_with_three_kinds_of_vectors(server: &Server) {
    let create = json!({
        "name": "h", "dim": 2, "distance": "l2",
        "vectors": { "title": { "dim": 3, "distance": "cosine" } },
        "sparse_vectors": { "words": { "modifier": "idf" }, "tags": {} }
    });
    let (status, info) = server.call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    let items = json!({ "items": [
        { "id": "a", "vector": [0, 0], "vectors": { "title": [1, 0, 0] },
          "sparse": { "words": { "indices": [7, 1], "values": [1, 2] } }, "metadata": { "k": "x" } },
        { "id": "b", "vector": [1, 0], "vectors": { "title": [0, 1, 0] },
          "sparse": { "words": { "indices": [1], "values": [1] }, "tags": { "indices": [3], "values": [5] } } },
        { "id": "c", "vectors": { "title": [0, 0, 1] }, "sparse": { "words": { "indices": [9], "values": [4] } } },
        { "id": "d", "vector": [5, 5] }
    ]});
    let (status, added) = server.call(Method::POST, "/v1/vectors/index/h/add", Some(items)).await;
    assert_eq!(status, StatusCode::OK, "{added}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_and_sparse_vectors_are_searched_by_name() {
    let server = Server::on(memory()).await;
    index_with_three_kinds_of_vectors(&server).await;
    let search = |body: Value| server.call(Method::POST, "/v1/vectors/index/h/search", Some(body));

    let (_, found) = search(json!({ "vector": [0.9, 0.1], "k": 10 })).await;
    assert_eq!(ids(&found), ["b", "a", "d"], "the unnamed vector: c has none");
    let (_, found) = search(json!({ "vector": [0, 0.2, 1], "k": 10, "using": "title" })).await;
    assert_eq!(ids(&found), ["c", "b", "a"], "d has no title");
    let (_, found) = search(json!({ "vector": [0, 0.2, 1], "k": 10, "using": "title", "max_distance": 0.5 })).await;
    assert_eq!(ids(&found), ["c"]);
    // Index 1 is held by a and b (idf ln(1.5/2.5 + 1)), 9 by c alone (ln(2.5/1.5 + 1)).
    let (_, found) =
        search(json!({ "sparse_vector": { "indices": [9, 1], "values": [1, 1] }, "k": 10, "using": "words" })).await;
    assert_eq!(ids(&found), ["c", "a", "b"]);
    let idf = |n: f64, df: f64| ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
    let scores: Vec<f64> =
        found["results"].as_array().unwrap().iter().map(|h| -h["distance"].as_f64().unwrap()).collect();
    for (score, want) in scores.iter().zip([4.0 * idf(3.0, 1.0), 2.0 * idf(3.0, 2.0), idf(3.0, 2.0)]) {
        assert!((score - want).abs() < 1e-5, "{found}");
    }
    let (_, found) =
        search(json!({ "sparse_vector": { "indices": [3], "values": [1] }, "k": 10, "using": "tags" })).await;
    assert_eq!(ids(&found), ["b"]);
    assert_eq!(found["results"][0]["distance"], -5.0);

    let (_, item) = server.call(Method::GET, "/v1/vectors/index/h/items/a", None).await;
    assert_eq!(item["vectors"]["title"], json!([1.0, 0.0, 0.0]));
    assert_eq!(item["sparse"]["words"], json!({ "indices": [1, 7], "values": [2.0, 1.0] }), "indices sorted");

    let refused = search(json!({ "vector": [1, 0], "k": 3, "using": "image" })).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "unknown_vector");
    let both = search(json!({ "vector": [1, 0], "sparse_vector": { "indices": [1], "values": [1] }, "k": 3 })).await;
    assert_eq!(both.0, StatusCode::BAD_REQUEST, "{}", both.1);
    let duplicated =
        json!({ "items": [{ "id": "e", "sparse": { "words": { "indices": [2, 2], "values": [1, 1] } } }] });
    let refused = server.call(Method::POST, "/v1/vectors/index/h/add", Some(duplicated)).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "duplicate_sparse_index");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_search_fuses_ranks_or_scores() {
    let server = Server::on(memory()).await;
    index_with_three_kinds_of_vectors(&server).await;
    let hybrid = |body: Value| server.call(Method::POST, "/v1/vectors/index/h/search/hybrid", Some(body));
    let searches = json!([
        { "vector": [1, 0, 0], "using": "title", "k": 10 },
        { "sparse_vector": { "indices": [1], "values": [1] }, "using": "words", "k": 10 }
    ]);
    // Title ranks a, b, c; words ranks a (2), b (1): RRF gives a 1/2 + 1/2, b 1/3 + 1/3, c 1/4.
    let (status, found) = hybrid(json!({ "searches": searches, "k": 3 })).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(ids(&found), ["a", "b", "c"]);
    let scores: Vec<f64> = found["results"].as_array().unwrap().iter().map(|h| h["score"].as_f64().unwrap()).collect();
    for (score, want) in scores.iter().zip([1.0, 2.0 / 3.0, 0.25]) {
        assert!((score - want).abs() < 1e-6, "{found}");
    }
    assert_eq!(found["results"][0]["metadata"], json!({ "k": "x" }));
    let (_, found) = hybrid(json!({ "searches": searches, "k": 2, "fusion": "dbsf" })).await;
    assert_eq!(ids(&found), ["a", "b"]);
    let (_, found) = hybrid(json!({ "searches": searches, "k": 3, "weights": [0, 1] })).await;
    assert_eq!(ids(&found)[..2], ["a", "b"], "only the sparse ranking counts: {found}");
    let refused = hybrid(json!({ "searches": [], "k": 3 })).await;
    assert_eq!(refused.0, StatusCode::BAD_REQUEST);
    let refused = hybrid(json!({ "searches": searches, "k": 3, "weights": [1] })).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_parameter");
    server.stop().await;
}

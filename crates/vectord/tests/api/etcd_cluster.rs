//! Three vectord members of an etcd cluster over one S3 bucket (the real
//! servers `cargo xtask ci` starts: etcd and SeaweedFS): an index's shards
//! are placed over the members, and every member answers for all of it,
//! routing each part of a request to the shards' holders.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vectord::config::{Config, Settings};

use crate::support::{Server, assert_error};

const DIM: usize = 8;
const ITEMS: usize = 240;
const SECRET: &str = "test-cluster-secret";

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: this test needs etcd and an S3 server; run it with `cargo xtask ci`")
    })
}

/// A member called `node` of cluster `cluster` (its keys and objects apart from other tests').
pub(crate) async fn member(cluster: &str, node: &str) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        storage_url: Some(format!("{}/{cluster}", env("LHV_TEST_S3_URL").trim_end_matches('/'))),
        cluster_address: Some(address),
        etcd: Some(env("LHV_TEST_ETCD")),
        cluster_name: Some(cluster.to_owned()),
        node_name: Some(node.to_owned()),
        cluster_secret: Some(SECRET.into()),
        lease_ttl_ms: Some(2_000),
        ..Settings::default()
    };
    Server::serve(listener, Config::resolve(&settings).unwrap()).await
}

/// A deterministic vector of item `i`.
pub(crate) fn vector(i: usize) -> Vec<f32> {
    (0..DIM).map(|d| (((i * 31 + d * 17) % 97) as f32) / 97.0 - 0.5).collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The ids of the `k` nearest of `ids` to `query`, by brute force (distance, then id).
fn brute_force(ids: &BTreeSet<usize>, query: &[f32], k: usize) -> Vec<String> {
    let mut scored: Vec<(f32, String)> = ids.iter().map(|&i| (l2(&vector(i), query), format!("{i}"))).collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, id)| id).collect()
}

async fn search(server: &Server, query: &[f32], k: usize, consistency: &str) -> Vec<String> {
    let body = json!({ "vector": query, "k": k, "ef": 1000, "consistency": consistency });
    let (status, answer) = server.call(Method::POST, "/v1/vectors/index/docs/search", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["results"].as_array().unwrap().iter().map(|hit| hit["id"].as_str().unwrap().to_owned()).collect()
}

async fn count(server: &Server) -> u64 {
    let (status, answer) = server.call(Method::GET, "/v1/vectors/index/docs", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["count"].as_u64().unwrap()
}

/// Waits (a few seconds at most) until `server`'s eventual reads (which may
/// go to replicas still catching up) count `expected` items.
async fn converges(server: &Server, expected: usize) {
    let started = Instant::now();
    loop {
        let seen = count(server).await;
        if seen == expected as u64 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{} counts {seen}, not {expected}", server.base);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every id through `server`'s item listing, page by page.
async fn listed(server: &Server) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(after) => format!("/v1/vectors/index/docs/items?limit=50&after={after}"),
            None => "/v1/vectors/index/docs/items?limit=50".to_owned(),
        };
        let (status, page) = server.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        ids.extend(page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return ids,
        }
    }
}

async fn add(server: &Server, ids: impl Iterator<Item = usize>) {
    let items: Vec<Value> =
        ids.map(|i| json!({ "id": format!("{i}"), "vector": vector(i), "metadata": { "even": i % 2 == 0 } })).collect();
    let (status, answer) =
        server.call(Method::POST, "/v1/vectors/index/docs/add", Some(json!({ "items": items }))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_answers_for_an_index_spread_over_the_cluster() {
    let cluster = format!("api-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let members = [member(&cluster, "n1").await, member(&cluster, "n2").await, member(&cluster, "n3").await];
    let create = json!({ "name": "docs", "dim": DIM, "distance": "l2", "shards": 4, "replication": 2 });
    let (status, created) = members[0].call(Method::POST, "/v1/vectors/index", Some(create.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["shards"], json!(4));
    // A second create of the name, through another member, loses.
    assert_error(
        &members[1].call(Method::POST, "/v1/vectors/index", Some(create)).await,
        StatusCode::CONFLICT,
        "index_exists",
    );

    // Writes through every member, each split over the shards' writers.
    add(&members[1], 0..ITEMS / 3).await;
    add(&members[2], ITEMS / 3..2 * ITEMS / 3).await;
    add(&members[0], 2 * ITEMS / 3..ITEMS).await;
    let mut stored: BTreeSet<usize> = (0..ITEMS).collect();

    // Every shard gets a writer and a replica on another member; each member says so.
    let started = Instant::now();
    loop {
        let (status, cluster) = members[2].call(Method::GET, "/v1/cluster", None).await;
        assert_eq!(status, StatusCode::OK, "{cluster}");
        assert_eq!(cluster["node"], json!("n3"), "{cluster}");
        assert_eq!(cluster["members"].as_array().unwrap().len(), 3, "{cluster}");
        let shards = cluster["shards"].as_array().unwrap();
        let replicated = shards.iter().all(|shard| {
            let replicas = shard["replicas"].as_array().unwrap();
            replicas.len() == 1 && replicas[0] != shard["writer"]
        });
        if shards.len() == 4 && replicated {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "not every shard has two copies: {cluster}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every member sees all of it: counts, listings in id order, searches equal to brute force.
    let mut expected_ids: Vec<String> = stored.iter().map(|i| format!("{i}")).collect();
    expected_ids.sort_by(|a, b| lhv_core::compare_ids(a, b));
    for member in &members {
        assert_eq!(search(member, &vector(7), 10, "strong").await, brute_force(&stored, &vector(7), 10));
        converges(member, ITEMS).await;
        let started = Instant::now();
        while listed(member).await != expected_ids {
            assert!(started.elapsed() < Duration::from_secs(5), "{} does not list every item", member.base);
        }
        for i in [0, 101, ITEMS - 1] {
            let (status, item) = member.call(Method::GET, &format!("/v1/vectors/index/docs/items/{i}"), None).await;
            assert_eq!(status, StatusCode::OK, "{item}");
            let got: Vec<f32> = serde_json::from_value(item["vector"].clone()).unwrap();
            assert_eq!(got, vector(i), "item {i}: vectors travel bit for bit");
        }
    }
    for q in 0..20 {
        let query = vector(1000 + q);
        assert_eq!(search(&members[q % 3], &query, 5, "strong").await, brute_force(&stored, &query, 5), "query {q}");
    }

    // A delete through one member is seen by a strong search through another.
    let (status, answer) = members[2].call(Method::DELETE, "/v1/vectors/index/docs/items/7", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    stored.remove(&7);
    assert_eq!(search(&members[0], &vector(7), 10, "strong").await, brute_force(&stored, &vector(7), 10));
    // A get is eventual: the replica it reads catches up within moments.
    let started = Instant::now();
    while members[1].call(Method::GET, "/v1/vectors/index/docs/items/7", None).await.0 != StatusCode::NOT_FOUND {
        assert!(started.elapsed() < Duration::from_secs(5), "the deleted item is still served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A field index is built on every shard.
    let (status, field) = members[1].call(Method::PUT, "/v1/vectors/index/docs/fields/even", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{field}");
    assert_eq!(field["points"], json!(ITEMS - 1), "{field}");
    let filtered = json!({ "vector": vector(3), "k": 1000, "ef": 1000, "filter": { "must": [{ "key": "even", "match": { "value": true } }] }, "consistency": "strong" });
    let (status, hits) = members[2].call(Method::POST, "/v1/vectors/index/docs/search", Some(filtered)).await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits["results"].as_array().unwrap().len(), stored.iter().filter(|i| *i % 2 == 0).count(), "{hits}");

    // Members call each other with the cluster's secret; nobody else can.
    let internal =
        json!({ "index": "docs", "incarnation": "x", "shards": [0], "strong": false, "op": { "op": "describe" } });
    let outsider = members[0].call(Method::POST, "/internal/v1/shards", Some(internal)).await;
    assert_error(&outsider, StatusCode::UNAUTHORIZED, "unauthorized");

    // A member leaves: with two copies of every shard, the others answer for all of it.
    let [first, second, third] = members;
    first.stop().await;
    add(&second, ITEMS..ITEMS + 20).await;
    stored.extend(ITEMS..ITEMS + 20);
    for member in [&second, &third] {
        assert_eq!(search(member, &vector(11), 10, "strong").await, brute_force(&stored, &vector(11), 10));
        converges(member, stored.len()).await;
    }

    // A drop through one member: the other stops serving the index.
    let (status, answer) = third.call(Method::DELETE, "/v1/vectors/index/docs", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let started = Instant::now();
    while second.call(Method::GET, "/v1/vectors/index/docs", None).await.0 != StatusCode::NOT_FOUND {
        assert!(started.elapsed() < Duration::from_secs(10), "the drop was not seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop().await;
    third.stop().await;
}

/// Qdrant's answers (`{"result": ...}`) of a call that must succeed.
pub(crate) async fn qdrant(server: &Server, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = server.call(method, path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_clients_reach_a_collection_through_any_member() {
    let cluster = format!("qdrant-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let members = [member(&cluster, "q1").await, member(&cluster, "q2").await];
    let create =
        json!({ "vectors": { "size": DIM, "distance": "Euclid" }, "shard_number": 3, "replication_factor": 2 });
    assert_eq!(qdrant(&members[0], Method::PUT, "/collections/docs", Some(create)).await, json!(true));
    let listed = qdrant(&members[1], Method::GET, "/collections", None).await;
    assert_eq!(listed["collections"], json!([{ "name": "docs" }]));
    assert_eq!(qdrant(&members[1], Method::GET, "/collections/docs/exists", None).await["exists"], json!(true));

    let points: Vec<Value> =
        (0..90).map(|i| json!({ "id": i, "vector": vector(i), "payload": { "group": i % 3 } })).collect();
    let upserted =
        qdrant(&members[1], Method::PUT, "/collections/docs/points", Some(json!({ "points": points }))).await;
    assert_eq!(upserted["status"], json!("completed"));
    assert!(upserted["operation_id"].as_u64().unwrap() > 0, "{upserted}");
    let stored: BTreeSet<usize> = (0..90).collect();

    // Searches through either member equal brute force (eventual reads: at
    // once, or once the replicas asked have caught up), vectors shown as stored.
    for (q, member) in members.iter().cycle().take(6).enumerate() {
        let query = vector(500 + q);
        let body = json!({ "vector": query, "limit": 5, "with_vector": true, "params": { "hnsw_ef": 500 } });
        let started = Instant::now();
        let hits = loop {
            let hits = qdrant(member, Method::POST, "/collections/docs/points/search", Some(body.clone())).await;
            let ids: Vec<String> = hits.as_array().unwrap().iter().map(|hit| hit["id"].to_string()).collect();
            if ids == brute_force(&stored, &query, 5) {
                break hits;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "query {q}: {ids:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let first = hits[0]["id"].as_u64().unwrap() as usize;
        let shown: Vec<f32> = serde_json::from_value(hits[0]["vector"].clone()).unwrap();
        assert_eq!(shown, vector(first));
    }

    // Reads of points, pages and counts, through the member that did not
    // write (it holds a copy of every shard: once its listing shows every
    // point, its replicas have caught up).
    let reader = &members[0];
    let started = Instant::now();
    loop {
        let mut scrolled = Vec::new();
        let mut offset = Value::Null;
        loop {
            let body = json!({ "limit": 40, "offset": offset });
            let page = qdrant(reader, Method::POST, "/collections/docs/points/scroll", Some(body)).await;
            scrolled.extend(page["points"].as_array().unwrap().iter().map(|p| p["id"].as_u64().unwrap()));
            offset = page["next_page_offset"].clone();
            if offset.is_null() {
                break;
            }
        }
        if scrolled == (0..90).collect::<Vec<u64>>() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{scrolled:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = qdrant(reader, Method::POST, "/collections/docs/points", Some(json!({ "ids": [5, 77, 1000] }))).await;
    let got_ids: Vec<u64> = got.as_array().unwrap().iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(got_ids, [5, 77]);
    assert_eq!(
        qdrant(reader, Method::GET, "/collections/docs/points/12", None).await["payload"],
        json!({ "group": 0 })
    );
    let filter = json!({ "filter": { "must": [{ "key": "group", "match": { "value": 1 } }] } });
    assert_eq!(qdrant(reader, Method::POST, "/collections/docs/points/count", Some(filter)).await["count"], json!(30));
    let info = qdrant(reader, Method::GET, "/collections/docs", None).await;
    assert_eq!(info["points_count"], json!(90), "{info}");
    assert_eq!(info["config"]["params"]["shard_number"], json!(3), "{info}");

    // Deletes by id through one member; the other's count follows.
    qdrant(&members[1], Method::POST, "/collections/docs/points/delete", Some(json!({ "points": [0, 1, 2] }))).await;
    let started = Instant::now();
    while qdrant(reader, Method::POST, "/collections/docs/points/count", Some(json!({}))).await["count"] != json!(87) {
        assert!(started.elapsed() < Duration::from_secs(5), "the delete was not seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A delete by filter: each shard's writer selects and deletes under its commit lock.
    let group_two = json!({ "filter": { "must": [{ "key": "group", "match": { "value": 2 } }] } });
    qdrant(&members[0], Method::POST, "/collections/docs/points/delete", Some(group_two.clone())).await;
    let started = Instant::now();
    while qdrant(reader, Method::POST, "/collections/docs/points/count", Some(json!({}))).await["count"] != json!(58) {
        assert!(started.elapsed() < Duration::from_secs(5), "the delete by filter was not seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        qdrant(reader, Method::POST, "/collections/docs/points/count", Some(group_two)).await["count"],
        json!(0)
    );

    assert_eq!(qdrant(&members[1], Method::DELETE, "/collections/docs", None).await, json!(true));
    assert_eq!(qdrant(&members[0], Method::DELETE, "/collections/docs", None).await, json!(false));
    let [first, second] = members;
    first.stop().await;
    second.stop().await;
}

/// Resharding through a member: the index doubles its shards (a new
/// incarnation loaded from the bucket) and every member then answers for
/// every item, searches equal to brute force; outside a cluster it is 501.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_through_a_member_doubles_the_shards_and_keeps_every_item() {
    let cluster = format!("reshard-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let members = [member(&cluster, "r1").await, member(&cluster, "r2").await];
    let create = json!({ "name": "docs", "dim": DIM, "distance": "l2", "shards": 2, "replication": 1 });
    let (status, answer) = members[0].call(Method::POST, "/v1/vectors/index", Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    add(&members[1], 0..120).await;
    let (status, answer) = members[1].call(Method::POST, "/v1/vectors/index/docs/reshard", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["shards"], json!(4), "{answer}");
    let stored: BTreeSet<usize> = (0..120).collect();
    for member in &members {
        converges(member, 120).await;
        let (_, described) = member.call(Method::GET, "/v1/vectors/index/docs", None).await;
        assert_eq!(described["shards"], json!(4), "{described}");
        for q in [3, 77] {
            assert_eq!(
                search(member, &vector(q + 500), 10, "strong").await,
                brute_force(&stored, &vector(q + 500), 10)
            );
        }
    }
    // Writes go on into the new shards.
    add(&members[0], 120..130).await;
    converges(&members[1], 130).await;

    // A snapshot out of the cluster (every shard's items in one frame) comes
    // back in as another index (one shard), equal in every item.
    let exported = members[0].client.get(format!("{}/v1/vectors/index/docs/snapshot", members[0].base)).send();
    let exported = exported.await.unwrap();
    assert_eq!(exported.status(), StatusCode::OK);
    let frame = exported.bytes().await.unwrap().to_vec();
    let imported = members[1].client.put(format!("{}/v1/vectors/index/copy/snapshot", members[1].base)).body(frame);
    let imported = imported.send().await.unwrap();
    assert_eq!(imported.status(), StatusCode::CREATED);
    let info: Value = imported.json().await.unwrap();
    assert_eq!((info["count"].clone(), info["shards"].clone()), (json!(130), json!(1)), "{info}");
    let all: BTreeSet<usize> = (0..130).collect();
    let body = json!({ "vector": vector(600), "k": 10, "ef": 1000, "consistency": "strong" });
    let (status, found) = members[0].call(Method::POST, "/v1/vectors/index/copy/search", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ids: Vec<String> =
        found["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, brute_force(&all, &vector(600), 10));
    let (_, got) = members[0].call(Method::GET, "/v1/vectors/index/copy/items/7", None).await;
    assert_eq!(got["metadata"], json!({ "even": false }), "{got}");
    let [first, second] = members;
    first.stop().await;
    second.stop().await;
}

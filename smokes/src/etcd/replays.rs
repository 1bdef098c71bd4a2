//! Replays of the races that lost acknowledged writes in the cluster over
//! S3 leases (issue 22's B1-B3), against four members of a cluster on etcd:
//! eight concurrent creates of one name through four members make exactly
//! one index and every write acknowledged to it stays; a drop and a create
//! of the name with another dimension through different members leave no
//! member serving the dead incarnation, nor accepting a write into it.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Cluster, DIM, Setup, listed_once};
use crate::harness::{Steps, expect};

const MEMBERS: usize = 4;

pub(super) async fn run(setup: &Setup, steps: &mut Steps) {
    if let Err(error) = replay(setup, steps).await {
        steps.check("replays: creates and drops racing through four members", Err(error));
    }
}

fn items(range: std::ops::Range<usize>, dim: usize) -> Value {
    let items: Vec<Value> =
        range.map(|i| json!({ "id": format!("r{i}"), "vector": vec![i as f32 / 100.0 + 0.5; dim] })).collect();
    json!({ "items": items })
}

async fn replay(setup: &Setup, steps: &mut Steps) -> Result<(), String> {
    let cluster = Cluster::start(setup, "replays", MEMBERS, 1024).await?;
    let members = cluster.live();

    // B1: 8 concurrent creates of one name, two through each member; the
    // first acknowledged one is written to at once by its client.
    let mut creates = Vec::new();
    for n in 0..8 {
        let member = members[n % MEMBERS].clone();
        creates.push(tokio::spawn(async move {
            let body = json!({ "name": "race", "dim": DIM, "distance": "l2", "shards": 4 });
            let created = member.call(Method::POST, "/v1/vectors/index", Some(&body)).await?;
            if created.0 != StatusCode::CREATED {
                return Ok::<_, String>(created.0);
            }
            match member.call(Method::POST, "/v1/vectors/index/race/add", Some(&items(0..50, DIM))).await? {
                (StatusCode::OK, _) => Ok(StatusCode::CREATED),
                (status, answer) => Err(format!("the winner's write: {status} {answer}")),
            }
        }));
    }
    let mut answers = Vec::new();
    for create in creates {
        answers.push(create.await.map_err(|e| e.to_string())??);
    }
    let won = answers.iter().filter(|s| **s == StatusCode::CREATED).count();
    let lost = answers.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    steps.check(
        "replays (B1): 8 racing creates through 4 members, one wins",
        expect("created, refused", (won, lost), (1, 7)),
    );
    let wanted: BTreeSet<String> = (0..50).map(|i| format!("r{i}")).collect();
    for (n, member) in members.iter().enumerate() {
        let present = listed_once(member, "race", |present| *present == wanted).await?;
        steps.check(&format!("replays (B1): member {n} holds the winner's writes"), expect("items", present.len(), 50));
    }

    // B2/B3: drop through one member, create again with another dimension
    // through another, at once; then every member serves the new incarnation
    // only, and no write of the old dimension is acknowledged anywhere.
    let new_dim = DIM / 2;
    match members[2].call(Method::DELETE, "/v1/vectors/index/race", None).await? {
        (StatusCode::OK, _) => {}
        (status, answer) => return Err(format!("drop: {status} {answer}")),
    }
    let body = json!({ "name": "race", "dim": new_dim, "distance": "l2", "shards": 2 });
    match members[3].call(Method::POST, "/v1/vectors/index", Some(&body)).await? {
        (StatusCode::CREATED, _) => {}
        (status, answer) => return Err(format!("create again: {status} {answer}")),
    }
    let mut old_acknowledged = 0;
    for member in &members {
        if member.call(Method::POST, "/v1/vectors/index/race/add", Some(&items(100..110, DIM))).await?.0
            == StatusCode::OK
        {
            old_acknowledged += 1;
        }
    }
    steps.check(
        "replays (B2): no write of the dropped incarnation is acknowledged",
        expect("acknowledged", old_acknowledged, 0),
    );
    for (n, member) in members.iter().enumerate() {
        let (status, answer) = member
            .call(Method::POST, "/v1/vectors/index/race/add", Some(&items(200 + 10 * n..210 + 10 * n, new_dim)))
            .await?;
        steps.check(
            &format!("replays (B3): member {n} writes the new incarnation"),
            expect("status", status, StatusCode::OK),
        );
        if status != StatusCode::OK {
            println!("  {answer}");
        }
    }
    let wanted: BTreeSet<String> = (200..200 + 10 * MEMBERS).map(|i| format!("r{i}")).collect();
    for (n, member) in members.iter().enumerate() {
        let present = listed_once(member, "race", |present| *present == wanted).await?;
        let (_, info) = member.call(Method::GET, "/v1/vectors/index/race", None).await?;
        steps.check(
            &format!("replays (B3): member {n} serves only the new incarnation"),
            expect("dim, items", (info["dim"].as_u64().unwrap_or(0) as usize, present), (new_dim, wanted.clone())),
        );
    }
    Ok(())
}

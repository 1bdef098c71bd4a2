//! Capacity: an index larger than any member's memory budget, spread over
//! four members. Each member holds less than its budget, the counts add up,
//! exact searches through every member equal brute force, and the graph
//! searches' recall@10 is at least 0.95.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Cluster, Setup, Sizes, create, vector, write_until_acked};
use crate::harness::{Rng, Steps, expect};

const MEMBERS: usize = 4;
const BATCH: usize = 500;

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The `k` nearest ids (by brute force) with their distances, nearest first.
fn brute_force(vectors: &[Vec<f32>], query: &[f32], k: usize) -> Vec<(f32, usize)> {
    let mut scored: Vec<(f32, usize)> = vectors.iter().enumerate().map(|(i, v)| (l2(v, query), i)).collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.truncate(k);
    scored
}

/// Whether `found` are the `k` nearest: every id among them is at most the
/// k-th distance away (equal distances may come in either order).
fn exact(found: &[usize], truth: &[(f32, usize)], vectors: &[Vec<f32>], query: &[f32]) -> bool {
    let Some(&(kth, _)) = truth.last() else { return found.is_empty() };
    found.len() == truth.len()
        && found.iter().all(|&id| vectors.get(id).is_some_and(|v| l2(v, query) <= kth * 1.000_01))
}

pub(super) async fn run(setup: &Setup, sizes: &Sizes, steps: &mut Steps, figures: &mut Vec<(String, String)>) {
    let result = measure(setup, sizes, steps, figures).await;
    if let Err(error) = result {
        steps.check("capacity: an index larger than a member, over four", Err(error));
    }
}

async fn measure(
    setup: &Setup,
    sizes: &Sizes,
    steps: &mut Steps,
    figures: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let cluster = Cluster::start(setup, "capacity", MEMBERS, sizes.budget_mib).await?;
    let members = cluster.live();
    create(&members[0], "big", sizes.shards, 1).await?;
    cluster.placed(0, "big", sizes.shards, 1).await?;

    let mut rng = Rng::new(sizes.seed ^ 0xca9a);
    let vectors: Vec<Vec<f32>> = (0..sizes.vectors).map(|_| vector(&mut rng)).collect();
    let started = Instant::now();
    let numbered: Vec<(usize, Vec<f32>)> = vectors.iter().cloned().enumerate().collect();
    let batches: Vec<Vec<(usize, Vec<f32>)>> = numbered.chunks(BATCH).map(<[_]>::to_vec).collect();
    let mut tasks = Vec::new();
    for worker in 0..MEMBERS {
        let members = members.clone();
        let mine: Vec<Vec<(usize, Vec<f32>)>> = batches.iter().skip(worker).step_by(MEMBERS).cloned().collect();
        tasks.push(tokio::spawn(async move {
            for (b, batch) in mine.iter().enumerate() {
                let items: Vec<Value> =
                    batch.iter().map(|(i, v)| json!({ "id": i.to_string(), "vector": v })).collect();
                write_until_acked(&members, worker + b, "/v1/vectors/index/big/add", &json!({ "items": items }))
                    .await?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let ingest = sizes.vectors as f64 / started.elapsed().as_secs_f64();
    figures.push(("capacity: vectors ingested through 4 members".into(), format!("{} ({ingest:.0}/s)", sizes.vectors)));

    // Every member counts them all (one copy of each shard: its writer answers).
    for (n, member) in members.iter().enumerate() {
        let (status, info) = member.call(Method::GET, "/v1/vectors/index/big", None).await?;
        let count = if status == StatusCode::OK { info["count"].as_u64().unwrap_or(0) as usize } else { 0 };
        steps.check(&format!("capacity: member {n} counts every vector"), expect("count", count, sizes.vectors));
    }

    // Each member under its budget; the index larger than any budget.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = cluster.status(0).await?;
    let budget = sizes.budget_mib << 20;
    let held: Vec<(String, u64)> = status["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["name"].as_str().unwrap_or_default().to_owned(), m["held_bytes"].as_u64().unwrap_or(0)))
        .collect();
    let total: u64 = held.iter().map(|(_, bytes)| bytes).sum();
    let over: Vec<&(String, u64)> = held.iter().filter(|(_, bytes)| *bytes > budget).collect();
    steps.check("capacity: every member holds less than its budget", expect("members over budget", over.len(), 0));
    steps.check(
        "capacity: the index is larger than one member's budget",
        if total > budget { Ok(()) } else { Err(format!("the index takes {total} bytes, a budget is {budget}")) },
    );
    let shown: Vec<String> =
        held.iter().map(|(name, bytes)| format!("{name} {:.1}", *bytes as f64 / f64::from(1 << 20))).collect();
    figures.push((
        "capacity: index bytes / budget per member".into(),
        format!("{:.1} MiB / {} MiB", total as f64 / f64::from(1 << 20), sizes.budget_mib),
    ));
    figures.push(("capacity: MiB held per member".into(), shown.join(", ")));

    // Exact searches (Qdrant's `exact`) through every member equal brute force; graph recall@10.
    let mut inexact = 0;
    let (mut found_right, mut wanted) = (0usize, 0usize);
    for q in 0..sizes.queries {
        let query = vector(&mut rng);
        let truth = brute_force(&vectors, &query, 10);
        let member = &members[q % MEMBERS];
        let body = json!({ "vector": query, "limit": 10, "params": { "exact": true } });
        let (status, answer) = member.call(Method::POST, "/collections/big/points/search", Some(&body)).await?;
        if status != StatusCode::OK {
            return Err(format!("exact search: {status} {answer}"));
        }
        let ids: Vec<usize> = answer["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|hit| hit["id"].as_u64())
            .map(|id| id as usize)
            .collect();
        if !exact(&ids, &truth, &vectors, &query) {
            inexact += 1;
        }
        let body = json!({ "vector": query, "k": 10 });
        let (status, answer) = member.call(Method::POST, "/v1/vectors/index/big/search", Some(&body)).await?;
        if status != StatusCode::OK {
            return Err(format!("search: {status} {answer}"));
        }
        let truth_ids: Vec<usize> = truth.iter().map(|(_, id)| *id).collect();
        let graph: Vec<usize> = answer["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|hit| hit["id"].as_str()?.parse().ok())
            .collect();
        found_right += graph.iter().filter(|id| truth_ids.contains(id)).count();
        wanted += truth_ids.len();
    }
    steps.check(
        "capacity: exact searches through every member equal brute force",
        expect("inexact answers", inexact, 0),
    );
    let recall = found_right as f64 / wanted.max(1) as f64;
    steps.check(
        "capacity: graph search recall@10 at least 0.95",
        if recall >= 0.95 { Ok(()) } else { Err(format!("recall@10 {recall:.3}")) },
    );
    figures
        .push(("capacity: graph recall@10 (default ef)".into(), format!("{recall:.3} over {} queries", sizes.queries)));
    Ok(())
}

//! Cost: what four members ask of object storage while idle and per
//! acknowledged write (from each member's `vectord_storage_requests_total`),
//! the latency of single-item commits, and search throughput through one
//! member against spread over all four. On a machine of two cores four
//! processes cannot search faster than one: the figure shows that routing
//! works from every member, not a speed-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Cluster, Setup, Sizes, create, vector, write_until_acked};
use crate::harness::{Endpoint, Rng, Steps};

const MEMBERS: usize = 4;
const SHARDS: usize = 8;

pub(super) async fn run(setup: &Setup, sizes: &Sizes, steps: &mut Steps, figures: &mut Vec<(String, String)>) {
    if let Err(error) = measure(setup, sizes, figures).await {
        steps.check("cost: storage requests, commit latency, search throughput", Err(error));
    }
}

/// Object-store requests made so far by the members, added up.
async fn storage_requests(members: &[Endpoint]) -> Result<u64, String> {
    let mut total = 0;
    for member in members {
        let (status, text) = member.text("/metrics").await?;
        if status != StatusCode::OK {
            return Err(format!("/metrics: {status}"));
        }
        total += text
            .lines()
            .filter(|line| line.starts_with("vectord_storage_requests_total{"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(total)
}

/// Searches per second for `seconds`, 4 clients sending to `members` in turn.
async fn search_qps(members: Vec<Endpoint>, seconds: u64, seed: u64) -> Result<f64, String> {
    let (done, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (members, done, stop) = (members.clone(), Arc::clone(&done), Arc::clone(&stop));
        clients.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ (c + 1));
            let mut n = c as usize;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({ "vector": vector(&mut rng), "k": 10 });
                match members[n % members.len()]
                    .call(Method::POST, "/v1/vectors/index/costly/search", Some(&body))
                    .await?
                {
                    (StatusCode::OK, _) => done.fetch_add(1, Ordering::Relaxed),
                    (status, answer) => return Err(format!("search: {status} {answer}")),
                };
                n += 1;
            }
            Ok::<(), String>(())
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.map_err(|e| e.to_string())??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

async fn measure(setup: &Setup, sizes: &Sizes, figures: &mut Vec<(String, String)>) -> Result<(), String> {
    let cluster = Cluster::start(setup, "cost", MEMBERS, 1024).await?;
    let members = cluster.live();
    create(&members[0], "costly", SHARDS, 2).await?;
    cluster.placed(0, "costly", SHARDS, 2).await?;
    let mut rng = Rng::new(sizes.seed ^ 0xc057);
    for b in 0..20 {
        let items: Vec<Value> =
            (0..200).map(|i| json!({ "id": format!("c{b}-{i}"), "vector": vector(&mut rng) })).collect();
        write_until_acked(&members, b, "/v1/vectors/index/costly/add", &json!({ "items": items })).await?;
    }

    // Idle: nothing is polled; watches say when to read.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_seconds = if sizes.batches > 300 { 30 } else { 5 };
    let before = storage_requests(&members).await?;
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let idle = storage_requests(&members).await? - before;
    figures.push((
        format!("cost: object-store requests of 4 idle members over {idle_seconds} s"),
        format!("{idle} ({:.2}/s)", idle as f64 / idle_seconds as f64),
    ));

    // Single-item writes: one shard's commit each (and its replica's catch-up).
    let writes = if sizes.batches > 300 { 500 } else { 100 };
    let before = storage_requests(&members).await?;
    let mut latencies = Vec::with_capacity(writes);
    for w in 0..writes {
        let body = json!({ "items": [{ "id": format!("one{w}"), "vector": vector(&mut rng) }] });
        let sent = Instant::now();
        write_until_acked(&members, w, "/v1/vectors/index/costly/add", &body).await?;
        latencies.push(sent.elapsed());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_write = (storage_requests(&members).await? - before) as f64 / writes as f64;
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    figures
        .push(("cost: object-store requests per single-item write (replication 2)".into(), format!("{per_write:.1}")));
    figures.push((
        "cost: single-item commit latency p50 / p99".into(),
        format!("{:.1} / {:.1} ms", ms(latencies[writes / 2]), ms(latencies[writes * 99 / 100])),
    ));

    let seconds = if sizes.batches > 300 { 10 } else { 3 };
    let one = search_qps(vec![members[0].clone()], seconds, sizes.seed).await?;
    let four = search_qps(members.clone(), seconds, sizes.seed).await?;
    figures.push((
        "cost: search QPS (4 clients, k=10) through 1 member / spread over 4 (2 cores: no speed-up expected)".into(),
        format!("{one:.0} / {four:.0}"),
    ));
    Ok(())
}

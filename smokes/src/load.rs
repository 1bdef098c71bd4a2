//! load: mixed traffic (search, get, upsert, delete) from many clients at the
//! real HTTP port, with throughput and latency percentiles per route, errors
//! (must be 0) and the server's RSS over time; and churn: the same 10 000 ids
//! upserted and deleted over and over, after which RSS must be within 1.5x of
//! its value after the first pass (compaction reclaims memory).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::harness::{Endpoint, Steps, Vectord, expect};

const DIM: usize = 64;
const IDS: usize = 10_000;
const MAX_CHURN_GROWTH: f64 = 1.5;

fn vector(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn items(ids: impl Iterator<Item = usize>, round: u64) -> Value {
    let items: Vec<Value> =
        ids.map(|i| json!({ "id": format!("id-{i}"), "vector": vector(i as u64 * 7919 + round), "metadata": { "r": round } })).collect();
    json!({ "items": items })
}

/// Latencies per route and the count of unexpected answers.
#[derive(Default)]
struct Record {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: Vec<String>,
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let at = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

async fn client(server: Endpoint, record: Arc<Mutex<Record>>, seed: u64, until: Instant) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut round = seed;
    while Instant::now() < until {
        let roll = next() % 100;
        let id = (next() % IDS as u64) as usize;
        round += 1;
        let (route, method, path, body, ok): (&'static str, Method, String, Option<Value>, &[StatusCode]) = match roll {
            0..70 => {
                let body = json!({ "vector": vector(next()), "k": 10 });
                ("search", Method::POST, "/v1/vectors/index/load/search".into(), Some(body), &[StatusCode::OK])
            }
            70..80 => (
                "get",
                Method::GET,
                format!("/v1/vectors/index/load/items/id-{id}"),
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            ),
            80..95 => {
                let body = items((id..id + 10).map(|i| i % IDS), round);
                ("add", Method::POST, "/v1/vectors/index/load/add".into(), Some(body), &[StatusCode::OK])
            }
            _ => (
                "delete",
                Method::DELETE,
                format!("/v1/vectors/index/load/items/id-{id}"),
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            ),
        };
        let started = Instant::now();
        let answer = server.call(method, &path, body.as_ref()).await;
        let elapsed = started.elapsed();
        let mut record = record.lock().await;
        record.latencies.entry(route).or_default().push(elapsed);
        match answer {
            Ok((status, _)) if ok.contains(&status) => {}
            Ok((status, body)) => record.errors.push(format!("{route}: {status} {body}")),
            Err(e) => record.errors.push(format!("{route}: {e}")),
        }
    }
}

/// RSS after two idle seconds: the service returns freed memory every second,
/// so this is what it holds rather than a compaction's passing copy.
async fn settled_rss_kib(pid: u32) -> u64 {
    tokio::time::sleep(Duration::from_secs(2)).await;
    rss_kib(pid)
}

/// The load and churn rounds; `seed` picks each client's requests.
pub async fn run(
    binary: &Path,
    data: &Path,
    seconds: u64,
    clients: usize,
    churn_seconds: u64,
    seed: u64,
) -> Result<(), String> {
    println!("load scenario, seed {seed}");
    let mut steps = Steps::default();
    let server = Vectord::start(binary, data).await?;
    let pid = server.pid().ok_or("no server process")?;
    let create = json!({ "name": "load", "dim": DIM, "distance": "cosine" });
    server.call(Method::POST, "/v1/vectors/index", Some(&create)).await?;
    for start in (0..IDS).step_by(1000) {
        server.call(Method::POST, "/v1/vectors/index/load/add", Some(&items(start..start + 1000, 0))).await?;
    }

    let record = Arc::new(Mutex::new(Record::default()));
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(client(server.endpoint.clone(), Arc::clone(&record), seed ^ (1 + c as u64 * 7_777), until))
        })
        .collect();
    let mut rss = Vec::new();
    while Instant::now() < until {
        rss.push(rss_kib(pid));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut record = record.lock().await;
    println!("load: {clients} clients for {seconds} s, mixed 70% search / 10% get / 15% add (10 items) / 5% delete");
    println!("| route | requests | per s | p50 ms | p99 ms | p999 ms |\n|---|---:|---:|---:|---:|---:|");
    for (route, latencies) in record.latencies.iter_mut() {
        latencies.sort_unstable();
        println!(
            "| {route} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            latencies.len(),
            latencies.len() as f64 / seconds as f64,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            percentile(latencies, 0.999)
        );
    }
    let (low, high) = (rss.iter().min().copied().unwrap_or(0), rss.iter().max().copied().unwrap_or(0));
    println!("RSS over the run: {} to {} MiB (sampled every second)", low / 1024, high / 1024);
    let first_errors: Vec<String> = record.errors.iter().take(3).cloned().collect();
    steps.check("mixed load: no errors", expect("errors", (record.errors.len(), first_errors), (0, vec![])));
    drop(record);

    // Churn: the same ids upserted, then deleted, round after round.
    let started = Instant::now();
    let mut after_first = 0;
    let mut round = 1u64;
    let mut churn_errors = 0;
    while started.elapsed() < Duration::from_secs(churn_seconds) || round < 3 {
        for start in (0..IDS).step_by(1000) {
            let (status, _) = server
                .call(Method::POST, "/v1/vectors/index/load/add", Some(&items(start..start + 1000, round)))
                .await?;
            churn_errors += usize::from(status != StatusCode::OK);
        }
        for id in (0..IDS).step_by(10) {
            let (status, _) =
                server.call(Method::DELETE, &format!("/v1/vectors/index/load/items/id-{id}"), None).await?;
            churn_errors += usize::from(status != StatusCode::OK && status != StatusCode::NOT_FOUND);
        }
        if round == 1 {
            after_first = settled_rss_kib(pid).await;
        }
        let now = rss_kib(pid);
        if round.is_multiple_of(5) {
            println!("churn: round {round}, RSS {} MiB", now / 1024);
        }
        round += 1;
    }
    let end = settled_rss_kib(pid).await;
    let growth = end as f64 / after_first.max(1) as f64;
    println!(
        "churn: {} rounds in {:.0} s; RSS after the first {} MiB, at the end {} MiB ({growth:.2}x)",
        round - 1,
        started.elapsed().as_secs_f64(),
        after_first / 1024,
        end / 1024
    );
    steps.check(
        &format!("churn: RSS within {MAX_CHURN_GROWTH}x of its value after the first round, no errors"),
        expect("errors", churn_errors, 0).and(if growth <= MAX_CHURN_GROWTH {
            Ok(())
        } else {
            Err(format!("{growth:.2}x"))
        }),
    );
    steps.finish("load")
}

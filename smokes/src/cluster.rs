//! cluster: vectord processes sharing one S3 bucket, each started with
//! `--cluster-address`. A client writes and searches through all of them
//! (any process takes any request), one process is killed with SIGKILL in
//! the middle of the writes, and afterwards every acknowledged write is
//! looked for in every surviving process and in one started fresh.
//!
//! Reported: acknowledged writes lost (must be 0), failover time (from the
//! kill to the next acknowledged write), replica lag (from a write's
//! acknowledgement to its first sighting in another process, p50/p99), and
//! ingest and search throughput with 1 and with 3 processes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Endpoint, Rng, Steps, Vectord, expect};

const DIM: usize = 64;
const LEASE_TTL_MS: &str = "2000";
const FOLLOW_INTERVAL_MS: &str = "200";

/// How much work: `--quick` for CI.
struct Sizes {
    ingest_vectors: usize,
    search_seconds: u64,
    failover_batches: usize,
    /// Where the vectors written and searched for are drawn from.
    seed: u64,
}

impl Sizes {
    fn new(quick: bool, seed: u64) -> Self {
        if quick {
            Self { ingest_vectors: 6_000, search_seconds: 3, failover_batches: 240, seed }
        } else {
            Self { ingest_vectors: 30_000, search_seconds: 10, failover_batches: 900, seed }
        }
    }
}

/// A random vector of components in -1..=1.
fn vector(rng: &mut Rng) -> Vec<f32> {
    (0..DIM).map(|_| (rng.next() % 2001) as f32 / 1000.0 - 1.0).collect()
}

/// The members of one cluster, their logs in `logs`.
struct Cluster {
    binary: PathBuf,
    storage_url: String,
    logs: PathBuf,
    members: Vec<Option<Vectord>>,
}

impl Cluster {
    async fn start(binary: &Path, storage_url: &str, logs: &Path, count: usize) -> Result<Self, String> {
        let mut cluster = Self {
            binary: binary.to_owned(),
            storage_url: storage_url.to_owned(),
            logs: logs.to_owned(),
            members: Vec::new(),
        };
        for _ in 0..count {
            cluster.add().await?;
        }
        Ok(cluster)
    }

    async fn add(&mut self) -> Result<usize, String> {
        let n = self.members.len();
        let log = self.logs.join(format!("member-{n}.log"));
        let flags = [
            "--lease-ttl-ms",
            LEASE_TTL_MS,
            "--follow-interval-ms",
            FOLLOW_INTERVAL_MS,
            "--snapshot-log-bytes",
            "1048576",
        ];
        self.members.push(Some(Vectord::start_member(&self.binary, &self.storage_url, &flags, &log).await?));
        Ok(n)
    }

    fn live(&self) -> Vec<Endpoint> {
        self.members.iter().flatten().map(|m| m.endpoint.clone()).collect()
    }

    fn live_member(&self, n: usize) -> Result<&Vectord, String> {
        self.members.get(n).and_then(Option::as_ref).ok_or_else(|| format!("member {n} is not running"))
    }

    /// The address each index's lease names, as member `via` reads it.
    async fn writers(&self, via: usize) -> Result<Vec<(String, Option<String>)>, String> {
        let (status, body) = self.live_member(via)?.call(Method::GET, "/v1/cluster", None).await?;
        if status != StatusCode::OK {
            return Err(format!("GET /v1/cluster: {status} {body}"));
        }
        Ok(body["indexes"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|i| (i["name"].as_str().unwrap_or_default().to_owned(), i["writer"].as_str().map(str::to_owned)))
            .collect())
    }
}

async fn create(endpoint: &Endpoint, name: &str) -> Result<(), String> {
    let body = json!({ "name": name, "dim": DIM, "distance": "l2" });
    match endpoint.call(Method::POST, "/v1/vectors/index", Some(&body)).await? {
        (StatusCode::CREATED, _) => Ok(()),
        (status, body) => Err(format!("create {name}: {status} {body}")),
    }
}

/// Sends a batch until a member acknowledges it (within 30 s).
async fn write_until_acked(members: &[Endpoint], start: usize, path: &str, body: &Value) -> Result<usize, String> {
    crate::harness::write_until_acked(members, start, path, body, Duration::from_secs(30)).await
}

/// Ingest vectors/s and search QPS of `processes` members over 3 indexes,
/// the client spreading its requests over every member.
async fn throughput(
    binary: &Path,
    base_url: &str,
    logs: &Path,
    processes: usize,
    sizes: &Sizes,
) -> Result<(f64, f64), String> {
    let url = format!("{base_url}/throughput-{processes}");
    let cluster = Cluster::start(binary, &url, logs, processes).await?;
    let members = cluster.live();
    let names = ["t0", "t1", "t2"];
    for name in names {
        create(&members[0], name).await?;
    }
    // Wait until the writers have spread (one index per member with 3).
    let started = Instant::now();
    loop {
        let writers: BTreeSet<Option<String>> = cluster.writers(0).await?.into_iter().map(|(_, w)| w).collect();
        if writers.len() == processes.min(names.len()) && !writers.contains(&None) {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!("the writers did not spread over {processes} members: {writers:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let per_index = sizes.ingest_vectors / names.len();
    let batch = 200;
    let begun = Instant::now();
    let mut tasks = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let members = members.clone();
        let path = format!("/v1/vectors/index/{name}/add");
        let seed = sizes.seed;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ (0x9e37_79b9 + i as u64));
            for (b, first) in (0..per_index).step_by(batch).enumerate() {
                let items: Vec<Value> = (first..(first + batch).min(per_index))
                    .map(|n| json!({ "id": format!("v{n}"), "vector": vector(&mut rng) }))
                    .collect();
                write_until_acked(&members, i + b, &path, &json!({ "items": items })).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let ingest = (per_index * names.len()) as f64 / begun.elapsed().as_secs_f64();

    let searches = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..6 {
        let (members, searches, stop) = (members.clone(), Arc::clone(&searches), Arc::clone(&stop));
        let seed = sizes.seed;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ (0x5eed + t as u64));
            let mut n = t;
            while !stop.load(Ordering::Relaxed) {
                let path = format!("/v1/vectors/index/{}/search", names[n % names.len()]);
                let body = json!({ "vector": vector(&mut rng), "k": 10 });
                match members[n % members.len()].call(Method::POST, &path, Some(&body)).await? {
                    (StatusCode::OK, _) => {
                        searches.fetch_add(1, Ordering::Relaxed);
                    }
                    (status, answer) => return Err(format!("search: {status} {answer}")),
                }
                n += 1;
            }
            Ok::<(), String>(())
        }));
    }
    let begun = Instant::now();
    tokio::time::sleep(Duration::from_secs(sizes.search_seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let qps = searches.load(Ordering::Relaxed) as f64 / begun.elapsed().as_secs_f64();
    Ok((ingest, qps))
}

/// Percentile `p` (0..=100) of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) * p).div_ceil(100)]
}

/// What the failover run measured.
struct Failover {
    acked: BTreeSet<String>,
    failover: Duration,
    lags: Vec<Duration>,
    refused: usize,
    search_errors: usize,
    searches: usize,
}

/// 3 members, one index; writes through all of them, the writer killed a third of the way.
async fn failover(cluster: &mut Cluster, sizes: &Sizes) -> Result<Failover, String> {
    create(&cluster.live()[0], "docs").await?;
    let writer_address = match cluster.writers(0).await?.as_slice() {
        [(_, Some(writer))] => writer.clone(),
        other => return Err(format!("no writer for docs: {other:?}")),
    };
    let writer = (0..cluster.members.len())
        .find(|&n| cluster.live_member(n).is_ok_and(|m| m.address() == writer_address))
        .ok_or("the writer is not one of the members")?;
    let replica = (writer + 1) % cluster.members.len();

    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));
    let search_errors = Arc::new(AtomicUsize::new(0));
    let searcher = {
        let (members, stop, searches, errors) =
            (cluster.live(), Arc::clone(&stop), Arc::clone(&searches), Arc::clone(&search_errors));
        let seed = sizes.seed;
        tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ 77);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({ "vector": vector(&mut rng), "k": 5 });
                // A killed member refuses connections: a client retries elsewhere; that is not an error.
                match members[n % members.len()].call(Method::POST, "/v1/vectors/index/docs/search", Some(&body)).await
                {
                    Ok((StatusCode::OK, _)) => {
                        searches.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {}
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let mut rng = Rng::new(sizes.seed ^ 4242);
    let mut acked = BTreeSet::new();
    let mut lags = Vec::new();
    let mut refused = 0;
    let mut killed_at = None;
    let mut failover = Duration::ZERO;
    let kill_after = sizes.failover_batches / 3;
    for b in 0..sizes.failover_batches {
        if b == kill_after {
            if let Some(mut member) = cluster.members[writer].take() {
                member.kill();
            }
            killed_at = Some(Instant::now());
        }
        let members = cluster.live();
        let ids: Vec<String> = (0..20).map(|i| format!("b{b}-{i}")).collect();
        let items: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "vector": vector(&mut rng) })).collect();
        refused += write_until_acked(&members, b, "/v1/vectors/index/docs/add", &json!({ "items": items })).await?;
        let acked_at = Instant::now();
        if let Some(killed) = killed_at.take() {
            failover = acked_at - killed;
        }
        acked.extend(ids.iter().cloned());
        // Replica lag, sampled on every 4th batch while the first writer lives.
        if b < kill_after && b % 4 == 0 {
            let replica = cluster.live_member(replica)?.endpoint.clone();
            let path = format!("/v1/vectors/index/docs/items/{}", ids[19]);
            loop {
                if let Ok((StatusCode::OK, _)) = replica.call(Method::GET, &path, None).await {
                    lags.push(acked_at.elapsed());
                    break;
                }
                if acked_at.elapsed() > Duration::from_secs(10) {
                    return Err(format!("{path} did not reach a replica within 10 s"));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    searcher.await.map_err(|e| e.to_string())?;
    lags.sort_unstable();
    Ok(Failover {
        acked,
        failover,
        lags,
        refused,
        search_errors: search_errors.load(Ordering::Relaxed),
        searches: searches.load(Ordering::Relaxed),
    })
}

pub async fn run(binary: &Path, base_url: &str, quick: bool, seed: u64) -> Result<(), String> {
    println!("cluster scenario, seed {seed}");
    let sizes = Sizes::new(quick, seed);
    let logs = std::env::temp_dir().join(format!("vectord-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    println!("member logs in {}", logs.display());
    let mut steps = Steps::default();

    let mut cluster = Cluster::start(binary, &format!("{base_url}/failover"), &logs, 3).await?;
    let measured = failover(&mut cluster, &sizes).await;
    let measured = match measured {
        Ok(measured) => measured,
        Err(error) => {
            steps.check("writes and searches through 3 members, the writer killed", Err(error));
            return steps.finish("cluster");
        }
    };
    steps.check("searches during the failover got no error answer", expect("search errors", measured.search_errors, 0));
    // Every acknowledged write, in every surviving member and in one started now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh = cluster.add().await?;
    let mut most_lost = 0;
    for (n, member) in cluster.members.iter().enumerate() {
        let Some(member) = member else { continue };
        let present: BTreeSet<String> = member.endpoint.items_in("docs").await?.into_keys().collect();
        let lost = measured.acked.difference(&present).count();
        most_lost = most_lost.max(lost);
        let what = if n == fresh { "a member started afterwards" } else { "a surviving member" };
        steps.check(&format!("{what} ({n}) has every acknowledged write"), expect("lost", lost, 0));
    }
    drop(cluster);

    let (ingest_1, qps_1) = throughput(binary, base_url, &logs, 1, &sizes).await?;
    let (ingest_3, qps_3) = throughput(binary, base_url, &logs, 3, &sizes).await?;

    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| acknowledged writes (batches of 20) | {} |", measured.acked.len());
    println!("| acknowledged writes lost (most in any member) | {most_lost} |");
    println!("| failover: kill to next acknowledged write | {:.2} s |", measured.failover.as_secs_f64());
    println!("| writes refused or unanswered on the way (retried) | {} |", measured.refused);
    println!(
        "| replica lag p50 / p99 ({} samples) | {:.0} / {:.0} ms |",
        measured.lags.len(),
        percentile(&measured.lags, 50).as_secs_f64() * 1e3,
        percentile(&measured.lags, 99).as_secs_f64() * 1e3
    );
    println!("| searches during the run | {} |", measured.searches);
    println!("| ingest, 1 member | {ingest_1:.0} vectors/s |");
    println!("| ingest, 3 members | {ingest_3:.0} vectors/s ({:.2}x) |", ingest_3 / ingest_1);
    println!("| search, 1 member | {qps_1:.0} QPS |");
    println!("| search, 3 members | {qps_3:.0} QPS ({:.2}x) |", qps_3 / qps_1);
    let outcome = steps.finish("cluster");
    if outcome.is_ok() {
        let _ = std::fs::remove_dir_all(&logs);
    }
    outcome
}

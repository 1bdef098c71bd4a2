//! etcd-cluster: vectord processes coordinated by a real etcd over one
//! bucket of a real S3 server, each holding only the shards placed on it
//! within its memory budget, any of them answering for every index.
//!
//! Scenarios (issue 22), each its own module: `capacity` (an index larger
//! than any member's budget, spread over four, exact searches through every
//! member equal to brute force, graph recall), `failover` (a member killed
//! with SIGKILL under writes and searches, replication 2: no search error,
//! no acknowledged write lost), `fencing` (writers paused with SIGSTOP
//! past their lease, replicas promoted, the paused ones resumed: nothing
//! acknowledged lost), `replays` (the create/drop races that lost
//! writes in the older cluster mode), `rebalance` (a fourth member joins three
//! under writes: shards move to it, nothing lost), `cost` (object-store
//! requests idle and per write, commit latency, search throughput through
//! one member and four). `--quick` sizes it for CI.

mod capacity;
mod cost;
mod failover;
mod fencing;
mod rebalance;
mod replays;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Endpoint, Rng, Steps, Vectord};

/// Components per vector.
pub(super) const DIM: usize = 32;
/// What the members present to each other.
const SECRET: &str = "etcd-cluster-smoke-secret";

/// How much work: `--quick` for CI.
pub(super) struct Sizes {
    /// Vectors of the capacity index.
    pub vectors: usize,
    /// Its shards.
    pub shards: usize,
    /// Each member's budget, MiB.
    pub budget_mib: u64,
    /// Batches written during the failover and the rebalancing.
    pub batches: usize,
    /// Queries checked against brute force.
    pub queries: usize,
    /// Where every random draw comes from.
    pub seed: u64,
}

impl Sizes {
    pub(super) fn new(quick: bool, seed: u64) -> Self {
        if quick {
            Self { vectors: 24_000, shards: 8, budget_mib: 8, batches: 150, queries: 20, seed }
        } else {
            Self { vectors: 400_000, shards: 16, budget_mib: 96, batches: 600, queries: 100, seed }
        }
    }
}

/// A random vector of components in -1..=1.
pub(super) fn vector(rng: &mut Rng) -> Vec<f32> {
    (0..DIM).map(|_| (rng.next() % 2001) as f32 / 1000.0 - 1.0).collect()
}

/// The members of one cluster.
pub(super) struct Cluster {
    binary: PathBuf,
    storage_url: String,
    etcd: String,
    name: String,
    budget_mib: u64,
    logs: PathBuf,
    /// Members by number; None once stopped.
    pub members: Vec<Option<Vectord>>,
}

impl Cluster {
    /// A cluster called `name` of `count` members.
    pub(super) async fn start(setup: &Setup, name: &str, count: usize, budget_mib: u64) -> Result<Self, String> {
        let mut cluster = Self {
            binary: setup.binary.clone(),
            storage_url: format!("{}/{name}", setup.storage_url),
            etcd: setup.etcd.clone(),
            name: format!("{name}-{}", std::process::id()),
            budget_mib,
            logs: setup.logs.clone(),
            members: Vec::new(),
        };
        for _ in 0..count {
            cluster.add().await?;
        }
        Ok(cluster)
    }

    /// Starts one more member; its number.
    pub(super) async fn add(&mut self) -> Result<usize, String> {
        let n = self.members.len();
        let log = self.logs.join(format!("{}-n{n}.log", self.name));
        let (node, budget) = (format!("n{n}"), format!("{}MiB", self.budget_mib));
        let flags = [
            "--etcd",
            &self.etcd,
            "--cluster-name",
            &self.name,
            "--node-name",
            &node,
            "--memory-budget",
            &budget,
            "--cluster-secret",
            SECRET,
            "--lease-ttl-ms",
            "2000",
            "--snapshot-log-bytes",
            "1048576",
        ];
        self.members.push(Some(Vectord::start_member(&self.binary, &self.storage_url, &flags, &log).await?));
        Ok(n)
    }

    /// The running members' endpoints.
    pub(super) fn live(&self) -> Vec<Endpoint> {
        self.members.iter().flatten().map(|m| m.endpoint.clone()).collect()
    }

    /// Member `n`, running.
    pub(super) fn member(&self, n: usize) -> Result<&Vectord, String> {
        self.members.get(n).and_then(Option::as_ref).ok_or_else(|| format!("member {n} is not running"))
    }

    /// `GET /v1/cluster` through member `via`.
    pub(super) async fn status(&self, via: usize) -> Result<Value, String> {
        match self.member(via)?.call(Method::GET, "/v1/cluster", None).await? {
            (StatusCode::OK, body) => Ok(body),
            (status, body) => Err(format!("GET /v1/cluster: {status} {body}")),
        }
    }

    /// Waits until every shard of `index` has a writer and `copies - 1`
    /// replicas on distinct live members, as member `via` sees it.
    pub(super) async fn placed(&self, via: usize, index: &str, shards: usize, copies: usize) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let status = self.status(via).await?;
            let members: Vec<&str> =
                status["members"].as_array().into_iter().flatten().filter_map(|m| m["name"].as_str()).collect();
            let placed = status["shards"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|shard| shard["index"] == json!(index))
                .filter(|shard| {
                    let mut holders: Vec<&str> =
                        shard["replicas"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    holders.extend(shard["writer"].as_str());
                    holders.sort_unstable();
                    holders.dedup();
                    holders.len() == copies && holders.iter().all(|h| members.contains(h))
                })
                .count();
            if placed == shards {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("{index}: {placed} of {shards} shards placed with {copies} copies: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How many shards each of the first `members` members writes, as member
/// `via` sees the placement (members are named `n<number>`).
pub(super) async fn writes_per_member(cluster: &Cluster, via: usize, members: usize) -> Result<Vec<usize>, String> {
    let status = cluster.status(via).await?;
    let mut writes = vec![0; members];
    for shard in status["shards"].as_array().into_iter().flatten() {
        let number = shard["writer"].as_str().and_then(|w| w.strip_prefix('n')).and_then(|n| n.parse::<usize>().ok());
        if let Some(count) = number.and_then(|n| writes.get_mut(n)) {
            *count += 1;
        }
    }
    Ok(writes)
}

/// What every scenario starts from.
pub(super) struct Setup {
    binary: PathBuf,
    storage_url: String,
    etcd: String,
    logs: PathBuf,
}

/// Creates index `name` through `endpoint`.
pub(super) async fn create(endpoint: &Endpoint, name: &str, shards: usize, replication: usize) -> Result<(), String> {
    let body = json!({ "name": name, "dim": DIM, "distance": "l2", "shards": shards, "replication": replication });
    match endpoint.call(Method::POST, "/v1/vectors/index", Some(&body)).await? {
        (StatusCode::CREATED, _) => Ok(()),
        (status, body) => Err(format!("create {name}: {status} {body}")),
    }
}

/// Sends a write through the members in turn (from `start`) until one
/// acknowledges it (within 60 s: a failover takes about a lease).
pub(super) async fn write_until_acked(
    members: &[Endpoint],
    start: usize,
    path: &str,
    body: &Value,
) -> Result<usize, String> {
    crate::harness::write_until_acked(members, start, path, body, Duration::from_secs(60)).await
}

/// The ids `endpoint` lists for `index` once `settled` holds of them, or
/// after 10 s (reads are eventual: a replica catches up within moments).
pub(super) async fn listed_once(
    endpoint: &Endpoint,
    index: &str,
    settled: impl Fn(&std::collections::BTreeSet<String>) -> bool,
) -> Result<std::collections::BTreeSet<String>, String> {
    let started = Instant::now();
    loop {
        let present = ids_in(endpoint, index).await?;
        if settled(&present) || started.elapsed() > Duration::from_secs(10) {
            return Ok(present);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every id of `index` as member `endpoint` lists it.
async fn ids_in(endpoint: &Endpoint, index: &str) -> Result<std::collections::BTreeSet<String>, String> {
    Ok(endpoint.items_in(index).await?.into_keys().collect())
}

/// Runs every scenario; the figures as a table.
/// The scenarios, in the order they run.
pub const SCENARIOS: &[&str] = &["capacity", "failover", "fencing", "replays", "rebalance", "cost"];

/// Runs the scenarios named in `only` (every one if empty); the figures as a table.
pub async fn run(
    binary: &Path,
    storage_url: &str,
    etcd: &str,
    quick: bool,
    seed: u64,
    only: &[String],
) -> Result<(), String> {
    if let Some(unknown) = only.iter().find(|name| !SCENARIOS.contains(&name.as_str())) {
        return Err(format!("unknown cluster scenario {unknown:?}; there are {SCENARIOS:?}"));
    }
    let chosen = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    println!("etcd-cluster scenarios, seed {seed}{}", if quick { ", quick" } else { "" });
    let logs = std::env::temp_dir().join(format!("vectord-etcd-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    println!("member logs in {}", logs.display());
    let setup = Setup {
        binary: binary.to_owned(),
        storage_url: storage_url.to_owned(),
        etcd: etcd.to_owned(),
        logs: logs.clone(),
    };
    let sizes = Sizes::new(quick, seed);
    let mut steps = Steps::default();
    let mut figures: Vec<(String, String)> = Vec::new();
    if chosen("capacity") {
        capacity::run(&setup, &sizes, &mut steps, &mut figures).await;
    }
    if chosen("failover") {
        failover::run(&setup, &sizes, &mut steps, &mut figures).await;
    }
    if chosen("fencing") {
        fencing::run(&setup, &sizes, &mut steps, &mut figures).await;
    }
    if chosen("replays") {
        replays::run(&setup, &mut steps).await;
    }
    if chosen("rebalance") {
        rebalance::run(&setup, &sizes, &mut steps, &mut figures).await;
    }
    if chosen("cost") {
        cost::run(&setup, &sizes, &mut steps, &mut figures).await;
    }
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    for (what, value) in &figures {
        println!("| {what} | {value} |");
    }
    let outcome = steps.finish("etcd-cluster");
    if outcome.is_ok() {
        let _ = std::fs::remove_dir_all(&logs);
    }
    outcome
}

//! Fencing: a member that writes shards is paused with SIGSTOP past its
//! membership lease while a client keeps writing through the others; the
//! controller promotes a replica of each of its shards, and the paused
//! member is resumed with SIGCONT. Whatever it was committing when it was
//! paused fails at the storage fence (the new writer claimed each head with
//! a larger token), so nothing acknowledged is lost and nothing it believed
//! it wrote is served. Cycles of this; every acknowledged write is looked
//! for through every member at the end.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{Cluster, Setup, Sizes, create, listed_once, vector, write_until_acked, writes_per_member};
use crate::harness::{Endpoint, Rng, Steps, expect};

const MEMBERS: usize = 3;
const SHARDS: usize = 4;

pub(super) async fn run(setup: &Setup, sizes: &Sizes, steps: &mut Steps, figures: &mut Vec<(String, String)>) {
    if let Err(error) = measure(setup, sizes, steps, figures).await {
        steps.check("fencing: writers paused past their lease", Err(error));
    }
}

/// Sends `signal` (STOP, CONT) to process `pid`.
fn signal(pid: u32, signal: &str) -> Result<(), String> {
    let status = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
    if status.is_ok_and(|s| s.success()) { Ok(()) } else { Err(format!("kill -{signal} {pid} failed")) }
}

async fn measure(
    setup: &Setup,
    sizes: &Sizes,
    steps: &mut Steps,
    figures: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let cluster = Cluster::start(setup, "fencing", MEMBERS, 1024).await?;
    create(&cluster.live()[0], "fenced", SHARDS, 2).await?;
    cluster.placed(0, "fenced", SHARDS, 2).await?;

    // The client writes through the members that are not paused.
    let paused: Arc<Mutex<Option<usize>>> = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let endpoints: Vec<Endpoint> = cluster.live();
    let client = {
        let (paused, stop, endpoints) = (Arc::clone(&paused), Arc::clone(&stop), endpoints.clone());
        let seed = sizes.seed;
        tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ 0xf0ce);
            let mut acked = BTreeSet::new();
            let mut b = 0;
            while !stop.load(Ordering::Relaxed) {
                let skip = *paused.lock().await;
                let members: Vec<Endpoint> =
                    endpoints.iter().enumerate().filter(|(n, _)| Some(*n) != skip).map(|(_, e)| e.clone()).collect();
                let ids: Vec<String> = (0..10).map(|i| format!("f{b}-{i}")).collect();
                let items: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "vector": vector(&mut rng) })).collect();
                write_until_acked(&members, b, "/v1/vectors/index/fenced/add", &json!({ "items": items })).await?;
                acked.extend(ids);
                b += 1;
            }
            Ok::<BTreeSet<String>, String>(acked)
        })
    };

    let cycles = if sizes.batches > 300 { 20 } else { 4 };
    let mut takeovers = Vec::new();
    // Searches through another member while one is paused: reads of the
    // paused member's shards are hedged to their other holders.
    let (mut paused_searches, mut search_errors) = (Vec::new(), 0);
    let mut query_rng = Rng::new(sizes.seed ^ 0x5ea7);
    for cycle in 0..cycles {
        let writes = writes_per_member(&cluster, 0, MEMBERS).await?;
        let Some(victim) = (0..MEMBERS).filter(|n| writes[*n] > 0).max_by_key(|n| writes[*n]) else {
            return Err(format!("cycle {cycle}: no member writes a shard"));
        };
        let watcher = (victim + 1) % MEMBERS;
        let pid = cluster.member(victim)?.pid().ok_or("no pid")?;
        *paused.lock().await = Some(victim);
        signal(pid, "STOP")?;
        let stopped = Instant::now();
        // Its shards get new writers once its lease expires.
        loop {
            if writes_per_member(&cluster, watcher, MEMBERS).await?[victim] == 0 {
                break;
            }
            if stopped.elapsed() > Duration::from_secs(20) {
                let _ = signal(pid, "CONT");
                return Err(format!("cycle {cycle}: the paused member's shards got no new writer in 20 s"));
            }
            let body = json!({ "vector": vector(&mut query_rng), "k": 10 });
            let began = Instant::now();
            let answer =
                cluster.member(watcher)?.call(Method::POST, "/v1/vectors/index/fenced/search", Some(&body)).await;
            paused_searches.push(began.elapsed());
            if !matches!(answer, Ok((StatusCode::OK, _))) {
                search_errors += 1;
            }
        }
        takeovers.push(stopped.elapsed());
        // Writes go on for a moment under the new writers, then it wakes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        signal(pid, "CONT")?;
        let woke = Instant::now();
        while cluster.member(victim)?.call(Method::GET, "/readyz", None).await.map(|(s, _)| s) != Ok(StatusCode::OK) {
            if woke.elapsed() > Duration::from_secs(10) {
                return Err(format!("cycle {cycle}: the resumed member does not answer"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        *paused.lock().await = None;
        // It joins again and gets shards back before the next cycle.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let acked = client.await.map_err(|e| e.to_string())??;

    let mut most_lost = 0;
    for (n, member) in endpoints.iter().enumerate() {
        let present = listed_once(member, "fenced", |present| acked.is_subset(present)).await?;
        let lost = acked.difference(&present).count();
        most_lost = most_lost.max(lost);
        steps.check(
            &format!("fencing: after {cycles} pauses, member {n} finds every acknowledged write"),
            expect("lost", lost, 0),
        );
    }
    steps.check(
        &format!("fencing: {} searches while a member was paused got no error", paused_searches.len()),
        expect("errors", search_errors, 0),
    );
    paused_searches.sort_unstable();
    figures.push((
        "fencing: searches while a member is paused (reads hedged after 100 ms): count, p50 / worst".into(),
        format!(
            "{}, {:.0} / {:.0} ms",
            paused_searches.len(),
            paused_searches.get(paused_searches.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3),
            paused_searches.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        ),
    ));
    takeovers.sort_unstable();
    figures.push((
        format!("fencing: {cycles} writers paused past their lease; acknowledged writes, lost"),
        format!("{}, {most_lost}", acked.len()),
    ));
    figures.push((
        "fencing: SIGSTOP to new writers placed, median / worst".into(),
        format!(
            "{:.2} / {:.2} s",
            takeovers[takeovers.len() / 2].as_secs_f64(),
            takeovers.last().map_or(0.0, Duration::as_secs_f64)
        ),
    ));
    Ok(())
}

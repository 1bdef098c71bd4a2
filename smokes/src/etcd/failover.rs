//! Failover: four members, an index of replication 2; a client writes and
//! searches through all of them, and a member is killed with SIGKILL a
//! third of the way through. Searches get no error answer (a part whose
//! holder died is asked of the other copy), the time from the kill to the
//! next acknowledged write is measured, and every acknowledged write is
//! found afterwards through every surviving member.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Cluster, Setup, Sizes, create, listed_once, vector, write_until_acked, writes_per_member};
use crate::harness::{Endpoint, Rng, Steps, expect};

const MEMBERS: usize = 4;
const SHARDS: usize = 8;

pub(super) async fn run(setup: &Setup, sizes: &Sizes, steps: &mut Steps, figures: &mut Vec<(String, String)>) {
    if let Err(error) = measure(setup, sizes, steps, figures).await {
        steps.check("failover: a member killed under writes and searches", Err(error));
    }
}

/// Searches through `members` in turn until `stop`; answers other than 200 counted in `errors`.
fn searcher(
    members: Vec<Endpoint>,
    seed: u64,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    errors: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rng = Rng::new(seed);
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let body = json!({ "vector": vector(&mut rng), "k": 5 });
            // A killed member refuses connections: the client goes to the next; not an error answer.
            match members[n % members.len()].call(Method::POST, "/v1/vectors/index/docs/search", Some(&body)).await {
                Ok((StatusCode::OK, _)) => {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok((status, answer)) => {
                    eprintln!("failover: search answered {status}: {answer}");
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {}
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

/// The member that writes the most shards.
async fn busiest_writer(cluster: &Cluster) -> Result<usize, String> {
    let writes = writes_per_member(cluster, 0, MEMBERS).await?;
    (0..MEMBERS).max_by_key(|n| writes[*n]).filter(|n| writes[*n] > 0).ok_or_else(|| "no member writes a shard".into())
}

async fn measure(
    setup: &Setup,
    sizes: &Sizes,
    steps: &mut Steps,
    figures: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let mut cluster = Cluster::start(setup, "failover", MEMBERS, 1024).await?;
    create(&cluster.live()[0], "docs", SHARDS, 2).await?;
    cluster.placed(0, "docs", SHARDS, 2).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let (searches, search_errors) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let search =
        searcher(cluster.live(), sizes.seed ^ 77, Arc::clone(&stop), Arc::clone(&searches), Arc::clone(&search_errors));

    let mut rng = Rng::new(sizes.seed ^ 0xfa11);
    let mut acked = BTreeSet::new();
    let mut refused = 0;
    let (mut killed_at, mut failover) = (None, Duration::ZERO);
    let mut latencies = Vec::with_capacity(sizes.batches);
    let victim = busiest_writer(&cluster).await?;
    for b in 0..sizes.batches {
        if b == sizes.batches / 3 {
            if let Some(mut member) = cluster.members[victim].take() {
                member.kill();
            }
            killed_at = Some(Instant::now());
        }
        let members = cluster.live();
        let ids: Vec<String> = (0..20).map(|i| format!("b{b}-{i}")).collect();
        let items: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "vector": vector(&mut rng) })).collect();
        let sent = Instant::now();
        refused += write_until_acked(&members, b, "/v1/vectors/index/docs/add", &json!({ "items": items })).await?;
        latencies.push(sent.elapsed());
        if let Some(killed) = killed_at.take() {
            failover = killed.elapsed();
        }
        acked.extend(ids);
    }
    stop.store(true, Ordering::Relaxed);
    search.await.map_err(|e| e.to_string())?;
    steps.check(
        "failover: searches through every member got no error answer",
        expect("search errors", search_errors.load(Ordering::Relaxed), 0),
    );

    // Every acknowledged write, through every surviving member (eventual reads: within seconds).
    for (n, member) in cluster.members.iter().enumerate() {
        let Some(member) = member else { continue };
        let present = listed_once(&member.endpoint, "docs", |present| acked.is_subset(present)).await?;
        let lost = acked.difference(&present).count();
        steps.check(&format!("failover: member {n} finds every acknowledged write"), expect("lost", lost, 0));
    }
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    figures.push(("failover: acknowledged writes (batches of 20)".into(), acked.len().to_string()));
    figures.push((
        "failover: SIGKILL of a member writing shards to the next acknowledged write (lease 2 s)".into(),
        format!("{:.2} s", failover.as_secs_f64()),
    ));
    figures.push(("failover: writes refused on the way (retried)".into(), refused.to_string()));
    figures.push((
        "failover: searches during the run, error answers".into(),
        format!("{}, {}", searches.load(Ordering::Relaxed), search_errors.load(Ordering::Relaxed)),
    ));
    figures.push((
        "failover: commit latency p50 / p99 (batch of 20, replication 2)".into(),
        format!("{:.0} / {:.0} ms", ms(latencies[latencies.len() / 2]), ms(latencies[latencies.len() * 99 / 100])),
    ));
    Ok(())
}

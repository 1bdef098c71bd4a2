//! Rebalancing: four members (three in quick mode) hold an index; one more
//! joins while a client writes. Shards move to it (whole: it loads them from object storage and
//! catches up from their logs), the others hold less, and every write
//! acknowledged before, during and after the moves is found through every
//! member.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Cluster, Setup, Sizes, create, listed_once, vector, write_until_acked};
use crate::harness::{Rng, Steps, expect};

/// Shards of the index: spread over 4 members then 5 (3 then 4 in quick
/// mode), every member that was there holds fewer.
const SHARDS: usize = 20;

pub(super) async fn run(setup: &Setup, sizes: &Sizes, steps: &mut Steps, figures: &mut Vec<(String, String)>) {
    if let Err(error) = measure(setup, sizes, steps, figures).await {
        steps.check("rebalance: a member joins under writes", Err(error));
    }
}

/// Bytes and shards held per member, as member 0 sees the reports.
async fn holdings(cluster: &Cluster) -> Result<BTreeMap<String, (u64, u64)>, String> {
    let status = cluster.status(0).await?;
    Ok(status["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let name = m["name"].as_str().unwrap_or_default().to_owned();
            (name, (m["held_bytes"].as_u64().unwrap_or(0), m["held_shards"].as_u64().unwrap_or(0)))
        })
        .collect())
}

async fn measure(
    setup: &Setup,
    sizes: &Sizes,
    steps: &mut Steps,
    figures: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let members = if sizes.batches > 300 { 4 } else { 3 };
    let mut cluster = Cluster::start(setup, "rebalance", members, 1024).await?;
    create(&cluster.live()[0], "moving", SHARDS, 1).await?;
    cluster.placed(0, "moving", SHARDS, 1).await?;
    let mut rng = Rng::new(sizes.seed ^ 0x4eba);
    let mut acked = BTreeSet::new();
    let mut write = |b: usize, rng: &mut Rng| {
        let ids: Vec<String> = (0..50).map(|i| format!("m{b}-{i}")).collect();
        let items: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "vector": vector(rng) })).collect();
        acked.extend(ids);
        json!({ "items": items })
    };
    let half = sizes.batches / 2;
    for b in 0..half {
        write_until_acked(&cluster.live(), b, "/v1/vectors/index/moving/add", &write(b, &mut rng)).await?;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let before = holdings(&cluster).await?;

    let joined = cluster.add().await?;
    let joined_name = format!("n{joined}");
    let started = Instant::now();
    for b in half..sizes.batches {
        write_until_acked(&cluster.live(), b, "/v1/vectors/index/moving/add", &write(b, &mut rng)).await?;
    }
    // The moves settle: the new member holds its share, every other fewer than before.
    let share = SHARDS / (members + 1);
    let fewer = |now: &BTreeMap<String, (u64, u64)>| {
        before.iter().filter(|(name, (_, shards))| now.get(*name).is_some_and(|(_, held)| held < shards)).count()
    };
    let after = loop {
        let now = holdings(&cluster).await?;
        let settled =
            now.get(&joined_name).is_some_and(|(_, shards)| *shards as usize >= share) && fewer(&now) == before.len();
        if settled || started.elapsed() > Duration::from_secs(60) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let moved = after.get(&joined_name).map_or(0, |(_, shards)| *shards);
    steps.check(
        "rebalance: shards move to the member that joined",
        if moved as usize >= share { Ok(()) } else { Err(format!("it holds {moved} shards: {after:?}")) },
    );
    let fewer = fewer(&after);
    steps.check(
        "rebalance: every member that was there holds fewer shards",
        if fewer == before.len() { Ok(()) } else { Err(format!("before {before:?}, after {after:?}")) },
    );
    let mib = |bytes: u64| format!("{:.2}", bytes as f64 / f64::from(1 << 20));
    figures.push((
        format!("rebalance: shards per member before / after member {} of {} joins", members + 1, members + 1),
        format!(
            "{:?} / {:?}",
            before.values().map(|(_, s)| *s).collect::<Vec<_>>(),
            after.values().map(|(_, s)| *s).collect::<Vec<_>>()
        ),
    ));
    figures.push((
        "rebalance: MiB held per member before (half the writes) / after (all of them)".into(),
        format!(
            "{:?} / {:?}",
            before.values().map(|(b, _)| mib(*b)).collect::<Vec<_>>(),
            after.values().map(|(b, _)| mib(*b)).collect::<Vec<_>>()
        ),
    ));
    for (n, member) in cluster.live().iter().enumerate() {
        let present = listed_once(member, "moving", |present| acked.is_subset(present)).await?;
        let lost = acked.difference(&present).count();
        steps.check(&format!("rebalance: member {n} finds every acknowledged write"), expect("lost", lost, 0));
    }
    Ok(())
}

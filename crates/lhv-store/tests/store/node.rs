//! Nodes of a cluster on a real etcd over one store: an index placed and
//! loaded across them, writes routed to each shard's writer, replicas
//! following on watched heads, failover when a node dies (its lease expires
//! on etcd's clock), a drop that unloads everywhere, and concurrent creates
//! of one name through several nodes (B1) with exactly one winner.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use lhv_core::{IndexParams, Item, Metric, shard_of};
use lhv_store::control::ControlPlane;
use lhv_store::member::ShardOptions;
use lhv_store::node::{Node, NodeOptions};
use lhv_store::{Error, Store};

use crate::support::{ETCD_VAR, backend, server_url, unique};

fn options(name: &str) -> NodeOptions {
    NodeOptions {
        name: name.to_owned(),
        address: format!("127.0.0.1:{}", 9000 + name.len()),
        memory_budget: 1 << 30,
        lease_ttl: Duration::from_secs(2),
        shards: ShardOptions {
            snapshot_log_bytes: 4 << 10,
            write_margin: Duration::from_millis(500),
            ..ShardOptions::default()
        },
        tick: Duration::from_millis(100),
        max_moves: 2,
    }
}

/// A node called `name` of the cluster under `prefix`.
async fn start_node(store: &Arc<dyn Store>, prefix: &str, name: &str) -> Arc<Node> {
    let control = ControlPlane::connect(&[server_url(ETCD_VAR)], prefix).await.unwrap();
    Node::start(control, Arc::clone(store), options(name)).await.unwrap()
}

/// `count` nodes (`n0`, `n1`, ...) of a new cluster.
async fn nodes(store: &Arc<dyn Store>, count: usize) -> Vec<Arc<Node>> {
    let prefix = format!("/lhv-test/{}/", unique());
    let mut out = Vec::new();
    for n in 0..count {
        out.push(start_node(store, &prefix, &format!("n{n}")).await);
    }
    out
}

/// Waits until `done` holds, up to 20 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every shard of `name` placed on live nodes `replication` times and loaded by each holder.
fn settled(nodes: &[Arc<Node>], name: &str, replication: usize) -> bool {
    let Ok((record, routes)) = nodes[0].route(name) else { return false };
    routes.iter().enumerate().all(|(shard, route)| {
        let Some((writer, _)) = &route.writer else { return false };
        let holders: Vec<&String> = std::iter::once(writer).chain(route.replicas.iter().map(|(n, _)| n)).collect();
        holders.len() == replication
            && holders.iter().all(|holder| {
                nodes.iter().any(|node| {
                    node.name() == holder.as_str()
                        && node
                            .held()
                            .get(&(record.incarnation.clone(), shard as u32))
                            .is_some_and(|token| (token.is_some()) == (*holder == writer))
                })
            })
    })
}

fn item(i: usize) -> Item {
    Item { id: format!("id-{i}"), vector: vec![i as f32, 1.0, 0.5, 2.0], metadata: None, ..Item::default() }
}

/// Writes `items` as a router would: split by shard, each part to its
/// writer, again (as a client retries a 503) while a shard is changing hands.
async fn write(nodes: &[Arc<Node>], name: &str, items: Vec<Item>) -> Result<(), Error> {
    let shards = nodes[0].route(name)?.0.shards;
    for shard in 0..shards {
        let part: Vec<Item> =
            items.iter().filter(|it| shard_of(&it.id, shards as usize) == shard as usize).cloned().collect();
        if part.is_empty() {
            continue;
        }
        let started = Instant::now();
        loop {
            match write_part(nodes, name, shard, part.clone()).await {
                Ok(()) => break,
                Err(error) if started.elapsed() < Duration::from_secs(20) => {
                    tracing::debug!(%error, "shard {shard} is changing hands; again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

async fn write_part(nodes: &[Arc<Node>], name: &str, shard: u32, part: Vec<Item>) -> Result<(), Error> {
    let (_, routes) = nodes[0].route(name)?;
    let Some((writer, _)) = &routes[shard as usize].writer else { return Err(Error::NotWriter { name: name.into() }) };
    let Some(node) = nodes.iter().find(|n| n.name() == writer) else {
        return Err(Error::NotWriter { name: name.into() });
    };
    let Some(local) = node.local(name)? else { return Err(Error::NotWriter { name: name.into() }) };
    local.subset(&[shard as usize])?.upsert(part).await?;
    Ok(())
}

/// The ids every holder of every shard has, as one set per shard and holder.
fn ids_held(nodes: &[Arc<Node>], name: &str) -> Vec<BTreeSet<String>> {
    nodes
        .iter()
        .filter_map(|n| n.local(name).ok().flatten())
        .map(|part| part.index().ids_where(std::ops::Bound::Unbounded, usize::MAX, None).unwrap().into_iter().collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_index_lives_across_nodes_and_survives_one_dying_on_memory() {
    lives_across_nodes(backend("memory").store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_index_lives_across_nodes_and_survives_one_dying_on_s3() {
    lives_across_nodes(backend("s3").store).await;
}

async fn lives_across_nodes(store: Arc<dyn Store>) {
    let nodes = nodes(&store, 3).await;
    nodes[1].create_index("docs", IndexParams::new(4, Metric::L2), 4, 2).await.unwrap();
    until("placement", || settled(&nodes, "docs", 2)).await;

    let mut acknowledged = BTreeSet::new();
    for batch in 0..5 {
        let items: Vec<Item> = (batch * 40..batch * 40 + 40).map(item).collect();
        write(&nodes, "docs", items.clone()).await.unwrap();
        acknowledged.extend(items.into_iter().map(|it| it.id));
    }
    // Replicas follow the heads their writers report: each holder of each
    // shard ends with every acknowledged write of it.
    until("replicas to catch up", || {
        let (record, routes) = nodes[0].route("docs").unwrap();
        (0..record.shards as usize).all(|shard| {
            let want = acknowledged.iter().filter(|id| shard_of(id, 4) == shard).count();
            let holders = std::iter::once(routes[shard].writer.clone().unwrap().0)
                .chain(routes[shard].replicas.iter().map(|r| r.0.clone()));
            holders.into_iter().all(|holder| {
                let node = nodes.iter().find(|n| n.name() == holder).unwrap();
                let part = node.local("docs").ok().flatten().and_then(|p| p.subset(&[shard]).ok());
                part.is_some_and(|part| part.index().len() == want)
            })
        })
    })
    .await;

    // n2 dies (no goodbye): its lease expires, its shards move to the others.
    let dead = Arc::clone(&nodes[2]);
    dead.halt();
    let alive = &nodes[..2];
    until("failover", || {
        let view = alive[0].view();
        !view.members.contains_key("n2") && settled(alive, "docs", 2)
    })
    .await;
    let more: Vec<Item> = (200..240).map(item).collect();
    write(alive, "docs", more.clone()).await.unwrap();
    acknowledged.extend(more.into_iter().map(|it| it.id));
    until("the survivors to hold everything", || ids_held(alive, "docs").iter().all(|ids| *ids == acknowledged)).await;
    // The dead node cannot commit to a shard it wrote: its membership is
    // gone, and its successor claimed the head under a larger token.
    let written: Vec<u32> = dead.held().into_iter().filter(|(_, t)| t.is_some()).map(|((_, s), _)| s).collect();
    assert!(!written.is_empty(), "n2 wrote some shard");
    let part = dead.local("docs").unwrap().unwrap().subset(&[written[0] as usize]).unwrap();
    let id = (0..).map(|i| format!("late-{i}")).find(|id| shard_of(id, 4) == written[0] as usize).unwrap();
    let late = part.upsert(vec![Item { id: id.clone(), ..item(0) }]).await;
    assert!(matches!(late, Err(Error::NotWriter { .. } | Error::LeaseLost { .. })), "{late:?}");
    assert!(ids_held(alive, "docs").iter().all(|ids| !ids.contains(&id)));

    // A drop through one node unloads it everywhere and removes its objects.
    let (record, _) = alive[0].route("docs").unwrap();
    alive[1].drop_index("docs").await.unwrap();
    until("unload", || alive.iter().all(|n| n.held().is_empty())).await;
    until("its heads and placement to go", || {
        let view = alive[0].view();
        !view.heads.keys().chain(view.placements.keys()).any(|(inc, _)| *inc == record.incarnation)
    })
    .await;
    assert!(store.list(&format!("_cluster/{}", record.incarnation)).await.unwrap().is_empty());
    for node in alive {
        node.stop().await.unwrap();
    }
}

/// B1: eight concurrent creates of one name through three nodes (different
/// dimensions): one wins, the others are refused, and only the winner's
/// objects remain; the index then serves writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_through_several_nodes_leave_one_index() {
    let store = backend("memory").store;
    let nodes = nodes(&store, 3).await;
    let creates = (0..8).map(|i| {
        let node = Arc::clone(&nodes[i % 3]);
        async move { node.create_index("race", IndexParams::new(4 + i, Metric::Cosine), 2, 1).await }
    });
    let outcomes = join_all(creates).await;
    let winners: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok() || matches!(o, Err(Error::IndexExists { .. }))), "{outcomes:?}");
    let objects = store.list("_cluster").await.unwrap();
    assert!(!objects.is_empty());
    assert!(objects.iter().all(|key| key.starts_with(&format!("_cluster/{}/", winners[0].incarnation))), "{objects:?}");
    until("placement", || settled(&nodes, "race", 1)).await;
    let dim = winners[0].params.dim;
    let items = (0..30)
        .map(|i| Item { id: format!("p{i}"), vector: vec![1.0 + i as f32; dim], metadata: None, ..Default::default() })
        .collect();
    write(&nodes, "race", items).await.unwrap();
    for node in &nodes {
        node.stop().await.unwrap();
    }
}

/// An etcd of this test's own (the `etcd` binary `cargo xtask ci`
/// installs), to stop and start again.
struct PrivateEtcd {
    child: Option<std::process::Child>,
    dir: tempfile::TempDir,
    port: u16,
    peer: u16,
}

/// Two distinct free ports (both held at once while they are picked).
fn free_ports() -> (u16, u16) {
    let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let second = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (first.local_addr().unwrap().port(), second.local_addr().unwrap().port())
}

impl PrivateEtcd {
    /// A port picked free can be taken by another test before etcd binds it;
    /// etcd then exits at once, and it is started again on other ports (with
    /// a fresh data directory, which records the peer address).
    fn start() -> Self {
        let mut failures = Vec::new();
        for _ in 0..3 {
            let (port, peer) = free_ports();
            let mut etcd = Self { child: None, dir: tempfile::tempdir().unwrap(), port, peer };
            match etcd.try_start() {
                Ok(()) => return etcd,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("etcd did not start: {failures:#?}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts etcd again on the same ports and data.
    fn restart(&mut self) {
        if let Err(failure) = self.try_start() {
            panic!("etcd did not start again: {failure}");
        }
    }

    /// Spawns etcd and waits for its client port; on failure, why (its log's end).
    fn try_start(&mut self) -> Result<(), String> {
        let peer = format!("http://127.0.0.1:{}", self.peer);
        let log_path = self.dir.path().join("etcd.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).unwrap();
        let child = std::process::Command::new("etcd")
            .args(["--name", "private", "--data-dir"])
            .arg(self.dir.path().join("data"))
            .args(["--listen-client-urls", &self.url(), "--advertise-client-urls", &self.url()])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("private={peer}")])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("this test runs etcd itself: install Debian's etcd-server (cargo xtask ci does)");
        let child = self.child.insert(child);
        let started = Instant::now();
        let failure = loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                break format!("etcd exited ({status})");
            }
            if started.elapsed() > Duration::from_secs(30) {
                break "etcd's client port was not open after 30 s".to_owned();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.kill();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(format!("{failure}; its log ends: {tail:?}"))
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateEtcd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// etcd goes away: the node answers reads from what it holds, its writes
/// stop once its lease may have expired, and when etcd is back it joins
/// again, is placed again, and writes resume with nothing acknowledged lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_etcd_stops_writes_not_reads() {
    let mut etcd = PrivateEtcd::start();
    let store = backend("memory").store;
    let control = ControlPlane::connect(&[etcd.url()], "/private/").await.unwrap();
    let node = Node::start(control, Arc::clone(&store), options("solo")).await.unwrap();
    let nodes = [Arc::clone(&node)];
    node.create_index("docs", IndexParams::new(4, Metric::L2), 1, 1).await.unwrap();
    until("placement", || settled(&nodes, "docs", 1)).await;
    write(&nodes, "docs", (0..10).map(item).collect()).await.unwrap();

    etcd.kill();
    let stopped = Instant::now();
    let mut refused = None;
    for attempt in 10.. {
        assert!(stopped.elapsed() < Duration::from_secs(10), "writes never stopped without etcd");
        let part = node.local("docs").unwrap().unwrap();
        // Reads go on throughout.
        assert!(part.index().len() >= 10);
        match part.upsert(vec![item(attempt)]).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => {
                refused = Some(error);
                break;
            }
        }
    }
    assert!(matches!(refused, Some(Error::NotWriter { .. } | Error::LeaseLost { .. })), "{refused:?}");
    let acknowledged = node.local("docs").unwrap().unwrap().index().len();

    etcd.restart();
    let back = Instant::now();
    loop {
        assert!(back.elapsed() < Duration::from_secs(30), "writes never resumed once etcd was back");
        if let Ok(Some(part)) = node.local("docs")
            && part.upsert(vec![item(1000)]).await.is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let part = node.local("docs").unwrap().unwrap();
    assert_eq!(part.index().len(), acknowledged + 1, "every write acknowledged before the outage, and the new one");
    node.stop().await.unwrap();
}

/// A read through a replica after `sync` sees every acknowledged write at
/// once, without waiting for the watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_synced_replica_sees_every_acknowledged_write() {
    let store = backend("memory").store;
    let nodes = nodes(&store, 2).await;
    nodes[0].create_index("docs", IndexParams::new(4, Metric::L2), 1, 2).await.unwrap();
    until("placement", || settled(&nodes, "docs", 2)).await;
    let (_, routes) = nodes[0].route("docs").unwrap();
    let writer = routes[0].writer.clone().unwrap().0;
    let replica = nodes.iter().find(|n| n.name() != writer).unwrap();
    for round in 0..20 {
        write(&nodes, "docs", vec![item(round)]).await.unwrap();
        replica.sync("docs").await.unwrap();
        assert_eq!(replica.local("docs").unwrap().unwrap().index().len(), round + 1);
    }
    for node in &nodes {
        node.stop().await.unwrap();
    }
}

/// A router retrying a failed part sends its shards again after others, so
/// a call may name them out of order: the part is the same either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_part_named_out_of_order_is_the_same_part() {
    let store = backend("memory").store;
    let nodes = nodes(&store, 1).await;
    nodes[0].create_index("docs", IndexParams::new(4, Metric::L2), 4, 1).await.unwrap();
    until("placement", || settled(&nodes, "docs", 1)).await;
    write(&nodes, "docs", (0..40).map(item).collect()).await.unwrap();
    let (record, _) = nodes[0].route("docs").unwrap();
    let ids = |numbers: &[u32]| -> BTreeSet<String> {
        let part = nodes[0].part("docs", &record.incarnation, numbers).unwrap();
        part.index().ids_where(std::ops::Bound::Unbounded, usize::MAX, None).unwrap().into_iter().collect()
    };
    let in_order = ids(&[1, 2]);
    let expected: BTreeSet<String> =
        (0..40).map(|i| format!("id-{i}")).filter(|id| matches!(shard_of(id, 4), 1 | 2)).collect();
    assert_eq!(in_order, expected);
    assert_eq!(ids(&[2, 1]), in_order);
    assert!(nodes[0].part("docs", &record.incarnation, &[1, 1]).is_err(), "a repeated shard is refused");
    nodes[0].stop().await.unwrap();
}

/// A fourth node joins three that hold an index: shards move to it (it
/// loads them from object storage and catches up; nothing is copied between
/// nodes), the others hold fewer, and every acknowledged write is still
/// held by every holder of its shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_joining_node_takes_shards_off_the_others() {
    let store = backend("memory").store;
    let prefix = format!("/lhv-test/{}/", unique());
    let mut nodes = Vec::new();
    for name in ["n0", "n1", "n2"] {
        nodes.push(start_node(&store, &prefix, name).await);
    }
    nodes[0].create_index("docs", IndexParams::new(4, Metric::L2), 6, 1).await.unwrap();
    until("placement", || settled(&nodes, "docs", 1)).await;
    let items: Vec<Item> = (0..600).map(item).collect();
    let ids: BTreeSet<String> = items.iter().map(|it| it.id.clone()).collect();
    write(&nodes, "docs", items).await.unwrap();
    // The shards' sizes are reported before the newcomer comes.
    until("loads", || nodes[0].view().loads.values().map(|l| l.shards.len()).sum::<usize>() == 6).await;
    let before: Vec<usize> = nodes.iter().map(|n| n.held().len()).collect();

    let joined = start_node(&store, &prefix, "late").await;
    let mut everyone = nodes.clone();
    everyone.push(Arc::clone(&joined));
    until("the newcomer to take shards", || !joined.held().is_empty() && settled(&everyone, "docs", 1)).await;
    let after: Vec<usize> = nodes.iter().map(|n| n.held().len()).collect();
    assert!(after.iter().sum::<usize>() < before.iter().sum::<usize>(), "before {before:?}, after {after:?}");
    until("every write held", || {
        let held: BTreeSet<String> = ids_held(&everyone, "docs").into_iter().flatten().collect();
        held == ids
    })
    .await;
    for node in &everyone {
        node.stop().await.unwrap();
    }
}

/// An idle cluster reads and writes nothing in object storage: replicas
/// learn of new writes from the heads their writers report in etcd, not by
/// polling (the old design's idle GETs cost money at scale).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_cluster_makes_no_storage_requests() {
    use lhv_store::testing::{Fault, FaultyStore};
    let counting = Arc::new(FaultyStore::new(backend("memory").store));
    let store: Arc<dyn Store> = Arc::clone(&counting) as Arc<dyn Store>;
    let nodes = nodes(&store, 3).await;
    nodes[0].create_index("docs", IndexParams::new(4, Metric::L2), 4, 2).await.unwrap();
    until("placement", || settled(&nodes, "docs", 2)).await;
    write(&nodes, "docs", (0..100).map(item).collect()).await.unwrap();
    until("replicas", || ids_held(&nodes, "docs").iter().map(BTreeSet::len).sum::<usize>() == 200).await;
    // Idle means the controller has nothing left to move either.
    until("the controller to rest", || {
        let view = nodes[0].view();
        view.loads.len() == 3 && lhv_store::controller::plan(&view.controller_state(), 2).is_empty()
    })
    .await;
    until("placement", || settled(&nodes, "docs", 2)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    counting.set(Fault::None);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(counting.operations(), 0, "storage requests while idle (30 rounds of every loop)");
    for node in &nodes {
        node.stop().await.unwrap();
    }
}

/// Resharding by doubling: 2 shards become 4 (a new incarnation); every
/// acknowledged item is in the new shard its id hashes to (the members load
/// the new shards, which checks that), exact searches over the new shards
/// merged equal brute force, writes go on afterwards, and nothing of the
/// old incarnation is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resharding_doubles_the_shards_and_keeps_every_item() {
    use lhv_core::{SearchOptions, merge_hits};
    let store = backend("memory").store;
    let nodes = nodes(&store, 2).await;
    let old = nodes[0].create_index("docs", IndexParams::new(4, Metric::L2), 2, 1).await.unwrap();
    until("placement", || settled(&nodes, "docs", 1)).await;
    let items: Vec<Item> = (0..300).map(item).collect();
    write(&nodes, "docs", items.clone()).await.unwrap();

    let next = nodes[1].reshard("docs").await.unwrap();
    assert_eq!((next.shards, next.replication), (4, 1));
    assert_ne!(next.incarnation, old.incarnation);
    until("the new shards placed", || {
        nodes[0].route("docs").is_ok_and(|(record, _)| record.incarnation == next.incarnation)
            && settled(&nodes, "docs", 1)
    })
    .await;
    let ids: BTreeSet<String> = items.iter().map(|it| it.id.clone()).collect();
    until("every item in a new shard", || {
        ids_held(&nodes, "docs").into_iter().flatten().collect::<BTreeSet<_>>() == ids
    })
    .await;
    let exact = SearchOptions { exact: true, ..SearchOptions::default() };
    let query = [3.5, 1.0, 0.5, 2.0];
    let answers = nodes
        .iter()
        .filter_map(|n| n.local("docs").unwrap())
        .map(|p| p.index().search(&query, 5, &exact).unwrap())
        .collect();
    let merged: Vec<String> = merge_hits(answers, 5).into_iter().map(|h| h.id).collect();
    let mut brute: Vec<(f32, String)> =
        items.iter().map(|it| (Metric::L2.distance(&query, &it.vector).unwrap(), it.id.clone())).collect();
    brute.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    assert_eq!(merged, brute.into_iter().take(5).map(|(_, id)| id).collect::<Vec<_>>());

    write(&nodes, "docs", (300..340).map(item).collect()).await.unwrap();
    assert!(store.list(&format!("_cluster/{}", old.incarnation)).await.unwrap().is_empty());
    for node in &nodes {
        node.stop().await.unwrap();
    }
}

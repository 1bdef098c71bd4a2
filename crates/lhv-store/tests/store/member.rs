//! Cluster shards in object storage, fenced by placement tokens: a promoted
//! replica makes its predecessor's commits fail, racing writers commit only
//! under the latest token, a drop fences a writer still running. Against
//! the in-memory store and the real S3 server (SeaweedFS), with members
//! on a real etcd.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lhv_core::{IndexParams, Item, Metric, SearchOptions, merge_hits, shard_of};
use lhv_store::control::{ControlPlane, MemberRecord, Membership};
use lhv_store::member::{
    ClusterShard, Followed, ShardOptions, create_incarnation, fence_incarnation, member_index, remove_incarnation,
};
use lhv_store::{Error, Store};

use crate::support::{ETCD_VAR, backend, server_url, unique};

fn item(id: &str, x: f32) -> Item {
    Item { id: id.to_owned(), vector: vec![x, 1.0, 0.5, -x], metadata: None, ..Item::default() }
}

/// `n` members of one cluster, each with its own connection and lease.
async fn members(n: usize) -> Vec<Arc<Membership>> {
    let prefix = format!("/lhv-test/{}/", unique());
    let mut out = Vec::new();
    for i in 0..n {
        let plane = ControlPlane::connect(&[server_url(ETCD_VAR)], &prefix).await.unwrap();
        let record = MemberRecord { address: format!("127.0.0.1:{i}"), memory_budget: 1 << 30 };
        out.push(Arc::new(plane.join(&format!("n{i}"), &record, Duration::from_secs(10)).await.unwrap()));
    }
    out
}

async fn open(store: &Arc<dyn Store>, incarnation: &str, member: &Arc<Membership>) -> ClusterShard {
    ClusterShard::open(Arc::clone(store), incarnation, 0, Arc::clone(member), &ShardOptions::default()).await.unwrap()
}

fn ids(shard: &ClusterShard) -> BTreeSet<String> {
    shard.index().ids_where(std::ops::Bound::Unbounded, usize::MAX, None).unwrap().into_iter().collect()
}

/// Five handovers between two members: each promoted replica claims the
/// head under a larger token, after which its predecessor's write fails
/// (not acknowledged, not applied) and a fresh replica holds exactly the
/// acknowledged writes.
async fn handovers(store: Arc<dyn Store>) {
    let nodes = members(2).await;
    let incarnation = unique();
    create_incarnation(store.as_ref(), &incarnation, IndexParams::new(4, Metric::L2), 1).await.unwrap();
    let shards = [open(&store, &incarnation, &nodes[0]).await, open(&store, &incarnation, &nodes[1]).await];
    let mut acknowledged = BTreeSet::new();
    for round in 0..5u32 {
        let (writer, old) = (&shards[(round % 2) as usize], &shards[((round + 1) % 2) as usize]);
        let token = 10 + u64::from(round) * 10;
        assert!(matches!(writer.catch_up().await.unwrap(), Followed::Current(_)));
        writer.set_writer(Some(token));
        writer.claim().await.unwrap();
        let id = format!("r{round}");
        writer.upsert(vec![item(&id, round as f32)]).await.unwrap();
        acknowledged.insert(id);
        if round > 0 {
            // The predecessor still believes it writes, under the last token.
            let late = old.upsert(vec![item(&format!("late{round}"), 0.0)]).await;
            assert!(matches!(late, Err(Error::LeaseLost { .. })), "round {round}: {late:?}");
            assert!(old.writer_token().is_none(), "it forgot its token");
            assert!(!ids(old).contains(&format!("late{round}")), "a failed write is not applied");
        }
    }
    let fresh = open(&store, &incarnation, &nodes[0]).await;
    assert_eq!(ids(&fresh), acknowledged);
    // A writer told an old token cannot claim over a newer head.
    fresh.set_writer(Some(15));
    assert!(matches!(fresh.claim().await, Err(Error::LeaseLost { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handovers_on_memory() {
    handovers(backend("memory").store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handovers_on_s3() {
    handovers(backend("s3").store).await;
}

/// Two members write at once, each believing it is the writer (tokens 10
/// and 20), 40 writes each, all in flight together: every acknowledged
/// write is in a fresh replica, and after the first write under 20 lands,
/// none under 10 is acknowledged.
async fn racing_writers(store: Arc<dyn Store>) {
    let nodes = members(2).await;
    let incarnation = unique();
    create_incarnation(store.as_ref(), &incarnation, IndexParams::new(4, Metric::Cosine), 1).await.unwrap();
    let (old, new) = (open(&store, &incarnation, &nodes[0]).await, open(&store, &incarnation, &nodes[1]).await);
    old.set_writer(Some(10));
    new.set_writer(Some(20));
    let (from_old, from_new) = tokio::join!(write_many(&old, "old"), write_many(&new, "new"));
    let acknowledged: BTreeSet<String> =
        from_old.iter().chain(&from_new).filter(|(_, r)| r.is_ok()).map(|(id, _)| id.clone()).collect();
    assert!(from_new.iter().all(|(_, r)| r.is_ok()), "the latest token always commits: {from_new:?}");
    for (id, outcome) in &from_old {
        assert!(
            outcome.is_ok() || matches!(outcome, Err(Error::LeaseLost { .. } | Error::NotWriter { .. })),
            "{id}: {outcome:?}"
        );
    }
    let fresh = open(&store, &incarnation, &nodes[0]).await;
    let held = ids(&fresh);
    assert!(acknowledged.is_subset(&held), "lost: {:?}", acknowledged.difference(&held).collect::<Vec<_>>());
    // Once the new writer has claimed, the old one commits nothing more.
    assert!(matches!(
        old.upsert(vec![item("after", 1.0)]).await,
        Err(Error::LeaseLost { .. } | Error::NotWriter { .. })
    ));
}

/// 40 single-item writes to `shard`, all in flight at once: each id and its outcome.
async fn write_many(shard: &ClusterShard, name: &str) -> Vec<(String, Result<lhv_core::UpsertOutcome, Error>)> {
    let writes = (0..40).map(|i| {
        let id = format!("{name}{i}");
        async move {
            let outcome = shard.upsert(vec![item(&id, i as f32 + 1.0)]).await;
            (id, outcome)
        }
    });
    futures::future::join_all(writes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_on_memory() {
    racing_writers(backend("memory").store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_on_s3() {
    racing_writers(backend("s3").store).await;
}

/// B2: a drop fences the incarnation's heads with its revision, so a writer
/// that was not told (or paused) cannot acknowledge a write after the
/// drop; then the incarnation's objects go, all of them.
#[tokio::test]
async fn a_drop_fences_a_running_writer() {
    let store = backend("s3").store;
    let nodes = members(1).await;
    let incarnation = unique();
    create_incarnation(store.as_ref(), &incarnation, IndexParams::new(4, Metric::Dot), 2).await.unwrap();
    let writers = [
        ClusterShard::open(Arc::clone(&store), &incarnation, 0, Arc::clone(&nodes[0]), &ShardOptions::default())
            .await
            .unwrap(),
        ClusterShard::open(Arc::clone(&store), &incarnation, 1, Arc::clone(&nodes[0]), &ShardOptions::default())
            .await
            .unwrap(),
    ];
    for (n, writer) in writers.iter().enumerate() {
        writer.set_writer(Some(7));
        writer.upsert(vec![item(&format!("before{n}"), 1.0)]).await.unwrap();
    }
    fence_incarnation(store.as_ref(), &incarnation, 2, 50).await.unwrap();
    fence_incarnation(store.as_ref(), &incarnation, 2, 50).await.unwrap();
    for writer in &writers {
        let after = writer.upsert(vec![item("after", 1.0)]).await;
        assert!(matches!(after, Err(Error::LeaseLost { .. })), "{after:?}");
    }
    remove_incarnation(store.as_ref(), &incarnation).await.unwrap();
    assert_eq!(store.list(&format!("_cluster/{incarnation}")).await.unwrap(), Vec::<String>::new());
}

/// An index of 4 shards over two members, each writing two (0, 2 and 1, 3):
/// a batch split by `shard_of` as a router splits it commits each part on
/// its writer; a part sent to the wrong member is refused whole; the two
/// members' exact searches merged equal brute force; a member loading all
/// four shards afterwards holds every acknowledged item.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_hold_an_index_between_them() {
    let store = backend("memory").store;
    let nodes = members(2).await;
    let incarnation = unique();
    create_incarnation(store.as_ref(), &incarnation, IndexParams::new(4, Metric::L2), 4).await.unwrap();
    let options = ShardOptions::default();
    let mut held = Vec::new();
    for number in 0..4u32 {
        let node = &nodes[(number % 2) as usize];
        let shard =
            ClusterShard::open(Arc::clone(&store), &incarnation, number, Arc::clone(node), &options).await.unwrap();
        shard.set_writer(Some(10 + u64::from(number)));
        held.push(shard);
    }
    let parts = [
        member_index("docs", 4, &[&held[0], &held[2]]).unwrap(),
        member_index("docs", 4, &[&held[1], &held[3]]).unwrap(),
    ];
    assert_eq!(parts[0].shard_count(), 4);
    let items: Vec<Item> = (0..200).map(|i| item(&format!("id-{i}"), i as f32 / 7.0)).collect();
    let (even, odd): (Vec<Item>, Vec<Item>) =
        items.iter().cloned().partition(|it| shard_of(&it.id, 4).is_multiple_of(2));
    // The wrong member refuses a part whole: nothing of it is written.
    let refused = parts[1].upsert(even.clone()).await;
    assert!(matches!(refused, Err(Error::Index(lhv_core::Error::ShardNotHeld { .. }))), "{refused:?}");
    assert_eq!(parts[1].index().len(), 0);
    let (a, b) = tokio::join!(parts[0].upsert(even), parts[1].upsert(odd));
    assert_eq!(a.unwrap().inserted + b.unwrap().inserted, 200);
    // A forwarded request restricted to one shard touches only that shard.
    let only_two = parts[0].subset(&[2]).unwrap();
    let of_two: Vec<String> = (0..200).map(|i| format!("id-{i}")).filter(|id| shard_of(id, 4) == 2).collect();
    assert_eq!(only_two.delete(of_two.clone()).await.unwrap(), of_two.len());
    assert!(parts[0].subset(&[1]).is_err(), "shard 1 is the other member's");

    let exact = SearchOptions { exact: true, ..SearchOptions::default() };
    let query = [0.3, 1.0, 0.5, -0.3];
    let answers = parts.iter().map(|p| p.index().search(&query, 10, &exact).unwrap()).collect();
    let merged: Vec<String> = merge_hits(answers, 10).into_iter().map(|h| h.id).collect();
    let mut brute: Vec<(f32, String)> = items
        .iter()
        .filter(|it| !of_two.contains(&it.id))
        .map(|it| (Metric::L2.distance(&query, &it.vector).unwrap(), it.id.clone()))
        .collect();
    brute.sort_by(|x, y| x.0.total_cmp(&y.0).then_with(|| x.1.cmp(&y.1)));
    let brute: Vec<String> = brute.into_iter().take(10).map(|(_, id)| id).collect();
    assert_eq!(merged, brute);

    let mut all = Vec::new();
    for number in 0..4u32 {
        all.push(
            ClusterShard::open(Arc::clone(&store), &incarnation, number, Arc::clone(&nodes[0]), &options)
                .await
                .unwrap(),
        );
    }
    let whole = member_index("docs", 4, &all.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(whole.index().len(), 200 - of_two.len());
}

/// A replica that fell behind while its writer wrote snapshots: what the
/// replica's catch-up does, with covered log objects kept `retention`.
async fn behind_two_snapshots(store: &Arc<dyn Store>, retention: Duration) -> (Followed, BTreeSet<String>) {
    let nodes = members(2).await;
    let incarnation = unique();
    create_incarnation(store.as_ref(), &incarnation, IndexParams::new(4, Metric::L2), 1).await.unwrap();
    let options = ShardOptions { log_retention: retention, ..ShardOptions::default() };
    let writer = ClusterShard::open(Arc::clone(store), &incarnation, 0, Arc::clone(&nodes[0]), &options).await.unwrap();
    let replica =
        ClusterShard::open(Arc::clone(store), &incarnation, 0, Arc::clone(&nodes[1]), &options).await.unwrap();
    writer.set_writer(Some(10));
    writer.claim().await.unwrap();
    for i in 0..6u8 {
        writer.upsert(vec![item(&format!("w{i}"), f32::from(i))]).await.unwrap();
        if i % 3 == 2 {
            writer.snapshot().await.unwrap();
        }
    }
    let followed = replica.catch_up().await.unwrap();
    assert_eq!(ids(&replica).len(), if matches!(followed, Followed::Current(_)) { 6 } else { 0 });
    (followed, ids(&writer))
}

/// Within the retention window a replica behind its writer's snapshots
/// reads the log objects they cover (they are still there, and the head
/// does not say otherwise); with no retention it must reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_behind_snapshots_catches_up_from_retained_log_objects() {
    let store = backend("memory").store;
    let (followed, written) = behind_two_snapshots(&store, Duration::from_secs(60)).await;
    assert!(matches!(followed, Followed::Current(6)), "{followed:?}");
    assert_eq!(written.len(), 6);
    let (followed, _) = behind_two_snapshots(&store, Duration::ZERO).await;
    assert!(matches!(followed, Followed::Reload(_)), "{followed:?}");
}

/// Covered log objects do not stay for good: once their window has passed,
/// the writer's next snapshot removes them (and says so in the head first).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retained_log_objects_go_once_their_window_has_passed() {
    let store = backend("memory").store;
    let nodes = members(1).await;
    let incarnation = unique();
    create_incarnation(store.as_ref(), &incarnation, IndexParams::new(4, Metric::L2), 1).await.unwrap();
    let options = ShardOptions { log_retention: Duration::from_millis(200), ..ShardOptions::default() };
    let writer =
        ClusterShard::open(Arc::clone(&store), &incarnation, 0, Arc::clone(&nodes[0]), &options).await.unwrap();
    writer.set_writer(Some(10));
    writer.claim().await.unwrap();
    let objects = || async {
        let listed = store.list(&format!("_cluster/{incarnation}/")).await.unwrap();
        listed.into_iter().filter(|key| key.contains(".wal/") && !key.ends_with("/head")).count()
    };
    for i in 0..4u8 {
        writer.upsert(vec![item(&format!("w{i}"), f32::from(i))]).await.unwrap();
    }
    writer.snapshot().await.unwrap();
    assert_eq!(objects().await, 4, "covered, kept for the window");
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer.upsert(vec![item("last", 9.0)]).await.unwrap();
    writer.snapshot().await.unwrap();
    assert_eq!(objects().await, 1, "the first four went; the last is in its window");
}

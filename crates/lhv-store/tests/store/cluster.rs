//! Several processes over one store (here: catalogs sharing one memory
//! store, each with its own clock): one writer per index chosen by its
//! lease, replicas following the log, takeover after expiry with nothing
//! acknowledged lost, and fencing: a writer that paused past its lease and
//! wakes up can neither acknowledge a write nor damage the log or the snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use futures::future::join_all;
use lhv_core::{IndexParams, Item, Metric};
use lhv_store::{
    Catalog, CatalogOptions, Clock, ClusterOptions, Error, ObjectVersion, Route, Store, StoreFuture, open_url,
};
use tokio::sync::Notify;

const TTL: u64 = 3_000;

/// A clock a test moves by hand; a paused process is one whose clock stands still.
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn at(ms: u64) -> Self {
        Self(Arc::new(AtomicU64::new(ms)))
    }
    fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Clock::from_fn(move || now.load(Ordering::SeqCst))
    }
}

/// A store whose log creates can be held up, as a process that pauses
/// between deciding to write and writing.
#[derive(Debug)]
struct PausableStore {
    inner: Arc<dyn Store>,
    hold_log_writes: AtomicBool,
    hold_head_writes: AtomicBool,
    reached: Notify,
    resume: Notify,
}

impl PausableStore {
    fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            hold_log_writes: AtomicBool::new(false),
            hold_head_writes: AtomicBool::new(false),
            reached: Notify::new(),
            resume: Notify::new(),
        })
    }

    async fn pause_if(&self, flag: &AtomicBool) {
        if flag.swap(false, Ordering::SeqCst) {
            self.reached.notify_one();
            self.resume.notified().await;
        }
    }
}

impl Store for PausableStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Bytes>> {
        self.inner.get(key)
    }
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        self.inner.put(key, bytes)
    }
    fn put_new<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if key.contains(".wal/") && self.hold_log_writes.swap(false, Ordering::SeqCst) {
                self.reached.notify_one();
                self.resume.notified().await;
            }
            self.inner.put_new(key, bytes).await
        })
    }
    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.inner.delete(key)
    }
    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        self.inner.list(prefix)
    }
    fn get_versioned<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<(Bytes, ObjectVersion)>> {
        self.inner.get_versioned(key)
    }
    fn put_new_versioned<'a>(&'a self, key: &'a str, bytes: Bytes) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(async move {
            if key.ends_with("/head") {
                self.pause_if(&self.hold_head_writes).await;
            }
            self.inner.put_new_versioned(key, bytes).await
        })
    }
    fn put_if_version<'a>(
        &'a self,
        key: &'a str,
        bytes: Bytes,
        version: &'a ObjectVersion,
    ) -> StoreFuture<'a, ObjectVersion> {
        Box::pin(async move {
            if key.ends_with("/head") {
                self.pause_if(&self.hold_head_writes).await;
            }
            self.inner.put_if_version(key, bytes, version).await
        })
    }
}

fn memory() -> Arc<dyn Store> {
    open_url("memory://", &[]).unwrap().store
}

async fn member(store: Arc<dyn Store>, address: &str, clock: &ManualClock) -> Catalog {
    let cluster = ClusterOptions {
        lease_ttl_ms: TTL,
        lease_margin_ms: 1_000,
        clock: clock.clock(),
        ..ClusterOptions::new(address)
    };
    let options = CatalogOptions { cluster: Some(cluster), ..CatalogOptions::default() };
    Catalog::open_store(store, options).await.unwrap()
}

/// A member that joins now (and takes no lease): what recovery makes of the store.
async fn recovered(store: Arc<dyn Store>) -> Catalog {
    member(store, "http://recovery", &ManualClock::at(0)).await
}

/// The store opened by one process outside any cluster, once the members are
/// gone: it reads the committed log, and drops the head and what lies past it.
async fn opened_alone(store: Arc<dyn Store>) -> Catalog {
    let alone = Catalog::open_store(Arc::clone(&store), CatalogOptions::default()).await.unwrap();
    assert!(store.list("_vectors").await.unwrap().iter().all(|k| !k.ends_with("/head")));
    alone
}

fn item(id: &str, x: f32) -> Item {
    Item { id: id.into(), vector: vec![x, 1.0], metadata: None }
}

fn items(ids: &[&str]) -> Vec<Item> {
    ids.iter().enumerate().map(|(i, id)| item(id, i as f32)).collect()
}

fn ids_of(catalog: &Catalog, name: &str) -> Vec<String> {
    catalog.get(name).unwrap().index().ids_where(std::ops::Bound::Unbounded, usize::MAX, None).unwrap()
}

fn params() -> IndexParams {
    IndexParams::new(2, Metric::L2)
}

#[tokio::test]
async fn of_processes_racing_for_an_index_exactly_one_writes_and_the_others_are_refused() {
    let store = memory();
    let clock = ManualClock::at(1_000);
    let creator = member(Arc::clone(&store), "http://p0", &clock).await;
    creator.create_sharded("docs", params(), 2).await.unwrap();
    let mut members = vec![creator];
    for p in 1..6 {
        let m = member(Arc::clone(&store), &format!("http://p{p}"), &clock).await;
        m.sync().await.unwrap();
        members.push(m);
    }
    // The creator took the lease; every other process routes to it.
    for m in &members[1..] {
        assert_eq!(m.route("docs").await.unwrap(), Route::Remote("http://p0".into()));
    }
    // The lease expires (the creator stops renewing); all race for it at once.
    clock.set(1_000 + TTL);
    let routes = join_all(members.iter().map(|m| m.route("docs"))).await;
    let winners: Vec<usize> = (0..members.len()).filter(|&p| routes[p].as_ref().unwrap() == &Route::Local).collect();
    assert_eq!(winners.len(), 1, "{routes:?}");
    let winner = winners[0];
    for (p, route) in routes.iter().enumerate().filter(|(p, _)| *p != winner) {
        assert_eq!(route.as_ref().unwrap(), &Route::Remote(format!("http://p{winner}")), "member {p}");
    }
    // Everyone writes at once: only the winner's writes are acknowledged, the
    // others are refused before anything is written.
    let writes = join_all(members.iter().enumerate().map(|(p, m)| async move {
        let docs = m.get("docs").unwrap();
        docs.upsert(items(&[&format!("from-{p}-a"), &format!("from-{p}-b")])).await
    }))
    .await;
    for (p, written) in writes.iter().enumerate() {
        if p == winner {
            assert_eq!(written.as_ref().unwrap().inserted, 2);
        } else {
            assert!(matches!(written, Err(Error::NotWriter { .. })), "member {p}: {written:?}");
        }
    }
    let expected = vec![format!("from-{winner}-a"), format!("from-{winner}-b")];
    for m in &members {
        m.sync().await.unwrap();
        assert_eq!(ids_of(m, "docs"), expected);
    }
    assert_eq!(ids_of(&recovered(store).await, "docs"), expected);
}

#[tokio::test]
async fn replicas_follow_the_writer_and_a_takeover_loses_no_acknowledged_write() {
    replicas_and_takeover(memory()).await;
}

/// The same on the real S3 server (its conditional writes are checked one
/// request at a time, never raced here: see lease.rs).
#[tokio::test]
async fn replicas_follow_the_writer_and_a_takeover_loses_no_acknowledged_write_on_s3() {
    replicas_and_takeover(crate::support::backend("s3").store).await;
}

async fn replicas_and_takeover(store: Arc<dyn Store>) {
    let clock = ManualClock::at(0);
    let a = member(Arc::clone(&store), "http://a", &clock).await;
    let b = member(Arc::clone(&store), "http://b", &clock).await;
    a.create("docs", params()).await.unwrap();
    b.sync().await.unwrap();
    let docs = a.get("docs").unwrap();
    docs.upsert(items(&["x", "y"])).await.unwrap();
    docs.delete(vec!["x".into()]).await.unwrap();
    // A replica refuses writes and serves what the writer wrote, once it has followed.
    assert!(matches!(b.get("docs").unwrap().upsert(items(&["z"])).await, Err(Error::NotWriter { .. })));
    b.sync().await.unwrap();
    assert_eq!(ids_of(&b, "docs"), ["y"]);
    // Lease upkeep by the live member keeps its lease; the other holds none.
    b.maintain_leases().await.unwrap();
    a.maintain_leases().await.unwrap();
    assert_eq!(b.route("docs").await.unwrap(), Route::Remote("http://a".into()));
    // The writer writes more and dies (no close, no release); after expiry the
    // replica takes over at its next round and reads the log to the end first.
    docs.upsert(items(&["w1", "w2"])).await.unwrap();
    drop(docs);
    drop(a);
    clock.set(TTL + 1);
    b.maintain_leases().await.unwrap();
    assert_eq!(b.route("docs").await.unwrap(), Route::Local);
    assert_eq!(ids_of(&b, "docs"), ["w1", "w2", "y"]);
    b.get("docs").unwrap().upsert(items(&["after"])).await.unwrap();
    b.get("docs").unwrap().snapshot().await.unwrap();
    b.get("docs").unwrap().upsert(items(&["after-snapshot"])).await.unwrap();
    let all = ["after", "after-snapshot", "w1", "w2", "y"];
    assert_eq!(ids_of(&recovered(Arc::clone(&store)).await, "docs"), all);
    // A new member loads snapshot and log, and a clean shutdown hands the lease on at once.
    let c = member(Arc::clone(&store), "http://c", &clock).await;
    assert_eq!(ids_of(&c, "docs"), all);
    b.close().await.unwrap();
    assert_eq!(c.route("docs").await.unwrap(), Route::Local);
    c.get("docs").unwrap().upsert(items(&["by-c"])).await.unwrap();
    drop(c);
    let alone = opened_alone(Arc::clone(&store)).await;
    let mut everything = all.to_vec();
    everything.push("by-c");
    everything.sort_unstable();
    assert_eq!(ids_of(&alone, "docs"), everything);
    alone.get("docs").unwrap().upsert(items(&["alone"])).await.unwrap();
    drop(alone);
    everything.push("alone");
    everything.sort_unstable();
    assert_eq!(ids_of(&recovered(store).await, "docs"), everything);
}

/// Writer A (its log writes pausable, its clock its own) and replica B over
/// one memory store, with one acknowledged write, `acked-1`.
struct Paused {
    memory: Arc<dyn Store>,
    store: Arc<PausableStore>,
    a_clock: ManualClock,
    b_clock: ManualClock,
    a: Arc<Catalog>,
    b: Catalog,
}

async fn paused_setup() -> Paused {
    let memory = memory();
    let store = PausableStore::new(Arc::clone(&memory));
    let (a_clock, b_clock) = (ManualClock::at(0), ManualClock::at(0));
    let a = Arc::new(member(store.clone(), "http://a", &a_clock).await);
    let b = member(Arc::clone(&memory), "http://b", &b_clock).await;
    a.create("docs", params()).await.unwrap();
    a.get("docs").unwrap().upsert(items(&["acked-1"])).await.unwrap();
    b.sync().await.unwrap();
    Paused { memory, store, a_clock, b_clock, a, b }
}

/// Starts A's write of `id`, which pauses at the store operation `hold`
/// picks; then B's clock passes A's lease and B takes over. Returns A's write.
async fn pause_a_write_and_take_over(
    store: &PausableStore,
    hold: &AtomicBool,
    a: &Arc<Catalog>,
    b: &Catalog,
    b_clock: &ManualClock,
    id: &'static str,
) -> tokio::task::JoinHandle<lhv_store::Result<lhv_core::UpsertOutcome>> {
    hold.store(true, Ordering::SeqCst);
    let paused = tokio::spawn({
        let a = Arc::clone(a);
        async move { a.get("docs").unwrap().upsert(vec![item(id, 9.0)]).await }
    });
    store.reached.notified().await;
    b_clock.set(TTL + 1);
    b.maintain_leases().await.unwrap();
    assert_eq!(b.route("docs").await.unwrap(), Route::Local);
    paused
}

/// A writer decides to write, pauses until its lease has expired and another
/// process has taken over (and, with `successor_snapshots`, written a
/// snapshot that removed the log objects the paused write would collide with),
/// then wakes and completes its write.
async fn paused_writer(successor_snapshots: bool) {
    let Paused { memory, store, a_clock, b_clock, a, b } = paused_setup().await;

    // A's next write stops just before its log object reaches the store; its
    // clock stands still meanwhile, so it still believes it holds the lease.
    let paused = pause_a_write_and_take_over(&store, &store.hold_log_writes, &a, &b, &b_clock, "zombie").await;
    let docs_b = b.get("docs").unwrap();
    docs_b.upsert(items(&["acked-2"])).await.unwrap();
    if successor_snapshots {
        docs_b.snapshot().await.unwrap();
    }
    docs_b.upsert(items(&["acked-3"])).await.unwrap();

    // A wakes: its write is not acknowledged, whatever its create did.
    store.resume.notify_one();
    let zombie = paused.await.unwrap();
    assert!(matches!(zombie, Err(Error::LeaseLost { .. } | Error::LogConflict { .. })), "{zombie:?}");
    // Its next writes are refused outright, and its snapshot cannot replace B's.
    let again = a.get("docs").unwrap().upsert(items(&["zombie-2"])).await;
    assert!(matches!(again, Err(Error::NotWriter { .. } | Error::LeaseLost { .. })), "{again:?}");
    a.get("docs").unwrap().snapshot().await.unwrap();

    // The successor goes on writing; everyone, recovery included, agrees on
    // exactly the acknowledged writes.
    docs_b.upsert(items(&["acked-4"])).await.unwrap();
    let acked = ["acked-1", "acked-2", "acked-3", "acked-4"];
    assert_eq!(ids_of(&b, "docs"), acked);
    assert_eq!(ids_of(&recovered(Arc::clone(&memory)).await, "docs"), acked);
    a_clock.set(TTL + 2);
    a.sync().await.unwrap();
    assert_eq!(ids_of(&a, "docs"), acked);
    // B's snapshot after all this still loads with everything, and so does
    // the store opened alone (the stray object past the head goes).
    docs_b.snapshot().await.unwrap();
    assert_eq!(ids_of(&recovered(Arc::clone(&memory)).await, "docs"), acked);
    drop((a, b, docs_b));
    assert_eq!(ids_of(&opened_alone(memory).await, "docs"), acked);
}

#[tokio::test]
async fn a_paused_writer_that_wakes_after_a_takeover_meets_the_successors_log_object() {
    paused_writer(false).await;
}

#[tokio::test]
async fn a_paused_writer_that_wakes_after_the_successors_snapshot_cannot_corrupt_anything() {
    paused_writer(true).await;
}

/// A writer's log object lands, but the writer pauses before the head update
/// that would commit it, until another process has taken over. The successor
/// finds the object in its way: it never removes it (a paused process could
/// then remove its successor's object), it commits it (never acknowledged, so
/// it may appear, whole) and writes after it; the paused writer's head update
/// then fails, and its write is not acknowledged.
#[tokio::test]
async fn a_writer_paused_between_its_log_object_and_its_head_update_is_fenced() {
    let Paused { memory, store, b_clock, a, b, .. } = paused_setup().await;

    let paused = pause_a_write_and_take_over(&store, &store.hold_head_writes, &a, &b, &b_clock, "unacked").await;
    let docs_b = b.get("docs").unwrap();
    docs_b.upsert(items(&["acked-2"])).await.unwrap();
    store.resume.notify_one();
    let answer = paused.await.unwrap();
    assert!(matches!(answer, Err(Error::LeaseLost { .. })), "{answer:?}");
    docs_b.upsert(items(&["acked-3"])).await.unwrap();

    let expected = ["acked-1", "acked-2", "acked-3", "unacked"];
    assert_eq!(ids_of(&b, "docs"), expected);
    a.sync().await.unwrap();
    assert_eq!(ids_of(&a, "docs"), expected);
    assert_eq!(ids_of(&recovered(Arc::clone(&memory)).await, "docs"), expected);
    drop((a, b, docs_b));
    assert_eq!(ids_of(&opened_alone(memory).await, "docs"), expected);
}

#[tokio::test]
async fn indexes_created_and_dropped_by_one_member_appear_and_go_in_the_others() {
    let store = memory();
    let clock = ManualClock::at(0);
    let a = member(Arc::clone(&store), "http://a", &clock).await;
    let b = member(Arc::clone(&store), "http://b", &clock).await;
    a.create("one", params()).await.unwrap();
    b.create("two", params()).await.unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(a.route("two").await.unwrap(), Route::Remote("http://b".into()));
    assert_eq!(b.route("one").await.unwrap(), Route::Remote("http://a".into()));
    // A drop is the writer's to do.
    assert!(matches!(b.drop_index("one").await, Err(Error::NotWriter { .. })));
    a.drop_index("one").await.unwrap();
    b.sync().await.unwrap();
    assert!(matches!(b.get("one"), Err(Error::IndexNotFound { .. })));
    // The name can be created again, by anyone, who then writes it.
    b.create("one", params()).await.unwrap();
    assert_eq!(b.route("one").await.unwrap(), Route::Local);
}

#[tokio::test]
async fn leases_spread_over_the_members() {
    let store = memory();
    let clock = ManualClock::at(0);
    let a = member(Arc::clone(&store), "http://a", &clock).await;
    for name in ["i0", "i1", "i2", "i3"] {
        a.create(name, params()).await.unwrap();
    }
    // A created (and writes) all four; B joins, and A hands back one lease
    // per round above its share of two, which B takes at its next round.
    let b = member(Arc::clone(&store), "http://b", &clock).await;
    for _ in 0..3 {
        b.maintain_leases().await.unwrap();
        a.maintain_leases().await.unwrap();
    }
    b.maintain_leases().await.unwrap();
    let mut held = [0, 0];
    for name in ["i0", "i1", "i2", "i3"] {
        let route = a.route(name).await.unwrap();
        held[usize::from(route != Route::Local)] += 1;
        assert_eq!(b.route(name).await.unwrap() == Route::Local, route != Route::Local, "{name}");
    }
    assert_eq!(held, [2, 2], "two members, four indexes: two each");
    // What B took over it writes, and A's replicas follow.
    for name in ["i0", "i1", "i2", "i3"] {
        let writer = if a.route(name).await.unwrap() == Route::Local { &a } else { &b };
        writer.get(name).unwrap().upsert(items(&["x"])).await.unwrap();
    }
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    for name in ["i0", "i1", "i2", "i3"] {
        assert_eq!(ids_of(&a, name), ["x"]);
        assert_eq!(ids_of(&b, name), ["x"]);
    }
}

//! The control plane against a real etcd (`LHV_TEST_ETCD`, started by
//! `cargo xtask ci`): every race is run with the racers' requests in flight
//! at once, each racer with its own connection, as separate processes would.

use std::time::{Duration, Instant};

use futures::future::join_all;
use lhv_core::{IndexParams, Metric};
use lhv_store::Error;
use lhv_store::control::{ControlPlane, IndexRecord, IndexState, MemberRecord, ShardPlacement};

use crate::support::{ETCD_VAR, server_url, unique};

/// A connection to the test etcd under a prefix of its own.
async fn connect(prefix: &str) -> ControlPlane {
    ControlPlane::connect(&[server_url(ETCD_VAR)], prefix).await.unwrap()
}

/// `n` processes' connections to one cluster.
async fn processes(n: usize) -> Vec<ControlPlane> {
    let prefix = format!("/lhv-test/{}/", unique());
    join_all((0..n).map(|_| connect(&prefix))).await
}

fn member(port: u16) -> MemberRecord {
    MemberRecord { address: format!("127.0.0.1:{port}"), memory_budget: 64 << 20 }
}

/// B1's race at its root: eight processes create one name at once. Exactly
/// one wins; the others are told it exists, and the record is the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_many_concurrent_creates_wins() {
    let planes = processes(8).await;
    for round in 0..10 {
        let name = format!("docs-{round}");
        let records: Vec<IndexRecord> =
            (0..8).map(|p| IndexRecord::new(IndexParams::new(4 + p, Metric::Cosine), 2, 1)).collect();
        let outcomes = join_all(planes.iter().zip(&records).map(|(plane, r)| plane.create_index(&name, r))).await;
        let winners: Vec<usize> = (0..8).filter(|&p| outcomes[p].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        for outcome in &outcomes {
            assert!(outcome.is_ok() || matches!(outcome, Err(Error::IndexExists { .. })), "{outcome:?}");
        }
        let (stored, revision) = planes[3].index(&name).await.unwrap().unwrap();
        assert_eq!(stored, records[winners[0]]);
        assert_eq!(revision, *outcomes[winners[0]].as_ref().unwrap());
    }
    let incarnations: std::collections::BTreeSet<String> =
        planes[0].indexes().await.unwrap().0.into_iter().map(|(_, r, _)| r.incarnation).collect();
    assert_eq!(incarnations.len(), 10, "every create has its own incarnation");
}

/// B2/B3 at their root: a drop marks the incarnation (a revision above all
/// its placement tokens), then removes it with its placement; a re-create
/// (another dimension) is a new incarnation whose tokens are larger still,
/// and the old incarnation can no longer be placed.
#[tokio::test]
async fn drop_and_recreate_make_a_new_incarnation() {
    let planes = processes(2).await;
    let (a, b) = (&planes[0], &planes[1]);
    let node = a.join("n1", &member(1), Duration::from_secs(5)).await.unwrap();
    let leadership = a.try_lead(&node).await.unwrap().unwrap();

    let first = IndexRecord::new(IndexParams::new(4, Metric::L2), 2, 1);
    let created = a.create_index("docs", &first).await.unwrap();
    let placement = ShardPlacement { writer: "n1".into(), replicas: vec![] };
    let token = a.place(&leadership, ("docs", &first.incarnation, created), 0, &placement, None).await.unwrap();
    assert!(token > created);

    let dropping = b.mark_dropping("docs", &first.incarnation).await.unwrap();
    assert!(dropping > token, "the drop's revision fences every placement token");
    assert_eq!(b.mark_dropping("docs", &first.incarnation).await.unwrap(), dropping, "marking again changes nothing");
    assert_eq!(a.index("docs").await.unwrap().unwrap().0.state, IndexState::Dropping);
    // A create while the old one is being dropped is refused.
    let second = IndexRecord::new(IndexParams::new(8, Metric::L2), 1, 1);
    assert!(matches!(b.create_index("docs", &second).await, Err(Error::IndexExists { .. })));
    // The controller cannot place a shard of an incarnation being dropped.
    let stale = a.place(&leadership, ("docs", &first.incarnation, created), 1, &placement, None).await;
    assert!(matches!(stale, Err(Error::RecordChanged { .. })), "{stale:?}");

    assert!(b.remove_index("docs", &first.incarnation).await.unwrap());
    assert!(!a.remove_index("docs", &first.incarnation).await.unwrap(), "removed once");
    assert!(a.placements().await.unwrap().0.is_empty(), "its placement went with it");

    let recreated = b.create_index("docs", &second).await.unwrap();
    assert_ne!(second.incarnation, first.incarnation);
    let new_token = a.place(&leadership, ("docs", &second.incarnation, recreated), 0, &placement, None).await.unwrap();
    assert!(new_token > dropping);
    // The old incarnation is gone for good: nothing of it can be placed or dropped.
    let old = a.place(&leadership, ("docs", &first.incarnation, created), 0, &placement, None).await;
    assert!(matches!(old, Err(Error::RecordChanged { .. })), "{old:?}");
    assert!(matches!(a.mark_dropping("docs", &first.incarnation).await, Err(Error::IndexNotFound { .. })));
    node.leave().await.unwrap();
}

/// Tokens only grow, a placement changes only from the token it was read
/// at, and only the current controller changes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn placement_tokens_grow_and_fence_stale_changes() {
    let planes = processes(3).await;
    let members = join_all(planes.iter().enumerate().map(|(i, plane)| {
        let record = member(u16::try_from(i).unwrap());
        async move { plane.join(&format!("n{i}"), &record, Duration::from_secs(5)).await.unwrap() }
    }))
    .await;
    let terms = join_all(planes.iter().zip(&members).map(|(plane, m)| plane.try_lead(m))).await;
    let leaders: Vec<usize> = (0..3).filter(|&i| terms[i].as_ref().unwrap().is_some()).collect();
    assert_eq!(leaders.len(), 1, "one controller: {terms:?}");
    let leader = leaders[0];
    let term = terms[leader].as_ref().unwrap().unwrap();
    let plane = &planes[leader];
    assert_eq!(plane.controller().await.unwrap().unwrap(), (format!("n{leader}"), term));

    let record = IndexRecord::new(IndexParams::new(4, Metric::Dot), 1, 2);
    let created = plane.create_index("x", &record).await.unwrap();
    let index = ("x", record.incarnation.as_str(), created);
    let mut token = None;
    let mut tokens = Vec::new();
    for step in 0..5 {
        let placement =
            ShardPlacement { writer: format!("n{}", step % 3), replicas: vec![format!("n{}", (step + 1) % 3)] };
        let next = plane.place(&term, index, 0, &placement, token).await.unwrap();
        tokens.push(next);
        token = Some(next);
        let (placed, _) = plane.placements().await.unwrap();
        assert_eq!((placed[0].token, &placed[0].placement), (next, &placement));
    }
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "{tokens:?}");
    // A change from a stale token, or a repeated create, changes nothing.
    let placement = ShardPlacement { writer: "n0".into(), replicas: vec![] };
    let stale = plane.place(&term, index, 0, &placement, Some(tokens[2])).await;
    assert!(matches!(stale, Err(Error::RecordChanged { .. })), "{stale:?}");
    assert!(matches!(plane.place(&term, index, 0, &placement, None).await, Err(Error::RecordChanged { .. })));

    // The controller leaves: its term ends, its placement changes fail, another member leads.
    let mut members = members;
    let gone = members.remove(leader);
    gone.leave().await.unwrap();
    let late = plane.place(&term, index, 0, &placement, token).await;
    assert!(matches!(late, Err(Error::RecordChanged { .. })), "{late:?}");
    let others: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let next_term = planes[others[0]].try_lead(&members[0]).await.unwrap().unwrap();
    assert!(next_term.revision() > term.revision());
    assert!(planes[others[1]].try_lead(&members[1]).await.unwrap().is_none());
    planes[others[0]].place(&next_term, index, 0, &placement, token).await.unwrap();
}

/// A member that stops keeping its lease alive (as a crashed or paused
/// process does) disappears when etcd expires the lease, and a watch sees
/// it go; a member that leaves disappears at once.
#[tokio::test]
async fn members_expire_on_etcd_clock_and_watches_see_it() {
    let planes = processes(2).await;
    let (_, listed_at) = planes[0].indexes().await.unwrap();
    let mut watch = planes[1].watch(listed_at + 1).await.unwrap();
    let staying = planes[0].join("stays", &member(1), Duration::from_secs(2)).await.unwrap();
    let crashing = planes[0].join("crashes", &member(2), Duration::from_secs(2)).await.unwrap();
    assert!(staying.holds_for(Duration::from_millis(500)));
    let mut names: Vec<String> = planes[1].members().await.unwrap().into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["crashes", "stays"]);
    // A second process with a live member's name waits, then is refused.
    let twin = planes[1].join("stays", &member(3), Duration::from_secs(2)).await;
    assert!(matches!(twin, Err(Error::RecordChanged { .. })), "{twin:?}");

    let stopped = Instant::now();
    drop(crashing);
    let mut seen = Vec::new();
    while !seen.iter().any(|c: &lhv_store::control::Change| c.key == "members/crashes" && c.value.is_none()) {
        assert!(stopped.elapsed() < Duration::from_secs(15), "the expired member never went: {seen:?}");
        seen.extend(tokio::time::timeout(Duration::from_secs(15), watch.next()).await.unwrap().unwrap());
    }
    let expired_after = stopped.elapsed();
    assert!(expired_after >= Duration::from_secs(1), "expired after {expired_after:?}, before its TTL");
    let names: Vec<String> = planes[1].members().await.unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["stays"], "kept alive past several TTLs");
    assert!(staying.holds_for(Duration::from_millis(100)));

    staying.leave().await.unwrap();
    assert!(planes[1].members().await.unwrap().is_empty());
}

/// etcd unreachable: a clear control-plane error, not a hang or a panic.
#[tokio::test]
async fn an_unreachable_etcd_is_a_control_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let outcome = async {
        let plane = ControlPlane::connect(&[format!("http://127.0.0.1:{port}")], "/x/").await?;
        plane.indexes().await
    }
    .await;
    assert!(matches!(outcome, Err(Error::Control { .. })), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// Alias changes race for real: eight processes each make their own alias
/// of one index at once, several rounds; every change lands (none
/// overwrites another's), and a create racing an alias of the same name
/// leaves exactly one of the two.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_alias_changes_all_land_and_names_stay_unique() {
    use lhv_store::AliasChange;
    let planes = processes(8).await;
    planes[0].create_index("docs", &IndexRecord::new(IndexParams::new(4, Metric::L2), 1, 1)).await.unwrap();
    for round in 0..3 {
        let changes: Vec<Vec<AliasChange>> = (0..8)
            .map(|p| vec![AliasChange::Create { alias: format!("a{round}-{p}"), index: "docs".into() }])
            .collect();
        let outcomes = join_all(planes.iter().zip(&changes).map(|(plane, c)| plane.change_aliases(c))).await;
        assert!(outcomes.iter().all(Result::is_ok), "round {round}: {outcomes:?}");
    }
    let (map, _) = planes[5].aliases().await.unwrap();
    assert_eq!(map.len(), 24, "{map:?}");
    assert!(map.values().all(|index| index == "docs"));

    // An alias to an index that does not exist, or named like an index, is refused whole.
    let refused = planes[1]
        .change_aliases(&[
            AliasChange::Create { alias: "fine".into(), index: "docs".into() },
            AliasChange::Create { alias: "docs".into(), index: "docs".into() },
        ])
        .await;
    assert!(matches!(refused, Err(Error::IndexExists { .. })), "{refused:?}");
    assert!(!planes[2].aliases().await.unwrap().0.contains_key("fine"));

    for round in 0..5 {
        let name = format!("contested-{round}");
        let record = IndexRecord::new(IndexParams::new(4, Metric::L2), 1, 1);
        let alias = [AliasChange::Create { alias: name.clone(), index: "docs".into() }];
        let (created, aliased) = tokio::join!(planes[3].create_index(&name, &record), planes[4].change_aliases(&alias));
        let index_exists = planes[6].index(&name).await.unwrap().is_some();
        let alias_exists = planes[7].aliases().await.unwrap().0.contains_key(&name);
        assert!(index_exists != alias_exists, "round {round}: {created:?} {aliased:?}");
        assert_eq!(created.is_ok(), index_exists);
        assert_eq!(aliased.is_ok(), alias_exists);
    }
}

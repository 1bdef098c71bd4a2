//! The controller's plan, simulated: members join, die and come back while
//! the plan's moves are applied round after round as the controller applies
//! them (each against the token it was planned from). Whatever happens,
//! the plan settles, every shard ends on live and distinct members as many
//! times as its replication asks, a dead writer's successor is its most
//! caught-up replica, and a joining member takes load off the others.

use std::collections::{BTreeMap, BTreeSet};

use lhv_store::control::ShardPlacement;
use lhv_store::controller::{ClusterState, IndexInfo, Move, ShardKey, plan};
use proptest::prelude::*;

/// Applies `moves` as the controller does: each only if the placement is
/// still at the token it was planned from; a new token per change.
fn apply(state: &mut ClusterState, moves: &[Move], next_token: &mut i64) {
    for m in moves {
        let current = state.placements.get(&m.shard).map(|(_, token)| *token);
        assert_eq!(current, m.expected, "a move planned from another placement: {m:?}");
        *next_token += 1;
        state.placements.insert(m.shard.clone(), (m.placement.clone(), *next_token));
    }
}

/// Every holder reads its shard's log to the end (between rounds).
fn catch_up(state: &mut ClusterState, writes: u64) {
    for (key, (placement, _)) in &state.placements {
        for holder in std::iter::once(&placement.writer).chain(&placement.replicas) {
            state.progress.insert((key.clone(), holder.clone()), writes);
        }
    }
}

/// Plans and applies until nothing is left to do; how many rounds it took.
fn settle(state: &mut ClusterState, next_token: &mut i64) -> usize {
    for round in 0..200 {
        let moves = plan(state, 2);
        if moves.is_empty() {
            return round;
        }
        apply(state, &moves, next_token);
        catch_up(state, round as u64 + 1);
    }
    panic!("the plan never settled: {:?}", plan(state, 2));
}

fn check_placed(state: &ClusterState) {
    for index in &state.indexes {
        for number in 0..index.shards {
            let key: ShardKey = (index.incarnation.clone(), number);
            let (placement, _) = state.placements.get(&key).unwrap_or_else(|| panic!("{key:?} unplaced"));
            let holders: Vec<&String> = std::iter::once(&placement.writer).chain(&placement.replicas).collect();
            let distinct: BTreeSet<&String> = holders.iter().copied().collect();
            assert_eq!(distinct.len(), holders.len(), "{key:?} held twice by one member: {placement:?}");
            assert!(holders.iter().all(|h| state.members.contains_key(*h)), "{key:?} on a dead member: {placement:?}");
            let wanted = (index.replication.max(1) as usize).min(state.members.len());
            assert_eq!(holders.len(), wanted, "{key:?}: {placement:?}");
        }
    }
}

fn loads(state: &ClusterState) -> BTreeMap<String, u64> {
    let mut loads: BTreeMap<String, u64> = state.members.keys().map(|m| (m.clone(), 0)).collect();
    for (key, (placement, _)) in &state.placements {
        for holder in std::iter::once(&placement.writer).chain(&placement.replicas) {
            *loads.entry(holder.clone()).or_default() += state.shard_bytes.get(key).copied().unwrap_or(0);
        }
    }
    loads
}

#[derive(Debug, Clone)]
enum Event {
    Die(usize),
    Join(u64),
}

/// Member budgets, indexes (shards, replication), shard sizes, then events.
type Scenario = (Vec<u64>, Vec<(u32, u32)>, Vec<u64>, Vec<Event>);

fn cluster() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(50u64..400, 1..6),
        prop::collection::vec((1u32..9, 1u32..4), 1..4),
        prop::collection::vec(0u64..60, 32),
        prop::collection::vec(prop_oneof![(0usize..8).prop_map(Event::Die), (50u64..400).prop_map(Event::Join)], 0..6),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn placement_settles_on_live_distinct_members((budgets, indexes, sizes, events) in cluster(), equal in any::<bool>()) {
        let mut state = ClusterState::default();
        let budget_of = |budget: u64| if equal { budgets[0] } else { budget };
        for (m, budget) in budgets.iter().enumerate() {
            state.members.insert(format!("m{m}"), budget_of(*budget));
        }
        for (i, (shards, replication)) in indexes.iter().enumerate() {
            let incarnation = format!("inc{i}");
            for number in 0..*shards {
                state.shard_bytes.insert((incarnation.clone(), number), sizes[(i * 8 + number as usize) % sizes.len()]);
            }
            state.indexes.push(IndexInfo { name: format!("x{i}"), incarnation, shards: *shards, replication: *replication, revision: 1 });
        }
        let mut token = 100;
        settle(&mut state, &mut token);
        check_placed(&state);
        let mut joined = budgets.len();
        for event in events {
            match event {
                Event::Die(m) => {
                    let Some(victim) = state.members.keys().nth(m % state.members.len().max(1)).cloned() else { continue };
                    if state.members.len() == 1 {
                        continue;
                    }
                    state.members.remove(&victim);
                }
                Event::Join(budget) => {
                    let newcomer = format!("m{joined}");
                    joined += 1;
                    state.members.insert(newcomer.clone(), budget_of(budget));
                    settle(&mut state, &mut token);
                    if equal {
                        // Equal budgets: loads end within two of the largest shard of each other.
                        let largest = state.shard_bytes.values().copied().max().unwrap_or(0);
                        let loads = loads(&state);
                        let low = loads.values().copied().min().unwrap_or(0);
                        let high = loads.values().copied().max().unwrap_or(0);
                        prop_assert!(high - low <= 2 * largest, "loads {loads:?} (largest shard {largest})");
                    }
                }
            }
            settle(&mut state, &mut token);
            check_placed(&state);
        }
    }
}

/// A dead writer's successor is the replica that has read the most of its log.
#[test]
fn the_most_caught_up_replica_takes_over() {
    let mut state = ClusterState::default();
    for m in ["a", "b", "c", "d"] {
        state.members.insert(m.into(), 1_000);
    }
    state.indexes.push(IndexInfo { name: "x".into(), incarnation: "i".into(), shards: 1, replication: 3, revision: 1 });
    let key: ShardKey = ("i".into(), 0);
    let placement = ShardPlacement { writer: "a".into(), replicas: vec!["b".into(), "c".into()] };
    state.placements.insert(key.clone(), (placement, 7));
    state.progress.insert((key.clone(), "b".into()), 5);
    state.progress.insert((key.clone(), "c".into()), 9);
    state.members.remove("a");
    let moves = plan(&state, 2);
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0].expected, Some(7));
    assert_eq!(moves[0].placement.writer, "c");
    assert_eq!(moves[0].placement.replicas, ["b", "d"]);
}

/// With no live holder left, the shard goes to the member with the most
/// free budget, which loads it from object storage.
#[test]
fn a_shard_whose_holders_all_died_is_placed_again() {
    let mut state = ClusterState::default();
    state.members.insert("big".into(), 1_000);
    state.members.insert("small".into(), 10);
    state.indexes.push(IndexInfo { name: "x".into(), incarnation: "i".into(), shards: 1, replication: 1, revision: 3 });
    state.placements.insert(("i".into(), 0), (ShardPlacement { writer: "gone".into(), replicas: vec![] }, 4));
    let moves = plan(&state, 2);
    assert_eq!(moves.len(), 1);
    assert_eq!((moves[0].placement.writer.as_str(), moves[0].index.1), ("big", 3));
}

/// A new index's writes spread: with every member equally free, its shards'
/// writers go round the members, whatever the replication.
#[test]
fn a_new_index_has_its_writers_spread_over_the_members() {
    for (members, shards, replication) in [(2, 3, 2), (3, 6, 2), (4, 8, 3), (3, 3, 1)] {
        let mut state = ClusterState::default();
        for m in 0..members {
            state.members.insert(format!("m{m}"), 1_000);
        }
        state.indexes.push(IndexInfo { name: "x".into(), incarnation: "i".into(), shards, replication, revision: 1 });
        let mut token = 0;
        settle(&mut state, &mut token);
        check_placed(&state);
        let mut writes: BTreeMap<&str, u32> = BTreeMap::new();
        for (placement, _) in state.placements.values() {
            *writes.entry(placement.writer.as_str()).or_default() += 1;
        }
        let (fewest, most) = (writes.values().min().copied(), writes.values().max().copied());
        assert_eq!(writes.len(), members.min(shards as usize), "{members} members, {shards} shards: {writes:?}");
        assert!(most.zip(fewest).is_some_and(|(most, fewest)| most - fewest <= 1), "{writes:?}");
    }
}

/// Writers placed while one member was alone spread once others hold
/// caught-up replicas: roles swap, nothing moves.
#[test]
fn writers_placed_on_a_lone_member_spread_once_others_join() {
    let mut state = ClusterState::default();
    state.members.insert("a".into(), 1_000);
    state.indexes.push(IndexInfo { name: "x".into(), incarnation: "i".into(), shards: 6, replication: 3, revision: 1 });
    let mut token = 0;
    settle(&mut state, &mut token);
    assert!(state.placements.values().all(|(p, _)| p.writer == "a"));
    for m in ["b", "c"] {
        state.members.insert(m.into(), 1_000);
    }
    settle(&mut state, &mut token);
    check_placed(&state);
    let mut writes: BTreeMap<&str, u32> = BTreeMap::new();
    for (placement, _) in state.placements.values() {
        *writes.entry(placement.writer.as_str()).or_default() += 1;
    }
    assert_eq!(writes, BTreeMap::from([("a", 2), ("b", 2), ("c", 2)]));
}
